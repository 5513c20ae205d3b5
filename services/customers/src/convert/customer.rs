//! Customers: proto <-> domain. Parsing reads every field a client may set and reports each
//! bad one; the update mask is in [`super::customer_mask`].

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

use rapport_kit::validate::{
    Money, capped, date_to_proto, id, ids, money, multiline_text, optional_date, optional_enum,
    required_date, required_enum, required_text, text, words,
};
use rapport_proto::customers as pb;
use rapport_proto::types as pt;
use rapport_runtime::clock::to_timestamp;
use rapport_runtime::validation::Violations;
use serde_json::Value;

use super::consent::{consent_from_proto, consent_to_proto};
use super::enums::*;
use super::json::{json_to_struct, struct_to_json};
use super::value::value_to_proto;
use crate::domain::contact::{self, ContactKey, EmailAddress, ImHandle, PhoneNumber};
use crate::domain::custom_fields::{self, CustomFieldDef};
use crate::domain::names;
use crate::domain::profile::{
    self, Address, Budget, Customer, Demographics, Email, ImportantDate, ImportantDateKind,
    MAX_ADDRESSES, MAX_CONTACTS, MAX_DISPLAY_NAME, MAX_GRADE, MAX_IMPORTANT_DATES, MAX_LABEL,
    MAX_NEEDS, MAX_ORGANIZATION_NAME, MAX_PERSON_NAME, MAX_SHARED_TEAMS, MAX_TAGS, MAX_TRAITS,
    Need, Phone, Profile, SocialTraits,
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
    let shared_team_ids = ids(v, "shared_team_ids", &msg.shared_team_ids, MAX_SHARED_TEAMS);
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
    let budget = budget(v, min, max);
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

/// A need's budget of its bounds, each `None` when absent or bad; the bounds must share a
/// currency and be in order.
fn budget(v: &mut Violations, min: Option<Money>, max: Option<Money>) -> Option<Budget> {
    let (currency_code, min, max) = match (min, max) {
        (None, None) => return None,
        (Some(min), None) => (min.currency_code, Some(min.minor_units), None),
        (None, Some(max)) => (max.currency_code, None, Some(max.minor_units)),
        (Some(min), Some(max)) => {
            if min.currency_code != max.currency_code {
                v.add(
                    "budget_max",
                    format!(
                        "must be in the currency of budget_min ({}), got {}",
                        min.currency_code, max.currency_code
                    ),
                );
            } else if min.minor_units > max.minor_units {
                v.add("budget_max", "must not be below budget_min");
            }
            (
                min.currency_code,
                Some(min.minor_units),
                Some(max.minor_units),
            )
        }
    };
    Some(Budget {
        currency_code,
        min_minor_units: min,
        max_minor_units: max,
    })
}

/// A budget bound as the proto carries it.
fn bound_to_proto(currency: &str, minor_units: Option<i64>) -> Option<pt::Money> {
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
    custom_fields::check_values(&defs, &json, (custom_fields::LIST, false), v)
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
        let date = required_date(v, &path("date"), d.date.as_ref());
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
                    budget_min: bound_to_proto(currency, min),
                    budget_max: bound_to_proto(currency, max),
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
            .map(important_date_to_proto)
            .collect(),
        consent: (p.consent != Default::default()).then(|| consent_to_proto(&p.consent)),
        shared_team_ids: p.shared_team_ids.clone(),
        ..pb::Customer::default()
    }
}

/// The proto of an important date.
pub fn important_date_to_proto(d: &ImportantDate) -> pb::ImportantDate {
    pb::ImportantDate {
        kind: important_date_kind_to_proto(d.kind).into(),
        label: d.label.clone(),
        date: Some(date_to_proto(d.date)),
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
        value: c.value.as_ref().map(value_to_proto),
        ..profile_to_proto(&c.profile)
    }
}

#[cfg(test)]
mod tests;
