//! Tickets' use cases: create (queue, SLA and agent decided in the same write), read, change,
//! route again, move through the workflow, comment, merge, link a return, record the survey
//! answer, and re-point tickets of merged customers.

use rapport_kit::{names, query::ListQuery};
use rapport_proto::tickets as pb;
use rapport_runtime::{
    Error, Result,
    auth::Principal,
    clock::{Micros, to_timestamp},
    storage::Idempotency,
    write::Write,
};
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;
use uuid::Uuid;

use super::{
    App, EVENTS, Sees,
    events::{emit, entry},
    routing, sees,
};
use crate::{
    convert::ticket::{comment_to_proto, ticket_to_proto},
    domain::{
        queue::Queue,
        settings::Settings,
        sla::Sla,
        ticket::{Refusal, Satisfaction, State, Ticket, ticket_name},
    },
    store::{
        history::{self, Comment, Event},
        queues as queue_store, surveys, tickets as store,
    },
};

/// The error for a step the workflow refuses.
fn refused(t: &Ticket, r: Refusal) -> Error {
    match r {
        Refusal::Step { from, to } => Error::precondition(
            "TICKET_STATE",
            format!(
                "{} is {} and cannot become {}",
                t.name(),
                from.as_str(),
                to.as_str()
            ),
        ),
        Refusal::ReopenWindow { days } => Error::precondition(
            "REOPEN_WINDOW_PASSED",
            format!(
                "{} was resolved more than {days} days ago; open a new ticket",
                t.name()
            ),
        ),
        Refusal::Merged => Error::precondition(
            "TICKET_MERGED",
            format!(
                "{} was merged into another ticket and stays closed",
                t.name()
            ),
        ),
    }
}

/// ABORTED unless `etag` is empty or `t`'s current etag.
fn check_etag(etag: &str, t: &Ticket) -> Result<()> {
    names::check_etag(etag, &names::etag(t.id.as_bytes(), t.version), &t.name())
}

/// The queue `id` names in `field`; INVALID_ARGUMENT when there is none.
async fn queue_named(w: &mut Write, tenant: &str, id: &str, field: &str) -> Result<Queue> {
    let parsed = Uuid::parse_str(id).ok();
    let found = match parsed {
        Some(id) => queue_store::get(w.tx(), tenant, id, None).await?,
        None => None,
    };
    found.ok_or_else(|| Error::invalid(field, format!("queues/{id} does not exist")))
}

/// Creates a ticket: its SLA starts, its queue is the one named or the first routing rule's
/// (else the default), and the queue's next agent with room takes it, all in one write.
pub async fn create(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    mut t: Ticket,
    settings: &Settings,
) -> Result<pb::Ticket> {
    let why_queue = if t.queue_id.is_empty() {
        let (queue, why) = settings.queue_for(&t).ok_or_else(|| {
            Error::invalid(
                "ticket.queue",
                "is required: no routing rule matches the ticket and the tenant has no default \
                 queue",
            )
        })?;
        t.queue_id = queue;
        why
    } else {
        "the queue named on create".to_owned()
    };
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let now = w.now();
    t.create_time = now;
    t.update_time = now;
    if let Some(policy) = settings.policy_for(&t) {
        let cal = settings.calendar(&policy.calendar);
        t.sla = Some(Sla::start(
            &policy.display_name,
            &policy.calendar,
            &policy.targets(),
            &cal,
            now,
        ));
    }
    let queue = queue_named(&mut w, &p.tenant_id, &t.queue_id.clone(), "ticket.queue").await?;
    let detail = routing::route(&mut w, &p.tenant_id, &mut t, &queue, &why_queue).await?;
    // Deferred: on PostgreSQL the ticket, its history, the events and the request id's record
    // reach the database in one round trip at commit.
    w.defer(store::insert_statement(&p.tenant_id, &t)?).await?;
    let created = entry(&w, &t, "created", &p.subject, t.subject.clone());
    let routed = entry(
        &w,
        &t,
        if t.assignee.is_empty() {
            "waiting_for_room"
        } else {
            "routed"
        },
        &p.subject,
        detail,
    );
    for s in history::events_statements(&p.tenant_id, &[created.clone(), routed]) {
        w.defer(s).await?;
    }
    let out = emit(&mut w, "created", &t, &created);
    w.commit(out).await
}

/// Whether `p` sees `t` by its own roles, asking `conn` about queue membership; None for a
/// rep, whose sight the customers service decides (the caller checks the customer).
async fn sees_ticket(conn: &mut AnyConnection, p: &Principal, t: &Ticket) -> Result<Option<bool>> {
    Ok(match sees(p) {
        Sees::All => Some(true),
        Sees::Team(team) => Some(t.team_id == team),
        Sees::Agent(agent) => Some(
            t.assignee == agent
                || queue_store::is_member(conn, &p.tenant_id, &t.queue_id, &agent).await?,
        ),
        Sees::TheirCustomers => None,
    })
}

/// A ticket as `p` may see it: `Ok(t)` when its roles show it, NOT_FOUND when they hide it; a
/// rep gets the ticket with `needs_customer_check` for the caller to ask the customers service.
pub async fn get(app: &App, p: &Principal, id: Uuid) -> Result<(Ticket, bool)> {
    let mut conn = app.db().pool().acquire().await?;
    let t = store::get(&mut conn, &p.tenant_id, id, None)
        .await?
        .ok_or_else(|| Error::not_found(ticket_name(id)))?;
    match sees_ticket(&mut conn, p, &t).await? {
        Some(true) => Ok((t, false)),
        Some(false) => Err(Error::not_found(ticket_name(id))),
        None => Ok((t, true)),
    }
}

/// A page of the tickets `visible` allows.
pub async fn list(
    app: &App,
    p: &Principal,
    q: &ListQuery,
    visible: &store::Visible,
) -> Result<(Vec<Ticket>, String)> {
    let mut conn = app.db().pool().acquire().await?;
    let mut rows = store::list(&mut conn, &p.tenant_id, q, visible).await?;
    let next = q.next_token(&mut rows, |t| store::cursor_of(t, &q.order));
    Ok((rows, next))
}

/// A ticket `p` may change, locked in `w`; NOT_FOUND when it may not see it (reps change
/// nothing: their roles never reach here).
pub(super) async fn lock_visible(
    app: &App,
    w: &mut Write,
    p: &Principal,
    id: Uuid,
) -> Result<Ticket> {
    let dialect = app.db().dialect();
    let t = store::get(w.tx(), &p.tenant_id, id, Some(dialect))
        .await?
        .ok_or_else(|| Error::not_found(ticket_name(id)))?;
    // Reps change nothing: their roles never reach here, and None hides the ticket.
    let visible = sees_ticket(w.tx(), p, &t).await? == Some(true);
    if !visible {
        return Err(Error::not_found(ticket_name(id)));
    }
    Ok(t)
}

/// Writes `next`, a change of the locked `current`, with its history and event.
pub(super) async fn save(
    w: &mut Write,
    tenant: &str,
    current: &Ticket,
    mut next: Ticket,
    kind: &str,
    events: Vec<Event>,
) -> Result<pb::Ticket> {
    next.version = current.version + 1;
    next.update_time = w.now();
    if !store::update(w.tx(), tenant, &next, current.version).await? {
        return Err(Error::stale_etag(&next.name()));
    }
    for s in history::events_statements(tenant, &events) {
        w.defer(s).await?;
    }
    let last = events
        .last()
        .cloned()
        .unwrap_or_else(|| entry(w, &next, kind, "", String::new()));
    Ok(emit(w, kind, &next, &last))
}

/// Changes a ticket's content: `apply` sets the fields the caller named.
pub async fn update(
    app: &App,
    p: &Principal,
    idem: Option<Idempotency>,
    id: Uuid,
    etag: &str,
    apply: impl FnOnce(&mut Ticket),
) -> Result<pb::Ticket> {
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let current = lock_visible(app, &mut w, p, id).await?;
    check_etag(etag, &current)?;
    let mut next = current.clone();
    apply(&mut next);
    if next == current {
        return Ok(ticket_to_proto(&current));
    }
    let e = entry(
        &w,
        &next,
        "updated",
        &p.subject,
        "content changed".to_owned(),
    );
    let out = save(&mut w, &p.tenant_id, &current, next, "updated", vec![e]).await?;
    w.commit(out).await
}

/// Routes a ticket again: to `agent` when named (within its capacity, a member of the queue),
/// else to the queue's next agent with room.
pub async fn assign(
    app: &App,
    p: &Principal,
    idem: Option<Idempotency>,
    id: Uuid,
    etag: &str,
    (queue, agent): (Option<String>, Option<String>),
) -> Result<pb::Ticket> {
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let current = lock_visible(app, &mut w, p, id).await?;
    check_etag(etag, &current)?;
    if !current.state.is_active() {
        return Err(Error::precondition(
            "TICKET_STATE",
            format!(
                "{} is {}; reopen it before routing it",
                current.name(),
                current.state.as_str()
            ),
        ));
    }
    let mut next = current.clone();
    let queue_id = queue.unwrap_or_else(|| current.queue_id.clone());
    let queue = queue_named(&mut w, &p.tenant_id, &queue_id, "queue").await?;
    routing::release(&mut w, &p.tenant_id, &current.assignee).await?;
    next.queue_id = queue.id.to_string();
    let why = format!("routed again by {}", p.subject);
    let detail = match agent {
        Some(agent) => {
            routing::give_to(&mut w, &p.tenant_id, &mut next, &queue, &agent, &why).await?
        }
        None => routing::route(&mut w, &p.tenant_id, &mut next, &queue, &why).await?,
    };
    let kind = if next.assignee.is_empty() {
        "waiting_for_room"
    } else {
        "routed"
    };
    let e = entry(&w, &next, kind, &p.subject, detail);
    let out = save(&mut w, &p.tenant_id, &current, next, "routed", vec![e]).await?;
    w.commit(out).await
}

/// A survey token: 32 random bytes, URL-safe.
fn new_token() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// How a token is kept: its SHA-256, hex.
pub(super) fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Sends the survey of resolved `t`: records the token's hash and announces the token.
async fn send_survey(w: &mut Write, tenant: &str, t: &Ticket, valid_hours: i32) -> Result<()> {
    let token = new_token();
    let expire: Micros = w.now() + i64::from(valid_hours) * 3_600_000_000;
    surveys::insert(w.tx(), tenant, &token_hash(&token), t.id, expire).await?;
    w.emit(
        "ticket.survey_requested",
        t.name(),
        &pb::SurveyRequested {
            ticket: t.name(),
            customer: names::format_id("customers", t.customer_id),
            token,
            expire_time: Some(to_timestamp(expire)),
            agent: t.resolved_by.clone(),
        },
    );
    Ok(())
}

/// Carries out what a workflow step did to capacity and the survey.
pub(super) async fn after_step(
    w: &mut Write,
    tenant: &str,
    before: &Ticket,
    next: &mut Ticket,
    effects: crate::domain::ticket::Effects,
    settings: &Settings,
) -> Result<Option<String>> {
    if effects.release {
        routing::release(w, tenant, &before.assignee).await?;
    }
    if effects.survey {
        send_survey(w, tenant, next, settings.survey_valid_hours).await?;
    }
    if !effects.reclaim {
        return Ok(None);
    }
    // Reopened: back to its agent if it has room, else to the queue's next agent with room.
    let queue = match Uuid::parse_str(&next.queue_id) {
        Ok(id) => queue_store::get(w.tx(), tenant, id, None).await?,
        Err(_) => None,
    };
    let Some(queue) = queue else {
        next.assignee.clear();
        return Ok(Some("its queue is gone; it waits for routing".to_owned()));
    };
    let why = "reopened".to_owned();
    let agent = next.assignee.clone();
    let detail = if agent.is_empty() {
        routing::route(w, tenant, next, &queue, &why).await?
    } else {
        match routing::give_to(w, tenant, next, &queue, &agent, &why).await {
            Ok(d) => d,
            Err(_) => routing::route(w, tenant, next, &queue, &why).await?,
        }
    };
    Ok(Some(detail))
}

/// Moves a ticket to `to`.
pub async fn change_state(
    app: &App,
    p: &Principal,
    idem: Option<Idempotency>,
    id: Uuid,
    etag: &str,
    (to, reason): (State, String),
) -> Result<pb::Ticket> {
    let settings = app.settings(&p.tenant_id).await?;
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let current = lock_visible(app, &mut w, p, id).await?;
    check_etag(etag, &current)?;
    let mut next = current.clone();
    let cal = settings.calendar(current.sla.as_ref().map_or("", |s| &s.calendar));
    let now = w.now();
    let effects = next
        .step(to, &cal, now, &p.subject, settings.reopen_window_days)
        .map_err(|r| refused(&current, r))?;
    let rerouted = after_step(
        &mut w,
        &p.tenant_id,
        &current,
        &mut next,
        effects,
        &settings,
    )
    .await?;
    let mut detail = format!("{} → {}", current.state.as_str(), to.as_str());
    if !reason.is_empty() {
        detail.push_str(&format!(": {reason}"));
    }
    let mut events = vec![entry(&w, &next, "state_changed", &p.subject, detail)];
    if let Some(d) = rerouted {
        events.push(entry(&w, &next, "routed", &p.subject, d));
    }
    let out = save(
        &mut w,
        &p.tenant_id,
        &current,
        next,
        "state_changed",
        events,
    )
    .await?;
    w.commit(out).await
}

/// Adds a comment: an agent's public comment answers the customer (the first response, the
/// next response); a comment from the customer resumes a ticket waiting for the customer.
pub async fn comment(
    app: &App,
    p: &Principal,
    idem: Option<Idempotency>,
    id: Uuid,
    mut c: Comment,
) -> Result<pb::Comment> {
    let settings = app.settings(&p.tenant_id).await?;
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let current = lock_visible(app, &mut w, p, id).await?;
    if current.merged_into.is_some() {
        return Err(Error::precondition(
            "TICKET_MERGED",
            format!(
                "{} was merged; comment on the ticket it was merged into",
                current.name()
            ),
        ));
    }
    let now = w.now();
    c.id = Uuid::now_v7();
    c.ticket_id = id;
    c.author_id = p.subject.clone();
    c.create_time = now;
    history::insert_comment(w.tx(), &p.tenant_id, &c).await?;
    let mut next = current.clone();
    let cal = settings.calendar(current.sla.as_ref().map_or("", |s| &s.calendar));
    let (kind, detail) = if c.from_customer {
        next.customer_wrote(&cal, now);
        ("customer_wrote", "the customer wrote".to_owned())
    } else if c.public && current.state.is_active() {
        let first = next.respond(&cal, now);
        (
            "responded",
            if first {
                "first response".to_owned()
            } else {
                "response".to_owned()
            },
        )
    } else {
        ("commented", "internal note".to_owned())
    };
    let out = comment_to_proto(&c);
    let e = entry(&w, &next, kind, &p.subject, detail);
    let kind = if kind == "responded" {
        "responded"
    } else {
        "commented"
    };
    save(&mut w, &p.tenant_id, &current, next, kind, vec![e]).await?;
    w.commit(out).await
}

/// Merges `merged` into `survivor`: comments move, orders and tags join the survivor, the
/// duplicates close as merged (giving their agents' places back).
pub async fn merge(
    app: &App,
    p: &Principal,
    idem: Option<Idempotency>,
    survivor: Uuid,
    merged: Vec<Uuid>,
) -> Result<pb::Ticket> {
    let settings = app.settings(&p.tenant_id).await?;
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    // Locked in one order (by id) so concurrent merges of the same tickets never deadlock.
    let mut all = merged.clone();
    all.push(survivor);
    let dialect = app.db().dialect();
    let locked = store::lock_many(w.tx(), dialect, &p.tenant_id, &all).await?;
    let mut by_id = std::collections::HashMap::new();
    for t in locked {
        by_id.insert(t.id, t);
    }
    for id in &all {
        let visible = match by_id.get(id) {
            None => false,
            Some(t) => sees_ticket(w.tx(), p, t).await? == Some(true),
        };
        if !visible {
            return Err(Error::not_found(ticket_name(*id)));
        }
    }
    let current = by_id[&survivor].clone();
    if !current.state.is_active() {
        return Err(Error::precondition(
            "TICKET_STATE",
            format!(
                "{} is {}; merge into an open ticket",
                current.name(),
                current.state.as_str()
            ),
        ));
    }
    let mut next = current.clone();
    let now = w.now();
    let mut events = Vec::new();
    for id in &merged {
        let dup = by_id[id].clone();
        if dup.customer_id != current.customer_id {
            return Err(Error::invalid(
                "merged",
                format!("{} is another customer's ticket", dup.name()),
            ));
        }
        if dup.merged_into.is_some() {
            return Err(Error::precondition(
                "TICKET_MERGED",
                format!("{} was already merged", dup.name()),
            ));
        }
        history::move_comments(w.tx(), &p.tenant_id, dup.id, survivor).await?;
        for tag in &dup.tags {
            if !next.tags.contains(tag) && next.tags.len() < 20 {
                next.tags.push(tag.clone());
            }
        }
        if next.order_id.is_none() {
            next.order_id = dup.order_id;
            next.order_lines = dup.order_lines.clone();
        }
        let mut gone = dup.clone();
        let cal = settings.calendar(dup.sla.as_ref().map_or("", |s| &s.calendar));
        if dup.state != State::Closed {
            let effects = gone
                .step(State::Closed, &cal, now, &p.subject, 0)
                .map_err(|r| refused(&dup, r))?;
            if effects.release {
                routing::release(&mut w, &p.tenant_id, &dup.assignee).await?;
            }
        }
        gone.merged_into = Some(survivor);
        let e = entry(
            &w,
            &gone,
            "merged",
            &p.subject,
            format!("merged into {}", current.name()),
        );
        save(&mut w, &p.tenant_id, &dup, gone, "merged", vec![e]).await?;
        events.push(entry(
            &w,
            &next,
            "merged",
            &p.subject,
            format!("{} merged into it", dup.name()),
        ));
    }
    let out = save(&mut w, &p.tenant_id, &current, next, "merged", events).await?;
    w.commit(out).await
}

/// Links the return the orders service created for a return or exchange request.
pub async fn link_return(
    app: &App,
    p: &Principal,
    idem: Option<Idempotency>,
    id: Uuid,
    etag: &str,
    (return_name, return_state): (String, String),
) -> Result<pb::Ticket> {
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let current = lock_visible(app, &mut w, p, id).await?;
    check_etag(etag, &current)?;
    if current.return_name == return_name {
        return Ok(ticket_to_proto(&current));
    }
    let mut next = current.clone();
    next.return_name = return_name.clone();
    next.return_state = return_state;
    let e = entry(
        &w,
        &next,
        "return_created",
        &p.subject,
        format!("{return_name} created in the orders service"),
    );
    let out = save(
        &mut w,
        &p.tenant_id,
        &current,
        next,
        "return_linked",
        vec![e],
    )
    .await?;
    w.commit(out).await
}

/// Follows a linked return's state as the orders service announced it.
pub async fn return_changed(
    app: &App,
    w: &mut Write,
    p: &Principal,
    id: Uuid,
    (return_name, state): (&str, &str),
) -> Result<()> {
    let dialect = app.db().dialect();
    let Some(current) = store::get(w.tx(), &p.tenant_id, id, Some(dialect)).await? else {
        return Ok(());
    };
    if current.return_name != return_name || current.return_state == state {
        return Ok(());
    }
    let mut next = current.clone();
    next.return_state = state.to_owned();
    let e = entry(
        w,
        &next,
        "return_changed",
        &p.subject,
        format!("{return_name} is {state}"),
    );
    save(w, &p.tenant_id, &current, next, "return_linked", vec![e]).await?;
    Ok(())
}

/// What answering a survey may meet.
pub enum SurveyRefusal {
    Unknown,
    Expired,
    Answered,
}

/// Records the answer to the survey of `token`, once.
pub async fn answer_survey(
    app: &App,
    p: &Principal,
    token: &str,
    (score, comment): (i32, String),
) -> Result<std::result::Result<pb::SubmitSurveyResponse, SurveyRefusal>> {
    let hash = token_hash(token);
    let mut w = app.write(p).await?;
    let dialect = app.db().dialect();
    let Some((ticket, expire, answered)) =
        surveys::lock(w.tx(), dialect, &p.tenant_id, &hash).await?
    else {
        return Ok(Err(SurveyRefusal::Unknown));
    };
    let now = w.now();
    if answered.is_some() {
        return Ok(Err(SurveyRefusal::Answered));
    }
    if now > expire {
        return Ok(Err(SurveyRefusal::Expired));
    }
    if !surveys::answer(w.tx(), &p.tenant_id, &hash, now).await? {
        return Ok(Err(SurveyRefusal::Answered));
    }
    let Some(current) = store::get(w.tx(), &p.tenant_id, ticket, Some(dialect)).await? else {
        return Ok(Err(SurveyRefusal::Unknown));
    };
    let mut next = current.clone();
    next.satisfaction = Some(Satisfaction {
        score,
        comment,
        answer_time: now,
    });
    let e = entry(
        &w,
        &next,
        "survey_answered",
        &p.subject,
        format!("satisfaction {score} of 5"),
    );
    save(
        &mut w,
        &p.tenant_id,
        &current,
        next,
        "survey_answered",
        vec![e],
    )
    .await?;
    let out = pb::SubmitSurveyResponse {
        ticket: ticket_name(ticket),
        answer_time: Some(to_timestamp(now)),
    };
    w.commit(out).await.map(Ok)
}

/// The tickets of customers merged into `survivor` now belong to it. Returns how many moved.
pub async fn repoint_customers(
    app: &App,
    w: &mut Write,
    p: &Principal,
    merged: &[Uuid],
    survivor: Uuid,
) -> Result<usize> {
    let dialect = app.db().dialect();
    let tickets = store::lock_of_customers(w.tx(), dialect, &p.tenant_id, merged).await?;
    for current in &tickets {
        let mut next = current.clone();
        next.customer_id = survivor;
        let e = entry(
            w,
            &next,
            "customer_changed",
            &p.subject,
            format!(
                "{} was merged into {}",
                names::format_id("customers", current.customer_id),
                names::format_id("customers", survivor)
            ),
        );
        save(w, &p.tenant_id, current, next, "updated", vec![e]).await?;
    }
    Ok(tickets.len())
}
