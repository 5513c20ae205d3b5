//! QueueService: queues and agents.

use rapport_kit::{
    mask,
    query::{CursorValue, Page},
};
use rapport_proto::tickets as pb;
use rapport_runtime::{
    Error, Result, auth::Principal, error::both, storage::Idempotency, validation::Violations,
};
use tonic::Request;

use super::support::{QUEUE_READERS, SUPERVISORS, authorize, parse_id};
use crate::{
    app::{App, queues},
    convert::queue::{
        AGENT_MASK, QUEUE_MASK, agent_to_proto, apply_agent, apply_queue, parse_agent, parse_queue,
        queue_to_proto,
    },
    domain::queue::{AGENTS, QUEUES},
};

fn page(p: &Principal, kind: &str, size: i32, token: &str) -> Result<Page> {
    let fits = |c: &[CursorValue]| matches!(c, [CursorValue::Text(_), CursorValue::Text(_)]);
    Page::parse(&[&p.tenant_id, kind], size, token, fits).map_err(Error::from)
}

/// The agent id of an "agents/{id}" name given in `field`.
fn agent_id<'a>(name: &'a str, field: &str) -> Result<&'a str> {
    rapport_kit::names::parse_subject(AGENTS, name).map_err(|e| Error::invalid(field, e))
}

pub(super) async fn create_queue(
    app: &App,
    req: Request<pb::CreateQueueRequest>,
) -> Result<pb::Queue> {
    let p = authorize(&req, SUPERVISORS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let q = parse_queue(msg.queue.as_ref(), &mut v);
    let (idem, q) = both(
        Idempotency::new(&p, "CreateQueue", &msg.request_id, msg),
        v.finish(q).map_err(Error::from),
    )?;
    queues::create_queue(app, p, idem, q).await
}

pub(super) async fn get_queue(app: &App, req: Request<pb::GetQueueRequest>) -> Result<pb::Queue> {
    let p = authorize(&req, QUEUE_READERS)?;
    let id = parse_id("name", QUEUES, &req.get_ref().name)?;
    Ok(queue_to_proto(&queues::get_queue(app, &p, id).await?))
}

pub(super) async fn list_queues(
    app: &App,
    req: Request<pb::ListQueuesRequest>,
) -> Result<pb::ListQueuesResponse> {
    let p = authorize(&req, QUEUE_READERS)?;
    let msg = req.get_ref();
    let page = page(&p, QUEUES, msg.page_size, &msg.page_token)?;
    let (rows, next_page_token) = queues::list_queues(app, &p, &page).await?;
    Ok(pb::ListQueuesResponse {
        queues: rows.iter().map(queue_to_proto).collect(),
        next_page_token,
    })
}

pub(super) async fn update_queue(
    app: &App,
    req: Request<pb::UpdateQueueRequest>,
) -> Result<pb::Queue> {
    let p = authorize(&req, SUPERVISORS)?;
    let msg = req.into_inner();
    let Some(given) = msg.queue else {
        return Err(Error::invalid("queue", "is required"));
    };
    let mut v = Violations::new();
    let selected = mask::select(&QUEUE_MASK, &mask::paths(msg.update_mask), &mut v);
    let fields = mask::fields(&QUEUE_MASK, &selected);
    let id = crate::convert::id_in(QUEUES, &given.name, "queue.name", &mut v);
    let mut probe = parse_queue(None, &mut Violations::new());
    apply_queue(&given, &fields, &mut probe, &mut v);
    let id = v.finish(id)?.unwrap_or_default();
    let etag = if msg.etag.is_empty() {
        given.etag.clone()
    } else {
        msg.etag.clone()
    };
    queues::update_queue(app, &p, id, &etag, |q| {
        apply_queue(&given, &fields, q, &mut Violations::new())
    })
    .await
}

pub(super) async fn create_agent(
    app: &App,
    req: Request<pb::CreateAgentRequest>,
) -> Result<pb::Agent> {
    let p = authorize(&req, SUPERVISORS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let a = parse_agent(&msg.agent_id, msg.agent.as_ref(), &mut v);
    let (idem, a) = both(
        Idempotency::new(&p, "CreateAgent", &msg.request_id, msg),
        v.finish(a).map_err(Error::from),
    )?;
    queues::create_agent(app, p, idem, a).await
}

pub(super) async fn get_agent(app: &App, req: Request<pb::GetAgentRequest>) -> Result<pb::Agent> {
    let p = authorize(&req, QUEUE_READERS)?;
    let id = agent_id(&req.get_ref().name, "name")?;
    Ok(agent_to_proto(&queues::get_agent(app, &p, id).await?))
}

pub(super) async fn list_agents(
    app: &App,
    req: Request<pb::ListAgentsRequest>,
) -> Result<pb::ListAgentsResponse> {
    let p = authorize(&req, QUEUE_READERS)?;
    let msg = req.get_ref();
    let page = page(&p, AGENTS, msg.page_size, &msg.page_token)?;
    let (rows, next_page_token) = queues::list_agents(app, &p, &page).await?;
    Ok(pb::ListAgentsResponse {
        agents: rows.iter().map(agent_to_proto).collect(),
        next_page_token,
    })
}

pub(super) async fn update_agent(
    app: &App,
    req: Request<pb::UpdateAgentRequest>,
) -> Result<pb::Agent> {
    let p = authorize(&req, SUPERVISORS)?;
    let msg = req.into_inner();
    let Some(given) = msg.agent else {
        return Err(Error::invalid("agent", "is required"));
    };
    let mut v = Violations::new();
    let selected = mask::select(&AGENT_MASK, &mask::paths(msg.update_mask), &mut v);
    let fields = mask::fields(&AGENT_MASK, &selected);
    let id = agent_id(&given.name, "agent.name")
        .map_err(|e| v.add("agent.name", e.to_string()))
        .unwrap_or_default()
        .to_owned();
    let mut probe = parse_agent("probe", None, &mut Violations::new());
    apply_agent(&given, &fields, &mut probe, &mut v);
    v.finish(())?;
    let etag = if msg.etag.is_empty() {
        given.etag.clone()
    } else {
        msg.etag.clone()
    };
    queues::update_agent(app, &p, &id, &etag, |a| {
        apply_agent(&given, &fields, a, &mut Violations::new())
    })
    .await
}
