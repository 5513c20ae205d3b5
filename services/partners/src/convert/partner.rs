//! Partners: parsing what a caller sends and building answers.

use rapport_kit::{
    contact::{normalize_email, normalize_phone},
    mask::Rules,
    names, validate,
};
use rapport_proto::{partners as pb, types as pt};
use rapport_runtime::{clock::to_timestamp, validation::Violations};
use uuid::Uuid;

use super::{enums, time};
use crate::{
    domain::{
        partner::{Contact, Item, Kind, Partner, State},
        tier::TIERS,
    },
    store::attributions::Attribution,
};

/// What UpdatePartner accepts.
pub const PARTNER_MASK: Rules = Rules {
    updatable: &[
        "display_name",
        "kind",
        "phone",
        "email",
        "region",
        "contacts",
        "manager_id",
    ],
    immutable: &["name"],
    explained: &[
        ("state", "changes through ChangePartnerState"),
        ("state_reason", "changes through ChangePartnerState"),
        ("onboarding", "changes through CompleteOnboardingItem"),
        ("tier", "is set by tier evaluation"),
    ],
    output_only: &["create_time", "update_time", "etag", "state_change_time"],
    ..Rules::new("Partner")
};

/// Phones without a country code are read as Chinese numbers, as the other services do.
const DEFAULT_REGION: &str = "CN";
/// Most contacts of a partner.
const MAX_CONTACTS: usize = 50;

/// A phone in E.164, or empty; a bad one is reported on `field`.
pub(crate) fn phone(v: &mut Violations, field: &str, raw: &str) -> String {
    if raw.trim().is_empty() {
        return String::new();
    }
    normalize_phone(raw, DEFAULT_REGION)
        .map_err(|e| v.add(field, e))
        .unwrap_or_default()
}

/// An email in lower case, or empty; a bad one is reported on `field`.
pub(crate) fn email(v: &mut Violations, field: &str, raw: &str) -> String {
    if raw.trim().is_empty() {
        return String::new();
    }
    normalize_email(raw)
        .map(|e| e.to_lowercase())
        .map_err(|e| v.add(field, e))
        .unwrap_or_default()
}

fn contacts(v: &mut Violations, given: &[pb::PartnerContact]) -> Vec<Contact> {
    let given = validate::capped(v, "partner.contacts", given, MAX_CONTACTS);
    let out: Vec<Contact> = given
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let f = |name: &str| format!("partner.contacts[{i}].{name}");
            Contact {
                display_name: validate::required_text(v, &f("display_name"), &c.display_name, 200),
                role: validate::text(v, &f("role"), &c.role, 100),
                phone: phone(v, &f("phone"), &c.phone),
                email: email(v, &f("email"), &c.email),
                primary: c.primary,
            }
        })
        .collect();
    if out.iter().filter(|c| c.primary).count() > 1 {
        v.add("partner.contacts", "at most one contact is primary");
    }
    out
}

/// Applies the fields `fields` names from `p` to `into`.
pub fn apply_partner(p: &pb::Partner, fields: &[&str], into: &mut Partner, v: &mut Violations) {
    for field in fields {
        match *field {
            "display_name" => {
                into.display_name =
                    validate::required_text(v, "partner.display_name", &p.display_name, 200)
            }
            "kind" => {
                if let Some(k) =
                    validate::required_enum(v, "partner.kind", p.kind, enums::kind, "PartnerKind")
                {
                    into.kind = k;
                }
            }
            "phone" => into.phone = phone(v, "partner.phone", &p.phone),
            "email" => into.email = email(v, "partner.email", &p.email),
            "region" => into.region = validate::text(v, "partner.region", &p.region, 100),
            "contacts" => into.contacts = contacts(v, &p.contacts),
            "manager_id" => into.manager_id = validate::id(v, "partner.manager_id", &p.manager_id),
            _ => {}
        }
    }
}

/// A new partner from CreatePartner.
pub fn parse_partner(p: Option<&pb::Partner>, v: &mut Violations) -> Partner {
    let mut out = Partner {
        id: Uuid::nil(),
        display_name: String::new(),
        kind: Kind::Agent,
        state: State::Prospect,
        state_reason: String::new(),
        tier_id: String::new(),
        phone: String::new(),
        email: String::new(),
        region: String::new(),
        contacts: Vec::new(),
        onboarding: Vec::new(),
        manager_id: String::new(),
        create_time: 0,
        update_time: 0,
        state_change_time: 0,
        version: 1,
    };
    match p {
        None => v.add("partner", "is required"),
        Some(p) => apply_partner(p, PARTNER_MASK.updatable, &mut out, v),
    }
    out
}

/// The answer for `p`.
pub fn partner_to_proto(p: &Partner) -> pb::Partner {
    pb::Partner {
        name: p.name(),
        display_name: p.display_name.clone(),
        kind: enums::kind_to_proto(p.kind),
        state: enums::partner_state_to_proto(p.state),
        state_reason: p.state_reason.clone(),
        tier: if p.tier_id.is_empty() {
            String::new()
        } else {
            format!("{TIERS}/{}", p.tier_id)
        },
        phone: p.phone.clone(),
        email: p.email.clone(),
        region: p.region.clone(),
        contacts: p
            .contacts
            .iter()
            .map(|c| pb::PartnerContact {
                display_name: c.display_name.clone(),
                role: c.role.clone(),
                phone: c.phone.clone(),
                email: c.email.clone(),
                primary: c.primary,
            })
            .collect(),
        onboarding: p.onboarding.iter().map(item_to_proto).collect(),
        manager_id: p.manager_id.clone(),
        create_time: Some(to_timestamp(p.create_time)),
        update_time: Some(to_timestamp(p.update_time)),
        etag: names::etag(p.id.as_bytes(), p.version),
        state_change_time: Some(to_timestamp(p.state_change_time)),
    }
}

fn item_to_proto(i: &Item) -> pb::OnboardingItem {
    pb::OnboardingItem {
        key: i.key.clone(),
        title: i.title.clone(),
        done: i.done_time.is_some(),
        done_time: time(i.done_time),
        done_by: i.done_by.clone(),
    }
}

/// The answer for an attribution.
pub fn attribution_to_proto(a: &Attribution) -> pb::Attribution {
    pb::Attribution {
        resource: a.resource.clone(),
        kind: enums::attribution_kind_to_proto(a.kind),
        amount: (!a.currency.is_empty()).then(|| pt::Money {
            currency_code: a.currency.clone(),
            minor_units: a.amount,
        }),
        converted: a.converted,
        state: a.state.clone(),
        create_time: Some(to_timestamp(a.create_time)),
        update_time: Some(to_timestamp(a.update_time)),
    }
}
