//! InboxService (X6): everyone reads, marks and watches its own inbox; admins and managers
//! may also read and watch another user's by naming it as parent, but never mark it.

use std::pin::Pin;

use futures::Stream;
use rapport_kit::{
    Reply,
    names::parse_subject,
    query::{CursorValue, Page},
    reply, validate,
};
use rapport_proto::campaigns::{self as pb, inbox_service_server::InboxService};
use rapport_runtime::{
    Error, Result,
    auth::{Principal, Role},
    error::both,
    validation::Violations,
};
use tokio_stream::{StreamExt, wrappers::ReceiverStream};
use tonic::{Request, Status};
use uuid::Uuid;

use super::support::{STAFF, authorize};
use crate::{
    app::inbox::{self, Inbox, Marked, Update},
    convert::inbox::{item_to_proto, kind, summary_to_proto},
    domain::inbox::{ITEMS, MAX_NAMES, USERS, parse_item_name},
    store::inbox::Shown,
};

/// Who may read another user's inbox.
const OVERSEERS: &[Role] = &[Role::Admin, Role::Manager];

type ServerStream<T> = Pin<Box<dyn Stream<Item = std::result::Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl InboxService for Inbox {
    async fn list_inbox_items(
        &self,
        req: Request<pb::ListInboxItemsRequest>,
    ) -> Reply<pb::ListInboxItemsResponse> {
        reply(list(self, req).await)
    }

    async fn get_inbox_summary(
        &self,
        req: Request<pb::GetInboxSummaryRequest>,
    ) -> Reply<pb::InboxSummary> {
        reply(get_summary(self, req).await)
    }

    async fn mark_inbox_items_read(
        &self,
        req: Request<pb::MarkInboxItemsReadRequest>,
    ) -> Reply<pb::MarkInboxItemsReadResponse> {
        reply(mark_read(self, req).await)
    }

    type WatchInboxStream = ServerStream<pb::WatchInboxResponse>;

    async fn watch_inbox(
        &self,
        req: Request<pb::WatchInboxRequest>,
    ) -> Reply<Self::WatchInboxStream> {
        reply(watch(self, req).await)
    }
}

/// The user whose inbox `parent` names (the caller's own when empty), reported on `parent`.
fn whose(p: &Principal, parent: &str, v: &mut Violations) -> String {
    if parent.is_empty() {
        return p.subject.clone();
    }
    match parse_subject(USERS, parent) {
        Ok(user) => user.to_owned(),
        Err(e) => {
            v.add("parent", e);
            String::new()
        }
    }
}

/// PERMISSION_DENIED unless the caller may read `user`'s inbox.
fn may_read(p: &Principal, user: &str) -> Result<()> {
    if user == p.subject || p.has_any(OVERSEERS) {
        Ok(())
    } else {
        Err(Error::PermissionDenied(
            "only admins and managers read another user's inbox".to_owned(),
        ))
    }
}

async fn list(
    app: &Inbox,
    req: Request<pb::ListInboxItemsRequest>,
) -> Result<pb::ListInboxItemsResponse> {
    let p = authorize(&req, STAFF)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let user = whose(&p, &msg.parent, &mut v);
    let kind = validate::optional_enum(&mut v, "kind", msg.kind, kind, "InboxItemKind");
    let fits = |c: &[CursorValue]| matches!(c, [CursorValue::Int(_), CursorValue::Text(id)] if Uuid::parse_str(id).is_ok());
    let page = Page::parse(
        &[
            &p.tenant_id,
            ITEMS,
            &user,
            &msg.unread_only.to_string(),
            &msg.kind.to_string(),
        ],
        msg.page_size,
        &msg.page_token,
        fits,
    );
    let (_, page) = both(v.finish(()).map_err(Error::from), page.map_err(Error::from))?;
    may_read(&p, &user)?;
    let shown = Shown {
        unread_only: msg.unread_only,
        kind,
    };
    let (items, next_page_token) = inbox::list(app, (&p.tenant_id, &user), shown, &page).await?;
    Ok(pb::ListInboxItemsResponse {
        inbox_items: items.iter().map(item_to_proto).collect(),
        next_page_token,
    })
}

async fn get_summary(
    app: &Inbox,
    req: Request<pb::GetInboxSummaryRequest>,
) -> Result<pb::InboxSummary> {
    let p = authorize(&req, STAFF)?;
    let mut v = Violations::new();
    let user = whose(&p, &req.get_ref().parent, &mut v);
    v.finish(())?;
    may_read(&p, &user)?;
    let counts = inbox::summary(app, &p.tenant_id, &user).await?;
    Ok(summary_to_proto(&user, &counts))
}

async fn mark_read(
    app: &Inbox,
    req: Request<pb::MarkInboxItemsReadRequest>,
) -> Result<pb::MarkInboxItemsReadResponse> {
    let p = authorize(&req, STAFF)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let up_to = validate::optional_time(msg.up_to.as_ref(), "up_to", &mut v);
    let named = validate::capped(&mut v, "names", &msg.names, MAX_NAMES);
    // Another user's item reads as missing, as it would to anyone who may not see it.
    let mut ids = Vec::with_capacity(named.len());
    let mut foreign = None;
    for (i, name) in named.iter().enumerate() {
        match parse_item_name(name) {
            Ok((user, id)) if user == p.subject => ids.push(id),
            Ok(_) => {
                foreign.get_or_insert_with(|| name.clone());
            }
            Err(e) => v.add(format!("names[{i}]"), e),
        }
    }
    let marked = match (msg.names.is_empty(), up_to) {
        (false, Some(_)) => {
            v.add("up_to", "give names or up_to, not both");
            None
        }
        (true, None) if msg.up_to.is_none() => {
            v.add("names", "is required: the items to mark read, or up_to");
            None
        }
        (true, Some(t)) => Some(Marked::UpTo(t)),
        (true, None) => None,
        (false, None) => Some(Marked::Items(ids)),
    };
    v.finish(())?;
    if let Some(name) = foreign {
        return Err(Error::not_found(name));
    }
    let Some(marked) = marked else {
        return Err(Error::internal("a mark request without what to mark"));
    };
    let (read_count, counts) = inbox::mark_read(app, &p, marked).await?;
    Ok(pb::MarkInboxItemsReadResponse {
        read_count,
        summary: Some(summary_to_proto(&p.subject, &counts)),
    })
}

async fn watch(
    app: &Inbox,
    req: Request<pb::WatchInboxRequest>,
) -> Result<ServerStream<pb::WatchInboxResponse>> {
    let p = authorize(&req, STAFF)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let user = whose(&p, &msg.parent, &mut v);
    let last = if msg.last_item.is_empty() {
        None
    } else {
        parse_item_name(&msg.last_item)
            .map_err(|e| v.add("last_item", e))
            .ok()
    };
    v.finish(())?;
    may_read(&p, &user)?;
    // An item of another inbox is no item of this one.
    let last = match last {
        Some((owner, _)) if owner != user => return Err(Error::not_found(msg.last_item.clone())),
        last => last.map(|(_, id)| id),
    };
    let updates = app.watch(&p.tenant_id, &user, last).await?;
    let answers = ReceiverStream::new(updates).map(move |u| {
        u.map(|u| pb::WatchInboxResponse {
            update: Some(match u {
                Update::Summary(s) => {
                    pb::watch_inbox_response::Update::Summary(summary_to_proto(&user, &s))
                }
                Update::Item(i) => pb::watch_inbox_response::Update::Item(item_to_proto(&i)),
            }),
        })
        .map_err(Status::from)
    });
    Ok(Box::pin(answers))
}
