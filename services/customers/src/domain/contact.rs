//! Contact data (phones, emails, IM handles): normalization, and the keys duplicates are found by.

use std::fmt;
use std::str::FromStr;

pub use rapport_kit::contact::{is_known_region, normalize_email, normalize_phone};
use serde::{Deserialize, Serialize};

/// Longest IM handle.
pub const MAX_IM_HANDLE: usize = 128;

/// Reads an IM handle: trimmed, 1..128 characters, no whitespace or control characters inside.
pub fn normalize_im_handle(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("is required".into());
    }
    if raw.chars().count() > MAX_IM_HANDLE {
        return Err(format!("is longer than {MAX_IM_HANDLE} characters"));
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters".into());
    }
    Ok(raw.to_owned())
}

/// A phone number in E.164, e.g. `+8613812345678`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
// Stored values were normalized on the way in; re-parsing each on load would only cost time.
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Reads a number as [`normalize_phone`] does.
    pub fn parse(raw: &str, default_region: &str) -> Result<Self, String> {
        normalize_phone(raw, default_region).map(Self)
    }

    /// The E.164 form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address, trimmed, with its domain lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Reads an address as [`normalize_email`] does.
    pub fn parse(raw: &str) -> Result<Self, String> {
        normalize_email(raw).map(Self)
    }

    /// The normalized address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An instant-messaging platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImPlatform {
    /// WeChat (微信).
    Wechat,
    /// QQ.
    Qq,
    /// WhatsApp.
    Whatsapp,
    /// LINE.
    Line,
    /// Telegram.
    Telegram,
    /// Another platform.
    Other,
}

impl ImPlatform {
    /// Every platform.
    pub const ALL: [ImPlatform; 6] = [
        Self::Wechat,
        Self::Qq,
        Self::Whatsapp,
        Self::Line,
        Self::Telegram,
        Self::Other,
    ];

    /// The stable lower-case name used in contact keys and filters, e.g. `"wechat"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wechat => "wechat",
            Self::Qq => "qq",
            Self::Whatsapp => "whatsapp",
            Self::Line => "line",
            Self::Telegram => "telegram",
            Self::Other => "other",
        }
    }

    /// The platform named `name` (as [`Self::as_str`] writes it).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

/// A handle on an IM platform, normalized by [`normalize_im_handle`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImHandle {
    platform: ImPlatform,
    handle: String,
}

impl ImHandle {
    /// Reads a handle on `platform`.
    pub fn parse(platform: ImPlatform, raw: &str) -> Result<Self, String> {
        Ok(Self {
            platform,
            handle: normalize_im_handle(raw)?,
        })
    }

    /// The platform.
    pub fn platform(&self) -> ImPlatform {
        self.platform
    }

    /// The handle as given (trimmed).
    pub fn handle(&self) -> &str {
        &self.handle
    }
}

/// What kind of contact a [`ContactKey`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContactKind {
    /// A phone number.
    Phone,
    /// An email address.
    Email,
    /// An IM handle.
    Im,
}

impl ContactKind {
    /// The name used in storage and in `DuplicateMatch.matched_on`: `phone`, `email` or `im`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::Email => "email",
            Self::Im => "im",
        }
    }

    /// The kind named `name` (as [`Self::as_str`] writes it).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "phone" => Some(Self::Phone),
            "email" => Some(Self::Email),
            "im" => Some(Self::Im),
            _ => None,
        }
    }
}

/// The value two customers are duplicates by: the E.164 phone, the fully lower-cased email, or
/// `"<platform>:<lower-cased handle>"`. Renders as `"phone:+8613812345678"`, `"email:a@b.cn"`,
/// `"im:wechat:zhangwei"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContactKey {
    /// The kind of contact.
    pub kind: ContactKind,
    /// The value compared.
    pub value: String,
}

impl ContactKey {
    /// The key of a phone number.
    pub fn phone(number: &PhoneNumber) -> Self {
        Self {
            kind: ContactKind::Phone,
            value: number.as_str().to_owned(),
        }
    }

    /// The key of an email address. The local part is folded too: practically every provider
    /// ignores its case, and a missed duplicate costs more than a false alarm.
    pub fn email(address: &EmailAddress) -> Self {
        Self {
            kind: ContactKind::Email,
            value: address.as_str().to_lowercase(),
        }
    }

    /// The key of an IM handle.
    pub fn im(handle: &ImHandle) -> Self {
        Self {
            kind: ContactKind::Im,
            value: format!(
                "{}:{}",
                handle.platform.as_str(),
                handle.handle.to_lowercase()
            ),
        }
    }
}

impl fmt::Display for ContactKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.as_str(), self.value)
    }
}

impl FromStr for ContactKey {
    type Err = String;

    /// Reads a rendered key back, e.g. `"im:wechat:zhangwei"`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, value) = s
            .split_once(':')
            .ok_or_else(|| format!("{s:?} has no kind"))?;
        let kind =
            ContactKind::parse(kind).ok_or_else(|| format!("unknown contact kind {kind:?}"))?;
        if value.is_empty() {
            return Err(format!("{s:?} has no value"));
        }
        Ok(Self {
            kind,
            value: value.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_in_common_formats_become_e164() {
        assert_eq!(
            normalize_phone("+86 138 1234 5678", "US").unwrap(),
            "+8613812345678"
        );
        assert_eq!(
            normalize_phone("13812345678", "CN").unwrap(),
            "+8613812345678"
        );
        assert_eq!(
            normalize_phone(" 138-1234-5678 ", "CN").unwrap(),
            "+8613812345678"
        );
        assert_eq!(
            normalize_phone("(415) 555-2671", "US").unwrap(),
            "+14155552671"
        );
        assert_eq!(
            normalize_phone("+1 415-555-2671", "CN").unwrap(),
            "+14155552671"
        );
        // Italian numbers keep their leading zero after the country code.
        assert_eq!(
            normalize_phone("06 6982 1234", "IT").unwrap(),
            "+390669821234"
        );
        assert_eq!(
            normalize_phone("+39 06 6982 1234", "CN").unwrap(),
            "+390669821234"
        );
        // Beijing landline: the trunk 0 goes.
        assert_eq!(
            normalize_phone("010 6552 9988", "CN").unwrap(),
            "+861065529988"
        );
        // Another country's number in a region with a trunk prefix that also starts it.
        assert_eq!(
            normalize_phone("+8613812345678", "US").unwrap(),
            "+8613812345678"
        );
        assert_eq!(
            normalize_phone("011 86 138 1234 5678", "US").unwrap(),
            "+8613812345678"
        );
        assert_eq!(
            normalize_phone("00 1 415 555 2671", "CN").unwrap(),
            "+14155552671"
        );
        assert_eq!(
            normalize_phone("+39 06 6982 0000", "CN").unwrap(),
            "+390669820000"
        );
        // A landline with its trunk prefix.
        assert_eq!(
            normalize_phone("010 6552 9988", "CN").unwrap(),
            "+861065529988"
        );
    }

    #[test]
    fn bad_phones_are_refused_with_a_reason() {
        assert_eq!(normalize_phone("", "CN").unwrap_err(), "is required");
        assert!(
            normalize_phone("12", "CN")
                .unwrap_err()
                .contains("phone number")
        );
        assert!(
            normalize_phone("1381234", "CN")
                .unwrap_err()
                .contains("not a valid")
        );
        // No Chinese mobile number starts with 12.
        assert!(
            normalize_phone("12812345678", "CN")
                .unwrap_err()
                .contains("prefix")
        );
        assert!(
            normalize_phone("+999 1234 5678", "CN")
                .unwrap_err()
                .contains("country code")
        );
        assert!(normalize_phone("call me maybe", "CN").is_err());
        assert!(
            normalize_phone("13812345678", "ZZ")
                .unwrap_err()
                .contains("default region")
        );
        assert!(
            normalize_phone(&"1".repeat(65), "CN")
                .unwrap_err()
                .contains("longer")
        );
    }

    #[test]
    fn regions_are_checked() {
        assert!(is_known_region("CN"));
        assert!(!is_known_region("cn"));
        assert!(!is_known_region("ZZ"));
    }

    #[test]
    fn emails_are_trimmed_with_the_domain_lower_cased() {
        assert_eq!(
            normalize_email("  Wei.Zhang@Example.COM ").unwrap(),
            "Wei.Zhang@example.com"
        );
        assert_eq!(normalize_email("a@b.cn").unwrap(), "a@b.cn");
        assert_eq!(
            normalize_email("x+tag@mail.例子.中国").unwrap(),
            "x+tag@mail.例子.中国"
        );
    }

    #[test]
    fn bad_emails_are_refused() {
        for bad in [
            "",
            "wei",
            "@example.com",
            "wei@",
            "wei@example",
            "a@b@c.com",
            "we i@example.com",
            "wei@-example.com",
            "wei@example..com",
            ".wei@example.com",
            "wei@example.123",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} was accepted");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert!(normalize_email(&long_local).is_err());
        let long = format!("a@{}.com", "b".repeat(60).repeat(5));
        assert!(normalize_email(&long).is_err());
    }

    #[test]
    fn im_handles_are_trimmed_and_checked() {
        assert_eq!(normalize_im_handle(" ZhangWei_88 ").unwrap(), "ZhangWei_88");
        assert!(normalize_im_handle("").is_err());
        assert!(normalize_im_handle("zhang wei").is_err());
        assert!(normalize_im_handle(&"a".repeat(129)).is_err());
    }

    #[test]
    fn contact_keys_render_and_parse() {
        let phone = PhoneNumber::parse("13812345678", "CN").unwrap();
        let email = EmailAddress::parse("Wei@Example.com").unwrap();
        let im = ImHandle::parse(ImPlatform::Wechat, "ZhangWei").unwrap();
        let keys = [
            ContactKey::phone(&phone),
            ContactKey::email(&email),
            ContactKey::im(&im),
        ];
        let rendered: Vec<String> = keys.iter().map(ToString::to_string).collect();
        assert_eq!(
            rendered,
            [
                "phone:+8613812345678",
                "email:wei@example.com",
                "im:wechat:zhangwei"
            ]
        );
        for (key, text) in keys.iter().zip(&rendered) {
            assert_eq!(&text.parse::<ContactKey>().unwrap(), key);
        }
        assert!("fax:123".parse::<ContactKey>().is_err());
        assert_eq!(ContactKind::parse("im"), Some(ContactKind::Im));
        assert_eq!(ImPlatform::parse("qq"), Some(ImPlatform::Qq));
    }
}
