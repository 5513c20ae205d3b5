//! TicketService: tickets, comments, history, merges, return requests, surveys and settings.

use rapport_kit::{
    list_params, mask, names,
    query::{CursorValue, Expr, ListQuery, ListSpec, Op, OrderBy, Page},
    validate,
};
use rapport_proto::{orders as opb, tickets as pb};
use rapport_runtime::{
    Error, Result, auth::Principal, error::both, storage::Idempotency, validation::Violations,
};
use tonic::Request;
use uuid::Uuid;

use super::{
    peers,
    support::{ADMINS, READERS, SUPERVISORS, SURVEY_TAKERS, WORKERS, authorize, parse_id},
};
use crate::{
    app::{App, Sees, sees, tickets},
    convert::{
        enums,
        settings::{SETTINGS_MASK, apply, settings_to_proto},
        ticket::{
            MAX_REASON, TICKET_MASK, apply_patch, comment_to_proto, event_to_proto, parse_comment,
            parse_new, ticket_to_proto,
        },
    },
    domain::{
        settings::SETTINGS_NAME,
        ticket::{State, TICKETS, Ticket},
    },
    store::{
        history::cursor,
        tickets::{TICKET_FILTERS, Visible},
    },
};

/// What ListTickets filters and sorts on.
const LIST: ListSpec = ListSpec {
    filter_fields: TICKET_FILTERS,
    order_fields: &["create_time", "update_time", "priority"],
    default_order: OrderBy::desc("create_time"),
    text_order_fields: &[],
};

pub(super) async fn create(app: &App, req: Request<pb::CreateTicketRequest>) -> Result<pb::Ticket> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.get_ref();
    let settings = app.settings(&p.tenant_id).await?;
    let parsed = match &msg.ticket {
        None => Err(Error::invalid("ticket", "is required")),
        Some(t) => {
            let mut v = Violations::new();
            let new = parse_new(t, &settings, &p.subject, &mut v);
            v.finish(new).map_err(Error::from)
        }
    };
    let (idem, mut t) = both(
        Idempotency::new(&p, "CreateTicket", &msg.request_id, msg),
        parsed,
    )?;
    let customer = peers::live_customer(app, &req, t.customer_id, "ticket.customer").await?;
    t.customer_grade = customer.grade.clone();
    if let Some(order) = t.order_id {
        let o = peers::order_of(app, &req, order, t.customer_id, "ticket.order").await?;
        check_lines(&t, &o)?;
    }
    tickets::create(app, p, idem, t, &settings).await
}

/// INVALID_ARGUMENT naming each order line the ticket names that the order does not have.
fn check_lines(t: &Ticket, o: &opb::Order) -> Result<()> {
    let has = |id: &str| o.lines.iter().any(|l| l.id == id);
    let mut v = Violations::new();
    for (i, l) in t.order_lines.iter().enumerate() {
        if !has(l) {
            v.add(
                format!("ticket.order_lines[{i}]"),
                format!("{l:?} is not a line of {}", o.name),
            );
        }
    }
    for (i, r) in t.return_lines.iter().enumerate() {
        if !has(&r.line_id) {
            v.add(
                format!("ticket.return_lines[{i}].line_id"),
                format!("{:?} is not a line of {}", r.line_id, o.name),
            );
        }
    }
    v.finish(()).map_err(Error::from)
}

/// The ticket `id` as the caller of `req` may see it; NOT_FOUND otherwise. A rep sees it when
/// the customers service lets it see the ticket's customer.
async fn visible<T>(app: &App, req: &Request<T>, p: &Principal, id: Uuid) -> Result<Ticket> {
    let (t, check_customer) = tickets::get(app, p, id).await?;
    if check_customer && !peers::sees_customer(app, req, t.customer_id).await? {
        return Err(Error::not_found(t.name()));
    }
    Ok(t)
}

pub(super) async fn get(app: &App, req: Request<pb::GetTicketRequest>) -> Result<pb::Ticket> {
    let p = authorize(&req, READERS)?;
    let id = parse_id("name", TICKETS, &req.get_ref().name)?;
    Ok(ticket_to_proto(&visible(app, &req, &p, id).await?))
}

/// The customer a filter pins with a top-level `customer = "customers/…"`.
fn pinned_customer(filter: &str) -> Option<Uuid> {
    let cmp = |e: &Expr| match e {
        Expr::Cmp(c) if c.field == "customer" && c.op == Op::Eq => {
            names::parse_id("customers", &c.value).ok()
        }
        _ => None,
    };
    match rapport_kit::query::parse(filter).ok()?? {
        Expr::And(parts) => parts.iter().find_map(cmp),
        e => cmp(&e),
    }
}

pub(super) async fn list(
    app: &App,
    req: Request<pb::ListTicketsRequest>,
) -> Result<pb::ListTicketsResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let visible = match sees(&p) {
        Sees::All => Visible::All,
        Sees::Team(team) => Visible::Team(team),
        Sees::Agent(agent) => Visible::Agent(agent),
        Sees::TheirCustomers => {
            let Some(customer) = pinned_customer(&msg.filter) else {
                return Err(Error::invalid(
                    "filter",
                    "a rep lists the tickets of one customer: filter on customer = \
                     \"customers/{id}\"",
                ));
            };
            if !peers::sees_customer(app, &req, customer).await? {
                return Ok(pb::ListTicketsResponse::default());
            }
            Visible::Customer(customer)
        }
    };
    let scope_key = format!("{visible:?}");
    let q = ListQuery::parse(
        &LIST,
        list_params!(msg),
        app.db().dialect(),
        2,
        &[&p.tenant_id, TICKETS, &scope_key],
    )?;
    let (rows, next_page_token) = tickets::list(app, &p, &q, &visible).await?;
    Ok(pb::ListTicketsResponse {
        tickets: rows.iter().map(ticket_to_proto).collect(),
        next_page_token,
    })
}

pub(super) async fn update(app: &App, req: Request<pb::UpdateTicketRequest>) -> Result<pb::Ticket> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.into_inner();
    let idem = Idempotency::new(&p, "UpdateTicket", &msg.request_id, &msg);
    let Some(given) = msg.ticket else {
        return Err(Error::invalid("ticket", "is required"));
    };
    let mut v = Violations::new();
    let selected = mask::select(&TICKET_MASK, &mask::paths(msg.update_mask), &mut v);
    let fields = mask::fields(&TICKET_MASK, &selected);
    let id = crate::convert::id_in(TICKETS, &given.name, "ticket.name", &mut v);
    let (idem, id) = both(idem, v.finish(id).map_err(Error::from))?;
    let id = id.unwrap_or_default();
    // The fields are read against the ticket as it is (its type's field definitions).
    let settings = app.settings(&p.tenant_id).await?;
    let (current, _) = tickets::get(app, &p, id).await?;
    let mut next = current.clone();
    let mut v = Violations::new();
    apply_patch(&given, &fields, &settings, &mut next, &mut v);
    v.finish(())?;
    let apply = move |t: &mut Ticket| {
        t.subject = next.subject;
        t.description = next.description;
        t.priority = next.priority;
        t.order_lines = next.order_lines;
        t.category = next.category;
        t.store = next.store;
        t.tags = next.tags;
        t.fields = next.fields;
    };
    let etag = if msg.etag.is_empty() {
        given.etag.as_str()
    } else {
        msg.etag.as_str()
    };
    tickets::update(app, &p, idem, id, etag, apply).await
}

pub(super) async fn assign(app: &App, req: Request<pb::AssignTicketRequest>) -> Result<pb::Ticket> {
    let p = authorize(&req, SUPERVISORS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let id = crate::convert::id_in(TICKETS, &msg.name, "name", &mut v);
    let queue = crate::convert::optional_id_in("queues", &msg.queue, "queue", &mut v);
    let agent = validate::id(&mut v, "agent", msg.agent.trim());
    let (idem, id) = both(
        Idempotency::new(&p, "AssignTicket", &msg.request_id, msg),
        v.finish(id).map_err(Error::from),
    )?;
    let target = (
        queue.map(|q| q.to_string()),
        (!agent.is_empty()).then_some(agent),
    );
    tickets::assign(app, &p, idem, id.unwrap_or_default(), &msg.etag, target).await
}

pub(super) async fn change_state(
    app: &App,
    req: Request<pb::ChangeTicketStateRequest>,
) -> Result<pb::Ticket> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let id = crate::convert::id_in(TICKETS, &msg.name, "name", &mut v);
    let to = validate::required_enum(&mut v, "state", msg.state, enums::state, "TicketState");
    if to == Some(State::New) {
        v.add("state", "a ticket never goes back to NEW");
    }
    let reason = validate::text(&mut v, "reason", &msg.reason, MAX_REASON);
    let (idem, (id, to)) = both(
        Idempotency::new(&p, "ChangeTicketState", &msg.request_id, msg),
        v.finish((id, to)).map_err(Error::from),
    )?;
    let (id, to) = (id.unwrap_or_default(), to.unwrap_or(State::Open));
    tickets::change_state(app, &p, idem, id, &msg.etag, (to, reason)).await
}

pub(super) async fn add_comment(
    app: &App,
    req: Request<pb::AddCommentRequest>,
) -> Result<pb::Comment> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let id = crate::convert::id_in(TICKETS, &msg.parent, "parent", &mut v);
    let c = parse_comment(msg.comment.as_ref(), &mut v);
    let (idem, (id, c)) = both(
        Idempotency::new(&p, "AddComment", &msg.request_id, msg),
        v.finish((id, c)).map_err(Error::from),
    )?;
    tickets::comment(app, &p, idem, id.unwrap_or_default(), c).await
}

/// The page of a ticket's comments or history the request asks for.
fn page(p: &Principal, kind: &str, parent: &str, size: i32, token: &str) -> Result<Page> {
    let fits = |c: &[CursorValue]| matches!(c, [CursorValue::Int(_), CursorValue::Text(_)]);
    Page::parse(&[&p.tenant_id, kind, parent.trim()], size, token, fits).map_err(Error::from)
}

pub(super) async fn list_comments(
    app: &App,
    req: Request<pb::ListCommentsRequest>,
) -> Result<pb::ListCommentsResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let (id, page) = both(
        parse_id("parent", TICKETS, &msg.parent),
        page(&p, "comments", &msg.parent, msg.page_size, &msg.page_token),
    )?;
    visible(app, &req, &p, id).await?;
    let mut conn = app.db().pool().acquire().await?;
    let mut rows = crate::store::history::list_comments(&mut conn, &p.tenant_id, id, &page).await?;
    let next_page_token = page.next_token(&mut rows, |c| cursor(c.create_time, c.id));
    Ok(pb::ListCommentsResponse {
        comments: rows.iter().map(comment_to_proto).collect(),
        next_page_token,
    })
}

pub(super) async fn list_events(
    app: &App,
    req: Request<pb::ListTicketEventsRequest>,
) -> Result<pb::ListTicketEventsResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let (id, page) = both(
        parse_id("parent", TICKETS, &msg.parent),
        page(&p, "events", &msg.parent, msg.page_size, &msg.page_token),
    )?;
    visible(app, &req, &p, id).await?;
    let mut conn = app.db().pool().acquire().await?;
    let mut rows = crate::store::history::list_events(&mut conn, &p.tenant_id, id, &page).await?;
    let next_page_token = page.next_token(&mut rows, |e| cursor(e.create_time, e.id));
    Ok(pb::ListTicketEventsResponse {
        events: rows.iter().map(event_to_proto).collect(),
        next_page_token,
    })
}

pub(super) async fn merge(app: &App, req: Request<pb::MergeTicketsRequest>) -> Result<pb::Ticket> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let survivor = crate::convert::id_in(TICKETS, &msg.name, "name", &mut v);
    if msg.merged.is_empty() {
        v.add("merged", "name 1..20 tickets to merge");
    }
    let given = validate::capped(&mut v, "merged", &msg.merged, 20);
    let mut merged = Vec::new();
    for (i, name) in given.iter().enumerate() {
        if let Some(id) = crate::convert::id_in(TICKETS, name, &format!("merged[{i}]"), &mut v) {
            if Some(id) == survivor {
                v.add(format!("merged[{i}]"), "is the survivor itself");
            } else if merged.contains(&id) {
                v.add(format!("merged[{i}]"), "is named twice");
            } else {
                merged.push(id);
            }
        }
    }
    let (idem, survivor) = both(
        Idempotency::new(&p, "MergeTickets", &msg.request_id, msg),
        v.finish(survivor).map_err(Error::from),
    )?;
    tickets::merge(app, &p, idem, survivor.unwrap_or_default(), merged).await
}

pub(super) async fn approve_return(
    app: &App,
    req: Request<pb::ApproveReturnRequestRequest>,
) -> Result<pb::Ticket> {
    let p = authorize(&req, SUPERVISORS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let id = crate::convert::id_in(TICKETS, &msg.name, "name", &mut v);
    let reason = validate::text(&mut v, "reason", &msg.reason, MAX_REASON);
    let (idem, id) = both(
        Idempotency::new(&p, "ApproveReturnRequest", &msg.request_id, msg),
        v.finish(id).map_err(Error::from),
    )?;
    let id = id.unwrap_or_default();
    let (t, _) = tickets::get(app, &p, id).await?;
    if !t.return_name.is_empty() {
        return Ok(ticket_to_proto(&t));
    }
    let Some(order) = t.order_id.filter(|_| t.is_return_request()) else {
        return Err(Error::precondition(
            "NOT_A_RETURN_REQUEST",
            format!(
                "{} is a {} ticket; only a return_request or exchange_request with an order \
                 becomes a return",
                t.name(),
                t.ticket_type
            ),
        ));
    };
    if t.return_lines.is_empty() || !t.state.is_active() {
        return Err(Error::precondition(
            "NOT_A_RETURN_REQUEST",
            format!(
                "{} needs return_lines and an open state to become a return",
                t.name()
            ),
        ));
    }
    let kind = if t.ticket_type == crate::domain::ticket::EXCHANGE_REQUEST {
        opb::ReturnKind::Exchange
    } else {
        opb::ReturnKind::Return
    };
    let r = opb::Return {
        kind: kind as i32,
        lines: t
            .return_lines
            .iter()
            .map(|l| opb::DeliveryLine {
                line_id: l.line_id.clone(),
                quantity: i32::try_from(l.quantity).unwrap_or(i32::MAX),
            })
            .collect(),
        reason: if reason.is_empty() {
            t.subject.clone()
        } else {
            reason
        },
        ticket: t.name(),
        ..Default::default()
    };
    let order_name = names::format_id("orders", order);
    let created =
        peers::request_return(app, &req, &order_name, r, format!("ticket-return-{id}")).await?;
    let state = opb::ReturnState::try_from(created.state)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("RETURN_STATE_")
                .to_owned()
        })
        .unwrap_or_default();
    tickets::link_return(app, &p, idem, id, &msg.etag, (created.name, state)).await
}

pub(super) async fn submit_survey(
    app: &App,
    req: Request<pb::SubmitSurveyRequest>,
) -> Result<pb::SubmitSurveyResponse> {
    let p = authorize(&req, SURVEY_TAKERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let token = msg.token.trim();
    if token.is_empty() || token.len() > 128 {
        v.add(
            "token",
            "is required: the survey token, at most 128 characters",
        );
    }
    if !(1..=5).contains(&msg.score) {
        v.add("score", format!("must be 1..5, got {}", msg.score));
    }
    let comment = validate::multiline_text(&mut v, "comment", &msg.comment, 2000);
    v.finish(())?;
    match tickets::answer_survey(app, &p, token, (msg.score, comment)).await? {
        Ok(answer) => Ok(answer),
        Err(tickets::SurveyRefusal::Unknown) => Err(Error::not_found("survey")),
        Err(tickets::SurveyRefusal::Expired) => Err(Error::precondition(
            "SURVEY_EXPIRED",
            "the survey's token has expired",
        )),
        Err(tickets::SurveyRefusal::Answered) => Err(Error::precondition(
            "SURVEY_ANSWERED",
            "the survey was already answered",
        )),
    }
}

pub(super) async fn get_settings(
    app: &App,
    req: Request<pb::GetTicketSettingsRequest>,
) -> Result<pb::TicketSettings> {
    let p = authorize(&req, READERS)?;
    rapport_kit::settings::parse_get(&req.get_ref().name, SETTINGS_NAME)?;
    Ok(settings_to_proto(&app.settings(&p.tenant_id).await?))
}

pub(super) async fn update_settings(
    app: &App,
    req: Request<pb::UpdateTicketSettingsRequest>,
) -> Result<pb::TicketSettings> {
    let p = authorize(&req, ADMINS)?;
    let msg = req.into_inner();
    let (fields, given) = rapport_kit::settings::parse_update(
        &SETTINGS_MASK,
        msg.update_mask,
        msg.settings,
        SETTINGS_NAME,
        |s| &s.name,
    )?;
    let etag = if msg.etag.is_empty() {
        given.etag.clone()
    } else {
        msg.etag.clone()
    };
    crate::app::settings::update(app, &p, &etag, |s, v| apply(&given, &fields, s, v)).await
}
