//! Customers: proto <-> domain, update masks, and `google.protobuf.Struct` <-> JSON.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

use prost::UnknownEnumValue;
use prost_types::value::Kind;
use rapport_proto::customers as pb;
use rapport_proto::types as pt;
use rapport_runtime::clock::to_timestamp;
use rapport_runtime::validation::Violations;
use serde_json::Value;

use super::consent::{consent_from_proto, consent_to_proto};
use super::json::{json_to_struct, struct_to_json};
use crate::domain::contact::{self, ContactKey, EmailAddress, ImHandle, PhoneNumber};
use crate::domain::custom_fields::{self, CustomFieldDef};
use crate::domain::names;
use crate::domain::profile::{
    self, Address, Budget, Customer, Date, Demographics, Email, ImportantDate, ImportantDateKind,
    MAX_ADDRESSES, MAX_CONTACTS, MAX_DISPLAY_NAME, MAX_GRADE, MAX_ID, MAX_IMPORTANT_DATES,
    MAX_LABEL, MAX_NEEDS, MAX_ORGANIZATION_NAME, MAX_PERSON_NAME, MAX_SHARED_TEAMS, MAX_TAGS,
    MAX_TRAITS, Need, Phone, Profile, SocialTraits,
};

/// Longest source channel.
const MAX_SOURCE_CHANNEL: usize = 64;
/// Longest province, city or district.
const MAX_REGION: usize = 64;
/// Longest street address.
const MAX_STREET: usize = 256;
/// Longest postal code.
const MAX_POSTAL_CODE: usize = 16;
/// Longest occupation or job title.
const MAX_OCCUPATION: usize = 100;
/// Longest hobby or habit.
const MAX_TRAIT: usize = 64;
/// Longest need category or style.
const MAX_CATEGORY: usize = 64;
/// Longest product name in a need.
const MAX_PRODUCT: usize = 128;
/// Most products in a need.
const MAX_PRODUCTS: usize = 20;
/// Most attributes of a need.
const MAX_ATTRIBUTES: usize = 20;
/// Longest attribute key of a need.
const MAX_ATTRIBUTE_KEY: usize = 64;
/// Longest attribute value of a need.
const MAX_ATTRIBUTE_VALUE: usize = 256;
/// Longest notes of a need.
const MAX_NOTES: usize = 2000;

/// What parsing a profile needs to know about the tenant and the day.
#[derive(Debug, Clone, Copy)]
pub struct ProfileContext<'a> {
    /// The region phone numbers without `+` are read in, e.g. "CN".
    pub default_region: &'a str,
    /// The tenant's custom field definitions.
    pub custom_fields: &'a [CustomFieldDef],
    /// Today, to refuse birth dates in the future.
    pub today: time::Date,
}

// Domain enums are named as their proto counterparts without UNSPECIFIED, so one table maps
// each both ways.
macro_rules! enum_conversions {
    ($from:ident, $to:ident, $name:ident, [$($variant:ident),+ $(,)?]) => {
        #[doc = concat!("The domain value of a proto `", stringify!($name), "`: `Ok(None)` for \
                         UNSPECIFIED, `Err` for a number the proto does not define.")]
        pub fn $from(value: i32) -> Result<Option<profile::$name>, UnknownEnumValue> {
            Ok(match pb::$name::try_from(value)? {
                pb::$name::Unspecified => None,
                $(pb::$name::$variant => Some(profile::$name::$variant),)+
            })
        }

        #[doc = concat!("The proto value of a domain `", stringify!($name), "`.")]
        pub fn $to(value: profile::$name) -> pb::$name {
            match value {
                $(profile::$name::$variant => pb::$name::$variant,)+
            }
        }
    };
}

enum_conversions!(
    customer_kind_from_proto,
    customer_kind_to_proto,
    CustomerKind,
    [Person, Organization]
);
enum_conversions!(
    phone_kind_from_proto,
    phone_kind_to_proto,
    PhoneKind,
    [Mobile, Home, Work, Other]
);
enum_conversions!(
    im_platform_from_proto,
    im_platform_to_proto,
    ImPlatform,
    [Wechat, Qq, Whatsapp, Line, Telegram, Other]
);
enum_conversions!(
    gender_from_proto,
    gender_to_proto,
    Gender,
    [Female, Male, Other]
);
enum_conversions!(
    income_band_from_proto,
    income_band_to_proto,
    IncomeBand,
    [Low, LowerMiddle, Middle, UpperMiddle, High]
);
enum_conversions!(
    education_from_proto,
    education_to_proto,
    Education,
    [Primary, Secondary, Vocational, Bachelor, Master, Doctorate]
);
enum_conversions!(
    marital_status_from_proto,
    marital_status_to_proto,
    MaritalStatus,
    [Single, Married, Divorced, Widowed]
);
enum_conversions!(
    risk_tolerance_from_proto,
    risk_tolerance_to_proto,
    RiskTolerance,
    [Low, Medium, High]
);
enum_conversions!(
    lifecycle_stage_from_proto,
    lifecycle_stage_to_proto,
    LifecycleStage,
    [Prospect, Customer, RepeatCustomer, Churned]
);
enum_conversions!(
    important_date_kind_from_proto,
    important_date_kind_to_proto,
    ImportantDateKind,
    [Anniversary, CustomerAnniversary, Custom]
);

/// An optional enum: UNSPECIFIED is `None`, an undefined number is a violation.
fn optional_enum<T>(
    v: &mut Violations,
    field: &str,
    value: i32,
    from: fn(i32) -> Result<Option<T>, UnknownEnumValue>,
    type_name: &str,
) -> Option<T> {
    from(value).unwrap_or_else(|_| {
        v.add(field, format!("{value} is not a valid {type_name}"));
        None
    })
}

/// A required enum: UNSPECIFIED and undefined numbers are violations.
fn required_enum<T>(
    v: &mut Violations,
    field: &str,
    value: i32,
    from: fn(i32) -> Result<Option<T>, UnknownEnumValue>,
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

/// A single-line text field: trimmed, at most `max` characters, no control characters.
fn text(v: &mut Violations, field: &str, raw: &str, max: usize) -> String {
    let value = raw.trim();
    let n = value.chars().count();
    if n > max {
        v.add(field, format!("must be at most {max} characters, got {n}"));
    } else if value.chars().any(char::is_control) {
        v.add(field, "must not contain control characters");
    }
    value.to_owned()
}

/// Like [`text`], but line breaks and tabs are allowed.
fn multiline_text(v: &mut Violations, field: &str, raw: &str, max: usize) -> String {
    let value = raw.trim();
    let n = value.chars().count();
    if n > max {
        v.add(field, format!("must be at most {max} characters, got {n}"));
    } else if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        v.add(
            field,
            "must not contain control characters other than line breaks and tabs",
        );
    }
    value.to_owned()
}

/// Like [`text`], and not empty.
fn required_text(v: &mut Violations, field: &str, raw: &str, max: usize) -> String {
    if raw.trim().is_empty() {
        v.add(field, "is required");
        return String::new();
    }
    text(v, field, raw, max)
}

/// An id of an owner, team or store: at most 128 characters, no whitespace or control
/// characters; empty means none.
fn id(v: &mut Violations, field: &str, raw: &str) -> String {
    let n = raw.chars().count();
    if n > MAX_ID {
        v.add(
            field,
            format!("must be at most {MAX_ID} characters, got {n}"),
        );
    } else if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        v.add(field, "must not contain spaces or control characters");
    }
    raw.to_owned()
}

/// The items of a list to read: all of them, or the first `max` after reporting the excess
/// (reading an oversized list in full would only cost time).
fn capped<'a, T>(v: &mut Violations, field: &str, items: &'a [T], max: usize) -> &'a [T] {
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

/// Short words (tags, hobbies, habits): trimmed, 1..`max` characters, unique in order.
fn words(
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

/// A domain date of a proto date.
pub fn date_from_proto(date: &pt::Date) -> Result<Date, String> {
    let month =
        u8::try_from(date.month).map_err(|_| format!("month {} is not 1..12", date.month))?;
    let day = u8::try_from(date.day).map_err(|_| format!("day {} is not a day", date.day))?;
    Date::new(date.year, month, day)
}

/// The proto date of a domain date.
pub fn date_to_proto(date: Date) -> pt::Date {
    pt::Date {
        year: date.year(),
        month: date.month().into(),
        day: date.day().into(),
    }
}

/// An optional date; an absent or all-zero date is none (clients in some languages always send
/// sub-messages).
fn optional_date(v: &mut Violations, field: &str, date: Option<&pt::Date>) -> Option<Date> {
    let date = date.filter(|d| **d != pt::Date::default())?;
    date_from_proto(date).map_err(|e| v.add(field, e)).ok()
}

/// Reads a customer as a client sent it, reporting every bad field relative to `v`'s prefix.
/// Output-only fields are ignored. Returns a best-effort profile: use it only when `v` stayed
/// empty. Consent decisions come back with update time 0: call [`Profile::stamp_consent`]
/// before storing.
pub fn parse_profile(msg: &pb::Customer, ctx: &ProfileContext<'_>, v: &mut Violations) -> Profile {
    let kind = required_enum(
        v,
        "kind",
        msg.kind,
        customer_kind_from_proto,
        "CustomerKind",
    );
    let lifecycle_stage = optional_enum(
        v,
        "lifecycle_stage",
        msg.lifecycle_stage,
        lifecycle_stage_from_proto,
        "LifecycleStage",
    );
    let referrer = if msg.referrer.is_empty() {
        None
    } else {
        names::parse_customer_name(&msg.referrer)
            .map_err(|e| v.add("referrer", e))
            .ok()
    };
    let owner_id = id(v, "owner_id", &msg.owner_id);
    let team_id = id(v, "team_id", &msg.team_id);
    let store_id = id(v, "store_id", &msg.store_id);
    let mut shared_team_ids: Vec<String> = Vec::new();
    for (i, team) in capped(v, "shared_team_ids", &msg.shared_team_ids, MAX_SHARED_TEAMS)
        .iter()
        .enumerate()
    {
        let field = format!("shared_team_ids[{i}]");
        if team.is_empty() {
            v.add(field, "is empty");
        } else {
            let team = id(v, &field, team);
            if !shared_team_ids.contains(&team) {
                shared_team_ids.push(team);
            }
        }
    }
    Profile {
        kind: kind.unwrap_or_default(),
        display_name: required_text(v, "display_name", &msg.display_name, MAX_DISPLAY_NAME),
        family_name: text(v, "family_name", &msg.family_name, MAX_PERSON_NAME),
        given_name: text(v, "given_name", &msg.given_name, MAX_PERSON_NAME),
        organization_name: text(
            v,
            "organization_name",
            &msg.organization_name,
            MAX_ORGANIZATION_NAME,
        ),
        phones: parse_phones(msg, ctx, v),
        emails: parse_emails(msg, v),
        im_handles: parse_im_handles(msg, v),
        addresses: parse_addresses(msg, ctx, v),
        demographics: parse_demographics(msg.demographics.as_ref(), ctx, v),
        traits: parse_traits(msg.traits.as_ref(), v),
        needs: capped(v, "needs", &msg.needs, MAX_NEEDS)
            .iter()
            .enumerate()
            .filter_map(|(i, need)| v.nested(format!("needs[{i}]"), |v| parse_need(need, v)))
            .fold(Vec::new(), |mut needs, need| {
                if !needs.contains(&need) {
                    needs.push(need);
                }
                needs
            }),
        source_channel: text(v, "source_channel", &msg.source_channel, MAX_SOURCE_CHANNEL),
        referrer,
        owner_id,
        team_id,
        store_id,
        lifecycle_stage: lifecycle_stage.unwrap_or_default(),
        grade: text(v, "grade", &msg.grade, MAX_GRADE),
        tags: words(v, "tags", &msg.tags, profile::MAX_TAG, MAX_TAGS),
        custom_fields: parse_custom_fields(msg.custom_fields.as_ref(), ctx.custom_fields, v),
        important_dates: parse_important_dates(msg, v),
        consent: msg
            .consent
            .as_ref()
            .map(|c| v.nested("consent", |v| consent_from_proto(c, 0, v)))
            .unwrap_or_default(),
        shared_team_ids,
    }
}

/// The duplicate keys of the phones, emails and IM handles of `msg` (FindDuplicates' contact
/// data); no other field is read. Violations are reported as in [`parse_profile`].
pub fn parse_contact_keys(
    msg: &pb::Customer,
    ctx: &ProfileContext<'_>,
    v: &mut Violations,
) -> Vec<ContactKey> {
    let contacts = Profile {
        phones: parse_phones(msg, ctx, v),
        emails: parse_emails(msg, v),
        im_handles: parse_im_handles(msg, v),
        ..Profile::default()
    };
    contacts.contact_keys()
}

fn parse_phones(msg: &pb::Customer, ctx: &ProfileContext<'_>, v: &mut Violations) -> Vec<Phone> {
    let mut keys = HashSet::new();
    let mut out = Vec::new();
    for (i, p) in capped(v, "phones", &msg.phones, MAX_CONTACTS)
        .iter()
        .enumerate()
    {
        let path = |field: &str| format!("phones[{i}].{field}");
        let number = PhoneNumber::parse(&p.number, ctx.default_region)
            .map_err(|e| v.add(path("number"), e))
            .ok();
        let kind = optional_enum(v, &path("kind"), p.kind, phone_kind_from_proto, "PhoneKind");
        let label = text(v, &path("label"), &p.label, MAX_LABEL);
        // The same number written twice is kept once, with the first entry's kind and label.
        if let Some(number) = number.filter(|n| keys.insert(ContactKey::phone(n))) {
            out.push(Phone {
                number,
                kind,
                label,
            });
        }
    }
    out
}

fn parse_emails(msg: &pb::Customer, v: &mut Violations) -> Vec<Email> {
    let mut keys = HashSet::new();
    let mut out = Vec::new();
    for (i, e) in capped(v, "emails", &msg.emails, MAX_CONTACTS)
        .iter()
        .enumerate()
    {
        let path = |field: &str| format!("emails[{i}].{field}");
        let address = EmailAddress::parse(&e.address)
            .map_err(|err| v.add(path("address"), err))
            .ok();
        let label = text(v, &path("label"), &e.label, MAX_LABEL);
        if let Some(address) = address.filter(|a| keys.insert(ContactKey::email(a))) {
            out.push(Email { address, label });
        }
    }
    out
}

fn parse_im_handles(msg: &pb::Customer, v: &mut Violations) -> Vec<ImHandle> {
    let mut keys = HashSet::new();
    let mut out = Vec::new();
    for (i, h) in capped(v, "im_handles", &msg.im_handles, MAX_CONTACTS)
        .iter()
        .enumerate()
    {
        let path = |field: &str| format!("im_handles[{i}].{field}");
        let platform = required_enum(
            v,
            &path("platform"),
            h.platform,
            im_platform_from_proto,
            "ImPlatform",
        );
        let handle = contact::normalize_im_handle(&h.handle).map_err(|e| v.add(path("handle"), e));
        if let (Some(platform), Ok(handle)) = (platform, handle)
            && let Ok(handle) = ImHandle::parse(platform, &handle)
            && keys.insert(ContactKey::im(&handle))
        {
            out.push(handle);
        }
    }
    out
}

fn parse_addresses(
    msg: &pb::Customer,
    ctx: &ProfileContext<'_>,
    v: &mut Violations,
) -> Vec<Address> {
    let mut out: Vec<Address> = Vec::new();
    for (i, a) in capped(v, "addresses", &msg.addresses, MAX_ADDRESSES)
        .iter()
        .enumerate()
    {
        let path = |field: &str| format!("addresses[{i}].{field}");
        let country_code = match a.country_code.trim() {
            "" => ctx.default_region.to_owned(),
            code if code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()) => {
                code.to_ascii_uppercase()
            }
            code => {
                v.add(
                    path("country_code"),
                    format!("{code:?} is not an ISO 3166-1 alpha-2 code"),
                );
                String::new()
            }
        };
        let address = Address {
            label: text(v, &path("label"), &a.label, MAX_LABEL),
            country_code,
            province: text(v, &path("province"), &a.province, MAX_REGION),
            city: text(v, &path("city"), &a.city, MAX_REGION),
            district: text(v, &path("district"), &a.district, MAX_REGION),
            street: multiline_text(v, &path("street"), &a.street, MAX_STREET),
            postal_code: text(v, &path("postal_code"), &a.postal_code, MAX_POSTAL_CODE),
        };
        let located = [
            &address.province,
            &address.city,
            &address.district,
            &address.street,
            &address.postal_code,
        ]
        .iter()
        .any(|f| !f.is_empty());
        if !located {
            v.add(
                format!("addresses[{i}]"),
                "is empty: give a province, city, district, street or postal code",
            );
        } else if !out.contains(&address) {
            out.push(address);
        }
    }
    out
}

fn parse_demographics(
    d: Option<&pb::Demographics>,
    ctx: &ProfileContext<'_>,
    v: &mut Violations,
) -> Demographics {
    let Some(d) = d else {
        return Demographics::default();
    };
    let field = |name: &str| format!("demographics.{name}");
    let birth_date = optional_date(v, &field("birth_date"), d.birth_date.as_ref());
    if birth_date.is_some_and(|b| b.is_after(ctx.today)) {
        v.add(field("birth_date"), "must not be in the future");
    }
    Demographics {
        gender: optional_enum(v, &field("gender"), d.gender, gender_from_proto, "Gender"),
        birth_date,
        occupation: text(v, &field("occupation"), &d.occupation, MAX_OCCUPATION),
        title: text(v, &field("title"), &d.title, MAX_OCCUPATION),
        income_band: optional_enum(
            v,
            &field("income_band"),
            d.income_band,
            income_band_from_proto,
            "IncomeBand",
        ),
        education: optional_enum(
            v,
            &field("education"),
            d.education,
            education_from_proto,
            "Education",
        ),
        marital_status: optional_enum(
            v,
            &field("marital_status"),
            d.marital_status,
            marital_status_from_proto,
            "MaritalStatus",
        ),
    }
}

fn parse_traits(t: Option<&pb::SocialTraits>, v: &mut Violations) -> SocialTraits {
    let Some(t) = t else {
        return SocialTraits::default();
    };
    SocialTraits {
        hobbies: words(v, "traits.hobbies", &t.hobbies, MAX_TRAIT, MAX_TRAITS),
        habits: words(v, "traits.habits", &t.habits, MAX_TRAIT, MAX_TRAITS),
        risk_tolerance: optional_enum(
            v,
            "traits.risk_tolerance",
            t.risk_tolerance,
            risk_tolerance_from_proto,
            "RiskTolerance",
        ),
    }
}

/// A need; violations relative to the need. `None` when it is too broken to keep.
fn parse_need(need: &pb::Need, v: &mut Violations) -> Option<Need> {
    let category = required_text(v, "category", &need.category, MAX_CATEGORY);
    let mut products: Vec<String> = Vec::new();
    for (j, product) in capped(v, "products", &need.products, MAX_PRODUCTS)
        .iter()
        .enumerate()
    {
        let path = format!("products[{j}]");
        if product.trim().is_empty() {
            v.add(path, "is empty");
            continue;
        }
        let product = text(v, &path, product, MAX_PRODUCT);
        if !products.contains(&product) {
            products.push(product);
        }
    }
    let mut attributes = BTreeMap::new();
    if need.attributes.len() > MAX_ATTRIBUTES {
        v.add(
            "attributes",
            format!("must have at most {MAX_ATTRIBUTES} entries"),
        );
    }
    for (key, value) in &need.attributes {
        let path = format!("attributes.{key}");
        if key.trim().is_empty() {
            v.add("attributes", "has an empty key");
            continue;
        }
        let key = text(v, &path, key, MAX_ATTRIBUTE_KEY);
        let value = text(v, &path, value, MAX_ATTRIBUTE_VALUE);
        attributes.insert(key, value);
    }
    let min = money(v, "budget_min", need.budget_min.as_ref());
    let max = money(v, "budget_max", need.budget_max.as_ref());
    let budget = match (min, max) {
        (None, None) => None,
        (Some((currency, min)), None) => Some(Budget {
            currency_code: currency,
            min_minor_units: Some(min),
            max_minor_units: None,
        }),
        (None, Some((currency, max))) => Some(Budget {
            currency_code: currency,
            min_minor_units: None,
            max_minor_units: Some(max),
        }),
        (Some((min_currency, min)), Some((max_currency, max))) => {
            if min_currency != max_currency {
                v.add(
                    "budget_max",
                    format!(
                        "must be in the currency of budget_min ({min_currency}), got {max_currency}"
                    ),
                );
            } else if min > max {
                v.add("budget_max", "must not be below budget_min");
            }
            Some(Budget {
                currency_code: min_currency,
                min_minor_units: Some(min),
                max_minor_units: Some(max),
            })
        }
    };
    let out = Need {
        category,
        products,
        style: text(v, "style", &need.style, MAX_CATEGORY),
        budget,
        desired_date: optional_date(v, "desired_date", need.desired_date.as_ref()),
        attributes,
        notes: multiline_text(v, "notes", &need.notes, MAX_NOTES),
    };
    (!out.category.is_empty()).then_some(out)
}

/// An amount: `None` when absent or empty (no currency and no amount).
fn money(v: &mut Violations, field: &str, m: Option<&pt::Money>) -> Option<(String, i64)> {
    let m = m.filter(|m| **m != pt::Money::default())?;
    let mut ok = true;
    if m.currency_code.is_empty() {
        v.add(
            format!("{field}.currency_code"),
            "is required when an amount is given",
        );
        ok = false;
    } else if m.currency_code.len() != 3 || !m.currency_code.bytes().all(|b| b.is_ascii_uppercase())
    {
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
    ok.then(|| (m.currency_code.clone(), m.minor_units))
}

fn money_to_proto(currency: &str, minor_units: Option<i64>) -> Option<pt::Money> {
    minor_units.map(|minor_units| pt::Money {
        currency_code: currency.to_owned(),
        minor_units,
    })
}

fn parse_custom_fields(
    values: Option<&prost_types::Struct>,
    defs: &[CustomFieldDef],
    v: &mut Violations,
) -> BTreeMap<String, Value> {
    let empty = prost_types::Struct::default();
    let values = values.unwrap_or(&empty);
    let before = v.items().len();
    let json = v.nested("custom_fields", |v| struct_to_json(values, v));
    // A value that could not be read was reported already; do not report it missing as well.
    let defs = if v.items().len() > before {
        let unreadable: Vec<&String> = values
            .fields
            .keys()
            .filter(|k| !json.contains_key(*k))
            .collect();
        Cow::Owned(
            defs.iter()
                .map(|d| CustomFieldDef {
                    required: d.required && !unreadable.contains(&&d.key),
                    ..d.clone()
                })
                .collect(),
        )
    } else {
        Cow::Borrowed(defs)
    };
    custom_fields::check_values(&defs, &json, v)
}

fn parse_important_dates(msg: &pb::Customer, v: &mut Violations) -> Vec<ImportantDate> {
    let mut out: Vec<ImportantDate> = Vec::new();
    for (i, d) in capped(
        v,
        "important_dates",
        &msg.important_dates,
        MAX_IMPORTANT_DATES,
    )
    .iter()
    .enumerate()
    {
        let path = |field: &str| format!("important_dates[{i}].{field}");
        let kind = required_enum(
            v,
            &path("kind"),
            d.kind,
            important_date_kind_from_proto,
            "ImportantDateKind",
        );
        let label = text(v, &path("label"), &d.label, MAX_LABEL);
        if kind == Some(ImportantDateKind::Custom) && label.is_empty() {
            v.add(path("label"), "is required for a CUSTOM date");
        }
        let date = match d.date.as_ref().filter(|d| **d != pt::Date::default()) {
            None => {
                v.add(path("date"), "is required");
                None
            }
            Some(date) => date_from_proto(date)
                .map_err(|e| v.add(path("date"), e))
                .ok(),
        };
        if let (Some(kind), Some(date)) = (kind, date) {
            let date = ImportantDate { kind, label, date };
            if !out.contains(&date) {
                out.push(date);
            }
        }
    }
    out
}

/// The proto of a profile: every client-settable field, no output-only ones.
pub fn profile_to_proto(p: &Profile) -> pb::Customer {
    let d = &p.demographics;
    let t = &p.traits;
    pb::Customer {
        kind: customer_kind_to_proto(p.kind).into(),
        display_name: p.display_name.clone(),
        family_name: p.family_name.clone(),
        given_name: p.given_name.clone(),
        organization_name: p.organization_name.clone(),
        phones: p
            .phones
            .iter()
            .map(|ph| pb::Phone {
                number: ph.number.as_str().to_owned(),
                kind: ph
                    .kind
                    .map_or(pb::PhoneKind::Unspecified, phone_kind_to_proto)
                    .into(),
                label: ph.label.clone(),
            })
            .collect(),
        emails: p
            .emails
            .iter()
            .map(|e| pb::Email {
                address: e.address.as_str().to_owned(),
                label: e.label.clone(),
            })
            .collect(),
        im_handles: p
            .im_handles
            .iter()
            .map(|h| pb::ImHandle {
                platform: im_platform_to_proto(h.platform()).into(),
                handle: h.handle().to_owned(),
            })
            .collect(),
        addresses: p
            .addresses
            .iter()
            .map(|a| pb::Address {
                label: a.label.clone(),
                country_code: a.country_code.clone(),
                province: a.province.clone(),
                city: a.city.clone(),
                district: a.district.clone(),
                street: a.street.clone(),
                postal_code: a.postal_code.clone(),
            })
            .collect(),
        demographics: (!d.is_empty()).then(|| pb::Demographics {
            gender: d
                .gender
                .map_or(pb::Gender::Unspecified, gender_to_proto)
                .into(),
            birth_date: d.birth_date.map(date_to_proto),
            occupation: d.occupation.clone(),
            title: d.title.clone(),
            income_band: d
                .income_band
                .map_or(pb::IncomeBand::Unspecified, income_band_to_proto)
                .into(),
            education: d
                .education
                .map_or(pb::Education::Unspecified, education_to_proto)
                .into(),
            marital_status: d
                .marital_status
                .map_or(pb::MaritalStatus::Unspecified, marital_status_to_proto)
                .into(),
        }),
        traits: (!t.is_empty()).then(|| pb::SocialTraits {
            hobbies: t.hobbies.clone(),
            habits: t.habits.clone(),
            risk_tolerance: t
                .risk_tolerance
                .map_or(pb::RiskTolerance::Unspecified, risk_tolerance_to_proto)
                .into(),
        }),
        needs: p
            .needs
            .iter()
            .map(|n| {
                let (currency, min, max) = match &n.budget {
                    Some(b) => (
                        b.currency_code.as_str(),
                        b.min_minor_units,
                        b.max_minor_units,
                    ),
                    None => ("", None, None),
                };
                pb::Need {
                    category: n.category.clone(),
                    products: n.products.clone(),
                    style: n.style.clone(),
                    budget_min: money_to_proto(currency, min),
                    budget_max: money_to_proto(currency, max),
                    desired_date: n.desired_date.map(date_to_proto),
                    attributes: n
                        .attributes
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    notes: n.notes.clone(),
                }
            })
            .collect(),
        source_channel: p.source_channel.clone(),
        referrer: p.referrer.map(names::customer_name).unwrap_or_default(),
        owner_id: p.owner_id.clone(),
        team_id: p.team_id.clone(),
        store_id: p.store_id.clone(),
        lifecycle_stage: lifecycle_stage_to_proto(p.lifecycle_stage).into(),
        grade: p.grade.clone(),
        tags: p.tags.clone(),
        custom_fields: (!p.custom_fields.is_empty()).then(|| json_to_struct(&p.custom_fields)),
        important_dates: p
            .important_dates
            .iter()
            .map(|d| pb::ImportantDate {
                kind: important_date_kind_to_proto(d.kind).into(),
                label: d.label.clone(),
                date: Some(date_to_proto(d.date)),
            })
            .collect(),
        consent: (p.consent != Default::default()).then(|| consent_to_proto(&p.consent)),
        shared_team_ids: p.shared_team_ids.clone(),
        ..pb::Customer::default()
    }
}

/// The proto of a stored customer, output-only fields included.
pub fn customer_to_proto(c: &Customer) -> pb::Customer {
    pb::Customer {
        name: c.resource_name(),
        possible_duplicates: c
            .possible_duplicates
            .iter()
            .copied()
            .map(names::customer_name)
            .collect(),
        merged_into: c.merged_into.map(names::customer_name).unwrap_or_default(),
        create_time: Some(to_timestamp(c.create_time)),
        update_time: Some(to_timestamp(c.update_time)),
        delete_time: c.delete_time.map(to_timestamp),
        etag: c.etag(),
        ..profile_to_proto(&c.profile)
    }
}

/// Top-level fields an update mask may name, in proto order.
const UPDATABLE: [&str; 20] = [
    "display_name",
    "family_name",
    "given_name",
    "organization_name",
    "phones",
    "emails",
    "im_handles",
    "addresses",
    "demographics",
    "traits",
    "needs",
    "source_channel",
    "referrer",
    "lifecycle_stage",
    "grade",
    "tags",
    "custom_fields",
    "important_dates",
    "consent",
    "shared_team_ids",
];
const OUTPUT_ONLY: [&str; 7] = [
    "name",
    "create_time",
    "update_time",
    "delete_time",
    "etag",
    "possible_duplicates",
    "merged_into",
];
const OWNERSHIP: [&str; 3] = ["owner_id", "team_id", "store_id"];
const DEMOGRAPHICS: [&str; 7] = [
    "gender",
    "birth_date",
    "occupation",
    "title",
    "income_band",
    "education",
    "marital_status",
];
const TRAITS: [&str; 3] = ["hobbies", "habits", "risk_tolerance"];
const CONSENT: [&str; 3] = ["channels", "do_not_disturb", "quiet_hours"];

/// `current` with the fields named by `paths` copied from `patch`. `"*"` names every updatable
/// field; `custom_fields.<key>` sets one custom field, or removes it when `patch` has no value
/// (or null) for it. Bad paths are reported on `update_mask`. Values are not checked: parse
/// the result with [`parse_profile`].
pub fn apply_update_mask(
    current: &pb::Customer,
    patch: &pb::Customer,
    paths: &[String],
    v: &mut Violations,
) -> pb::Customer {
    let mut out = current.clone();
    if paths.is_empty() {
        v.add(
            "update_mask",
            "is required: name the fields to change, or \"*\" for all",
        );
        return out;
    }
    for path in paths {
        let path = path.as_str();
        if path == "*" {
            for field in UPDATABLE {
                copy_field(&mut out, patch, field);
            }
        } else if UPDATABLE.contains(&path) {
            copy_field(&mut out, patch, path);
        } else if path == "kind" {
            v.add("update_mask", "\"kind\" is immutable");
        } else if OWNERSHIP.contains(&path) {
            v.add(
                "update_mask",
                format!(
                    "{path:?} changes only through TransferCustomerOwnership, which keeps the \
                     ownership history"
                ),
            );
        } else if OUTPUT_ONLY.contains(&path) {
            v.add("update_mask", format!("{path:?} is output only"));
        } else if !copy_nested_field(&mut out, patch, path) {
            v.add(
                "update_mask",
                format!("{path:?} is not a field of Customer that can be updated"),
            );
        }
    }
    out
}

fn copy_field(out: &mut pb::Customer, patch: &pb::Customer, field: &str) {
    match field {
        "display_name" => out.display_name.clone_from(&patch.display_name),
        "family_name" => out.family_name.clone_from(&patch.family_name),
        "given_name" => out.given_name.clone_from(&patch.given_name),
        "organization_name" => out.organization_name.clone_from(&patch.organization_name),
        "phones" => out.phones.clone_from(&patch.phones),
        "emails" => out.emails.clone_from(&patch.emails),
        "im_handles" => out.im_handles.clone_from(&patch.im_handles),
        "addresses" => out.addresses.clone_from(&patch.addresses),
        "demographics" => out.demographics.clone_from(&patch.demographics),
        "traits" => out.traits.clone_from(&patch.traits),
        "needs" => out.needs.clone_from(&patch.needs),
        "source_channel" => out.source_channel.clone_from(&patch.source_channel),
        "referrer" => out.referrer.clone_from(&patch.referrer),
        "lifecycle_stage" => out.lifecycle_stage = patch.lifecycle_stage,
        "grade" => out.grade.clone_from(&patch.grade),
        "tags" => out.tags.clone_from(&patch.tags),
        "custom_fields" => out.custom_fields.clone_from(&patch.custom_fields),
        "important_dates" => out.important_dates.clone_from(&patch.important_dates),
        "consent" => out.consent.clone_from(&patch.consent),
        "shared_team_ids" => out.shared_team_ids.clone_from(&patch.shared_team_ids),
        _ => unreachable!("{field} is in UPDATABLE"),
    }
}

/// Copies `parent.child`; false when it names no updatable field.
fn copy_nested_field(out: &mut pb::Customer, patch: &pb::Customer, path: &str) -> bool {
    let Some((parent, child)) = path.split_once('.') else {
        return false;
    };
    match parent {
        "demographics" if DEMOGRAPHICS.contains(&child) => {
            let from = patch.demographics.clone().unwrap_or_default();
            let to = out.demographics.get_or_insert_with(Default::default);
            match child {
                "gender" => to.gender = from.gender,
                "birth_date" => to.birth_date = from.birth_date,
                "occupation" => to.occupation = from.occupation,
                "title" => to.title = from.title,
                "income_band" => to.income_band = from.income_band,
                "education" => to.education = from.education,
                _ => to.marital_status = from.marital_status,
            }
            true
        }
        "traits" if TRAITS.contains(&child) => {
            let from = patch.traits.clone().unwrap_or_default();
            let to = out.traits.get_or_insert_with(Default::default);
            match child {
                "hobbies" => to.hobbies = from.hobbies,
                "habits" => to.habits = from.habits,
                _ => to.risk_tolerance = from.risk_tolerance,
            }
            true
        }
        "consent" if CONSENT.contains(&child) => {
            let from = patch.consent.clone().unwrap_or_default();
            let to = out.consent.get_or_insert_with(Default::default);
            match child {
                "channels" => to.channels = from.channels,
                "do_not_disturb" => to.do_not_disturb = from.do_not_disturb,
                _ => to.quiet_hours = from.quiet_hours,
            }
            true
        }
        "custom_fields" if !child.is_empty() => {
            let value = patch
                .custom_fields
                .as_ref()
                .and_then(|s| s.fields.get(child))
                .filter(|value| !matches!(value.kind, None | Some(Kind::NullValue(_))));
            match value {
                Some(value) => {
                    let fields = &mut out
                        .custom_fields
                        .get_or_insert_with(Default::default)
                        .fields;
                    fields.insert(child.to_owned(), value.clone());
                }
                None => {
                    if let Some(s) = out.custom_fields.as_mut() {
                        s.fields.remove(child);
                    }
                }
            }
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use prost_types::{ListValue, Struct};
    use time::macros::date;
    use uuid::Uuid;

    use super::*;
    use crate::domain::consent::{Channel, ConsentStatus};
    use crate::domain::custom_fields::CustomFieldType;
    use crate::domain::profile::{CustomerKind, Gender, ImPlatform, LifecycleStage, PhoneKind};

    fn defs() -> Vec<CustomFieldDef> {
        vec![
            CustomFieldDef {
                key: "size".into(),
                display_name: "Size".into(),
                field_type: CustomFieldType::Enum,
                required: false,
                options: vec!["S".into(), "M".into(), "L".into()],
            },
            CustomFieldDef {
                key: "rooms".into(),
                display_name: "Rooms".into(),
                field_type: CustomFieldType::Integer,
                required: false,
                options: vec![],
            },
        ]
    }

    fn person(display_name: &str) -> pb::Customer {
        pb::Customer {
            kind: pb::CustomerKind::Person.into(),
            display_name: display_name.into(),
            ..pb::Customer::default()
        }
    }

    fn parse_with(msg: &pb::Customer, defs: &[CustomFieldDef]) -> (Profile, Vec<(String, String)>) {
        let ctx = ProfileContext {
            default_region: "CN",
            custom_fields: defs,
            today: date!(2025 - 06 - 01),
        };
        let mut v = Violations::new();
        let profile = parse_profile(msg, &ctx, &mut v);
        (
            profile,
            v.into_vec()
                .into_iter()
                .map(|f| (f.field, f.description))
                .collect(),
        )
    }

    fn parse(msg: &pb::Customer) -> (Profile, Vec<(String, String)>) {
        parse_with(msg, &defs())
    }

    /// The bad fields of `msg`, in report order.
    fn bad_fields(msg: &pb::Customer) -> Vec<String> {
        parse(msg).1.into_iter().map(|(f, _)| f).collect()
    }

    fn pdate(year: i32, month: i32, day: i32) -> Option<pt::Date> {
        Some(pt::Date { year, month, day })
    }

    fn money(currency: &str, minor_units: i64) -> Option<pt::Money> {
        Some(pt::Money {
            currency_code: currency.into(),
            minor_units,
        })
    }

    fn number(n: f64) -> prost_types::Value {
        prost_types::Value {
            kind: Some(Kind::NumberValue(n)),
        }
    }

    fn string(s: &str) -> prost_types::Value {
        prost_types::Value {
            kind: Some(Kind::StringValue(s.into())),
        }
    }

    fn fields(entries: &[(&str, prost_types::Value)]) -> Option<Struct> {
        Some(Struct {
            fields: entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        })
    }

    #[test]
    fn a_chinese_customer_parses_normalized() {
        let msg = pb::Customer {
            family_name: " 张 ".into(),
            given_name: "伟".into(),
            phones: vec![
                pb::Phone {
                    number: "138 1234 5678".into(),
                    kind: pb::PhoneKind::Mobile.into(),
                    label: "私人".into(),
                },
                pb::Phone {
                    number: "+86 13812345678".into(),
                    ..Default::default()
                },
            ],
            emails: vec![pb::Email {
                address: " Wei.Zhang@Example.COM ".into(),
                label: String::new(),
            }],
            im_handles: vec![pb::ImHandle {
                platform: pb::ImPlatform::Wechat.into(),
                handle: "zhangwei88".into(),
            }],
            addresses: vec![pb::Address {
                province: "广东省".into(),
                city: "深圳市".into(),
                district: "南山区".into(),
                ..Default::default()
            }],
            demographics: Some(pb::Demographics {
                gender: pb::Gender::Male.into(),
                birth_date: pdate(0, 2, 29),
                ..Default::default()
            }),
            tags: vec![" vip ".into(), "vip".into(), "新客".into()],
            custom_fields: fields(&[("size", string("M")), ("rooms", number(3.0))]),
            consent: Some(pb::Consent {
                channels: vec![pb::ChannelConsent {
                    channel: pb::Channel::Sms.into(),
                    status: pb::ConsentStatus::OptedIn.into(),
                    source: "store_form".into(),
                }],
                ..Default::default()
            }),
            // Output-only fields are ignored.
            name: "customers/whatever".into(),
            etag: "nonsense".into(),
            ..person("张伟")
        };
        let (p, found) = parse(&msg);
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(p.kind, CustomerKind::Person);
        assert_eq!(p.display_name, "张伟");
        assert_eq!(p.family_name, "张");
        assert!(p.search_text().contains("张伟"));
        assert_eq!(p.phones.len(), 1);
        assert_eq!(p.phones[0].number.as_str(), "+8613812345678");
        assert_eq!(p.phones[0].kind, Some(PhoneKind::Mobile));
        assert_eq!(p.phones[0].label, "私人");
        assert_eq!(p.emails[0].address.as_str(), "Wei.Zhang@example.com");
        assert_eq!(p.im_handles[0].platform(), ImPlatform::Wechat);
        assert_eq!(p.addresses[0].country_code, "CN");
        assert_eq!(p.demographics.gender, Some(Gender::Male));
        assert_eq!(
            p.demographics.birth_date,
            Some(Date::new(0, 2, 29).unwrap())
        );
        assert_eq!(p.tags, ["vip", "新客"]);
        assert_eq!(p.custom_fields["rooms"], serde_json::json!(3));
        assert_eq!(p.lifecycle_stage, LifecycleStage::Prospect);
        assert_eq!(p.consent.status(Channel::Sms), Some(ConsentStatus::OptedIn));
        let keys: Vec<String> = p.contact_keys().iter().map(ToString::to_string).collect();
        assert_eq!(
            keys,
            [
                "phone:+8613812345678",
                "email:wei.zhang@example.com",
                "im:wechat:zhangwei88"
            ]
        );
    }

    #[test]
    fn every_bad_field_is_reported_in_one_pass() {
        let msg = pb::Customer {
            display_name: "  ".into(),
            phones: vec![
                pb::Phone {
                    number: "13812345678".into(),
                    ..Default::default()
                },
                pb::Phone {
                    number: "12345".into(),
                    ..Default::default()
                },
            ],
            emails: vec![pb::Email {
                address: "wei.example.com".into(),
                label: String::new(),
            }],
            ..person("")
        };
        assert_eq!(
            bad_fields(&msg),
            ["display_name", "phones[1].number", "emails[0].address"]
        );
    }

    #[test]
    fn contact_keys_are_read_from_contact_data_only() {
        let msg = pb::Customer {
            phones: vec![pb::Phone {
                number: "138 1234 5678".into(),
                ..Default::default()
            }],
            emails: vec![pb::Email {
                address: "Wei@Example.com".into(),
                label: String::new(),
            }],
            im_handles: vec![pb::ImHandle {
                platform: pb::ImPlatform::Wechat.into(),
                handle: "ZhangWei".into(),
            }],
            ..pb::Customer::default()
        };
        let defs = defs();
        let ctx = ProfileContext {
            default_region: "CN",
            custom_fields: &defs,
            today: date!(2025 - 06 - 01),
        };
        let mut v = Violations::with_prefix("contacts");
        let keys: Vec<String> = parse_contact_keys(&msg, &ctx, &mut v)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(v.is_empty(), "{v:?}");
        assert_eq!(
            keys,
            [
                "phone:+8613812345678",
                "email:wei@example.com",
                "im:wechat:zhangwei"
            ]
        );
        let bad = pb::Customer {
            phones: vec![pb::Phone {
                number: "12".into(),
                ..Default::default()
            }],
            ..pb::Customer::default()
        };
        assert!(parse_contact_keys(&bad, &ctx, &mut v).is_empty());
        assert_eq!(v.items()[0].field, "contacts.phones[0].number");
    }

    #[test]
    fn kind_is_required_and_must_be_known() {
        let unset = pb::Customer {
            kind: 0,
            ..person("Acme")
        };
        assert_eq!(bad_fields(&unset), ["kind"]);
        let unknown = pb::Customer {
            kind: 9,
            ..person("Acme")
        };
        let (_, found) = parse(&unknown);
        assert_eq!(found[0].1, "9 is not a valid CustomerKind");
        let org = pb::Customer {
            kind: pb::CustomerKind::Organization.into(),
            ..person("Acme")
        };
        assert_eq!(parse(&org).0.kind, CustomerKind::Organization);
    }

    #[test]
    fn lengths_are_checked() {
        let msg = pb::Customer {
            family_name: "x".repeat(101),
            given_name: "x".repeat(100),
            organization_name: "x".repeat(201),
            grade: "x".repeat(33),
            source_channel: "x".repeat(65),
            owner_id: "x".repeat(129),
            team_id: "team 1".into(),
            phones: vec![pb::Phone {
                number: "13812345678".into(),
                label: "x".repeat(65),
                ..Default::default()
            }],
            ..person(&"名".repeat(201))
        };
        assert_eq!(
            bad_fields(&msg),
            [
                "owner_id",
                "team_id",
                "display_name",
                "family_name",
                "organization_name",
                "phones[0].label",
                "source_channel",
                "grade",
            ]
        );
        assert!(bad_fields(&person(&"名".repeat(200))).is_empty());
        assert_eq!(bad_fields(&person("a\u{0007}b")), ["display_name"]);
    }

    #[test]
    fn enum_numbers_must_be_defined() {
        let msg = pb::Customer {
            phones: vec![pb::Phone {
                number: "13812345678".into(),
                kind: 99,
                ..Default::default()
            }],
            im_handles: vec![pb::ImHandle {
                platform: 0,
                handle: "zw".into(),
            }],
            demographics: Some(pb::Demographics {
                gender: 42,
                income_band: 6,
                education: -1,
                marital_status: 5,
                ..Default::default()
            }),
            traits: Some(pb::SocialTraits {
                risk_tolerance: 4,
                ..Default::default()
            }),
            lifecycle_stage: 9,
            ..person("张伟")
        };
        assert_eq!(
            bad_fields(&msg),
            [
                "lifecycle_stage",
                "phones[0].kind",
                "im_handles[0].platform",
                "demographics.gender",
                "demographics.income_band",
                "demographics.education",
                "demographics.marital_status",
                "traits.risk_tolerance",
            ]
        );
    }

    #[test]
    fn birth_dates_are_real_and_not_in_the_future() {
        let with_birth = |date| pb::Customer {
            demographics: Some(pb::Demographics {
                birth_date: date,
                ..Default::default()
            }),
            ..person("张伟")
        };
        assert!(bad_fields(&with_birth(pdate(1990, 5, 4))).is_empty());
        assert!(bad_fields(&with_birth(pdate(2025, 6, 1))).is_empty());
        assert!(bad_fields(&with_birth(pdate(0, 0, 0))).is_empty());
        assert_eq!(
            bad_fields(&with_birth(pdate(2025, 6, 2))),
            ["demographics.birth_date"]
        );
        assert_eq!(
            bad_fields(&with_birth(pdate(2023, 2, 29))),
            ["demographics.birth_date"]
        );
        assert_eq!(
            bad_fields(&with_birth(pdate(1990, 300, 1))),
            ["demographics.birth_date"]
        );
    }

    #[test]
    fn budgets_are_one_currency_and_ordered() {
        let need = |min, max| pb::Customer {
            needs: vec![pb::Need {
                category: "sofa".into(),
                budget_min: min,
                budget_max: max,
                ..Default::default()
            }],
            ..person("张伟")
        };
        let (p, found) = parse(&need(money("CNY", 500_000), money("CNY", 1_000_000)));
        assert!(found.is_empty(), "{found:?}");
        let budget = p.needs[0].budget.as_ref().unwrap();
        assert_eq!(
            (budget.min_minor_units, budget.max_minor_units),
            (Some(500_000), Some(1_000_000))
        );
        assert!(bad_fields(&need(None, money("CNY", 0))).is_empty());
        assert!(bad_fields(&need(Some(pt::Money::default()), None)).is_empty());
        assert_eq!(
            bad_fields(&need(money("CNY", 2), money("CNY", 1))),
            ["needs[0].budget_max"]
        );
        assert_eq!(
            bad_fields(&need(money("CNY", 1), money("USD", 2))),
            ["needs[0].budget_max"]
        );
        assert_eq!(
            bad_fields(&need(money("cny", 1), None)),
            ["needs[0].budget_min.currency_code"]
        );
        assert_eq!(
            bad_fields(&need(money("", 1), None)),
            ["needs[0].budget_min.currency_code"]
        );
        assert_eq!(
            bad_fields(&need(None, money("CNY", -1))),
            ["needs[0].budget_max.minor_units"]
        );
    }

    #[test]
    fn needs_are_checked_field_by_field() {
        let msg = pb::Customer {
            needs: vec![pb::Need {
                category: " ".into(),
                products: vec!["".into(), "x".repeat(129)],
                style: "x".repeat(65),
                desired_date: pdate(2025, 2, 30),
                attributes: [("rooms".to_owned(), "x".repeat(257))].into(),
                notes: "line one\nline two".into(),
                ..Default::default()
            }],
            ..person("张伟")
        };
        assert_eq!(
            bad_fields(&msg),
            [
                "needs[0].category",
                "needs[0].products[0]",
                "needs[0].products[1]",
                "needs[0].attributes.rooms",
                "needs[0].style",
                "needs[0].desired_date",
            ]
        );
    }

    #[test]
    fn consent_rules_apply() {
        let msg = pb::Customer {
            consent: Some(pb::Consent {
                channels: vec![
                    pb::ChannelConsent {
                        channel: pb::Channel::Sms.into(),
                        status: pb::ConsentStatus::OptedIn.into(),
                        source: String::new(),
                    },
                    pb::ChannelConsent {
                        channel: pb::Channel::Sms.into(),
                        status: pb::ConsentStatus::OptedOut.into(),
                        source: String::new(),
                    },
                ],
                do_not_disturb: true,
                quiet_hours: Some(pb::QuietHours {
                    start_minute: 1440,
                    end_minute: 480,
                    utc_offset_minutes: 480,
                }),
            }),
            ..person("张伟")
        };
        assert_eq!(
            bad_fields(&msg),
            [
                "consent.channels[1].channel",
                "consent.quiet_hours.start_minute"
            ]
        );
    }

    #[test]
    fn referrer_must_name_a_customer() {
        let id = Uuid::now_v7();
        let good = pb::Customer {
            referrer: format!("customers/{id}"),
            ..person("张伟")
        };
        assert_eq!(parse(&good).0.referrer, Some(id));
        for bad in [
            "customers/42",
            id.to_string().as_str(),
            "leads/0190b5a0-0000-7000-8000-000000000000",
        ] {
            let msg = pb::Customer {
                referrer: bad.into(),
                ..person("张伟")
            };
            assert_eq!(bad_fields(&msg), ["referrer"], "{bad}");
        }
    }

    #[test]
    fn tags_are_checked_and_capped() {
        let msg = pb::Customer {
            tags: vec!["ok".into(), " ".into(), "x".repeat(65)],
            ..person("张伟")
        };
        assert_eq!(bad_fields(&msg), ["tags[1]", "tags[2]"]);
        let many = pb::Customer {
            tags: (0..101).map(|i| format!("t{i}")).collect(),
            ..person("张伟")
        };
        let (p, found) = parse(&many);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "tags");
        assert_eq!(p.tags.len(), MAX_TAGS);
    }

    #[test]
    fn contact_lists_are_capped() {
        let msg = pb::Customer {
            phones: (0..21)
                .map(|i| pb::Phone {
                    number: format!("1381234{i:04}"),
                    ..Default::default()
                })
                .collect(),
            ..person("张伟")
        };
        let (p, found) = parse(&msg);
        assert_eq!(
            found.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
            ["phones"]
        );
        assert_eq!(p.phones.len(), MAX_CONTACTS);
    }

    #[test]
    fn addresses_need_a_place() {
        let msg = pb::Customer {
            addresses: vec![
                pb::Address {
                    label: "home".into(),
                    ..Default::default()
                },
                pb::Address {
                    country_code: "CHN".into(),
                    city: "深圳市".into(),
                    ..Default::default()
                },
                pb::Address {
                    country_code: "us".into(),
                    city: "Springfield".into(),
                    ..Default::default()
                },
            ],
            ..person("张伟")
        };
        let (p, found) = parse(&msg);
        let got: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(got, ["addresses[0]", "addresses[1].country_code"]);
        assert_eq!(p.addresses.last().unwrap().country_code, "US");
    }

    #[test]
    fn important_dates_are_checked() {
        let date = |kind: pb::ImportantDateKind, label: &str, date| pb::ImportantDate {
            kind: kind.into(),
            label: label.into(),
            date,
        };
        let msg = pb::Customer {
            important_dates: vec![
                date(pb::ImportantDateKind::Anniversary, "", pdate(2015, 10, 1)),
                date(pb::ImportantDateKind::Custom, "", pdate(0, 12, 24)),
                date(pb::ImportantDateKind::Unspecified, "x", pdate(0, 1, 1)),
                date(pb::ImportantDateKind::CustomerAnniversary, "", None),
                date(pb::ImportantDateKind::Custom, "乔迁", pdate(2024, 2, 30)),
            ],
            ..person("张伟")
        };
        assert_eq!(
            bad_fields(&msg),
            [
                "important_dates[1].label",
                "important_dates[2].kind",
                "important_dates[3].date",
                "important_dates[4].date",
            ]
        );
    }

    #[test]
    fn custom_fields_are_type_checked() {
        let msg = pb::Customer {
            custom_fields: fields(&[
                ("size", string("XL")),
                ("rooms", number(2.5)),
                ("colour", string("red")),
            ]),
            ..person("张伟")
        };
        let mut got = bad_fields(&msg);
        got.sort();
        assert_eq!(
            got,
            [
                "custom_fields.colour",
                "custom_fields.rooms",
                "custom_fields.size"
            ]
        );
    }

    #[test]
    fn a_non_finite_number_is_reported_once() {
        let mut defs = defs();
        defs[1].required = true;
        let msg = pb::Customer {
            custom_fields: fields(&[("rooms", number(f64::NAN))]),
            ..person("张伟")
        };
        let (_, found) = parse_with(&msg, &defs);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "custom_fields.rooms");
        assert!(found[0].1.contains("finite"));
        // Absent, it is reported as missing.
        assert_eq!(parse_with(&person("张伟"), &defs).1[0].1, "is required");
    }

    #[test]
    fn shared_teams_are_unique_ids() {
        let msg = pb::Customer {
            shared_team_ids: vec!["t1".into(), "t1".into(), "".into(), "t 2".into()],
            ..person("张伟")
        };
        let (p, found) = parse(&msg);
        let got: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(got, ["shared_team_ids[2]", "shared_team_ids[3]"]);
        assert_eq!(p.shared_team_ids[0], "t1");
    }

    fn full_customer() -> pb::Customer {
        pb::Customer {
            family_name: "张".into(),
            given_name: "伟".into(),
            organization_name: "深圳家居".into(),
            phones: vec![pb::Phone {
                number: "+8613812345678".into(),
                kind: pb::PhoneKind::Mobile.into(),
                label: "私人".into(),
            }],
            emails: vec![pb::Email {
                address: "wei@example.com".into(),
                label: "work".into(),
            }],
            im_handles: vec![pb::ImHandle {
                platform: pb::ImPlatform::Qq.into(),
                handle: "10001".into(),
            }],
            addresses: vec![pb::Address {
                label: "home".into(),
                country_code: "CN".into(),
                province: "广东省".into(),
                city: "深圳市".into(),
                district: "南山区".into(),
                street: "科技园路 1 号\n2 栋".into(),
                postal_code: "518057".into(),
            }],
            demographics: Some(pb::Demographics {
                gender: pb::Gender::Male.into(),
                birth_date: pdate(1988, 5, 4),
                occupation: "engineer".into(),
                title: "lead".into(),
                income_band: pb::IncomeBand::UpperMiddle.into(),
                education: pb::Education::Master.into(),
                marital_status: pb::MaritalStatus::Married.into(),
            }),
            traits: Some(pb::SocialTraits {
                hobbies: vec!["tea".into()],
                habits: vec!["early riser".into()],
                risk_tolerance: pb::RiskTolerance::Low.into(),
            }),
            needs: vec![pb::Need {
                category: "sofa".into(),
                products: vec!["L-shaped sofa".into()],
                style: "nordic".into(),
                budget_min: money("CNY", 500_000),
                budget_max: None,
                desired_date: pdate(2025, 10, 1),
                attributes: [("rooms".to_owned(), "living".to_owned())].into(),
                notes: "prefers grey".into(),
            }],
            source_channel: "store_walk_in".into(),
            referrer: format!("customers/{}", Uuid::now_v7()),
            owner_id: "rep-1".into(),
            team_id: "team-1".into(),
            store_id: "store-1".into(),
            lifecycle_stage: pb::LifecycleStage::RepeatCustomer.into(),
            grade: "A".into(),
            tags: vec!["vip".into()],
            custom_fields: fields(&[("size", string("M")), ("rooms", number(3.0))]),
            important_dates: vec![pb::ImportantDate {
                kind: pb::ImportantDateKind::Custom.into(),
                label: "乔迁".into(),
                date: pdate(0, 12, 24),
            }],
            consent: Some(pb::Consent {
                channels: vec![pb::ChannelConsent {
                    channel: pb::Channel::Email.into(),
                    status: pb::ConsentStatus::OptedOut.into(),
                    source: "web".into(),
                }],
                do_not_disturb: true,
                quiet_hours: Some(pb::QuietHours {
                    start_minute: 1320,
                    end_minute: 480,
                    utc_offset_minutes: 480,
                }),
            }),
            shared_team_ids: vec!["team-2".into()],
            ..person("张伟")
        }
    }

    #[test]
    fn profiles_round_trip_through_proto() {
        let msg = full_customer();
        let (p, found) = parse(&msg);
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(profile_to_proto(&p), msg);
        let (again, found) = parse(&profile_to_proto(&p));
        assert!(found.is_empty());
        assert_eq!(again, p);
    }

    #[test]
    fn customers_carry_their_output_fields() {
        let id = Uuid::now_v7();
        let other = Uuid::now_v7();
        let customer = Customer {
            id,
            profile: parse(&person("张伟")).0,
            possible_duplicates: vec![other],
            merged_into: Some(other),
            create_time: 1_700_000_000_000_000,
            update_time: 1_700_000_000_500_000,
            delete_time: Some(1_700_000_001_000_000),
            version: 3,
        };
        let msg = customer_to_proto(&customer);
        assert_eq!(msg.name, format!("customers/{id}"));
        assert_eq!(msg.possible_duplicates, [format!("customers/{other}")]);
        assert_eq!(msg.merged_into, format!("customers/{other}"));
        assert_eq!(msg.create_time, Some(to_timestamp(1_700_000_000_000_000)));
        assert_eq!(msg.update_time.unwrap().nanos, 500_000_000);
        assert!(msg.delete_time.is_some());
        assert_eq!(msg.etag, customer.etag());
        assert_eq!(msg.display_name, "张伟");
        assert_eq!(msg.lifecycle_stage, pb::LifecycleStage::Prospect as i32);
        assert!(msg.demographics.is_none() && msg.consent.is_none() && msg.custom_fields.is_none());
    }

    fn mask(
        current: &pb::Customer,
        patch: &pb::Customer,
        paths: &[&str],
    ) -> (pb::Customer, Vec<String>) {
        let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
        let mut v = Violations::new();
        let out = apply_update_mask(current, patch, &paths, &mut v);
        (
            out,
            v.into_vec()
                .into_iter()
                .map(|f| format!("{}: {}", f.field, f.description))
                .collect(),
        )
    }

    #[test]
    fn update_masks_copy_the_named_fields() {
        let current = full_customer();
        let patch = pb::Customer {
            display_name: "Wei Zhang".into(),
            tags: vec!["new".into()],
            grade: "ignored".into(),
            ..person("")
        };
        let (out, found) = mask(&current, &patch, &["display_name", "tags"]);
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(out.display_name, "Wei Zhang");
        assert_eq!(out.tags, ["new"]);
        assert_eq!(out.grade, "A");
        assert_eq!(out.phones, current.phones);
    }

    #[test]
    fn update_masks_reach_into_nested_fields() {
        let current = full_customer();
        let patch = pb::Customer {
            demographics: Some(pb::Demographics {
                gender: pb::Gender::Female.into(),
                ..Default::default()
            }),
            consent: Some(pb::Consent {
                do_not_disturb: false,
                ..Default::default()
            }),
            custom_fields: fields(&[("size", string("L"))]),
            ..pb::Customer::default()
        };
        let (out, found) = mask(
            &current,
            &patch,
            &[
                "demographics.gender",
                "consent.do_not_disturb",
                "custom_fields.size",
                "custom_fields.rooms",
            ],
        );
        assert!(found.is_empty(), "{found:?}");
        let d = out.demographics.as_ref().unwrap();
        assert_eq!(d.gender, pb::Gender::Female as i32);
        assert_eq!(d.occupation, "engineer");
        let consent = out.consent.as_ref().unwrap();
        assert!(!consent.do_not_disturb);
        assert!(consent.quiet_hours.is_some());
        let custom = &out.custom_fields.as_ref().unwrap().fields;
        assert_eq!(custom["size"], string("L"));
        assert!(!custom.contains_key("rooms"));
        // Nested paths work when the current message has no sub-message yet.
        let (out, found) = mask(
            &person("x"),
            &patch,
            &["demographics.gender", "custom_fields.size"],
        );
        assert!(found.is_empty());
        assert_eq!(out.demographics.unwrap().gender, pb::Gender::Female as i32);
        assert_eq!(out.custom_fields.unwrap().fields.len(), 1);
    }

    #[test]
    fn star_replaces_every_updatable_field() {
        let current = full_customer();
        let patch = person("新名字");
        let (out, found) = mask(&current, &patch, &["*"]);
        assert!(found.is_empty());
        assert_eq!(out.display_name, "新名字");
        assert!(out.phones.is_empty() && out.demographics.is_none() && out.tags.is_empty());
        // Kind and ownership are not updatable, so "*" leaves them.
        assert_eq!(out.kind, current.kind);
        assert_eq!(out.owner_id, "rep-1");
        assert_eq!(out.store_id, "store-1");
    }

    #[test]
    fn bad_mask_paths_are_reported() {
        let current = full_customer();
        let (_, found) = mask(&current, &current, &[]);
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("update_mask: is required"));
        let (out, found) = mask(
            &current,
            &person("x"),
            &[
                "kind",
                "owner_id",
                "etag",
                "create_time",
                "nickname",
                "demographics.shoe_size",
                "custom_fields.",
            ],
        );
        assert_eq!(out, current);
        assert_eq!(
            found,
            [
                "update_mask: \"kind\" is immutable",
                "update_mask: \"owner_id\" changes only through TransferCustomerOwnership, which \
                 keeps the ownership history",
                "update_mask: \"etag\" is output only",
                "update_mask: \"create_time\" is output only",
                "update_mask: \"nickname\" is not a field of Customer that can be updated",
                "update_mask: \"demographics.shoe_size\" is not a field of Customer that can be updated",
                "update_mask: \"custom_fields.\" is not a field of Customer that can be updated",
            ]
        );
    }

    #[test]
    fn structs_convert_to_json_and_back() {
        let s = Struct {
            fields: [
                ("n".to_owned(), number(2.5)),
                ("i".to_owned(), number(3.0)),
                (
                    "b".to_owned(),
                    prost_types::Value {
                        kind: Some(Kind::BoolValue(true)),
                    },
                ),
                ("z".to_owned(), prost_types::Value { kind: None }),
                (
                    "l".to_owned(),
                    prost_types::Value {
                        kind: Some(Kind::ListValue(ListValue {
                            values: vec![string("a"), number(1.0)],
                        })),
                    },
                ),
            ]
            .into(),
        };
        let mut v = Violations::new();
        let json = struct_to_json(&s, &mut v);
        assert!(v.is_empty());
        assert_eq!(
            serde_json::Value::Object(json.clone()),
            serde_json::json!({
                "n": 2.5, "i": 3, "b": true, "z": null, "l": ["a", 1],
            })
        );
        let back = json_to_struct(&json);
        assert_eq!(back.fields["n"], number(2.5));
        assert_eq!(back.fields["i"], number(3.0));
        assert_eq!(back.fields["l"], s.fields["l"]);
    }

    #[test]
    fn non_finite_numbers_are_reported_where_they_are() {
        let nested = Struct {
            fields: [("deep".to_owned(), number(f64::NEG_INFINITY))].into(),
        };
        let s = Struct {
            fields: [
                ("a".to_owned(), number(f64::NAN)),
                (
                    "l".to_owned(),
                    prost_types::Value {
                        kind: Some(Kind::ListValue(ListValue {
                            values: vec![number(1.0), number(f64::INFINITY)],
                        })),
                    },
                ),
                (
                    "s".to_owned(),
                    prost_types::Value {
                        kind: Some(Kind::StructValue(nested)),
                    },
                ),
                ("ok".to_owned(), number(1.0)),
            ]
            .into(),
        };
        let mut v = Violations::with_prefix("custom_fields");
        let json = struct_to_json(&s, &mut v);
        let mut got: Vec<&str> = v.items().iter().map(|i| i.field.as_str()).collect();
        got.sort_unstable();
        assert_eq!(
            got,
            [
                "custom_fields.a",
                "custom_fields.l[1]",
                "custom_fields.s.deep"
            ]
        );
        assert_eq!(json.keys().collect::<Vec<_>>(), ["ok"]);
    }
}
