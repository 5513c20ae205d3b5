//! The staff inbox's use cases (X6): writing the items other services' events make, reading an
//! inbox, marking items read, and watching an inbox live.
//!
//! A watch is driven by the service's own stream: every item written is announced as
//! `inbox.item_created` in the transaction that writes it, and every replica tails the stream
//! (`rapport_kit::watch`), so a client sees the items whichever replica consumed their source
//! event. The stream only wakes watchers up; the table stays the truth: a watcher that missed
//! events, or a client that reconnects with the last item it saw, catches up from it.

use std::collections::{HashSet, VecDeque};

use prost::Name as _;
use rapport_kit::{
    query::{CursorValue, Page},
    watch::{Hub, Seen, Watcher},
};
use rapport_proto::campaigns as pb;
use rapport_runtime::{
    Error, Result,
    auth::Principal,
    clock::{Micros, SECOND},
    events::{Event, Published},
    write::Write,
};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{App, events::EVENTS};
use crate::{
    convert::inbox::{item_from_proto, item_to_proto, items_read},
    domain::inbox::{Item, Notice, Summary, inbox_name, item_name, user_of},
    store::inbox::{self as store, Shown},
};

const CREATED: Published<pb::InboxItemCreated> = Published::new("inbox.item_created");
const READ: Published<pb::InboxItemsRead> = Published::new("inbox.items_read");
/// Items a catch-up reads at a time.
const CATCH_UP: u32 = 500;
/// Items a watcher remembers having sent, so an item it read while catching up is not sent
/// again when its event arrives.
const REMEMBERED: usize = 4096;
/// How far before the newest item it sent a watcher that missed events looks again: items of
/// other replicas may commit in another order than their times say.
const SETTLE: Micros = 5 * SECOND;

/// The inbox's use cases, with this process's watches.
#[derive(Clone)]
pub struct Inbox {
    app: App,
    hub: Hub,
}

impl std::ops::Deref for Inbox {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}

/// The user whose inbox an event of the inbox concerns: the watches' key.
fn watched_user(e: &Event) -> Option<String> {
    let kind = e.r#type.strip_prefix(pb::InboxItemCreated::PACKAGE)?;
    kind.starts_with(".inbox.")
        .then(|| user_of(&e.subject))
        .flatten()
        .map(str::to_owned)
}

impl Inbox {
    /// The inbox over `app`, with the watches of this process.
    pub fn new(app: App) -> Self {
        let hub = Hub::new(app.ctx.bus.clone(), EVENTS.stream, watched_user);
        Self { app, hub }
    }
}

/// Writes `items` in `w`, each announced as `inbox.item_created`; an item its event made
/// before for the same person is skipped. How many were written.
pub async fn deliver(w: &mut Write, items: Vec<Notice>) -> Result<usize> {
    let tenant = w.tenant().to_owned();
    let mut written = 0;
    for new in items {
        let item = new.written(Uuid::now_v7(), w.now());
        if store::insert(w.tx(), &tenant, &item).await? {
            w.emit(
                "inbox.item_created",
                item.name(),
                &pb::InboxItemCreated {
                    item: Some(item_to_proto(&item)),
                },
            );
            written += 1;
        }
    }
    Ok(written)
}

/// A page of `user`'s items, newest first, and the next page's token.
pub async fn list(
    app: &App,
    (tenant, user): (&str, &str),
    shown: Shown,
    page: &Page,
) -> Result<(Vec<Item>, String)> {
    let mut conn = app.db().pool().acquire().await?;
    let mut rows = store::list(&mut conn, (tenant, user), shown, page).await?;
    let next = page.next_token(&mut rows, |i| {
        vec![
            CursorValue::Int(i.create_time),
            CursorValue::Text(i.id.to_string()),
        ]
    });
    Ok((rows, next))
}

/// `user`'s unread counts.
pub async fn summary(app: &App, tenant: &str, user: &str) -> Result<Summary> {
    let mut conn = app.db().pool().acquire().await?;
    store::summary(&mut conn, tenant, user).await
}

/// What MarkInboxItemsRead marks.
#[derive(Debug, Clone)]
pub enum Marked {
    /// These items, each the caller's.
    Items(Vec<Uuid>),
    /// Every unread item created at or before this time.
    UpTo(Micros),
}

/// Marks the caller's items read; how many turned read, and the caller's unread counts after.
/// An item that is not the caller's is NOT_FOUND, and then nothing is marked.
pub async fn mark_read(app: &App, p: &Principal, marked: Marked) -> Result<(i64, Summary)> {
    let (tenant, user) = (p.tenant_id.as_str(), p.subject.as_str());
    let mut w = app.write(p).await?;
    let now = w.now();
    let dialect = w.dialect();
    let (count, payload) = match marked {
        Marked::Items(mut ids) => {
            ids.sort();
            ids.dedup();
            let owned = store::owned(w.tx(), dialect, (tenant, user), &ids).await?;
            if let Some(missing) = ids.iter().find(|id| !owned.contains(id)) {
                w.rollback().await?;
                return Err(Error::not_found(item_name(user, *missing)));
            }
            let turned = store::mark_read(w.tx(), dialect, (tenant, user), &ids, now).await?;
            let names: Vec<String> = turned.iter().map(|id| item_name(user, *id)).collect();
            let count = names.len() as i64;
            (count, items_read(user, names, None, (count, now)))
        }
        Marked::UpTo(up_to) => {
            let count = store::mark_all_read(w.tx(), (tenant, user), up_to, now).await?;
            (
                count,
                items_read(user, Vec::new(), Some(up_to), (count, now)),
            )
        }
    };
    if count > 0 {
        w.emit("inbox.items_read", inbox_name(user), &payload);
    }
    w.commit(()).await?;
    Ok((count, summary(app, tenant, user).await?))
}

/// What a watch sends.
#[derive(Debug)]
pub enum Update {
    /// The inbox's unread counts.
    Summary(Summary),
    /// An item written to it.
    Item(Box<Item>),
}

/// What a watch's client receives, in order; it ends with an error when the watch cannot go
/// on (the client then reconnects with the last item it saw).
pub type Updates = mpsc::Receiver<Result<Update>>;

impl Inbox {
    /// Watches `user`'s inbox: first its unread counts, then the items written after `last`
    /// (an item of that inbox, NOT_FOUND otherwise), then each item as it is written and new
    /// counts whenever items are marked read.
    pub async fn watch(&self, tenant: &str, user: &str, last: Option<Uuid>) -> Result<Updates> {
        // Watching first, then reading: nothing written in between falls through.
        let watcher = self.hub.watch(tenant, user).await?;
        let mut conn = self.db().pool().acquire().await?;
        let from = match last {
            Some(id) => {
                let item = store::get(&mut conn, (tenant, user), id)
                    .await?
                    .ok_or_else(|| Error::not_found(item_name(user, id)))?;
                Some((item.create_time, item.id.to_string()))
            }
            None => None,
        };
        let counts = store::summary(&mut conn, tenant, user).await?;
        drop(conn);
        let (tx, rx) = mpsc::channel(64);
        let mut w = Watch {
            app: self.app.clone(),
            tenant: tenant.to_owned(),
            user: user.to_owned(),
            watcher,
            tx,
            sent: Remembered::default(),
            newest: (self.now(), String::new()),
        };
        tokio::spawn(async move {
            if let Err(e) = w.run(counts, from).await {
                let _ = w.tx.send(Err(e)).await;
            }
        });
        Ok(rx)
    }
}

/// One running watch.
struct Watch {
    app: App,
    tenant: String,
    user: String,
    watcher: Watcher,
    tx: mpsc::Sender<Result<Update>>,
    sent: Remembered,
    /// The key of the newest item sent (or the watch's start): a watcher that missed events
    /// looks again from a little before it.
    newest: (Micros, String),
}

/// The client went away: the watch ends.
struct Gone;

impl Watch {
    async fn run(&mut self, counts: Summary, from: Option<(Micros, String)>) -> Result<()> {
        if self.send(Update::Summary(counts)).await.is_err() {
            return Ok(());
        }
        if let Some(from) = from
            && self.catch_up(from).await?.is_err()
        {
            return Ok(());
        }
        loop {
            let seen = tokio::select! {
                _ = self.tx.closed() => return Ok(()),
                seen = self.watcher.next() => seen,
            };
            let step = match seen {
                None => return Ok(()),
                Some(Seen::Event(e)) => self.seen(&e).await?,
                Some(Seen::Missed) => {
                    let from = (self.newest.0 - SETTLE, String::new());
                    match self.catch_up(from).await? {
                        Ok(()) => self.counts().await?,
                        gone => gone,
                    }
                }
            };
            if step.is_err() {
                return Ok(());
            }
        }
    }

    /// Sends what `e` tells: a new item, or new counts.
    async fn seen(&mut self, e: &Event) -> Result<std::result::Result<(), Gone>> {
        if let Some(created) = CREATED.payload(e)? {
            let Some(item) = created.item.as_ref().and_then(item_from_proto) else {
                return Ok(Ok(()));
            };
            return Ok(self.item(item).await);
        }
        if READ.payload(e)?.is_some() {
            return self.counts().await;
        }
        Ok(Ok(()))
    }

    /// Sends the items after `from`, oldest first, skipping those sent already.
    async fn catch_up(
        &mut self,
        mut from: (Micros, String),
    ) -> Result<std::result::Result<(), Gone>> {
        loop {
            let page = {
                let mut conn = self.app.db().pool().acquire().await?;
                store::after(
                    &mut conn,
                    (&self.tenant, &self.user),
                    (from.0, &from.1),
                    CATCH_UP,
                )
                .await?
            };
            let full = page.len() == CATCH_UP as usize;
            if let Some(last) = page.last() {
                from = (last.create_time, last.id.to_string());
            }
            for item in page {
                if self.item(item).await.is_err() {
                    return Ok(Err(Gone));
                }
            }
            if !full {
                return Ok(Ok(()));
            }
        }
    }

    async fn counts(&mut self) -> Result<std::result::Result<(), Gone>> {
        let counts = summary(&self.app, &self.tenant, &self.user).await?;
        Ok(self.send(Update::Summary(counts)).await)
    }

    /// Sends `item` unless it was sent already.
    async fn item(&mut self, item: Item) -> std::result::Result<(), Gone> {
        if !self.sent.insert(item.id) {
            return Ok(());
        }
        let key = (item.create_time, item.id.to_string());
        if key > self.newest {
            self.newest = key;
        }
        self.send(Update::Item(Box::new(item))).await
    }

    async fn send(&self, update: Update) -> std::result::Result<(), Gone> {
        self.tx.send(Ok(update)).await.map_err(|_| Gone)
    }
}

/// The ids of the items a watch sent lately.
#[derive(Default)]
struct Remembered {
    ids: HashSet<Uuid>,
    order: VecDeque<Uuid>,
}

impl Remembered {
    /// Remembers `id`; `false` when it was already.
    fn insert(&mut self, id: Uuid) -> bool {
        if !self.ids.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > REMEMBERED
            && let Some(old) = self.order.pop_front()
        {
            self.ids.remove(&old);
        }
        true
    }
}
