//! Preparing a run: the audience is read from the customers service page by page, each page's
//! members placed (skipped, held out, queued or deferred past quiet hours) and written with
//! the run's cursor in one transaction, so a replica that dies mid-run leaves a cursor the
//! next one resumes from, and a page read twice adds nobody twice.

use futures::StreamExt;
use rapport_kit::names;
use rapport_proto::customers::{self as cpb, segment_service_client::SegmentServiceClient};
use rapport_runtime::{
    Error, Result,
    auth::Principal,
    clock::{Micros, from_timestamp, to_timestamp},
    peers::Peers,
};
use uuid::Uuid;

use super::App;
use crate::{
    domain::{
        channel::Channel,
        occasion::Dates,
        run::{Member, RunState, place},
        strategy::{Audience, SEGMENTS, Strategy},
    },
    store::{
        recipients::{self, NewRecipient},
        strategies as store,
    },
};

/// How long a replica holds a run it prepares without writing a page.
const LEASE: Micros = 60_000_000;
/// How many preparing runs one round looks at.
const ROUND: i64 = 10;
/// Who the customers service sees preparing a run.
const ACTOR: &str = "campaigns";

/// The customers service's channel for ours; None for channels it does not judge.
fn peer_channel(c: Channel) -> Option<cpb::Channel> {
    match c {
        Channel::Sms => Some(cpb::Channel::Sms),
        Channel::Email => Some(cpb::Channel::Email),
        Channel::InApp | Channel::Webhook => None,
    }
}

/// Prepares every run that is waiting and that no replica holds; how many finished
/// preparing.
pub async fn prepare_waiting(app: &App) -> Result<usize> {
    let now = app.now();
    let waiting = {
        let mut conn = app.db().pool().acquire().await?;
        store::preparing(&mut conn, now, ROUND).await?
    };
    let mut done = 0;
    for (tenant, run, strategy) in waiting {
        let taken = {
            let mut conn = app.db().pool().acquire().await?;
            store::lease_run(&mut conn, &tenant, run, now, now + LEASE).await?
        };
        if !taken {
            continue;
        }
        match prepare(app, &tenant, run, strategy).await {
            Ok(()) => done += 1,
            // The lease runs out and this or another replica resumes from the cursor.
            Err(e) => tracing::warn!(%tenant, %run, error = %e, "preparing a run failed"),
        }
    }
    Ok(done)
}

/// Reads run `run`'s audience from its cursor on and queues it; then the run is SENDING.
async fn prepare(app: &App, tenant: &str, run: Uuid, strategy: Uuid) -> Result<()> {
    let system = Principal::system(tenant, ACTOR);
    let (s, cursor, started) = {
        let mut conn = app.db().pool().acquire().await?;
        let s = store::get(&mut conn, tenant, strategy, None)
            .await?
            .ok_or_else(|| Error::internal(format!("run {run} names no strategy")))?;
        let r = store::get_run(&mut conn, tenant, strategy, run)
            .await?
            .ok_or_else(|| Error::internal(format!("run {run} vanished")))?;
        (s, r.cursor, r.start_time)
    };
    let message = s.action.message();
    let (name, filter) = match &s.audience {
        Audience::Segment(id) => (names::format_id(SEGMENTS, *id), String::new()),
        Audience::Filter(f) => (String::new(), f.clone()),
    };
    let request = cpb::StreamSegmentMembersRequest {
        name,
        filter,
        start_after: cursor,
        channel: peer_channel(message.channel).map_or(0, Into::into),
        send_time: Some(to_timestamp(app.now())),
        transactional: message.transactional,
    };
    let call = Peers::system_request(&app.ctx.auth, tenant, ACTOR, request)?;
    let mut client = SegmentServiceClient::new(app.ctx.peers.channel("customers")?);
    let mut stream = client
        .stream_segment_members(call)
        .await
        .map_err(|s| peer_failed(&s))?
        .into_inner();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|s| peer_failed(&s))?;
        write_page(app, &system, &s, (run, started), &batch).await?;
    }
    let mut w = app.write(&system).await?;
    store::set_run_state(w.tx(), tenant, &run.to_string(), RunState::Sending, None).await?;
    w.commit(()).await?;
    Ok(())
}

fn peer_failed(s: &tonic::Status) -> Error {
    rapport_kit::peer::Refusal::read("customers", s).into_error(
        "the audience could not be read",
        "the run resumes where it stopped",
    )
}

/// A member's dates, for care greetings.
fn dates(m: &cpb::SegmentMember) -> Dates {
    let md = |d: &rapport_proto::types::Date| (d.month as u8, d.day as u8);
    let of = |kind: cpb::ImportantDateKind| {
        m.important_dates
            .iter()
            .filter(|d| d.kind == kind as i32)
            .filter_map(|d| d.date.as_ref().map(md))
            .collect()
    };
    Dates {
        birthday: m.birth_date.as_ref().map(md),
        anniversaries: of(cpb::ImportantDateKind::Anniversary),
        customer_anniversaries: of(cpb::ImportantDateKind::CustomerAnniversary),
    }
}

/// Places and writes one page of members of run `run` (started at `started`), with the run's
/// cursor, in one transaction. A care greeting's run keeps only the members whose date it is.
async fn write_page(
    app: &App,
    system: &Principal,
    s: &Strategy,
    (run, started): (Uuid, Micros),
    batch: &cpb::SegmentMembersBatch,
) -> Result<()> {
    let mut w = app.write(system).await?;
    let now = w.now();
    let message = s.action.message();
    let mut rows = Vec::with_capacity(batch.members.len());
    let mut control = 0;
    for m in &batch.members {
        let Ok(customer) = names::parse_id("customers", &m.customer) else {
            continue;
        };
        if let Some(o) = &s.occasion
            && !o.greets(&dates(m), started)
        {
            continue;
        }
        let member = Member {
            customer,
            allowed: m.allowed,
            reason: &m.reason,
            next_allowed: m.next_allowed_time.as_ref().and_then(from_timestamp),
        };
        let (delivery, reason, due_time) = place(s.id, s.control_bps, &member, now);
        if delivery == crate::domain::run::Delivery::Control {
            control += 1;
        }
        let address = match message.channel {
            Channel::Email => m.email.clone(),
            _ => m.phone.clone(),
        };
        let vars = serde_json::json!({
            "customer": { "name": m.customer, "display_name": m.display_name },
        });
        rows.push(NewRecipient {
            customer_id: customer.to_string(),
            delivery,
            reason,
            address,
            vars: vars.to_string(),
            due_time,
        });
    }
    let tenant = w.tenant().to_owned();
    recipients::insert(
        w.tx(),
        &tenant,
        &run.to_string(),
        &s.id.to_string(),
        message.channel,
        message.transactional,
        &rows,
    )
    .await?;
    store::advance_run(
        w.tx(),
        &tenant,
        run,
        &batch.next_cursor,
        (rows.len() as i64, control),
        now + LEASE,
    )
    .await?;
    w.commit(()).await?;
    Ok(())
}
