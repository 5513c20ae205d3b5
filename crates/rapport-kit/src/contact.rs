//! Contact data every service normalizes the same way: phone numbers to E.164 (Chinese mobile
//! numbers included), email addresses to lower case with their syntax checked.

use phonenumber::ParseError;
use phonenumber::country::{self, Source};
use phonenumber::metadata::{Descriptor, Descriptors};
use std::str::FromStr;

/// Longest raw phone input read; longer input is refused before the (costly) parse.
const MAX_RAW_PHONE: usize = 64;
/// RFC 5321 limits.
const MAX_EMAIL: usize = 254;
const MAX_EMAIL_LOCAL: usize = 64;
const MAX_DOMAIN_LABEL: usize = 63;

/// Reads a phone number written in any common format and returns it in E.164
/// (`"+8613812345678"`). A number without `+` (or an international dialing prefix) is read in
/// `default_region`, an ISO 3166-1 alpha-2 code such as `"CN"`.
pub fn normalize_phone(raw: &str, default_region: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("is required".into());
    }
    if raw.chars().count() > MAX_RAW_PHONE {
        return Err(format!("is longer than {MAX_RAW_PHONE} characters"));
    }
    let region = parse_region(default_region);
    if region.is_none() && !raw.starts_with('+') {
        return Err(format!(
            "has no country code (\"+...\") and the default region {default_region:?} is not a \
             known region"
        ));
    }
    let number = parse_in_region(region, raw).map_err(|e| match e {
        ParseError::NoNumber => "is not a phone number".to_owned(),
        ParseError::InvalidCountryCode => "has an unknown country code".to_owned(),
        ParseError::TooShortAfterIdd | ParseError::TooShortNsn => {
            "is too short to be a phone number".to_owned()
        }
        ParseError::TooLong => "is too long to be a phone number".to_owned(),
        ParseError::MalformedInteger(_) => "is not a phone number".to_owned(),
    })?;
    if number.extension().is_some() {
        // E.164 has no extensions; storing the number without it would silently lose it.
        return Err("has an extension, which is not supported; put it in the label".into());
    }
    if !is_valid(&number) {
        return Err(format!(
            "is not a valid phone number (wrong length or prefix for country code +{})",
            number.code().value()
        ));
    }
    // What the crate's E.164 formatter prints, without the national format pattern it
    // searches for first and then does not use in this mode.
    Ok(format!("+{}{}", number.code().value(), number.national()))
}

/// Parses `raw`, read in `region` when it has no country code.
///
/// phonenumber 0.3 strips the *default region's* trunk prefix after reading another country's
/// code: with region US, "+86 138 1234 5678" loses the "1" of "138". So a number whose country
/// differs from the region is parsed again without the region: directly when written with "+",
/// and after dropping the international dialing prefix when written with one ("011 86 ...").
fn parse_in_region(
    region: Option<country::Id>,
    raw: &str,
) -> Result<phonenumber::PhoneNumber, ParseError> {
    let number = phonenumber::parse(region, raw)?;
    if region.is_none() || number.country().id() == region {
        return Ok(number);
    }
    match number.code().source() {
        Source::Plus => phonenumber::parse(None, raw),
        Source::Idd => {
            let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
            let code = number.code().value().to_string();
            // Dialing prefixes are 2 to 5 digits ("00", "011", "0011", "00700"...); the first
            // split giving a valid number with the same country code is the one meant.
            (2..=5.min(digits.len()))
                .filter(|&k| digits[k..].starts_with(&code))
                .filter_map(|k| phonenumber::parse(None, format!("+{}", &digits[k..])).ok())
                .find(|n| n.code().value() == number.code().value() && is_valid(n))
                .map_or(Ok(number), Ok)
        }
        Source::Number | Source::Default => Ok(number),
    }
}

/// Whether `number` is valid, exactly as `phonenumber::is_valid` decides: its national number
/// fits its region's general pattern and the pattern of at least one type. The crate names the
/// type first, trying up to ten patterns with mobile last; validity needs one match, so here
/// the common types go first. A country code shared by several regions (+1, +7, +44...) is left
/// to the crate, which also picks the region.
fn is_valid(number: &phonenumber::PhoneNumber) -> bool {
    let database = &*phonenumber::metadata::DATABASE;
    let code = number.code().value();
    let meta = match database.region(&code).as_deref() {
        Some([region]) if *region != "001" => database.by_id(*region),
        _ => return phonenumber::is_valid(number),
    };
    let Some(meta) = meta else {
        return false;
    };
    let national = number.national().to_string();
    meta.descriptors().general().is_match(&national)
        && number_types(meta.descriptors()).any(|t| t.is_match(&national))
}

/// The patterns of the number types a region defines, the common types first.
fn number_types(d: &Descriptors) -> impl Iterator<Item = &Descriptor> {
    [
        d.mobile(),
        d.fixed_line(),
        d.toll_free(),
        d.premium_rate(),
        d.shared_cost(),
        d.voip(),
        d.personal_number(),
        d.pager(),
        d.uan(),
        d.voicemail(),
    ]
    .into_iter()
    .flatten()
}

/// Whether `region` is an ISO 3166-1 alpha-2 code the phone metadata knows (e.g. `"CN"`).
pub fn is_known_region(region: &str) -> bool {
    parse_region(region).is_some()
}

fn parse_region(region: &str) -> Option<country::Id> {
    if region.len() != 2 || !region.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    country::Id::from_str(region).ok()
}

/// Reads an email address: trimmed, one `@`, a local part of 1..64 characters, a domain of at
/// least two valid labels, at most 254 characters in all. Returns it with the domain lower-cased
/// (the local part keeps its case: mail servers may treat it as case-sensitive).
pub fn normalize_email(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("is required".into());
    }
    if raw.chars().count() > MAX_EMAIL {
        return Err(format!("is longer than {MAX_EMAIL} characters"));
    }
    let Some((local, domain)) = raw.split_once('@') else {
        return Err("is not an email address: it has no \"@\"".into());
    };
    if domain.contains('@') {
        return Err("is not an email address: it has more than one \"@\"".into());
    }
    if local.is_empty() {
        return Err("is not an email address: nothing before the \"@\"".into());
    }
    if local.chars().count() > MAX_EMAIL_LOCAL {
        return Err(format!(
            "has a part before \"@\" longer than {MAX_EMAIL_LOCAL} characters"
        ));
    }
    if local
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "\"(),:;<>[\\]".contains(c))
    {
        return Err("has a character not allowed before the \"@\"".into());
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("has misplaced dots before the \"@\"".into());
    }
    let domain = domain.to_lowercase();
    check_domain(&domain)?;
    Ok(format!("{local}@{domain}"))
}

fn check_domain(domain: &str) -> Result<(), String> {
    if domain.is_empty() {
        return Err("is not an email address: nothing after the \"@\"".into());
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(format!("has a domain without a dot: {domain:?}"));
    }
    for label in &labels {
        let ok = !label.is_empty()
            && label.chars().count() <= MAX_DOMAIN_LABEL
            && !label.starts_with('-')
            && !label.ends_with('-')
            // Letters beyond ASCII are allowed for internationalized domain names.
            && label.chars().all(|c| c.is_alphanumeric() || c == '-');
        if !ok {
            return Err(format!("has an invalid domain: {domain:?}"));
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(format!("has an invalid domain: {domain:?}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every example number of every region's metadata, and variants of it with a digit too
    /// few, a digit too many and each possible first digit: `is_valid` agrees with the crate's.
    #[test]
    fn phone_validity_agrees_with_the_crate_on_every_region() {
        let database = &*phonenumber::metadata::DATABASE;
        let (mut valid, mut invalid) = (0, 0);
        for meta in database.iter() {
            for example in number_types(meta.descriptors()).filter_map(|t| t.example()) {
                let mut variants = vec![
                    example.to_owned(),
                    example[..example.len() - 1].to_owned(),
                    format!("{example}7"),
                ];
                variants.extend((0..10).map(|first| format!("{first}{}", &example[1..])));
                for national in variants {
                    let raw = format!("+{}{national}", meta.country_code());
                    let Ok(number) = phonenumber::parse(None, &raw) else {
                        continue;
                    };
                    let expected = phonenumber::is_valid(&number);
                    assert_eq!(is_valid(&number), expected, "{raw} in {}", meta.id());
                    if expected {
                        valid += 1;
                    } else {
                        invalid += 1;
                    }
                }
            }
        }
        assert!(
            valid > 1000 && invalid > 1000,
            "{valid} valid, {invalid} invalid"
        );
    }

    #[test]
    fn chinese_mobile_and_fixed_numbers_read_in_any_format() {
        for raw in [
            "13812345678",
            "138 1234 5678",
            "+86 138-1234-5678",
            "0086 13812345678",
        ] {
            assert_eq!(normalize_phone(raw, "CN").as_deref(), Ok("+8613812345678"));
        }
        assert_eq!(
            normalize_phone("010-6552 9988", "CN").as_deref(),
            Ok("+861065529988")
        );
        assert!(
            normalize_phone("12812345678", "CN").is_err(),
            "no 128 mobiles"
        );
        assert!(
            normalize_phone("1381234567", "CN").is_err(),
            "a digit short"
        );
    }
}
