//! Create, Get, List, Update, Delete and Undelete of leads; follow-ups and behaviour events.

use rapport_kit::{
    duplicates::{Disclosed, DuplicatePolicy, disclose},
    list_params, mask,
    query::{ListQuery, ListSpec, OrderBy},
};
use rapport_proto::{leads as pb, types};
use rapport_runtime::storage::Idempotency;
use rapport_runtime::{
    Error, Result, auth::Principal, clock::from_timestamp, error::both, validation::Violations,
    write::Write,
};
use tonic::Request;
use uuid::Uuid;

use super::support::{MANAGERS, READERS, WORKERS, authorize, lead_id};
use crate::app::App;
use crate::app::EVENTS;
use crate::app::check_lead_etag;
use crate::app::leads::{apply_follow_up, save_lead};
use crate::app::require_live;
use crate::app::scope;
use crate::convert::{
    lead::{holder_to_proto, lead_to_proto, parse_input, parse_patch, state_from_proto},
    mask::selected,
};
use crate::{
    domain::{
        duplicates::{self, Rules},
        lead::{Behavior, Intent, Lead, LeadInput, State},
        visibility::{Scope, sees_lead},
    },
    store::{self, leads::FILTER_FIELDS},
};

const LIST: ListSpec = ListSpec {
    filter_fields: FILTER_FIELDS,
    order_fields: &["create_time", "update_time", "score", "display_name"],
    default_order: OrderBy::desc("create_time"),
    text_order_fields: &["display_name"],
};

const MASK: mask::Rules = mask::Rules {
    updatable: &[
        "display_name",
        "phone",
        "email",
        "needs",
        "region",
        "language",
        "state",
        "unqualified_reason",
        "pool",
    ],
    immutable: &["name", "source", "attribution"],
    output_only: &[
        "owner_id",
        "locked",
        "score",
        "intent",
        "recall",
        "call_flag",
        "assign_time",
        "last_follow_up_time",
        "state_change_time",
        "customer",
        "opportunity",
        "won",
        "create_time",
        "update_time",
        "delete_time",
        "etag",
    ],
    ..mask::Rules::new("Lead")
};

pub(super) async fn create(api: &App, req: Request<pb::CreateLeadRequest>) -> Result<pb::Lead> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.into_inner();
    let parsed = match &msg.lead {
        None => Err(Error::invalid("lead", "is required")),
        Some(l) => {
            let mut v = Violations::with_prefix("lead");
            let input = parse_input(l, &mut v);
            v.finish(input).map_err(Error::from)
        }
    };
    let (idem, input) = both(
        Idempotency::new(&p, "CreateLead", &msg.request_id, &msg),
        parsed,
    )?;
    let settings = api.settings(&p.tenant_id).await?;
    let now = api.now();
    let mut lead = Lead::new(Uuid::now_v7(), input, now);
    lead.rescore(&settings.grades());
    let locks = contact_locks(&p.tenant_id, &lead.input);
    let mut w = rapport_runtime::begin_write!(api.ctx, p, idem, EVENTS, locks);
    let holders = judge_duplicates(&mut w, &p, settings.duplicates(), &mut lead).await?;
    // A rep's own lead goes straight into its private pool, within its capacity.
    if matches!(scope(&p), Scope::Own { .. }) {
        let team = crate::app::leads::take_named(w.tx(), &p.tenant_id, &p.subject, now).await?;
        lead.owner_id = p.subject.clone();
        lead.team_id = team;
        lead.assign_time = Some(now);
    }
    store::leads::insert_lead(w.tx(), &p.tenant_id, &lead).await?;
    let mut out = lead_to_proto(&lead);
    w.emit(
        "lead.created",
        lead.resource_name(),
        &pb::LeadChanged {
            lead: Some(out.clone()),
        },
    );
    out.duplicate_holders = holders;
    let out = w.commit(out).await?;
    api.db().wrote("leads", 1);
    Ok(out)
}

/// The locks a write that judges `input`'s phone and email for duplicates takes from its start,
/// so two writes with one phone cannot both miss each other.
fn contact_locks(tenant: &str, input: &LeadInput) -> Vec<String> {
    let keys = duplicates::contact_keys(input);
    rapport_runtime::storage::key_slots(
        &format!("lead-contacts/{tenant}"),
        keys.iter().map(String::as_str),
    )
}

/// Judges `lead` against the open leads holding its phone or email (see `domain::duplicates`):
/// ALREADY_EXISTS naming the oldest under REJECT; under FLAG the holders go into the lead's
/// possible duplicates. Either way, who holds them as far as `p` may learn.
async fn judge_duplicates(
    w: &mut Write,
    p: &Principal,
    rules: Rules,
    lead: &mut Lead,
) -> Result<Vec<types::DuplicateHolder>> {
    let found =
        store::leads::find_holders(w.tx(), &p.tenant_id, &lead.input, Some(lead.id)).await?;
    let s = scope(p);
    let told: Vec<Disclosed> = found
        .iter()
        .map(|m| {
            let h = &m.holder;
            disclose(h, sees_lead(&s, &h.owner_id, &h.team_id), rules.disclosure)
        })
        .collect();
    if let (DuplicatePolicy::Reject, Some(m), Some(d)) = (rules.policy, found.first(), told.first())
    {
        return Err(d.already_exists("DUPLICATE_LEAD", "a lead you may not see", &m.matched));
    }
    lead.possible_duplicates = found.iter().map(|m| m.id).collect();
    Ok(told
        .into_iter()
        .zip(&found)
        .map(|(d, m)| holder_to_proto(d, &m.matched))
        .collect())
}

pub(super) async fn get(api: &App, req: Request<pb::GetLeadRequest>) -> Result<pb::Lead> {
    let p = authorize(&req, READERS)?;
    let id = lead_id("name", &req.get_ref().name)?;
    Ok(lead_to_proto(&api.visible_lead(&p, id).await?))
}

pub(super) async fn list(
    api: &App,
    req: Request<pb::ListLeadsRequest>,
) -> Result<pb::ListLeadsResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let s = scope(&p);
    let scope_key = format!("{s:?}");
    let q = ListQuery::parse(
        &LIST,
        list_params!(msg),
        api.db().dialect(),
        2,
        &[
            &p.tenant_id,
            &scope_key,
            if msg.show_deleted { "deleted" } else { "live" },
        ],
    )?;
    let mut conn = api.db().pool().acquire().await?;
    let mut rows =
        store::leads::list_leads(&mut conn, &p.tenant_id, &q, &s, msg.show_deleted).await?;
    let next_page_token = q.next_token(&mut rows, |l| store::leads::cursor_of(l, q.order.field));
    Ok(pb::ListLeadsResponse {
        leads: rows.iter().map(lead_to_proto).collect(),
        next_page_token,
    })
}

pub(super) async fn update(api: &App, req: Request<pb::UpdateLeadRequest>) -> Result<pb::Lead> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.into_inner();
    let mut v = Violations::new();
    let paths = msg.update_mask.map(|m| m.paths).unwrap_or_default();
    let fields = selected(&MASK, &paths, &mut v);
    let Some(given) = msg.lead else {
        v.add("lead", "is required");
        return Err(v.finish(()).map_err(Error::from).unwrap_err());
    };
    let id = v.take("lead.name", lead_id("lead.name", &given.name));
    // The whole input is parsed so its violations are reported, but only masked fields apply.
    let mut pv = Violations::with_prefix("lead");
    let input = parse_patch(&given, &mut pv);
    let new_state = fields
        .contains(&"state")
        .then(|| state_from_proto(given.state));
    if let Some(None) = new_state {
        v.add("lead.state", "must be CONTACTING, QUALIFIED or UNQUALIFIED");
    }
    for f in pv.finish(()).err().unwrap_or_default() {
        if fields
            .iter()
            .any(|m| f.field.starts_with(&format!("lead.{m}")))
        {
            v.add(&f.field, f.description);
        }
    }
    if fields.contains(&"unqualified_reason")
        && given.unqualified_reason.trim().chars().count() > 500
    {
        v.add("lead.unqualified_reason", "is longer than 500 characters");
    }
    v.finish(())?;
    let Some(id) = id else {
        return Err(Error::internal("the lead's name missing after validation"));
    };
    let settings = api.settings(&p.tenant_id).await?;
    // New contact data is judged for duplicates: its slots are locked from the start.
    let locks = if fields.iter().any(|f| matches!(*f, "phone" | "email")) {
        contact_locks(&p.tenant_id, &input)
    } else {
        Vec::new()
    };
    let mut w = api.ctx.write_locking(&p, EVENTS, locks).await?;
    let mut lead = api.lock_lead(w.tx(), &p, id).await?;
    check_lead_etag(&given.etag, &lead)?;
    require_live(&lead)?;
    if !lead.owner_id.is_empty()
        && lead.owner_id != p.subject
        && matches!(scope(&p), Scope::Own { .. })
    {
        return Err(Error::not_found(lead.resource_name()));
    }
    let now = api.now();
    let before = lead.clone();
    for f in &fields {
        match *f {
            "display_name" => lead.input.display_name = input.display_name.clone(),
            "phone" => lead.input.phone = input.phone.clone(),
            "email" => lead.input.email = input.email.clone(),
            "needs" => lead.input.needs = input.needs.clone(),
            "region" => lead.input.region = input.region.clone(),
            "language" => lead.input.language = input.language.clone(),
            "pool" => lead.input.pool = input.pool.clone(),
            "unqualified_reason" => {
                lead.unqualified_reason = given.unqualified_reason.trim().to_owned()
            }
            _ => {}
        }
    }
    if lead.input.phone.is_empty() && lead.input.email.is_empty() {
        return Err(Error::invalid("lead.phone", "give a phone or an email"));
    }
    if let Some(Some(to)) = new_state {
        lead.state
            .may_become(to)
            .map_err(|e| Error::precondition("LEAD_STATE", e))?;
        if to != lead.state {
            lead.state = to;
            lead.state_change_time = now;
        }
    }
    if lead.state == State::Unqualified && lead.unqualified_reason.is_empty() {
        return Err(Error::invalid(
            "lead.unqualified_reason",
            "is required for an unqualified lead",
        ));
    }
    if lead == before {
        return Ok(lead_to_proto(&lead));
    }
    let holders =
        if duplicates::contact_keys(&lead.input) != duplicates::contact_keys(&before.input) {
            judge_duplicates(&mut w, &p, settings.duplicates(), &mut lead).await?
        } else {
            Vec::new()
        };
    lead.rescore(&settings.grades());
    lead.touch(now);
    let mut out =
        crate::app::leads::save_lead_uncommitted(&mut w, &p.tenant_id, &lead, "lead.updated")
            .await?;
    out.duplicate_holders = holders;
    let out = w.commit(out).await?;
    api.db().wrote("leads", 1);
    Ok(out)
}

pub(super) async fn delete(api: &App, req: Request<pb::DeleteLeadRequest>) -> Result<pb::Lead> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.into_inner();
    let id = lead_id("name", &msg.name)?;
    let mut w = api.write(&p).await?;
    let mut lead = api.lock_lead(w.tx(), &p, id).await?;
    check_lead_etag(&msg.etag, &lead)?;
    require_live(&lead)?;
    if lead.counts_against_capacity() {
        store::assign::REPS
            .give_back(w.tx(), &p.tenant_id, &lead.owner_id, 1)
            .await?;
    }
    let now = api.now();
    lead.delete_time = Some(now);
    lead.touch(now);
    save_lead(w, &p.tenant_id, &lead, "lead.deleted").await
}

pub(super) async fn undelete(api: &App, req: Request<pb::UndeleteLeadRequest>) -> Result<pb::Lead> {
    let p = authorize(&req, MANAGERS)?;
    let id = lead_id("name", &req.get_ref().name)?;
    let mut w = api.write(&p).await?;
    let mut lead = api.lock_lead(w.tx(), &p, id).await?;
    if lead.delete_time.is_none() {
        return Err(Error::precondition(
            "LEAD_NOT_DELETED",
            format!("{} is not deleted", lead.resource_name()),
        ));
    }
    let now = api.now();
    lead.delete_time = None;
    // Back in its owner's private pool only if the owner still has room; else the public pool.
    if !lead.owner_id.is_empty() && !lead.won {
        let taken = store::assign::REPS
            .take_named(w.tx(), &p.tenant_id, &lead.owner_id, None, now)
            .await?;
        match taken {
            Ok(t) => lead.team_id = t.team,
            Err(_) => {
                lead.owner_id.clear();
                lead.team_id.clear();
                lead.assign_time = None;
            }
        }
    }
    lead.touch(now);
    save_lead(w, &p.tenant_id, &lead, "lead.undeleted").await
}

pub(super) async fn record_follow_up(
    api: &App,
    req: Request<pb::RecordFollowUpRequest>,
) -> Result<pb::Lead> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.into_inner();
    let now = api.now();
    let mut v = Violations::new();
    let id = v.take("name", lead_id("name", &msg.name));
    let at = match &msg.follow_up_time {
        None => Some(now),
        Some(t) => match from_timestamp(t) {
            Some(t) if t <= now => Some(t),
            Some(_) => {
                v.add("follow_up_time", "must not be in the future");
                None
            }
            None => {
                v.add("follow_up_time", "is not a valid time");
                None
            }
        },
    };
    if msg.note.chars().count() > 2000 {
        v.add("note", "is longer than 2000 characters");
    }
    v.finish(())?;
    let (Some(id), Some(at)) = (id, at) else {
        return Err(Error::internal("follow-up fields missing after validation"));
    };
    let settings = api.settings(&p.tenant_id).await?;
    let mut w = api.write(&p).await?;
    let mut lead = api.lock_lead(w.tx(), &p, id).await?;
    require_live(&lead)?;
    apply_follow_up(&mut lead, at, &settings.grades());
    lead.touch(now);
    save_lead(w, &p.tenant_id, &lead, "lead.followed_up").await
}

pub(super) async fn record_behavior(
    api: &App,
    req: Request<pb::RecordLeadBehaviorRequest>,
) -> Result<pb::Lead> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.into_inner();
    let mut v = Violations::new();
    let id = v.take("name", lead_id("name", &msg.name));
    let behavior = match pb::BehaviorKind::try_from(msg.kind) {
        Ok(pb::BehaviorKind::PageView) => Some(Behavior::PageView),
        Ok(pb::BehaviorKind::Download) => Some(Behavior::Download),
        Ok(pb::BehaviorKind::Inquiry) => Some(Behavior::Inquiry),
        Ok(pb::BehaviorKind::Visit) => Some(Behavior::Visit),
        Ok(pb::BehaviorKind::MessageOpen) => Some(Behavior::MessageOpen),
        Ok(pb::BehaviorKind::Unsubscribe) => Some(Behavior::Unsubscribe),
        _ => {
            v.add("kind", "is required");
            None
        }
    };
    if let Some(t) = &msg.occur_time
        && from_timestamp(t).is_none()
    {
        v.add("occur_time", "is not a valid time");
    }
    v.finish(())?;
    let (Some(id), Some(behavior)) = (id, behavior) else {
        return Err(Error::internal("behaviour fields missing after validation"));
    };
    let settings = api.settings(&p.tenant_id).await?;
    let mut w = api.write(&p).await?;
    let mut lead = api.lock_lead(w.tx(), &p, id).await?;
    require_live(&lead)?;
    let was = lead.intent;
    lead.behavior_points += behavior.points();
    lead.rescore(&settings.grades());
    lead.touch(api.now());
    if lead.intent == Intent::High && was != Intent::High && !lead.owner_id.is_empty() {
        crate::app::leads::alert_high_intent(&mut w, &p.tenant_id, &lead).await?;
    }
    save_lead(w, &p.tenant_id, &lead, "lead.scored").await
}
