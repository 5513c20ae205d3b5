//! A departing rep's hand-over (S1): every customer, lead, deal and task it holds stays with
//! the company and goes to the named reps in turn.
//!
//! Every permission is checked before anything moves: a manager hands over reps of its own team
//! to reps of its own team (a rep it may not see reads as not found). Then the customers move in
//! the customers service, each transfer carrying a request id derived from the hand-over's, so a
//! retry repeats nothing and customers already moved no longer match; then, in one transaction
//! here, the leads (within the takers' capacity, else back to their pools), the open deals
//! (following their lead's new owner when it moved, else in turn), the open tasks (in turn), the
//! rep's deactivation and the revocation of its tokens. A hand-over that fails in the customers
//! service has moved no lead; retried with the same request id it completes.

use rapport_kit::names;
use rapport_kit::peer::Refusal;
use rapport_proto::{customers as cpb, leads as pb};
use rapport_runtime::{
    Error, Result,
    access::{self, Revocation},
    peers::Peers,
    storage::Idempotency,
    validation::Violations,
};
use tonic::{Request, Status};
use uuid::Uuid;

use super::support::optional_key;
use super::{
    support::{self, MANAGERS, authorize, begin},
    transfers::{Taker, check_team, move_opportunity, move_task, taker},
};
use crate::app::App;
use crate::app::leads::Move;
use crate::app::leads::move_lead;
use crate::app::scope;
use crate::{
    domain::{assignment_kind as kind, org, transfer::InTurn},
    store,
};

/// Customers listed per page while handing over.
const PAGE: i32 = 500;

pub(super) async fn hand_over(
    api: &App,
    req: Request<pb::HandOverRepLeadsRequest>,
) -> Result<pb::HandOverRepLeadsResponse> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.get_ref().clone();
    let mut v = Violations::new();
    let rep = names::parse_subject("reps", &msg.rep)
        .map_err(|e| v.add("rep", e))
        .ok()
        .map(str::to_owned);
    let mut to_reps = Vec::new();
    for (i, r) in msg.to_reps.iter().enumerate() {
        match names::parse_subject("reps", r) {
            Ok(r) if Some(r) == rep.as_deref() => {
                v.add(format!("to_reps[{i}]"), "must not be the departing rep")
            }
            Ok(r) if !to_reps.contains(&r.to_owned()) => to_reps.push(r.to_owned()),
            Ok(_) => {}
            Err(e) => v.add(format!("to_reps[{i}]"), e),
        }
    }
    let team = optional_key("teams", &msg.team, "team", &mut v);
    let store_id = optional_key("stores", &msg.store, "store", &mut v);
    let idem = v.take(
        "request_id",
        Idempotency::new(&p, "HandOverRepLeads", &msg.request_id, &msg),
    );
    v.finish(())?;
    let (Some(rep), Some(idem)) = (rep, idem) else {
        return Err(Error::internal("hand-over fields missing after validation"));
    };
    if let Some(k) = &idem {
        let mut conn = api.db().pool().acquire().await?;
        if let Some(done) = k.replay(&mut conn).await? {
            return Ok(done);
        }
    }

    // Every permission before any effect.
    let s = scope(&p);
    {
        let mut conn = api.db().pool().acquire().await?;
        store::org::get_rep(&mut conn, &p.tenant_id, &rep)
            .await?
            .filter(|r| s.sees_owned(&r.id, &r.team_id))
            .ok_or_else(|| Error::not_found(org::rep_name(&rep)))?;
    }
    let mut takers = Vec::with_capacity(to_reps.len());
    for (i, r) in to_reps.iter().enumerate() {
        let field = format!("to_reps[{i}]");
        takers.push(taker(api, &p, r, team.as_deref(), store_id.as_deref(), &field).await?);
    }
    let fallback = Taker {
        rep: p.subject.clone(),
        team: team
            .clone()
            .or_else(|| p.team_id.clone())
            .unwrap_or_default(),
        store: store_id.clone().unwrap_or_default(),
    };
    if let Some(t) = &team {
        check_team(&s, t)?;
    }

    // Customers first: if this fails half-way no lead has moved, and a retry with the same
    // request id moves only the customers still owned by the rep.
    let handover_id = match &idem {
        Some(k) => support::truncate(k.request_id(), 60).to_owned(),
        None => Uuid::now_v7().simple().to_string(),
    };
    let customers = hand_over_customers(api, &req, &rep, &takers, &fallback, &handover_id).await?;

    let now = api.now();
    let settings = api.settings(&p.tenant_id).await?;
    let mut w = begin!(api, p, idem);
    let dialect = api.db().dialect();
    let leads = store::leads::lock_owned_by(w.tx(), dialect, &p.tenant_id, &rep).await?;
    let (mut reassigned, mut returned) = (0, 0);
    let mut turn = 0usize;
    let mut cooldowns = Vec::new();
    // Where each lead went, for the deals that came from it.
    let mut lead_owner = std::collections::HashMap::new();
    for mut lead in leads {
        if lead.counts_against_capacity() {
            store::assign::REPS
                .give_back(w.tx(), &p.tenant_id, &rep, 1)
                .await?;
        }
        cooldowns.push((lead.id, rep.clone()));
        // The next taker in turn with room, if any; else the lead goes back to its pool.
        let mut placed = None;
        for k in 0..takers.len() {
            let target = &takers[(turn + k) % takers.len()];
            let taken = store::assign::REPS
                .take_named(w.tx(), &p.tenant_id, &target.rep, None, now)
                .await?;
            if let Ok(t) = taken {
                turn = (turn + k + 1) % takers.len();
                placed = Some((target, t.team));
                break;
            }
        }
        let (to, team, reason) = match &placed {
            Some((t, team)) => (
                t.rep.as_str(),
                team.as_str(),
                format!(
                    "handed over from reps/{rep}, who is leaving, to reps/{} in turn",
                    t.rep
                ),
            ),
            None => ("", "", format!("returned to the pool when reps/{rep} left")),
        };
        let m = Move {
            to,
            team,
            kind: kind::HANDOVER,
            reason,
        };
        move_lead(&mut w, &p.tenant_id, &p.subject, &mut lead, m, now).await?;
        match placed {
            Some((t, _)) => {
                lead_owner.insert(lead.id, t.clone());
                reassigned += 1;
            }
            None => returned += 1,
        }
    }
    store::leads::set_cooldowns(
        w.tx(),
        &p.tenant_id,
        &cooldowns,
        now + settings.claim_cooldown,
    )
    .await?;

    let reason = format!("reps/{rep} left; handed over");
    let names: Vec<String> = takers.iter().map(|t| t.rep.clone()).collect();
    let by_name = |n: &str| {
        takers
            .iter()
            .find(|t| t.rep == n)
            .unwrap_or(&fallback)
            .clone()
    };
    let mut in_turn = InTurn::new(&names, &fallback.rep);
    let deals = store::opportunities::lock_open_owned_by(w.tx(), &p.tenant_id, &rep).await?;
    let moved_deals = deals.len() as i32;
    for deal in deals {
        let to = match deal.lead_id.and_then(|l| lead_owner.get(&l)) {
            Some(t) => t.clone(),
            None => by_name(in_turn.next_owner()),
        };
        move_opportunity(&mut w, &p.subject, deal, &to, &reason, now).await?;
    }
    let tasks = store::tasks::lock_open_assigned_to(w.tx(), &p.tenant_id, &rep).await?;
    let moved_tasks = tasks.len() as i32;
    for task in tasks {
        let to = by_name(in_turn.next_owner());
        move_task(&mut w, &p.subject, task, &to, &reason, now).await?;
    }
    if msg.deactivate {
        store::assign::deactivate(w.tx(), &p.tenant_id, &rep, now).await?;
        access::revoke(&mut w, &rep, Revocation::Disabled, "left; work handed over").await?;
    }
    w.commit(pb::HandOverRepLeadsResponse {
        reassigned_count: reassigned,
        returned_count: returned,
        transferred_customer_count: customers,
        transferred_opportunity_count: moved_deals,
        transferred_task_count: moved_tasks,
    })
    .await
}

/// Moves the customers `rep` owns in the customers service to `takers` in turn (`fallback`
/// when there are none), each with its taker's team and store; returns how many moved.
async fn hand_over_customers<T>(
    api: &App,
    req: &Request<T>,
    rep: &str,
    takers: &[Taker],
    fallback: &Taker,
    handover_id: &str,
) -> Result<i32> {
    let channel = api.ctx.peers.channel("customers")?;
    let mut client = cpb::customer_service_client::CustomerServiceClient::new(channel);
    let filter = format!(
        "owner_id = \"{}\"",
        rep.replace('\\', "\\\\").replace('"', "\\\"")
    );
    let mut moved = 0;
    loop {
        // Always the first page: transferred customers drop out of the filter.
        let page = client
            .list_customers(Peers::request(
                req,
                cpb::ListCustomersRequest {
                    page_size: PAGE,
                    filter: filter.clone(),
                    ..Default::default()
                },
            ))
            .await
            .map_err(refused)?
            .into_inner();
        if page.customers.is_empty() {
            return Ok(moved);
        }
        for c in page.customers {
            let to = if takers.is_empty() {
                fallback
            } else {
                &takers[moved as usize % takers.len()]
            };
            let key = c.name.rsplit('/').next().unwrap_or_default();
            client
                .transfer_customer_ownership(Peers::request(
                    req,
                    cpb::TransferCustomerOwnershipRequest {
                        name: c.name.clone(),
                        new_owner_id: to.rep.clone(),
                        new_team_id: to.team.clone(),
                        new_store_id: to.store.clone(),
                        reason: format!("reps/{rep} left; handed over"),
                        request_id: format!("handover:{handover_id}:{key}"),
                        ..Default::default()
                    },
                ))
                .await
                .map_err(refused)?;
            moved += 1;
        }
    }
}

fn refused(s: Status) -> Error {
    Refusal::read("customers", &s).into_error(
        "handing over customers failed",
        "no lead moved, retry with the same request_id",
    )
}
