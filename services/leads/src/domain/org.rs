//! The sales organization (LE4): stores, teams and reps, and the rules their fields follow.
//! Stores and teams have client-chosen keys; a rep's id is its JWT subject, so tokens and the
//! organization name the same person.

use std::ops::RangeInclusive;

use rapport_runtime::{clock::Micros, validation::Violations};

/// Longest display name, in characters.
pub const DISPLAY_NAME_MAX: usize = 200;
/// Longest store region, in characters.
pub const REGION_MAX: usize = 100;
/// Most values in one rep attribute list.
pub const ATTR_VALUES_MAX: usize = 50;
/// Longest attribute value, in characters.
pub const ATTR_VALUE_MAX: usize = 100;
/// Longest subject (a manager's id), in characters, as `names::parse_subject` allows.
pub const SUBJECT_MAX: usize = 128;

/// Allowed private-pool capacity.
pub const CAPACITY: RangeInclusive<i64> = 0..=100_000;
/// Allowed daily claim limit (0 turns claiming off).
pub const DAILY_CLAIM_LIMIT: RangeInclusive<i64> = 0..=10_000;
/// Allowed assignment weight.
pub const WEIGHT: RangeInclusive<i64> = 1..=100;

/// Capacity of a rep created without one.
pub const DEFAULT_CAPACITY: i64 = 100;
/// Daily claim limit of a rep created without one.
pub const DEFAULT_DAILY_CLAIM_LIMIT: i64 = 20;
/// Weight of a rep created without one.
pub const DEFAULT_WEIGHT: i64 = 1;

/// A store of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    /// The key in `stores/{key}`.
    pub id: String,
    /// Shown to people.
    pub display_name: String,
    /// E.g. a city.
    pub region: String,
    /// When it was created.
    pub create_time: Micros,
    /// When it last changed.
    pub update_time: Micros,
    /// Bumped by every change (etags).
    pub version: i64,
}

impl Store {
    /// `stores/{key}`.
    pub fn name(&self) -> String {
        store_name(&self.id)
    }
}

/// A sales team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    /// The key in `teams/{key}`; also the `team` claim of its members' tokens.
    pub id: String,
    /// Shown to people.
    pub display_name: String,
    /// The store's key, or empty.
    pub store_id: String,
    /// The manager's subject, or empty; dwell escalations go there.
    pub manager_id: String,
    /// When it was created.
    pub create_time: Micros,
    /// When it last changed.
    pub update_time: Micros,
    /// Bumped by every change (etags).
    pub version: i64,
}

impl Team {
    /// `teams/{key}`.
    pub fn name(&self) -> String {
        team_name(&self.id)
    }
}

/// Whether a rep takes new leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RepStatus {
    /// Working; gets leads.
    Active,
    /// Away for now; keeps its leads, gets no new ones.
    Absent,
    /// Left or disabled; gets no leads.
    Inactive,
}

impl RepStatus {
    /// Every status, in declaration order.
    pub const ALL: [RepStatus; 3] = [RepStatus::Active, RepStatus::Absent, RepStatus::Inactive];

    /// The stored and filterable spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RepStatus::Active => "ACTIVE",
            RepStatus::Absent => "ABSENT",
            RepStatus::Inactive => "INACTIVE",
        }
    }

    /// The status stored as `text`.
    pub fn parse(text: &str) -> Option<RepStatus> {
        RepStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether a rep in this status may get new leads.
    pub fn takes_leads(self) -> bool {
        self == RepStatus::Active
    }
}

/// A sales rep. `open_leads` is kept by assignment; the organization API never writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rep {
    /// The rep's subject, the key in `reps/{subject}`.
    pub id: String,
    /// Shown to people.
    pub display_name: String,
    /// The team's key, or empty.
    pub team_id: String,
    /// The store's key, or empty.
    pub store_id: String,
    /// Lower case, distinct.
    pub skills: Vec<String>,
    /// As given, trimmed, distinct.
    pub regions: Vec<String>,
    /// BCP 47 tags as given, trimmed, distinct.
    pub languages: Vec<String>,
    /// Lower case, distinct.
    pub product_lines: Vec<String>,
    /// Most open leads in the private pool.
    pub capacity: i64,
    /// Most public-pool claims a day; 0: none.
    pub daily_claim_limit: i64,
    /// Share in weighted assignment.
    pub weight: i64,
    /// Whether the rep takes new leads.
    pub status: RepStatus,
    /// Open leads in the private pool.
    pub open_leads: i64,
    /// When it was created.
    pub create_time: Micros,
    /// When its profile last changed.
    pub update_time: Micros,
    /// Bumped by every profile change (etags); assignment counters leave it alone.
    pub version: i64,
}

impl Rep {
    /// `reps/{subject}`.
    pub fn name(&self) -> String {
        rep_name(&self.id)
    }

    /// The values of one attribute list.
    pub fn attr(&self, kind: AttrKind) -> &[String] {
        match kind {
            AttrKind::Skill => &self.skills,
            AttrKind::Region => &self.regions,
            AttrKind::Language => &self.languages,
            AttrKind::ProductLine => &self.product_lines,
        }
    }
}

/// `stores/{key}`.
pub fn store_name(id: &str) -> String {
    format!("stores/{id}")
}

/// `teams/{key}`.
pub fn team_name(id: &str) -> String {
    format!("teams/{id}")
}

/// `reps/{subject}`.
pub fn rep_name(id: &str) -> String {
    format!("reps/{id}")
}

/// One of a rep's attribute lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttrKind {
    /// `skills`.
    Skill,
    /// `regions`.
    Region,
    /// `languages`.
    Language,
    /// `product_lines`.
    ProductLine,
}

impl AttrKind {
    /// Every list, in field order.
    pub const ALL: [AttrKind; 4] = [
        AttrKind::Skill,
        AttrKind::Region,
        AttrKind::Language,
        AttrKind::ProductLine,
    ];

    /// The stored spelling (the `kind` of attribute rows).
    pub fn as_str(self) -> &'static str {
        match self {
            AttrKind::Skill => "skill",
            AttrKind::Region => "region",
            AttrKind::Language => "language",
            AttrKind::ProductLine => "product_line",
        }
    }

    /// The field of Rep holding the list.
    pub fn field(self) -> &'static str {
        match self {
            AttrKind::Skill => "skills",
            AttrKind::Region => "regions",
            AttrKind::Language => "languages",
            AttrKind::ProductLine => "product_lines",
        }
    }

    /// The list stored as `text`.
    pub fn parse(text: &str) -> Option<AttrKind> {
        AttrKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// One value as stored and matched: trimmed; skills and product lines are lower case
    /// (they come from free-form labels), regions and languages keep their spelling.
    pub fn normalize(self, value: &str) -> String {
        let value = value.trim();
        match self {
            AttrKind::Skill | AttrKind::ProductLine => value.to_lowercase(),
            AttrKind::Region | AttrKind::Language => value.to_owned(),
        }
    }
}

/// A required display name, trimmed, reported on `field`.
pub fn parse_display_name(raw: &str, field: &str, v: &mut Violations) -> String {
    let name = raw.trim();
    if name.is_empty() {
        v.add(field, "is required");
    } else if name.chars().count() > DISPLAY_NAME_MAX {
        v.add(
            field,
            format!("must be at most {DISPLAY_NAME_MAX} characters"),
        );
    }
    name.to_owned()
}

/// Optional free text of at most `max` characters, trimmed, reported on `field`.
pub fn parse_short_text(raw: &str, max: usize, field: &str, v: &mut Violations) -> String {
    let text = raw.trim();
    if text.chars().count() > max {
        v.add(field, format!("must be at most {max} characters"));
    }
    text.to_owned()
}

/// An optional subject (a person's id from tokens), reported on `field`.
pub fn parse_subject(raw: &str, field: &str, v: &mut Violations) -> String {
    let subject = raw.trim();
    if subject.chars().count() > SUBJECT_MAX
        || subject.contains('/')
        || subject.chars().any(char::is_control)
    {
        v.add(
            field,
            format!("must be a subject of at most {SUBJECT_MAX} characters without \"/\""),
        );
    }
    subject.to_owned()
}

/// The values of one attribute list normalized ([`AttrKind::normalize`]) and deduplicated in
/// first-seen order; empty and overlong values are reported as `{field}[i]`.
pub fn parse_attrs(kind: AttrKind, raw: &[String], v: &mut Violations) -> Vec<String> {
    let field = kind.field();
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for (i, value) in raw.iter().enumerate() {
        let value = kind.normalize(value);
        if value.is_empty() {
            v.add(format!("{field}[{i}]"), "must not be empty");
        } else if value.chars().count() > ATTR_VALUE_MAX {
            v.add(
                format!("{field}[{i}]"),
                format!("must be at most {ATTR_VALUE_MAX} characters"),
            );
        } else if !out.contains(&value) {
            out.push(value);
        }
    }
    if out.len() > ATTR_VALUES_MAX {
        v.add(field, format!("must have at most {ATTR_VALUES_MAX} values"));
    }
    out
}

/// `value` when it is in `range`, else reported on `field`.
pub fn parse_in_range(
    value: i64,
    range: RangeInclusive<i64>,
    field: &str,
    v: &mut Violations,
) -> i64 {
    if !range.contains(&value) {
        v.add(
            field,
            format!("must be {}..{} (got {value})", range.start(), range.end()),
        );
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|s| (*s).to_owned()).collect()
    }

    fn fields(v: &Violations) -> Vec<&str> {
        v.items().iter().map(|i| i.field.as_str()).collect()
    }

    #[test]
    fn skills_are_trimmed_lower_cased_and_distinct() {
        let mut v = Violations::new();
        let got = parse_attrs(
            AttrKind::Skill,
            &strings(&[" Villa ", "villa", "Commercial", "VILLA"]),
            &mut v,
        );
        assert_eq!(got, ["villa", "commercial"]);
        assert!(v.is_empty());
    }

    #[test]
    fn regions_and_languages_keep_their_spelling() {
        let mut v = Violations::new();
        let regions = parse_attrs(AttrKind::Region, &strings(&[" 深圳 ", "Shenzhen"]), &mut v);
        assert_eq!(regions, ["深圳", "Shenzhen"]);
        let langs = parse_attrs(AttrKind::Language, &strings(&["zh-CN", "zh-CN "]), &mut v);
        assert_eq!(langs, ["zh-CN"]);
        assert!(v.is_empty());
    }

    #[test]
    fn bad_attribute_values_are_reported_by_index() {
        let mut v = Violations::with_prefix("rep");
        let long = "x".repeat(ATTR_VALUE_MAX + 1);
        parse_attrs(AttrKind::ProductLine, &strings(&["ok", " ", &long]), &mut v);
        assert_eq!(fields(&v), ["rep.product_lines[1]", "rep.product_lines[2]"]);
    }

    #[test]
    fn too_many_values_are_refused_after_deduplication() {
        let many: Vec<String> = (0..=ATTR_VALUES_MAX).map(|i| format!("s{i}")).collect();
        let mut v = Violations::new();
        parse_attrs(AttrKind::Skill, &many, &mut v);
        assert_eq!(fields(&v), ["skills"]);
        let mut v = Violations::new();
        let repeated: Vec<String> = (0..200).map(|_| "same".to_owned()).collect();
        assert_eq!(parse_attrs(AttrKind::Skill, &repeated, &mut v), ["same"]);
        assert!(v.is_empty());
    }

    #[test]
    fn display_names_and_ranges() {
        let mut v = Violations::new();
        assert_eq!(
            parse_display_name("  北区一组 ", "display_name", &mut v),
            "北区一组"
        );
        parse_display_name("   ", "a", &mut v);
        parse_display_name(&"名".repeat(DISPLAY_NAME_MAX + 1), "b", &mut v);
        parse_in_range(0, WEIGHT, "c", &mut v);
        parse_in_range(100_000, CAPACITY, "d", &mut v);
        parse_in_range(-1, DAILY_CLAIM_LIMIT, "e", &mut v);
        assert_eq!(fields(&v), ["a", "b", "c", "e"]);
    }

    #[test]
    fn subjects_have_no_slash() {
        let mut v = Violations::new();
        assert_eq!(parse_subject(" mgr-1 ", "m", &mut v), "mgr-1");
        assert_eq!(parse_subject("", "m", &mut v), "");
        parse_subject("a/b", "x", &mut v);
        parse_subject(&"a".repeat(SUBJECT_MAX + 1), "y", &mut v);
        assert_eq!(fields(&v), ["x", "y"]);
    }

    #[test]
    fn statuses_round_trip_and_only_active_takes_leads() {
        for s in RepStatus::ALL {
            assert_eq!(RepStatus::parse(s.as_str()), Some(s));
        }
        assert!(RepStatus::Active.takes_leads());
        assert!(!RepStatus::Absent.takes_leads());
        assert!(!RepStatus::Inactive.takes_leads());
        for k in AttrKind::ALL {
            assert_eq!(AttrKind::parse(k.as_str()), Some(k));
        }
    }
}
