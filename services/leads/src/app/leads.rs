//! Changes to leads that more than one caller makes: saving a lead with its event, follow-ups,
//! assignment by strategy, moving a lead to a new owner.

use rapport_kit::assign::{Only, Refusal};
use rapport_proto::leads as pb;
use rapport_runtime::{Error, Result, clock::Micros, storage::Tx, write::Write};
use uuid::Uuid;

use super::{App, alerts::raise_alert};
use crate::{
    convert::lead::{assignment_to_proto, lead_to_proto},
    domain::{
        alert::{AlertKind, NewAlert},
        assign::{self, Kind, Pick, WORDS},
        assignment_kind as kind,
        lead::{Lead, State},
        settings::{Settings, Strategy},
    },
    store::{self, assign::REPS, leads::AssignmentRow},
};

/// Writes `lead` (locked in `w`), emits `event` with it and commits, answering the lead.
pub(crate) async fn save_lead(
    mut w: Write,
    tenant: &str,
    lead: &Lead,
    event: &str,
) -> Result<pb::Lead> {
    let out = save_lead_uncommitted(&mut w, tenant, lead, event).await?;
    w.commit(out).await
}

/// A follow-up at `at`: counts towards the score and restarts the follow-up rules' clocks; the
/// first one moves a NEW lead to CONTACTING.
pub(crate) fn apply_follow_up(lead: &mut Lead, at: i64, grades: &crate::domain::lead::Grades) {
    lead.follow_up_count += 1;
    lead.last_follow_up_time = Some(lead.last_follow_up_time.map_or(at, |t| t.max(at)));
    if lead.state == State::New {
        lead.state = State::Contacting;
        lead.state_change_time = at;
    }
    lead.rescore(grades);
}

/// Takes one place in `rep`'s private pool (a rep's own new lead, a manager's pick); the rep's
/// team. RESOURCE_EXHAUSTED when full, FAILED_PRECONDITION when not active, NOT_FOUND when
/// there is no such rep.
pub(crate) async fn take_named(
    tx: &mut Tx,
    tenant: &str,
    rep: &str,
    now: Micros,
) -> Result<String> {
    let taken = REPS.take_named(tx, tenant, rep, None, now).await?;
    Ok(taken.map_err(|r| refusal(rep, r))?.team)
}

/// Tells the owner a lead turned HIGH intent (LE10).
pub(crate) async fn alert_high_intent(w: &mut Write, tenant: &str, lead: &Lead) -> Result<()> {
    raise(
        w,
        tenant,
        NewAlert {
            recipient_id: lead.owner_id.clone(),
            team_id: lead.team_id.clone(),
            kind: AlertKind::HighIntent,
            subject: lead.resource_name(),
            message: format!(
                "{} shows high intent (score {}): call",
                lead.input.display_name, lead.score
            ),
            due_time: None,
            dedupe_key: format!("high-intent:{}:{}", lead.id, lead.version),
        },
    )
    .await
}

/// Gives `lead` (in a pool, locked by `w`) to a rep chosen as `pick` says; None when no
/// eligible rep has room.
pub(crate) async fn assign_by_strategy(
    api: &App,
    w: &mut Write,
    actor: &str,
    settings: &Settings,
    lead: &mut Lead,
    pick: Pick<'_>,
    now: Micros,
) -> Result<Option<AssignmentRow>> {
    let tenant = w.tenant().to_owned();
    let chosen = pick.strategy.unwrap_or(settings.default_strategy);
    let dialect = api.db().dialect();
    let (rep, rep_team, kind, reason) = if let Some(order) = assign::counters_only(chosen) {
        // Counter-only strategies pick the rep in SQL, in the statement that takes its place.
        let mut only = Vec::new();
        only.extend(pick.team.map(|t| Only::Equals("team_id", t)));
        only.extend(pick.exclude.map(|r| Only::NotEquals("id", r)));
        let sql_order = REPS.sql_order(order);
        let taken = REPS
            .take_in_order(w.tx(), dialect, &tenant, &sql_order, &only, now)
            .await?;
        let Some(t) = taken else {
            return Ok(None);
        };
        let reason = t.reason(order, &WORDS);
        (t.id, t.team, kind_of(Kind::Strategy(chosen)), reason)
    } else {
        let reps = store::assign::rep_loads(w.tx(), &tenant).await?;
        let (plan_kind, plan) = assign::plan(lead, settings, pick, &reps);
        let taken = REPS
            .take_first_of(w.tx(), dialect, &tenant, &plan.candidates, now)
            .await?;
        let Some(t) = taken else {
            return Ok(None);
        };
        let reason = plan.reason(&t.id);
        (t.id, t.team, kind_of(plan_kind), reason)
    };
    let m = Move {
        to: &rep,
        team: &rep_team,
        kind,
        reason,
    };
    Ok(Some(move_lead(w, &tenant, actor, lead, m, now).await?))
}

/// An owner change about to be recorded.
pub(crate) struct Move<'a> {
    pub to: &'a str,
    pub team: &'a str,
    pub kind: &'static str,
    pub reason: String,
}

/// Moves `lead` to `m.to` (empty: its public pool), records the assignment, emits the event
/// and writes the lead. Counters are the caller's business.
pub(crate) async fn move_lead(
    w: &mut Write,
    tenant: &str,
    actor: &str,
    lead: &mut Lead,
    m: Move<'_>,
    now: Micros,
) -> Result<AssignmentRow> {
    let row = AssignmentRow {
        id: Uuid::now_v7(),
        lead_id: lead.id,
        rep_id: m.to.to_owned(),
        previous_owner_id: lead.owner_id.clone(),
        kind: m.kind,
        reason: m.reason,
        actor: actor.to_owned(),
        create_time: now,
    };
    lead.owner_id = m.to.to_owned();
    lead.team_id = m.team.to_owned();
    lead.assign_time = (!m.to.is_empty()).then_some(now);
    lead.touch(now);
    // Deferred: on PostgreSQL the lead, its history, the alert and the events reach the
    // database in one round trip at commit.
    w.defer(store::leads::update_lead_statement(tenant, lead))
        .await?;
    for s in store::leads::assignment_statements(tenant, std::slice::from_ref(&row)) {
        w.defer(s).await?;
    }
    let event = if m.kind == kind::RECLAIM {
        "lead.reclaimed"
    } else if m.to.is_empty() {
        "lead.released"
    } else {
        "lead.assigned"
    };
    w.emit(
        event,
        lead.resource_name(),
        &pb::LeadAssigned {
            lead: lead.resource_name(),
            assignment: Some(assignment_to_proto(&row)),
        },
    );
    if !m.to.is_empty() {
        // The dedupe key names the new assignment row, so it is always fresh.
        crate::app::alerts::raise_fresh_alert(
            w,
            tenant,
            &NewAlert {
                recipient_id: m.to.to_owned(),
                team_id: m.team.to_owned(),
                kind: AlertKind::Assigned,
                subject: lead.resource_name(),
                message: format!("{} is yours: {}", lead.input.display_name, row.reason),
                due_time: None,
                dedupe_key: format!("assigned:{}:{}", lead.id, row.id),
            },
        )
        .await?;
    }
    Ok(row)
}

/// As [`save_lead`], leaving the commit to the caller.
pub(crate) async fn save_lead_uncommitted(
    w: &mut Write,
    tenant: &str,
    lead: &Lead,
    event: &str,
) -> Result<pb::Lead> {
    store::leads::update_lead(w.tx(), tenant, lead).await?;
    let out = lead_to_proto(lead);
    w.emit(
        event,
        lead.resource_name(),
        &pb::LeadChanged {
            lead: Some(out.clone()),
        },
    );
    Ok(out)
}

pub(crate) async fn raise(w: &mut Write, tenant: &str, alert: NewAlert) -> Result<()> {
    raise_alert(w, tenant, &alert).await?;
    Ok(())
}

pub(crate) fn refusal(rep: &str, r: Refusal) -> Error {
    match r {
        Refusal::Unknown => Error::precondition(
            "REP_UNKNOWN",
            format!("reps/{rep} is not in the sales organization; create the rep first"),
        ),
        Refusal::Unavailable(s) => Error::precondition(
            "REP_NOT_ACTIVE",
            format!("reps/{rep} is {s} and takes no leads"),
        ),
        Refusal::Full { capacity } => Error::ResourceExhausted {
            reason: "REP_AT_CAPACITY",
            message: format!("reps/{rep} holds its capacity of {capacity} open leads"),
        },
        Refusal::DailyLimit { limit } => Error::ResourceExhausted {
            reason: "DAILY_CLAIM_LIMIT",
            message: format!("reps/{rep} has claimed its {limit} leads for today"),
        },
    }
}

/// How an assignment is recorded.
pub(crate) fn kind_of(k: Kind) -> &'static str {
    match k {
        Kind::Rule => kind::RULE,
        Kind::Strategy(Strategy::Weighted) => kind::WEIGHTED,
        Kind::Strategy(Strategy::LeastLoaded) => kind::LEAST_LOADED,
        Kind::Strategy(Strategy::SkillsMatch) => kind::SKILLS_MATCH,
        Kind::Strategy(_) => kind::ROUND_ROBIN,
    }
}
