//! Deliveries and follow-ups: parsing what a caller sends and building answers.

use rapport_kit::{names, validate};
use rapport_proto::orders as pb;
use rapport_runtime::{clock::to_timestamp, validation::Violations};

use super::optional_time;
use crate::domain::{
    delivery::{Delivery, DeliveryState, MAX_PHOTOS, Proof, Window},
    order::{FollowUp, LinePart, MAX_QUANTITY},
};

/// Characters of an address, at most.
const MAX_ADDRESS: usize = 500;

/// What ScheduleDelivery asks for, parsed.
pub struct NewDelivery {
    pub lines: Vec<LinePart>,
    pub window: Window,
    pub address: String,
    pub crew: String,
    pub installation: bool,
}

/// A window given as `start` and `end` under `prefix`, checked against `now`.
pub fn parse_window(
    start: Option<&prost_types::Timestamp>,
    end: Option<&prost_types::Timestamp>,
    prefix: &str,
    now: i64,
    v: &mut Violations,
) -> Window {
    let field = |f: &str| format!("{prefix}{f}");
    if start.is_none() {
        v.add(field("window_start"), "is required");
    }
    if end.is_none() {
        v.add(field("window_end"), "is required");
    }
    let start_at = optional_time(start, &field("window_start"), v);
    let end_at = optional_time(end, &field("window_end"), v);
    let window = Window {
        start: start_at.unwrap_or(0),
        end: end_at.unwrap_or(0),
    };
    if let (Some(_), Some(_)) = (start_at, end_at)
        && let Some(problem) = window.problem(now)
    {
        v.add(field("window_end"), problem);
    }
    window
}

/// The lines and quantities a delivery or a return names, under `{resource}.lines`.
pub fn parse_parts(
    lines: &[pb::DeliveryLine],
    resource: &str,
    v: &mut Violations,
) -> Vec<LinePart> {
    let field = format!("{resource}.lines");
    if lines.is_empty() {
        v.add(&field, "is required: at least one line and quantity");
    }
    validate::capped(v, &field, lines, 200)
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let line_id = l.line_id.trim().to_owned();
            if line_id.is_empty() {
                v.add(format!("{field}[{i}].line_id"), "is required");
            }
            let quantity = i64::from(l.quantity);
            if !(1..=MAX_QUANTITY).contains(&quantity) {
                v.add(
                    format!("{field}[{i}].quantity"),
                    format!("must be 1..{MAX_QUANTITY}"),
                );
            }
            LinePart { line_id, quantity }
        })
        .collect()
}

/// Parses a new delivery, reporting every bad field under `delivery.`.
pub fn parse_new_delivery(d: Option<&pb::Delivery>, now: i64, v: &mut Violations) -> NewDelivery {
    let default = pb::Delivery::default();
    let d = d.unwrap_or_else(|| {
        v.add("delivery", "is required");
        &default
    });
    let lines = parse_parts(&d.lines, "delivery", v);
    let window = parse_window(
        d.window_start.as_ref(),
        d.window_end.as_ref(),
        "delivery.",
        now,
        v,
    );
    NewDelivery {
        lines,
        window,
        address: validate::required_text(v, "delivery.address", &d.address, MAX_ADDRESS),
        crew: validate::text(v, "delivery.crew", &d.crew, 200),
        installation: d.installation,
    }
}

/// Parses a proof of delivery signed at or before `now`.
pub fn parse_proof(p: Option<&pb::DeliveryProof>, now: i64, v: &mut Violations) -> Proof {
    let default = pb::DeliveryProof::default();
    let p = p.unwrap_or_else(|| {
        v.add("proof", "is required");
        &default
    });
    let sign_time = optional_time(p.sign_time.as_ref(), "proof.sign_time", v).unwrap_or(now);
    if sign_time > now {
        v.add("proof.sign_time", "must not be in the future");
    }
    let photos = validate::capped(v, "proof.photo_urls", &p.photo_urls, MAX_PHOTOS);
    let mut photo_urls = Vec::with_capacity(photos.len());
    for (i, url) in photos.iter().enumerate() {
        let url = url.trim();
        let web = url.starts_with("https://") || url.starts_with("http://");
        if !web || url.len() > 2000 || url.chars().any(char::is_whitespace) {
            v.add(
                format!("proof.photo_urls[{i}]"),
                "must be an http(s) URL of at most 2000 characters",
            );
        } else {
            photo_urls.push(url.to_owned());
        }
    }
    Proof {
        signed_by: validate::required_text(v, "proof.signed_by", &p.signed_by, 100),
        sign_time,
        notes: validate::multiline_text(v, "proof.notes", &p.notes, 2000),
        photo_urls,
    }
}

/// The answer for a delivery.
pub fn delivery_to_proto(d: &Delivery) -> pb::Delivery {
    pb::Delivery {
        name: d.name(),
        lines: d
            .lines
            .iter()
            .map(|l| pb::DeliveryLine {
                line_id: l.line_id.clone(),
                quantity: i32::try_from(l.quantity).unwrap_or(i32::MAX),
            })
            .collect(),
        window_start: Some(to_timestamp(d.window_start)),
        window_end: Some(to_timestamp(d.window_end)),
        address: d.address.clone(),
        crew: d.crew.clone(),
        installation: d.installation,
        state: match d.state {
            DeliveryState::Scheduled => pb::DeliveryState::Scheduled,
            DeliveryState::Delivered => pb::DeliveryState::Delivered,
            DeliveryState::Cancelled => pb::DeliveryState::Cancelled,
        }
        .into(),
        reschedule_count: d.reschedule_count,
        reschedule_reason: d.reschedule_reason.clone(),
        proof: d.proof.as_ref().map(|p| pb::DeliveryProof {
            signed_by: p.signed_by.clone(),
            sign_time: Some(to_timestamp(p.sign_time)),
            notes: p.notes.clone(),
            photo_urls: p.photo_urls.clone(),
        }),
        installed: d.installed,
        deliver_time: d.deliver_time.map(to_timestamp),
        cancel_reason: d.cancel_reason.clone(),
        remind_time: Some(to_timestamp(d.remind_time)),
        reminders_sent: d.reminders_sent,
        create_time: Some(to_timestamp(d.create_time)),
        update_time: Some(to_timestamp(d.update_time)),
        etag: names::etag(d.id.as_bytes(), d.version),
    }
}

/// The answer for a follow-up visit.
pub fn follow_up_to_proto(f: &FollowUp) -> pb::FollowUp {
    pb::FollowUp {
        due_time: Some(to_timestamp(f.due_time)),
        done_time: f.done_time.map(to_timestamp),
        satisfaction: f.satisfaction,
        notes: f.notes.clone(),
        recorded_by: f.recorded_by.clone(),
        announce_time: f.announce_time.map(to_timestamp),
    }
}
