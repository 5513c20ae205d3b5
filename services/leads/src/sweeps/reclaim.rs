//! The reclaim sweep (LE7): warns owners ahead of a follow-up rule's deadline and takes back
//! leads that broke a rule, to their public pool or to another rep. Safe on several replicas
//! at once: each batch re-reads its leads under lock (skipping rows another sweeper holds) and
//! only leads still due are moved, so each is reclaimed once; alerts carry dedupe keys. What is
//! due is derived from stored times, so nothing is missed across restarts.

use futures::{StreamExt, TryStreamExt};
use rapport_proto::leads as pb;
use rapport_runtime::{Result, auth::Principal, clock::Micros};
use uuid::Uuid;

use crate::app::App;
use crate::app::EVENTS;
use crate::app::alerts::raise_alert;
use crate::app::leads::assign_by_strategy;
use crate::convert::{lead::assignment_to_proto, task::alert_to_proto};
use crate::{
    domain::{
        alert::{Alert, AlertKind, NewAlert},
        assign::Pick,
        assignment_kind as kind,
        lead::Lead,
        reclaim,
        settings::{FollowUpRule, ReclaimAction, Settings},
    },
    store::{self, leads::AssignmentRow},
};

/// Leads moved per transaction.
const BATCH: usize = 2000;
/// Due leads read per round of a sweep: bounds the sweep's memory.
const ROUND: usize = 50_000;
/// Transactions of one sweep in flight at once.
const SWEEPERS: usize = 2;
/// Who the sweep acts as.
const ACTOR: &str = "system";

/// The principal the sweep writes as in `tenant`.
fn system(tenant: &str) -> Principal {
    Principal::system(tenant, ACTOR)
}

/// Runs every tenant's follow-up rules at `now`; returns the leads warned or reclaimed.
pub(crate) async fn sweep(api: &App, now: Micros) -> Result<usize> {
    let tenants = {
        let mut conn = api.db().pool().acquire().await?;
        store::settings::tenants_with_rules(&mut conn).await?
    };
    let mut handled = 0;
    for (tenant, settings) in tenants {
        for (i, rule) in settings.follow_up_rules.iter().enumerate() {
            let key = format!("r{i}");
            if rule.warn_before > 0 {
                handled += warn(api, &tenant, rule, &key, now).await?;
            }
            handled += take_back(api, &tenant, &settings, rule, now).await?;
        }
    }
    Ok(handled)
}

async fn warn(
    api: &App,
    tenant: &str,
    rule: &FollowUpRule,
    key: &str,
    now: Micros,
) -> Result<usize> {
    let leads = {
        let mut conn = api.db().pool().acquire().await?;
        store::reclaim::to_warn(
            &mut conn,
            tenant,
            rule,
            key,
            now - rule.after + rule.warn_before,
        )
        .await?
    };
    if leads.is_empty() {
        return Ok(0);
    }
    let mut w = api.ctx.write(&system(tenant), EVENTS).await?;
    let mut n = 0;
    for lead in &leads {
        let (Some(start), Some(due)) = (
            reclaim::clock_start(lead, rule.condition),
            reclaim::due_time(rule, lead),
        ) else {
            continue;
        };
        let alert = NewAlert {
            recipient_id: lead.owner_id.clone(),
            team_id: lead.team_id.clone(),
            kind: AlertKind::ReclaimWarning,
            subject: lead.resource_name(),
            message: format!(
                "{} goes back to the pool under \"{}\" unless you act before the due time",
                lead.input.display_name, rule.display_name
            ),
            due_time: Some(due),
            dedupe_key: store::reclaim::warning_key(lead.id, key, start),
        };
        if raise_alert(&mut w, tenant, &alert).await?.is_some() {
            n += 1;
        }
    }
    w.commit(()).await?;
    Ok(n)
}

async fn take_back(
    api: &App,
    tenant: &str,
    settings: &Settings,
    rule: &FollowUpRule,
    now: Micros,
) -> Result<usize> {
    let cutoff = now - rule.after;
    // Batches returning leads to the pool touch disjoint leads, so two run at once and the
    // database works on both cores. Reassigning batches also take reps' places, and two of them
    // could each wait for the other's reps: those run one at a time.
    let sweepers = if rule.action == ReclaimAction::Reassign {
        1
    } else {
        SWEEPERS
    };
    let mut n = 0;
    loop {
        // Due leads are read in rounds, in one pass each; what a round takes back is no
        // longer due, so the next round's query starts where this one ended.
        let due = {
            let mut conn = api.db().pool().acquire().await?;
            store::reclaim::due_leads(&mut conn, tenant, rule, cutoff, ROUND).await?
        };
        // Built in a loop, not by a closure over the chunks, to keep the future's lifetimes
        // simple for the compiler.
        let mut batches = Vec::new();
        for chunk in due.chunks(BATCH) {
            batches.push(take_back_batch(
                api, tenant, settings, rule, cutoff, chunk, now,
            ));
        }
        let counts: Vec<usize> = futures::stream::iter(batches)
            .buffer_unordered(sweepers)
            .try_collect()
            .await?;
        let taken: usize = counts.into_iter().sum();
        n += taken;
        // A short round was the last; a round that took nothing (every lead changed under
        // it) ends the sweep too, and the next sweep looks again.
        if due.len() < ROUND || taken == 0 {
            return Ok(n);
        }
    }
}

/// Takes back those of `leads` (read as due, outside this transaction) still due, in one
/// transaction: the leads go to their pool in one statement, their owners get their places
/// back and a cool-down, and the history, alerts and events are written in bulk. A
/// reassigning rule then hands each lead on from the pool.
async fn take_back_batch(
    api: &App,
    tenant: &str,
    settings: &Settings,
    rule: &FollowUpRule,
    cutoff: Micros,
    leads: &[Lead],
    now: Micros,
) -> Result<usize> {
    let mut w = api.ctx.write(&system(tenant), EVENTS).await?;
    let due: Vec<Uuid> = leads.iter().map(|l| l.id).collect();
    let taken = store::reclaim::take_back(w.tx(), tenant, rule, cutoff, &due, now).await?;
    let taken: std::collections::HashSet<Uuid> = taken.into_iter().collect();
    let leads: Vec<Lead> = leads
        .iter()
        .filter(|l| taken.contains(&l.id))
        .cloned()
        .collect();
    // Former owners may not claim these leads again for a while.
    let cooldowns: Vec<(Uuid, String)> = leads.iter().map(|l| (l.id, l.owner_id.clone())).collect();
    store::leads::set_cooldowns(w.tx(), tenant, &cooldowns, now + settings.claim_cooldown).await?;
    let reason = format!(
        "reclaimed: broke the follow-up rule \"{}\"",
        rule.display_name
    );
    let rows: Vec<AssignmentRow> = leads
        .iter()
        .map(|l| AssignmentRow {
            id: Uuid::now_v7(),
            lead_id: l.id,
            rep_id: String::new(),
            previous_owner_id: l.owner_id.clone(),
            kind: kind::RECLAIM,
            reason: reason.clone(),
            actor: ACTOR.to_owned(),
            create_time: now,
        })
        .collect();
    store::leads::insert_assignments(w.tx(), tenant, &rows).await?;
    for row in &rows {
        let name = crate::domain::lead::lead_name(row.lead_id);
        w.emit(
            "lead.reclaimed",
            name.clone(),
            &pb::LeadAssigned {
                lead: name,
                assignment: Some(assignment_to_proto(row)),
            },
        );
    }
    let alerts: Vec<Alert> = leads
        .iter()
        .map(|l| reclaimed_alert(l, &reason, now))
        .collect();
    let stored = store::alerts::insert_alerts(w.tx(), tenant, &alerts).await?;
    for a in alerts.iter().filter(|a| stored.contains(&a.id.to_string())) {
        w.emit(
            "alert.raised",
            a.name(),
            &pb::AlertRaised {
                alert: Some(alert_to_proto(a)),
            },
        );
    }
    // Owners get their places back last: the reps' rows are shared by every batch, so they
    // are held for the shortest time.
    let mut per_owner: std::collections::BTreeMap<String, i64> = Default::default();
    for l in leads.iter().filter(|l| l.counts_against_capacity()) {
        *per_owner.entry(l.owner_id.clone()).or_default() += 1;
    }
    if rule.action == ReclaimAction::Reassign {
        for mut lead in leads {
            let former = std::mem::take(&mut lead.owner_id);
            lead.team_id.clear();
            lead.assign_time = None;
            lead.touch(now);
            let pick = Pick {
                exclude: Some(&former),
                ..Pick::default()
            };
            assign_by_strategy(api, &mut w, ACTOR, settings, &mut lead, pick, now).await?;
        }
    }
    let per_owner: Vec<(&str, i64)> = per_owner.iter().map(|(r, n)| (r.as_str(), *n)).collect();
    store::assign::REPS
        .give_back_many(w.tx(), tenant, &per_owner)
        .await?;
    let n = taken.len();
    w.commit(()).await?;
    Ok(n)
}

/// The alert telling `lead`'s (former) owner the lead was taken back.
fn reclaimed_alert(lead: &Lead, reason: &str, now: Micros) -> Alert {
    NewAlert {
        recipient_id: lead.owner_id.clone(),
        team_id: lead.team_id.clone(),
        kind: AlertKind::Reclaimed,
        subject: lead.resource_name(),
        message: format!(
            "{} was taken from your private pool: {reason}",
            lead.input.display_name
        ),
        due_time: None,
        dedupe_key: format!(
            "reclaimed:{}:{}",
            lead.id,
            lead.assign_time.unwrap_or_default()
        ),
    }
    .raised(Uuid::now_v7(), now)
}
