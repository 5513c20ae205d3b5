//! Registrations: parsing what a caller sends and building answers.

use rapport_kit::{names, validate};
use rapport_proto::partners as pb;
use rapport_runtime::{clock::to_timestamp, validation::Violations};
use uuid::Uuid;

use super::{
    enums,
    partner::{email, phone},
    time,
};
use crate::domain::{
    partner::PARTNERS,
    registration::{Conflict, Registration, State},
};

/// The catalog's category names, as the orders service writes them.
const CATEGORIES: &str = "categories";
/// Most categories of a registration.
const MAX_CATEGORIES: usize = 20;

/// A new registration from CreateRegistration: the prospect and its categories. The partner
/// is read by the caller (it depends on who asks).
pub fn parse_registration(r: Option<&pb::Registration>, v: &mut Violations) -> Registration {
    let mut out = Registration {
        id: Uuid::nil(),
        partner_id: Uuid::nil(),
        contact_name: String::new(),
        organization: String::new(),
        phone: String::new(),
        email: String::new(),
        region: String::new(),
        categories: Vec::new(),
        notes: String::new(),
        state: State::Submitted,
        rejection_reason: String::new(),
        conflicts: Vec::new(),
        lead_id: None,
        approve_by: 0,
        expire_time: None,
        decided_by: String::new(),
        decide_time: None,
        create_time: 0,
        update_time: 0,
        version: 1,
    };
    let Some(r) = r else {
        v.add("registration", "is required");
        return out;
    };
    out.contact_name =
        validate::required_text(v, "registration.contact_name", &r.contact_name, 200);
    out.organization = validate::text(v, "registration.organization", &r.organization, 200);
    out.phone = phone(v, "registration.phone", &r.phone);
    out.email = email(v, "registration.email", &r.email);
    if r.phone.trim().is_empty() && r.email.trim().is_empty() {
        v.add("registration.phone", "give a phone or an email");
    }
    out.region = validate::text(v, "registration.region", &r.region, 100);
    out.notes = validate::multiline_text(v, "registration.notes", &r.notes, 2000);
    let given = validate::capped(v, "registration.categories", &r.categories, MAX_CATEGORIES);
    if given.is_empty() {
        v.add(
            "registration.categories",
            "name at least one product category",
        );
    }
    for (i, c) in given.iter().enumerate() {
        let field = format!("registration.categories[{i}]");
        if let Some(id) = validate::id_in(CATEGORIES, c, &field, v) {
            let id = id.to_string();
            if !out.categories.contains(&id) {
                out.categories.push(id);
            }
        }
    }
    out
}

fn conflict_to_proto(c: &Conflict) -> pb::Conflict {
    pb::Conflict {
        resource: c.resource.clone(),
        display_name: c.display_name.clone(),
        matched_on: c.matched_on.clone(),
        categories: c
            .categories
            .iter()
            .map(|id| format!("{CATEGORIES}/{id}"))
            .collect(),
        partner: c.partner.clone(),
    }
}

/// The answer for `r`.
pub fn registration_to_proto(r: &Registration) -> pb::Registration {
    pb::Registration {
        name: r.name(),
        partner: names::format_id(PARTNERS, r.partner_id),
        contact_name: r.contact_name.clone(),
        organization: r.organization.clone(),
        phone: r.phone.clone(),
        email: r.email.clone(),
        categories: r
            .categories
            .iter()
            .map(|id| format!("{CATEGORIES}/{id}"))
            .collect(),
        notes: r.notes.clone(),
        state: enums::registration_state_to_proto(r.state),
        rejection_reason: r.rejection_reason.clone(),
        conflicts: r.conflicts.iter().map(conflict_to_proto).collect(),
        lead: r
            .lead_id
            .map(|l| names::format_id("leads", l))
            .unwrap_or_default(),
        approve_by: Some(to_timestamp(r.approve_by)),
        expire_time: time(r.expire_time),
        decided_by: r.decided_by.clone(),
        decide_time: time(r.decide_time),
        create_time: Some(to_timestamp(r.create_time)),
        update_time: Some(to_timestamp(r.update_time)),
        etag: names::etag(r.id.as_bytes(), r.version),
        region: r.region.clone(),
    }
}
