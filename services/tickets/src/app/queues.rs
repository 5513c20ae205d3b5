//! Queues' and agents' use cases (TK2): create, read, list and change them. Members must be
//! registered agents; an agent's counters are routing's, never written here.

use rapport_kit::{names, query::Page};
use rapport_proto::tickets as pb;
use rapport_runtime::{Error, Result, auth::Principal, storage::Idempotency, write::Write};
use uuid::Uuid;

use super::{App, EVENTS};
use crate::{
    convert::queue::{agent_to_proto, queue_to_proto},
    domain::queue::{AGENTS, Agent, QUEUES, Queue},
    store::{agents, queues as store},
};

/// INVALID_ARGUMENT naming each member that is not a registered agent.
async fn check_members(w: &mut Write, tenant: &str, q: &Queue) -> Result<()> {
    let known = agents::known(w.tx(), tenant, &q.members).await?;
    let mut v = rapport_runtime::validation::Violations::new();
    for (i, m) in q.members.iter().enumerate() {
        if !known.contains(m) {
            v.add(
                format!("queue.members[{i}]"),
                format!("agents/{m} is not a registered agent"),
            );
        }
    }
    v.finish(()).map_err(Error::from)
}

/// Creates a queue.
pub async fn create_queue(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    mut q: Queue,
) -> Result<pb::Queue> {
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    check_members(&mut w, &p.tenant_id, &q).await?;
    let now = w.now();
    q.id = Uuid::now_v7();
    q.create_time = now;
    q.update_time = now;
    q.version = 1;
    store::insert(w.tx(), &p.tenant_id, &q).await?;
    let out = queue_to_proto(&q);
    w.emit(
        "queue.created",
        q.name(),
        &pb::QueueChanged {
            queue: Some(out.clone()),
        },
    );
    w.commit(out).await
}

/// A queue of the caller's tenant.
pub async fn get_queue(app: &App, p: &Principal, id: Uuid) -> Result<Queue> {
    let mut conn = app.db().pool().acquire().await?;
    store::get(&mut conn, &p.tenant_id, id, None)
        .await?
        .ok_or_else(|| Error::not_found(names::format_id(QUEUES, id)))
}

/// A page of queues.
pub async fn list_queues(app: &App, p: &Principal, page: &Page) -> Result<(Vec<Queue>, String)> {
    let mut conn = app.db().pool().acquire().await?;
    let mut rows = store::list(&mut conn, &p.tenant_id, page).await?;
    let next = page.next_token(&mut rows, store::cursor_of);
    Ok((rows, next))
}

/// Changes a queue: `apply` sets the fields the caller named.
pub async fn update_queue(
    app: &App,
    p: &Principal,
    id: Uuid,
    etag: &str,
    apply: impl FnOnce(&mut Queue),
) -> Result<pb::Queue> {
    let mut w = app.write(p).await?;
    let dialect = app.db().dialect();
    let current = store::get(w.tx(), &p.tenant_id, id, Some(dialect))
        .await?
        .ok_or_else(|| Error::not_found(names::format_id(QUEUES, id)))?;
    names::check_etag(
        etag,
        &names::etag(id.as_bytes(), current.version),
        &current.name(),
    )?;
    let mut next = current.clone();
    apply(&mut next);
    if next == current {
        return Ok(queue_to_proto(&current));
    }
    check_members(&mut w, &p.tenant_id, &next).await?;
    next.version = current.version + 1;
    next.update_time = w.now();
    if !store::update(w.tx(), &p.tenant_id, &next, current.version).await? {
        return Err(Error::stale_etag(&next.name()));
    }
    let out = queue_to_proto(&next);
    w.emit(
        "queue.updated",
        next.name(),
        &pb::QueueChanged {
            queue: Some(out.clone()),
        },
    );
    w.commit(out).await
}

/// Registers an agent; ALREADY_EXISTS when the user is one.
pub async fn create_agent(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    mut a: Agent,
) -> Result<pb::Agent> {
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    a.update_time = w.now();
    a.version = 1;
    if !agents::insert(w.tx(), &p.tenant_id, &a).await? {
        return Err(Error::AlreadyExists {
            reason: "AGENT_EXISTS",
            message: format!("{} is already registered", a.name()),
            existing: a.name(),
            metadata: Vec::new(),
        });
    }
    w.commit(agent_to_proto(&a)).await
}

/// An agent of the caller's tenant.
pub async fn get_agent(app: &App, p: &Principal, id: &str) -> Result<Agent> {
    let mut conn = app.db().pool().acquire().await?;
    agents::get(&mut conn, &p.tenant_id, id)
        .await?
        .ok_or_else(|| Error::not_found(format!("{AGENTS}/{id}")))
}

/// A page of agents.
pub async fn list_agents(app: &App, p: &Principal, page: &Page) -> Result<(Vec<Agent>, String)> {
    let mut conn = app.db().pool().acquire().await?;
    let mut rows = agents::list(&mut conn, &p.tenant_id, page).await?;
    let next = page.next_token(&mut rows, agents::cursor_of);
    Ok((rows, next))
}

/// Changes an agent's own fields: `apply` sets those the caller named.
pub async fn update_agent(
    app: &App,
    p: &Principal,
    id: &str,
    etag: &str,
    apply: impl FnOnce(&mut Agent),
) -> Result<pb::Agent> {
    let mut w = app.write(p).await?;
    let current = agents::get(w.tx(), &p.tenant_id, id)
        .await?
        .ok_or_else(|| Error::not_found(format!("{AGENTS}/{id}")))?;
    names::check_etag(
        etag,
        &names::etag(current.id.as_bytes(), current.version),
        &current.name(),
    )?;
    let mut next = current.clone();
    apply(&mut next);
    if next == current {
        return Ok(agent_to_proto(&current));
    }
    next.version = current.version + 1;
    next.update_time = w.now();
    if !agents::update(w.tx(), &p.tenant_id, &next, current.version).await? {
        return Err(Error::stale_etag(&next.name()));
    }
    w.commit(agent_to_proto(&next)).await
}
