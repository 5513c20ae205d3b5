//! Leads, assignments and lead settings: proto <-> domain.

use rapport_kit::validate::{money, money_to_proto};
use rapport_kit::{
    contact::{normalize_email, normalize_phone},
    duplicates::Disclosed,
    names,
};
use rapport_proto::{leads as pb, types};
use rapport_runtime::{
    clock::{Micros, to_timestamp},
    validation::Violations,
};

use crate::{
    domain::{
        assignment_kind as kind,
        lead::{Attribution, Intent, Lead, LeadInput, Needs, Source, State},
    },
    store::leads::AssignmentRow,
};

const MAX_NAME: usize = 200;
const MAX_DESCRIPTION: usize = 2000;
const MAX_SHORT: usize = 100;
const MAX_PRODUCT_LINES: usize = 50;
/// Phone numbers without a country code are read as Chinese numbers.
const DEFAULT_REGION: &str = "CN";

/// The caller's lead, checked and normalized; violations are reported under `v`'s prefix (a
/// field in violation holds a default value, to be read only when `v` stays empty).
pub fn parse_input(l: &pb::Lead, v: &mut Violations) -> LeadInput {
    parse_fields(l, v, true)
}

/// As [`parse_input`], for the fields of an update: each field is checked on its own, and
/// whether the lead keeps a phone or an email is judged on the lead as updated.
pub fn parse_patch(l: &pb::Lead, v: &mut Violations) -> LeadInput {
    parse_fields(l, v, false)
}

fn parse_fields(l: &pb::Lead, v: &mut Violations, whole: bool) -> LeadInput {
    let display_name = l.display_name.trim().to_owned();
    if display_name.is_empty() {
        v.add("display_name", "is required");
    } else if display_name.chars().count() > MAX_NAME {
        v.add(
            "display_name",
            format!("is longer than {MAX_NAME} characters"),
        );
    }
    let phone = (!l.phone.trim().is_empty())
        .then(|| {
            normalize_phone(&l.phone, DEFAULT_REGION)
                .map_err(|e| v.add("phone", e))
                .ok()
        })
        .flatten()
        .unwrap_or_default();
    // The proto promises the whole address in lower case; normalize_email lowers the domain only.
    let email = (!l.email.trim().is_empty())
        .then(|| {
            normalize_email(&l.email)
                .map(|e| e.to_lowercase())
                .map_err(|e| v.add("email", e))
                .ok()
        })
        .flatten()
        .unwrap_or_default();
    if whole && l.phone.trim().is_empty() && l.email.trim().is_empty() {
        v.add("phone", "give a phone or an email");
    }
    let source = match pb::LeadSource::try_from(l.source) {
        Ok(pb::LeadSource::Unspecified) | Err(_) => {
            v.add(
                "source",
                "is required: FORM, IMPORT, PARTNER, CAMPAIGN, MANUAL, WALK_IN or REFERRAL",
            );
            None
        }
        Ok(s) => Some(source_from_proto(s)),
    };
    let attribution = l.attribution.clone().unwrap_or_default();
    check_ref(
        v,
        "attribution.campaign_id",
        &attribution.campaign_id,
        "campaigns/",
    );
    check_ref(
        v,
        "attribution.partner_id",
        &attribution.partner_id,
        "partners/",
    );
    check_ref(
        v,
        "attribution.referrer",
        &attribution.referrer,
        "customers/",
    );
    check_len(v, "attribution.channel", &attribution.channel, 64);
    let needs = parse_needs(l.needs.as_ref(), v);
    check_len(v, "region", &l.region, MAX_SHORT);
    check_len(v, "language", &l.language, 35);
    let pool = l.pool.trim().to_owned();
    let pool_ok =
        names::parse_key("teams", &pool).is_ok() || names::parse_key("stores", &pool).is_ok();
    if !pool.is_empty() && !pool_ok {
        v.add(
            "pool",
            "must be empty (the company pool), \"teams/{team}\" or \"stores/{store}\"",
        );
    }
    LeadInput {
        display_name,
        phone,
        email,
        // A missing source is a violation; the default is never read then.
        source: source.unwrap_or(Source::Manual),
        attribution: Attribution {
            campaign_id: attribution.campaign_id.trim().to_owned(),
            partner_id: attribution.partner_id.trim().to_owned(),
            channel: attribution.channel.trim().to_owned(),
            referrer: attribution.referrer.trim().to_owned(),
        },
        needs,
        region: l.region.trim().to_owned(),
        language: l.language.trim().to_owned(),
        pool,
    }
}

fn check_len(v: &mut Violations, field: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        v.add(field, format!("is longer than {max} characters"));
    }
}

fn check_ref(v: &mut Violations, field: &str, value: &str, prefix: &str) {
    let value = value.trim();
    if !value.is_empty()
        && (!value.starts_with(prefix) || value.len() == prefix.len() || value.len() > 200)
    {
        v.add(field, format!("must look like \"{prefix}{{id}}\""));
    }
}

fn parse_needs(n: Option<&pb::Needs>, v: &mut Violations) -> Needs {
    let Some(n) = n else {
        return Needs::default();
    };
    let mut product_lines: Vec<String> = Vec::new();
    for p in &n.product_lines {
        let p = p.trim().to_lowercase();
        if p.is_empty() || p.chars().count() > MAX_SHORT {
            v.add(
                "needs.product_lines",
                format!("values must be 1..{MAX_SHORT} characters"),
            );
        } else if !product_lines.contains(&p) {
            product_lines.push(p);
        }
    }
    if product_lines.len() > MAX_PRODUCT_LINES {
        v.add(
            "needs.product_lines",
            format!("at most {MAX_PRODUCT_LINES}"),
        );
    }
    check_len(v, "needs.description", &n.description, MAX_DESCRIPTION);
    check_len(v, "needs.timeline", &n.timeline, MAX_SHORT);
    let budget = money(v, "needs.budget", n.budget.as_ref());
    Needs {
        product_lines,
        description: n.description.trim().to_owned(),
        budget,
        timeline: n.timeline.trim().to_owned(),
    }
}

/// The state a caller asks for in UpdateLead.
pub fn state_from_proto(s: i32) -> Option<State> {
    match pb::LeadState::try_from(s).ok()? {
        pb::LeadState::New => Some(State::New),
        pb::LeadState::Contacting => Some(State::Contacting),
        pb::LeadState::Qualified => Some(State::Qualified),
        pb::LeadState::Unqualified => Some(State::Unqualified),
        pb::LeadState::Converted => Some(State::Converted),
        pb::LeadState::Unspecified => None,
    }
}

fn state_to_proto(s: State) -> pb::LeadState {
    match s {
        State::New => pb::LeadState::New,
        State::Contacting => pb::LeadState::Contacting,
        State::Qualified => pb::LeadState::Qualified,
        State::Unqualified => pb::LeadState::Unqualified,
        State::Converted => pb::LeadState::Converted,
    }
}

/// The domain source of a proto one (not UNSPECIFIED).
pub fn source_from_proto(s: pb::LeadSource) -> Source {
    match s {
        pb::LeadSource::Form | pb::LeadSource::Unspecified => Source::Form,
        pb::LeadSource::Import => Source::Import,
        pb::LeadSource::Partner => Source::Partner,
        pb::LeadSource::Campaign => Source::Campaign,
        pb::LeadSource::Manual => Source::Manual,
        pb::LeadSource::WalkIn => Source::WalkIn,
        pb::LeadSource::Referral => Source::Referral,
    }
}

/// The proto source of a domain one.
pub fn source_to_proto(s: Source) -> pb::LeadSource {
    match s {
        Source::Form => pb::LeadSource::Form,
        Source::Import => pb::LeadSource::Import,
        Source::Partner => pb::LeadSource::Partner,
        Source::Campaign => pb::LeadSource::Campaign,
        Source::Manual => pb::LeadSource::Manual,
        Source::WalkIn => pb::LeadSource::WalkIn,
        Source::Referral => pb::LeadSource::Referral,
    }
}

/// The proto grade of a domain one.
pub fn intent_to_proto(i: Intent) -> pb::IntentGrade {
    match i {
        Intent::Low => pb::IntentGrade::Low,
        Intent::Medium => pb::IntentGrade::Medium,
        Intent::High => pb::IntentGrade::High,
    }
}

/// The domain grade of a proto one; None for UNSPECIFIED.
pub fn intent_from_proto(i: i32) -> Option<Intent> {
    match pb::IntentGrade::try_from(i).ok()? {
        pb::IntentGrade::Low => Some(Intent::Low),
        pb::IntentGrade::Medium => Some(Intent::Medium),
        pb::IntentGrade::High => Some(Intent::High),
        pb::IntentGrade::Unspecified => None,
    }
}

fn ts(t: Option<Micros>) -> Option<prost_types::Timestamp> {
    t.map(to_timestamp)
}

/// The lead as the API shows it.
pub fn lead_to_proto(l: &Lead) -> pb::Lead {
    let i = &l.input;
    pb::Lead {
        name: l.resource_name(),
        display_name: i.display_name.clone(),
        phone: i.phone.clone(),
        email: i.email.clone(),
        source: source_to_proto(i.source).into(),
        attribution: Some(pb::Attribution {
            campaign_id: i.attribution.campaign_id.clone(),
            partner_id: i.attribution.partner_id.clone(),
            channel: i.attribution.channel.clone(),
            referrer: i.attribution.referrer.clone(),
        }),
        needs: Some(pb::Needs {
            product_lines: i.needs.product_lines.clone(),
            description: i.needs.description.clone(),
            budget: i.needs.budget.as_ref().map(money_to_proto),
            timeline: i.needs.timeline.clone(),
        }),
        region: i.region.clone(),
        language: i.language.clone(),
        state: state_to_proto(l.state).into(),
        unqualified_reason: l.unqualified_reason.clone(),
        owner_id: l.owner_id.clone(),
        pool: i.pool.clone(),
        locked: l.locked,
        score: l.score as i32,
        intent: intent_to_proto(l.intent).into(),
        recall: l.recall,
        call_flag: l.call_flag,
        assign_time: ts(l.assign_time),
        last_follow_up_time: ts(l.last_follow_up_time),
        state_change_time: ts(Some(l.state_change_time)),
        customer: l.customer_id.clone(),
        opportunity: l.opportunity_id.clone(),
        won: l.won,
        create_time: ts(Some(l.create_time)),
        update_time: ts(Some(l.update_time)),
        delete_time: ts(l.delete_time),
        etag: l.etag(),
        possible_duplicates: l
            .possible_duplicates
            .iter()
            .map(|id| crate::domain::lead::lead_name(*id))
            .collect(),
        duplicate_holders: Vec::new(),
    }
}

/// A holder of a lead's contact data as the caller may learn of it.
pub fn holder_to_proto(d: Disclosed, matched: &[String]) -> types::DuplicateHolder {
    types::DuplicateHolder {
        name: d.holder.name,
        display_name: d.holder.display_name,
        owner_id: d.holder.owner_id,
        team_id: d.holder.team_id,
        store_id: d.holder.store_id,
        visible: d.visible,
        matched_on: matched.to_vec(),
    }
}

/// An assignment as the API shows it.
pub fn assignment_to_proto(a: &AssignmentRow) -> pb::Assignment {
    let k = match a.kind {
        kind::ROUND_ROBIN => pb::AssignmentKind::RoundRobin,
        kind::WEIGHTED => pb::AssignmentKind::Weighted,
        kind::LEAST_LOADED => pb::AssignmentKind::LeastLoaded,
        kind::RULE => pb::AssignmentKind::Rule,
        kind::SKILLS_MATCH => pb::AssignmentKind::SkillsMatch,
        kind::MANUAL => pb::AssignmentKind::Manual,
        kind::CLAIM => pb::AssignmentKind::Claim,
        kind::RELEASE => pb::AssignmentKind::Release,
        kind::RECLAIM => pb::AssignmentKind::Reclaim,
        kind::HANDOVER => pb::AssignmentKind::Handover,
        _ => pb::AssignmentKind::Unspecified,
    };
    pb::Assignment {
        name: format!(
            "{}/assignments/{}",
            crate::domain::lead::lead_name(a.lead_id),
            a.id
        ),
        rep_id: a.rep_id.clone(),
        previous_owner_id: a.previous_owner_id.clone(),
        kind: k.into(),
        reason: a.reason.clone(),
        actor: a.actor.clone(),
        create_time: ts(Some(a.create_time)),
    }
}
