//! A customer's profile (everything a client may set) and the stored customer record.
//!
//! The profile is stored as one JSON document, so serde names here are a storage format: rename
//! nothing without a migration. Empty fields are left out to keep documents small.

use std::collections::{BTreeMap, HashSet};

/// A calendar date whose year may be unknown (year 0), as `rapport.type.v1.Date` carries it.
pub use rapport_kit::validate::Date;
use rapport_runtime::clock::Micros;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::consent::{self, Channel, Consent, Decision, Outgoing};
pub use super::contact::{ContactKey, EmailAddress, ImHandle, ImPlatform, PhoneNumber};
use super::names;
use super::value::CustomerValue;

/// Longest display name.
pub const MAX_DISPLAY_NAME: usize = 200;
/// Longest family or given name.
pub const MAX_PERSON_NAME: usize = 100;
/// Longest organization name.
pub const MAX_ORGANIZATION_NAME: usize = 200;
/// Longest label (phones, emails, addresses, important dates).
pub const MAX_LABEL: usize = 64;
/// Longest grade.
pub const MAX_GRADE: usize = 32;
/// Longest tag.
pub const MAX_TAG: usize = 64;
/// Most tags of a customer.
pub const MAX_TAGS: usize = 100;
/// Most phones, emails or IM handles (each) of a customer.
pub const MAX_CONTACTS: usize = 20;
/// Most addresses of a customer.
pub const MAX_ADDRESSES: usize = 10;
/// Most needs of a customer.
pub const MAX_NEEDS: usize = 20;
/// Most important dates of a customer.
pub const MAX_IMPORTANT_DATES: usize = 50;
/// Most hobbies, or habits, of a customer.
pub const MAX_TRAITS: usize = 50;
/// Most teams a customer is shared with.
pub const MAX_SHARED_TEAMS: usize = 20;

fn consent_is_empty(consent: &Consent) -> bool {
    *consent == Consent::default()
}

/// Whether a customer is a person or an organization.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerKind {
    /// A natural person.
    #[default]
    Person,
    /// A company or other organization.
    Organization,
}

/// The kind of a phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneKind {
    /// A mobile phone.
    Mobile,
    /// A home landline.
    Home,
    /// A work landline.
    Work,
    /// Anything else.
    Other,
}

/// A phone number of a customer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Phone {
    /// The number, E.164.
    pub number: PhoneNumber,
    /// Mobile, home, ...; `None` when not said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<PhoneKind>,
    /// Free label, up to 64 characters.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
}

/// An email address of a customer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email {
    /// The address, normalized.
    pub address: EmailAddress,
    /// Free label, up to 64 characters.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
}

/// A postal address with a region hierarchy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct Address {
    /// Free label, e.g. "home".
    #[serde(skip_serializing_if = "String::is_empty")]
    pub label: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country_code: String,
    /// Province or state.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub province: String,
    /// City.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub city: String,
    /// District.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub district: String,
    /// Street address lines.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub street: String,
    /// Postal code.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub postal_code: String,
}

/// Gender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    /// Female.
    Female,
    /// Male.
    Male,
    /// Another gender.
    Other,
}

/// Income band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncomeBand {
    /// Low income.
    Low,
    /// Lower-middle income.
    LowerMiddle,
    /// Middle income.
    Middle,
    /// Upper-middle income.
    UpperMiddle,
    /// High income.
    High,
}

/// Highest education.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Education {
    /// Primary school.
    Primary,
    /// Secondary school.
    Secondary,
    /// Vocational training.
    Vocational,
    /// Bachelor's degree.
    Bachelor,
    /// Master's degree.
    Master,
    /// Doctorate.
    Doctorate,
}

/// Marital status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaritalStatus {
    /// Single.
    Single,
    /// Married.
    Married,
    /// Divorced.
    Divorced,
    /// Widowed.
    Widowed,
}

/// Demographic facts about a person; `None` / empty means not said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct Demographics {
    /// Gender.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    /// Birth date, not in the future; year 0 when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<Date>,
    /// Occupation.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub occupation: String,
    /// Job title.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Income band.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub income_band: Option<IncomeBand>,
    /// Highest education.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub education: Option<Education>,
    /// Marital status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marital_status: Option<MaritalStatus>,
}

impl Demographics {
    /// Whether nothing is said.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Risk tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskTolerance {
    /// Avoids risk.
    Low,
    /// Accepts some risk.
    Medium,
    /// Seeks risk.
    High,
}

/// Social traits of a person.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct SocialTraits {
    /// Hobbies, unique.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hobbies: Vec<String>,
    /// Habits, unique.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub habits: Vec<String>,
    /// Risk tolerance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk_tolerance: Option<RiskTolerance>,
}

impl SocialTraits {
    /// Whether nothing is said.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A budget range in one currency; at least one end is set, and min ≤ max.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Budget {
    /// ISO 4217 code, e.g. "CNY".
    pub currency_code: String,
    /// Lower end in minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_minor_units: Option<i64>,
    /// Upper end in minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_minor_units: Option<i64>,
}

/// A need or an intended product.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct Need {
    /// Product category, e.g. "sofa".
    pub category: String,
    /// Specific products of interest.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<String>,
    /// Preferred style.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub style: String,
    /// Budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// When the customer means to buy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired_date: Option<Date>,
    /// Further structured attributes.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// Free notes.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub notes: String,
}

/// Where a customer is in its lifecycle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleStage {
    /// Known, not yet bought.
    #[default]
    Prospect,
    /// Has bought once.
    Customer,
    /// Has bought more than once.
    RepeatCustomer,
    /// Has stopped buying.
    Churned,
}

impl LifecycleStage {
    /// The stable lower-case name, e.g. `"repeat_customer"` (storage, filters).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Prospect => "prospect",
            Self::Customer => "customer",
            Self::RepeatCustomer => "repeat_customer",
            Self::Churned => "churned",
        }
    }
}

/// The kind of an important date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportantDateKind {
    /// A wedding or relationship anniversary.
    Anniversary,
    /// The anniversary of becoming a customer, or of a delivery.
    CustomerAnniversary,
    /// Any other date, named by its label.
    Custom,
}

/// A date worth remembering for care.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImportantDate {
    /// The kind.
    pub kind: ImportantDateKind,
    /// Label; never empty for [`ImportantDateKind::Custom`].
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
    /// The date; year 0 when only month and day matter.
    pub date: Date,
}

/// Everything a client may set on a customer, parsed and normalized.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Profile {
    /// Person or organization; immutable.
    pub kind: CustomerKind,
    /// The name shown everywhere, never empty.
    pub display_name: String,
    /// Family name of a person (姓).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub family_name: String,
    /// Given name of a person (名).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub given_name: String,
    /// Legal name of an organization, or a person's employer.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub organization_name: String,
    /// Phone numbers, unique.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<Phone>,
    /// Email addresses, unique by [`ContactKey`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<Email>,
    /// IM handles, unique by [`ContactKey`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub im_handles: Vec<ImHandle>,
    /// Postal addresses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<Address>,
    /// Demographic facts.
    #[serde(skip_serializing_if = "Demographics::is_empty")]
    pub demographics: Demographics,
    /// Social traits.
    #[serde(skip_serializing_if = "SocialTraits::is_empty")]
    pub traits: SocialTraits,
    /// Needs and intended products.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<Need>,
    /// The channel the customer came from.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source_channel: String,
    /// The customer who referred this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referrer: Option<Uuid>,
    /// The owning rep's subject id.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub owner_id: String,
    /// The owning team's id.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub team_id: String,
    /// The owning store's id.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub store_id: String,
    /// Lifecycle stage.
    pub lifecycle_stage: LifecycleStage,
    /// The tenant's grade label.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub grade: String,
    /// Tags, unique, in order of first use.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Values of the tenant's custom fields, type-checked; absent fields have no entry.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_fields: BTreeMap<String, serde_json::Value>,
    /// Anniversaries and other dates to remember.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub important_dates: Vec<ImportantDate>,
    /// Contact consent.
    #[serde(skip_serializing_if = "consent_is_empty")]
    pub consent: Consent,
    /// Teams, besides the owning team, whose reps may see this customer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shared_team_ids: Vec<String>,
}

/// Reads a tag: trimmed, 1..64 characters, no control characters.
pub fn normalize_tag(raw: &str) -> Result<String, String> {
    let tag = raw.trim();
    if tag.is_empty() {
        return Err("is empty".into());
    }
    if tag.chars().count() > MAX_TAG {
        return Err(format!("is longer than {MAX_TAG} characters"));
    }
    if tag.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(tag.to_owned())
}

impl Profile {
    /// The keys duplicates are found by, each once: phones, then emails, then IM handles.
    pub fn contact_keys(&self) -> Vec<ContactKey> {
        let phones = self.phones.iter().map(|p| ContactKey::phone(&p.number));
        let emails = self.emails.iter().map(|e| ContactKey::email(&e.address));
        let ims = self.im_handles.iter().map(ContactKey::im);
        let mut seen = HashSet::new();
        phones
            .chain(emails)
            .chain(ims)
            .filter(|k| seen.insert(k.clone()))
            .collect()
    }

    /// Lower-cased names joined by spaces, for name search: display, family, given, family and
    /// given written together (so "张伟" matches family "张" + given "伟"), organization.
    pub fn search_text(&self) -> String {
        let joined = format!("{}{}", self.family_name, self.given_name);
        let parts = [
            self.display_name.as_str(),
            &self.family_name,
            &self.given_name,
            &joined,
            &self.organization_name,
        ];
        let mut seen = HashSet::new();
        let words: Vec<String> = parts
            .iter()
            .map(|p| p.trim().to_lowercase())
            .filter(|p| !p.is_empty() && seen.insert(p.clone()))
            .collect();
        words.join(" ")
    }

    /// Whether the customer has `tag`.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }

    /// Adds tags not already present, in order, up to [`MAX_TAGS`]; returns whether all fit.
    /// The tags must be normalized ([`normalize_tag`]).
    pub fn add_tags<I, S>(&mut self, tags: I) -> bool
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut all_fit = true;
        for tag in tags {
            let tag = tag.into();
            if self.has_tag(&tag) {
                continue;
            }
            if self.tags.len() >= MAX_TAGS {
                all_fit = false;
                continue;
            }
            self.tags.push(tag);
        }
        all_fit
    }

    /// Whether the customer can be reached on `channel` at all: a phone for SMS and calls, an
    /// email address, an IM handle.
    pub fn has_address(&self, channel: Channel) -> bool {
        match channel {
            Channel::Sms | Channel::Phone => !self.phones.is_empty(),
            Channel::Email => !self.emails.is_empty(),
            Channel::Im => !self.im_handles.is_empty(),
        }
    }

    /// Whether `message` may be sent to the customer, by its consent and addresses (see
    /// [`consent::check`]): what CheckContactPermission answers, and what a segment's members
    /// say of each.
    pub fn contact_decision(&self, message: &Outgoing) -> Decision {
        consent::check(
            &self.consent,
            message.channel,
            self.has_address(message.channel),
            message.at,
            message.transactional,
        )
    }

    /// Sets when each consent decision was recorded: kept from `previous` when the decision
    /// (status and source) did not change, else `now`. Clients never send these times, so call
    /// this before storing a parsed profile.
    pub fn stamp_consent(&mut self, previous: Option<&Consent>, now: Micros) {
        for decision in &mut self.consent.channels {
            decision.update_time = now;
        }
        if let Some(previous) = previous {
            self.consent.keep_update_times(previous);
        }
    }

    /// Removes the given tags.
    pub fn remove_tags<S: AsRef<str>>(&mut self, tags: &[S]) {
        self.tags.retain(|t| !tags.iter().any(|r| r.as_ref() == t));
    }
}

/// A stored customer (its profile is the stored JSON document; the rest are columns).
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    /// The id (UUIDv7).
    pub id: Uuid,
    /// What clients set.
    pub profile: Profile,
    /// Live customers sharing a contact key when the duplicate policy flagged this one.
    pub possible_duplicates: Vec<Uuid>,
    /// The survivor this customer was merged into.
    pub merged_into: Option<Uuid>,
    /// When it was created.
    pub create_time: Micros,
    /// When it last changed.
    pub update_time: Micros,
    /// When it was soft-deleted.
    pub delete_time: Option<Micros>,
    /// Incremented on every change.
    pub version: i64,
    /// What its orders are worth; `None` without a confirmed order. Kept beside the profile
    /// from order events: changing it is not a change of the customer (no new version).
    pub value: Option<CustomerValue>,
}

impl Customer {
    /// `customers/{id}`.
    pub fn resource_name(&self) -> String {
        names::customer_name(self.id)
    }

    /// An opaque value that changes with every version. Hashed so clients cannot read a
    /// version number into it and start depending on it.
    pub fn etag(&self) -> String {
        rapport_kit::names::etag(self.id.as_bytes(), self.version)
    }

    /// Whether it is soft-deleted.
    pub fn is_deleted(&self) -> bool {
        self.delete_time.is_some()
    }

    /// A copy as the next version, changed at `now`: where every change to it starts.
    pub fn next_version(&self, now: Micros) -> Customer {
        Customer {
            update_time: now,
            version: self.version + 1,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;
    use crate::domain::consent::{Channel, ChannelConsent, ConsentStatus};

    fn phone(raw: &str) -> Phone {
        Phone {
            number: PhoneNumber::parse(raw, "CN").unwrap(),
            kind: None,
            label: String::new(),
        }
    }

    fn email(raw: &str) -> Email {
        Email {
            address: EmailAddress::parse(raw).unwrap(),
            label: String::new(),
        }
    }

    #[test]
    fn dates_are_real_dates() {
        assert!(Date::new(2024, 2, 29).is_ok());
        assert!(Date::new(2023, 2, 29).is_err());
        assert!(Date::new(0, 2, 29).is_ok());
        assert!(Date::new(0, 2, 30).is_err());
        assert!(Date::new(2024, 13, 1).is_err());
        assert!(Date::new(2024, 4, 31).is_err());
        assert!(Date::new(10000, 1, 1).is_err());
        assert!(Date::new(-1, 1, 1).is_err());
        assert_eq!(Date::new(0, 3, 8).unwrap().to_string(), "--03-08");
        assert_eq!(Date::new(1990, 3, 8).unwrap().to_string(), "1990-03-08");
    }

    #[test]
    fn only_dates_with_a_year_can_be_in_the_future() {
        let today = date!(2025 - 06 - 01);
        assert!(Date::new(2025, 6, 2).unwrap().is_after(today));
        assert!(!Date::new(2025, 6, 1).unwrap().is_after(today));
        assert!(!Date::new(0, 12, 31).unwrap().is_after(today));
    }

    #[test]
    fn stored_dates_are_checked_on_load() {
        let ok: Date = serde_json::from_str(r#"{"year":0,"month":2,"day":29}"#).unwrap();
        assert_eq!(ok, Date::new(0, 2, 29).unwrap());
        assert!(serde_json::from_str::<Date>(r#"{"year":2023,"month":2,"day":29}"#).is_err());
    }

    #[test]
    fn contact_keys_are_deduplicated() {
        let profile = Profile {
            phones: vec![phone("13812345678"), phone("+86 138 1234 5678")],
            emails: vec![email("Wei@example.com"), email("wei@EXAMPLE.com")],
            im_handles: vec![ImHandle::parse(ImPlatform::Wechat, "ZhangWei").unwrap()],
            ..Profile::default()
        };
        let keys: Vec<String> = profile
            .contact_keys()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            keys,
            [
                "phone:+8613812345678",
                "email:wei@example.com",
                "im:wechat:zhangwei"
            ]
        );
    }

    #[test]
    fn search_text_finds_family_and_given_name_together() {
        let profile = Profile {
            display_name: "Wei Zhang".into(),
            family_name: "张".into(),
            given_name: "伟".into(),
            organization_name: "ACME".into(),
            ..Profile::default()
        };
        assert_eq!(profile.search_text(), "wei zhang 张 伟 张伟 acme");
        let bare = Profile {
            display_name: "张伟".into(),
            ..Profile::default()
        };
        assert_eq!(bare.search_text(), "张伟");
    }

    #[test]
    fn tags_stay_unique_and_capped() {
        let mut profile = Profile {
            tags: vec!["vip".into()],
            ..Profile::default()
        };
        assert!(profile.add_tags(["new", "vip", "new"]));
        assert_eq!(profile.tags, ["vip", "new"]);
        profile.remove_tags(&["vip"]);
        assert_eq!(profile.tags, ["new"]);
        assert!(!profile.add_tags((0..MAX_TAGS).map(|i| format!("t{i}"))));
        assert_eq!(profile.tags.len(), MAX_TAGS);
        assert_eq!(normalize_tag("  vip "), Ok("vip".to_owned()));
        assert!(normalize_tag(" ").is_err());
        assert!(normalize_tag(&"x".repeat(65)).is_err());
    }

    #[test]
    fn consent_stamps_keep_unchanged_decisions() {
        let decision = |channel, status, update_time| ChannelConsent {
            channel,
            status,
            source: "store_form".into(),
            update_time,
        };
        let previous = Consent {
            channels: vec![
                decision(Channel::Sms, ConsentStatus::OptedIn, 10),
                decision(Channel::Email, ConsentStatus::OptedIn, 10),
            ],
            ..Consent::default()
        };
        let mut profile = Profile {
            consent: Consent {
                channels: vec![
                    decision(Channel::Sms, ConsentStatus::OptedIn, 0),
                    decision(Channel::Email, ConsentStatus::OptedOut, 0),
                    decision(Channel::Im, ConsentStatus::OptedIn, 0),
                ],
                ..Consent::default()
            },
            ..Profile::default()
        };
        let mut created = profile.clone();
        profile.stamp_consent(Some(&previous), 99);
        let times: Vec<Micros> = profile
            .consent
            .channels
            .iter()
            .map(|c| c.update_time)
            .collect();
        assert_eq!(times, [10, 99, 99]);
        created.stamp_consent(None, 7);
        assert!(created.consent.channels.iter().all(|c| c.update_time == 7));
    }

    #[test]
    fn profiles_are_stored_small_and_round_trip() {
        let empty = Profile {
            display_name: "张伟".into(),
            ..Profile::default()
        };
        let json = serde_json::to_string(&empty).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"person","display_name":"张伟","lifecycle_stage":"prospect"}"#
        );
        let full = Profile {
            phones: vec![Phone {
                kind: Some(PhoneKind::Mobile),
                ..phone("13812345678")
            }],
            emails: vec![email("wei@example.com")],
            demographics: Demographics {
                birth_date: Some(Date::new(0, 2, 29).unwrap()),
                ..Demographics::default()
            },
            referrer: Some(Uuid::now_v7()),
            custom_fields: [("size".to_owned(), serde_json::json!("M"))].into(),
            consent: Consent {
                do_not_disturb: true,
                ..Consent::default()
            },
            ..empty
        };
        let json = serde_json::to_string(&full).unwrap();
        assert_eq!(serde_json::from_str::<Profile>(&json).unwrap(), full);
    }

    #[test]
    fn etags_change_with_the_version() {
        let mut customer = Customer {
            id: Uuid::now_v7(),
            profile: Profile::default(),
            possible_duplicates: vec![],
            merged_into: None,
            create_time: 1,
            update_time: 1,
            delete_time: None,
            version: 1,
            value: None,
        };
        let first = customer.etag();
        assert_eq!(first.len(), 16);
        assert_eq!(customer.etag(), first);
        customer.version += 1;
        assert_ne!(customer.etag(), first);
        assert_eq!(
            customer.resource_name(),
            format!("customers/{}", customer.id)
        );
    }
}
