//! Field validators every service shares. Each reads one field of a request, reports what is
//! wrong under the field's path (relative to `v`'s prefix) and returns the value to use: a best
//! effort when something was reported, so use it only when `v` stayed empty.

use prost::UnknownEnumValue;
use rapport_proto::types as pt;
use rapport_runtime::validation::Violations;
use serde::{Deserialize, Serialize};

/// Longest id of an owner, team or store.
pub const MAX_ID: usize = 128;

/// A single-line text: trimmed, at most `max` characters, no control characters.
pub fn text(v: &mut Violations, field: &str, raw: &str, max: usize) -> String {
    let value = raw.trim();
    if !too_long(v, field, value, max) && value.chars().any(char::is_control) {
        v.add(field, "must not contain control characters");
    }
    value.to_owned()
}

/// Like [`text`], but line breaks and tabs are allowed.
pub fn multiline_text(v: &mut Violations, field: &str, raw: &str, max: usize) -> String {
    let value = raw.trim();
    let control = |c: char| c.is_control() && !matches!(c, '\n' | '\r' | '\t');
    if !too_long(v, field, value, max) && value.chars().any(control) {
        v.add(
            field,
            "must not contain control characters other than line breaks and tabs",
        );
    }
    value.to_owned()
}

/// Like [`text`], and not empty.
pub fn required_text(v: &mut Violations, field: &str, raw: &str, max: usize) -> String {
    if raw.trim().is_empty() {
        v.add(field, "is required");
        return String::new();
    }
    text(v, field, raw, max)
}

/// Reports `value` when it is longer than `max` characters; whether it was.
fn too_long(v: &mut Violations, field: &str, value: &str, max: usize) -> bool {
    let n = value.chars().count();
    if n > max {
        v.add(field, format!("must be at most {max} characters, got {n}"));
    }
    n > max
}

/// An id of an owner, team or store, kept as given: at most [`MAX_ID`] characters, no
/// whitespace or control characters; empty means none.
pub fn id(v: &mut Violations, field: &str, raw: &str) -> String {
    let blank = |c: char| c.is_whitespace() || c.is_control();
    if !too_long(v, field, raw, MAX_ID) && raw.chars().any(blank) {
        v.add(field, "must not contain spaces or control characters");
    }
    raw.to_owned()
}

/// A list of at most `max` ids, each as [`id`] and not empty; repeats are kept once, in order.
pub fn ids(v: &mut Violations, field: &str, raw: &[String], max: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, item) in capped(v, field, raw, max).iter().enumerate() {
        let path = format!("{field}[{i}]");
        if item.is_empty() {
            v.add(path, "is empty");
        } else {
            let item = id(v, &path, item);
            if !out.contains(&item) {
                out.push(item);
            }
        }
    }
    out
}

/// The items of a list to read: all of them, or the first `max` after reporting the excess
/// (reading an oversized list in full would only cost time).
pub fn capped<'a, T>(v: &mut Violations, field: &str, items: &'a [T], max: usize) -> &'a [T] {
    if items.len() > max {
        v.add(
            field,
            format!("must have at most {max} entries, got {}", items.len()),
        );
        &items[..max]
    } else {
        items
    }
}

/// Short words (tags, hobbies): at most `max` of them, each trimmed, 1 to `max_len` characters
/// without control characters; repeats are kept once, in order.
pub fn words(
    v: &mut Violations,
    field: &str,
    raw: &[String],
    max_len: usize,
    max: usize,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, word) in capped(v, field, raw, max).iter().enumerate() {
        let path = format!("{field}[{i}]");
        let word = word.trim();
        if word.is_empty() {
            v.add(path, "is empty");
        } else if word.chars().count() > max_len {
            v.add(path, format!("must be at most {max_len} characters"));
        } else if word.chars().any(char::is_control) {
            v.add(path, "must not contain control characters");
        } else if !out.iter().any(|w| w == word) {
            out.push(word.to_owned());
        }
    }
    out
}

/// Reads a proto enum number into a domain value: `Ok(None)` for UNSPECIFIED, `Err` for a
/// number the proto does not define.
pub type EnumFromProto<T> = fn(i32) -> Result<Option<T>, UnknownEnumValue>;

/// An optional enum: UNSPECIFIED is `None`, an undefined number is reported.
pub fn optional_enum<T>(
    v: &mut Violations,
    field: &str,
    value: i32,
    from: EnumFromProto<T>,
    type_name: &str,
) -> Option<T> {
    from(value).unwrap_or_else(|_| {
        v.add(field, format!("{value} is not a valid {type_name}"));
        None
    })
}

/// A required enum: UNSPECIFIED and undefined numbers are reported.
pub fn required_enum<T>(
    v: &mut Violations,
    field: &str,
    value: i32,
    from: EnumFromProto<T>,
    type_name: &str,
) -> Option<T> {
    match from(value) {
        Ok(Some(t)) => Some(t),
        Ok(None) => {
            v.add(
                field,
                format!("is required: a {type_name} other than UNSPECIFIED"),
            );
            None
        }
        Err(_) => {
            v.add(field, format!("{value} is not a valid {type_name}"));
            None
        }
    }
}

/// A `rapport.type.v1.Date`: a calendar date whose year may be unknown (year 0), e.g. a
/// birthday given as month and day. Always a real date: February 29 needs a leap year, or
/// year 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "RawDate")]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

/// The unchecked shape of [`Date`], so stored dates go through [`Date::new`] too.
#[derive(Deserialize)]
struct RawDate {
    #[serde(default)]
    year: i32,
    month: u8,
    day: u8,
}

impl TryFrom<RawDate> for Date {
    type Error = String;

    fn try_from(raw: RawDate) -> Result<Self, Self::Error> {
        Date::new(raw.year, raw.month, raw.day)
    }
}

impl Date {
    /// A date with `year` 1..9999, or 0 when the year is unknown.
    pub fn new(year: i32, month: u8, day: u8) -> Result<Self, String> {
        if !(0..=9999).contains(&year) {
            return Err(format!("year {year} is not 0 (unknown) or 1..9999"));
        }
        let m = time::Month::try_from(month).map_err(|_| format!("month {month} is not 1..12"))?;
        // 2000 is a leap year, so an unknown year allows February 29.
        let check_year = if year == 0 { 2000 } else { year };
        time::Date::from_calendar_date(check_year, m, day)
            .map_err(|_| format!("day {day} is not a day of {m} {year}"))?;
        Ok(Self { year, month, day })
    }

    /// The date of a `time::Date`.
    pub fn from_time(date: time::Date) -> Self {
        Self {
            year: date.year(),
            month: date.month().into(),
            day: date.day(),
        }
    }

    /// The year, 0 when unknown.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// The month, 1..12.
    pub fn month(&self) -> u8 {
        self.month
    }

    /// The day of the month.
    pub fn day(&self) -> u8 {
        self.day
    }

    /// The full date, when the year is known.
    pub fn to_time(&self) -> Option<time::Date> {
        let month = time::Month::try_from(self.month).ok()?;
        time::Date::from_calendar_date(self.year, month, self.day)
            .ok()
            .filter(|_| self.year != 0)
    }

    /// Whether the date is later than `today`; a date without a year never is.
    pub fn is_after(&self, today: time::Date) -> bool {
        self.to_time().is_some_and(|d| d > today)
    }
}

impl std::fmt::Display for Date {
    /// `YYYY-MM-DD`, or `--MM-DD` (ISO 8601) when the year is unknown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.year == 0 {
            write!(f, "--{:02}-{:02}", self.month, self.day)
        } else {
            write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
        }
    }
}

/// The date of a proto date; the error says what is wrong with it.
pub fn date_from_proto(date: &pt::Date) -> Result<Date, String> {
    let month =
        u8::try_from(date.month).map_err(|_| format!("month {} is not 1..12", date.month))?;
    let day = u8::try_from(date.day).map_err(|_| format!("day {} is not a day", date.day))?;
    Date::new(date.year, month, day)
}

/// The proto of a date.
pub fn date_to_proto(date: Date) -> pt::Date {
    pt::Date {
        year: date.year(),
        month: date.month().into(),
        day: date.day().into(),
    }
}

/// A proto date that is there: absent and all-zero dates are none (clients in some languages
/// always send sub-messages).
fn given(date: Option<&pt::Date>) -> Option<&pt::Date> {
    date.filter(|d| **d != pt::Date::default())
}

/// An optional date, its year possibly unknown; absent or all zero is none.
pub fn optional_date(v: &mut Violations, field: &str, date: Option<&pt::Date>) -> Option<Date> {
    date_from_proto(given(date)?)
        .map_err(|e| v.add(field, e))
        .ok()
}

/// Like [`optional_date`], and absent or all zero is reported.
pub fn required_date(v: &mut Violations, field: &str, date: Option<&pt::Date>) -> Option<Date> {
    if given(date).is_none() {
        v.add(field, "is required");
        return None;
    }
    optional_date(v, field, date)
}

/// An optional date with its year (1..9999); absent or all zero is none.
pub fn full_date(v: &mut Violations, field: &str, date: Option<&pt::Date>) -> Option<time::Date> {
    let d = given(date)?;
    let full = u8::try_from(d.month)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok())
        .zip(u8::try_from(d.day).ok())
        .filter(|_| (1..=9999).contains(&d.year))
        .and_then(|(m, day)| time::Date::from_calendar_date(d.year, m, day).ok());
    if full.is_none() {
        v.add(
            field,
            format!(
                "{:04}-{:02}-{:02} is not a date (year 1..9999, month 1..12, a day of that month)",
                d.year, d.month, d.day
            ),
        );
    }
    full
}

/// A time a request may give in `field`, `None` when absent; out of range is reported.
pub fn optional_time(
    ts: Option<&prost_types::Timestamp>,
    field: &str,
    v: &mut Violations,
) -> Option<rapport_runtime::clock::Micros> {
    let ts = ts?;
    let micros = rapport_runtime::clock::from_timestamp(ts);
    if micros.is_none() {
        v.add(field, "is not a valid time (years 1..9999)");
    }
    micros
}

/// An amount of money: an ISO 4217 currency and integer minor units, never negative.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Three upper-case letters, e.g. "CNY".
    pub currency_code: String,
    /// The amount in the currency's minor unit (fen, cents).
    pub minor_units: i64,
}

/// Whether `code` looks like an ISO 4217 code (three upper-case ASCII letters).
pub fn is_currency(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// An optional amount: absent or empty (no currency and no amount) is none; the currency is
/// required with an amount, and the amount must not be negative.
pub fn money(v: &mut Violations, field: &str, m: Option<&pt::Money>) -> Option<Money> {
    let m = m.filter(|m| **m != pt::Money::default())?;
    let mut ok = true;
    if m.currency_code.is_empty() {
        v.add(
            format!("{field}.currency_code"),
            "is required when an amount is given",
        );
        ok = false;
    } else if !is_currency(&m.currency_code) {
        v.add(
            format!("{field}.currency_code"),
            format!(
                "{:?} is not an ISO 4217 code (three upper-case letters, e.g. \"CNY\")",
                m.currency_code
            ),
        );
        ok = false;
    }
    if m.minor_units < 0 {
        v.add(format!("{field}.minor_units"), "must not be negative");
        ok = false;
    }
    ok.then(|| Money {
        currency_code: m.currency_code.clone(),
        minor_units: m.minor_units,
    })
}

/// The proto of an amount.
pub fn money_to_proto(m: &Money) -> pt::Money {
    pt::Money {
        currency_code: m.currency_code.clone(),
        minor_units: m.minor_units,
    }
}

/// The id of a `collection/{id}` name given in `field`, reported when it is not one.
pub fn id_in(collection: &str, name: &str, field: &str, v: &mut Violations) -> Option<uuid::Uuid> {
    match crate::names::parse_id(collection, name) {
        Ok(id) => Some(id),
        Err(e) => {
            v.add(field, e);
            None
        }
    }
}

/// As [`id_in`] for a name that may be left empty.
pub fn optional_id_in(
    collection: &str,
    name: &str,
    field: &str,
    v: &mut Violations,
) -> Option<uuid::Uuid> {
    if name.trim().is_empty() {
        None
    } else {
        id_in(collection, name, field, v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    /// What `f` reported, as `field: description`.
    fn found<T>(f: impl FnOnce(&mut Violations) -> T) -> (T, Vec<String>) {
        let mut v = Violations::with_prefix("x");
        let out = f(&mut v);
        (out, v.into_vec().iter().map(ToString::to_string).collect())
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn text_is_trimmed_and_limited() {
        assert_eq!(
            found(|v| text(v, "f", " 张伟 ", 2)),
            ("张伟".into(), vec![])
        );
        assert_eq!(
            found(|v| text(v, "f", "abc", 2)).1,
            ["x.f: must be at most 2 characters, got 3"]
        );
        assert_eq!(
            found(|v| text(v, "f", "a\u{7}b", 9)).1,
            ["x.f: must not contain control characters"]
        );
        assert!(found(|v| text(v, "f", "", 2)).1.is_empty());
    }

    #[test]
    fn multiline_text_allows_line_breaks_and_tabs_only() {
        assert!(
            found(|v| multiline_text(v, "f", "a\nb\tc\r\n", 9))
                .1
                .is_empty()
        );
        assert_eq!(
            found(|v| multiline_text(v, "f", "a\u{0}b", 9)).1,
            ["x.f: must not contain control characters other than line breaks and tabs"]
        );
        assert_eq!(found(|v| multiline_text(v, "f", "abc", 2)).1.len(), 1);
    }

    #[test]
    fn required_text_must_not_be_blank() {
        assert_eq!(
            found(|v| required_text(v, "f", "  ", 9)),
            (String::new(), vec!["x.f: is required".to_owned()])
        );
        assert_eq!(found(|v| required_text(v, "f", " a ", 9)).0, "a");
    }

    #[test]
    fn ids_have_no_spaces_and_are_kept_as_given() {
        assert!(found(|v| id(v, "f", "")).1.is_empty());
        assert_eq!(found(|v| id(v, "f", "rep-1")).0, "rep-1");
        assert_eq!(
            found(|v| id(v, "f", "rep 1")).1,
            ["x.f: must not contain spaces or control characters"]
        );
        assert_eq!(found(|v| id(v, "f", &"x".repeat(MAX_ID + 1))).1.len(), 1);
        let (out, bad) = found(|v| ids(v, "f", &strings(&["a", "a", "", "b c", "d"]), 9));
        assert_eq!(out, ["a", "b c", "d"]);
        assert_eq!(
            bad,
            [
                "x.f[2]: is empty",
                "x.f[3]: must not contain spaces or control characters"
            ]
        );
    }

    #[test]
    fn lists_are_capped() {
        let (out, bad) = found(|v| capped(v, "f", &[1, 2, 3], 2).to_vec());
        assert_eq!(out, [1, 2]);
        assert_eq!(bad, ["x.f: must have at most 2 entries, got 3"]);
        assert!(found(|v| capped(v, "f", &[1, 2], 2).len()).1.is_empty());
    }

    #[test]
    fn words_are_trimmed_unique_and_checked() {
        let raw = strings(&[" vip ", "vip", " ", "toolong", "a\u{7}", "新客"]);
        let (out, bad) = found(|v| words(v, "tags", &raw, 4, 10));
        assert_eq!(out, ["vip", "新客"]);
        assert_eq!(
            bad,
            [
                "x.tags[2]: is empty",
                "x.tags[3]: must be at most 4 characters",
                "x.tags[4]: must not contain control characters",
            ]
        );
        let (out, bad) = found(|v| words(v, "tags", &strings(&["a", "b", "c"]), 4, 2));
        assert_eq!((out.len(), bad.len()), (2, 1));
    }

    fn flag(value: i32) -> Result<Option<bool>, UnknownEnumValue> {
        match value {
            0 => Ok(None),
            1 => Ok(Some(true)),
            2 => Ok(Some(false)),
            n => Err(UnknownEnumValue(n)),
        }
    }

    #[test]
    fn enums_are_optional_or_required() {
        let optional = |n| found(|v| optional_enum(v, "f", n, flag, "Flag"));
        let required = |n| found(|v| required_enum(v, "f", n, flag, "Flag"));
        assert_eq!(optional(0), (None, vec![]));
        assert_eq!(optional(2).0, Some(false));
        assert_eq!(optional(7).1, ["x.f: 7 is not a valid Flag"]);
        assert_eq!(required(1).0, Some(true));
        assert_eq!(
            required(0).1,
            ["x.f: is required: a Flag other than UNSPECIFIED"]
        );
        assert_eq!(required(-1).1, ["x.f: -1 is not a valid Flag"]);
    }

    fn pdate(year: i32, month: i32, day: i32) -> pt::Date {
        pt::Date { year, month, day }
    }

    #[test]
    fn dates_may_lack_a_year_but_must_be_real() {
        let feb29 = date_from_proto(&pdate(0, 2, 29)).expect("a day of a leap year");
        assert_eq!(feb29.to_string(), "--02-29");
        assert_eq!(feb29.to_time(), None);
        assert_eq!(date_to_proto(feb29), pdate(0, 2, 29));
        assert!(date_from_proto(&pdate(2023, 2, 29)).is_err());
        assert!(date_from_proto(&pdate(2024, 13, 1)).is_err());
        assert!(date_from_proto(&pdate(2024, 1, -1)).is_err());
        assert!(date_from_proto(&pdate(10_000, 1, 1)).is_err());
        let d = Date::from_time(date!(2025 - 06 - 02));
        assert_eq!(d.to_string(), "2025-06-02");
        assert!(d.is_after(date!(2025 - 06 - 01)));
        assert!(!feb29.is_after(date!(2025 - 06 - 01)));
    }

    #[test]
    fn stored_dates_are_checked_when_read() {
        let d: Date = serde_json::from_str(r#"{"month":2,"day":29}"#).expect("year 0");
        assert_eq!(d.year(), 0);
        assert_eq!(
            serde_json::to_string(&d).expect("json"),
            r#"{"year":0,"month":2,"day":29}"#
        );
        assert!(serde_json::from_str::<Date>(r#"{"year":2023,"month":2,"day":29}"#).is_err());
    }

    #[test]
    fn optional_and_required_dates() {
        let zero = pt::Date::default();
        assert_eq!(found(|v| optional_date(v, "d", None)), (None, vec![]));
        assert_eq!(
            found(|v| optional_date(v, "d", Some(&zero))),
            (None, vec![])
        );
        assert_eq!(
            found(|v| optional_date(v, "d", Some(&pdate(2024, 2, 30)))).1,
            ["x.d: day 30 is not a day of February 2024"]
        );
        assert_eq!(
            found(|v| required_date(v, "d", Some(&zero))).1,
            ["x.d: is required"]
        );
        assert_eq!(
            found(|v| required_date(v, "d", Some(&pdate(0, 12, 24)))).0,
            Date::new(0, 12, 24).ok()
        );
    }

    #[test]
    fn full_dates_need_their_year() {
        assert_eq!(found(|v| full_date(v, "d", None)), (None, vec![]));
        assert_eq!(
            found(|v| full_date(v, "d", Some(&pdate(2025, 10, 1)))).0,
            Some(date!(2025 - 10 - 01))
        );
        assert_eq!(
            found(|v| full_date(v, "d", Some(&pdate(0, 10, 1)))).1,
            ["x.d: 0000-10-01 is not a date (year 1..9999, month 1..12, a day of that month)"]
        );
        assert_eq!(
            found(|v| full_date(v, "d", Some(&pdate(2025, 2, 29))))
                .1
                .len(),
            1
        );
    }

    fn pmoney(currency: &str, minor_units: i64) -> pt::Money {
        pt::Money {
            currency_code: currency.into(),
            minor_units,
        }
    }

    #[test]
    fn money_has_a_currency_and_no_sign() {
        assert_eq!(found(|v| money(v, "m", None)), (None, vec![]));
        assert_eq!(
            found(|v| money(v, "m", Some(&pt::Money::default()))),
            (None, vec![])
        );
        let (m, bad) = found(|v| money(v, "m", Some(&pmoney("CNY", 0))));
        assert!(bad.is_empty());
        let m = m.expect("an amount");
        assert_eq!(money_to_proto(&m), pmoney("CNY", 0));
        assert_eq!(
            found(|v| money(v, "m", Some(&pmoney("", 5)))).1,
            ["x.m.currency_code: is required when an amount is given"]
        );
        assert_eq!(
            found(|v| money(v, "m", Some(&pmoney("cny", -5)))).1,
            [
                "x.m.currency_code: \"cny\" is not an ISO 4217 code (three upper-case letters, \
                 e.g. \"CNY\")",
                "x.m.minor_units: must not be negative",
            ]
        );
        assert!(is_currency("USD") && !is_currency("US") && !is_currency("USDT"));
    }
}
