//! Saved segments (CU13): their life (create, list, change, delete), and their members,
//! counted and streamed. Members are worked out on every call from the segment's filter, as
//! ListCustomers would read it, over the live customers the caller may see.

use rapport_kit::query::{self, ListQuery, ListSpec, OrderBy};
use rapport_proto::customers as pb;
use rapport_runtime::{
    Error, Result, auth::Principal, clock::to_timestamp, storage::Idempotency,
    validation::Violations, write::Write,
};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{
    customers::compile_filter,
    events,
    state::{App, begin},
    visibility,
};
use crate::{
    convert::segment::{member_to_proto, segment_to_proto},
    domain::{
        consent::Outgoing,
        names,
        profile::Customer,
        segment::{MEMBERS_PER_BATCH, MemberStream, Segment, SegmentFields, Source},
    },
    store::{
        self, Members,
        segments::{self as segment_store, SEGMENT_FILTER_FIELDS},
    },
};

/// Orders ListSegments accepts.
const LIST: ListSpec = ListSpec {
    filter_fields: SEGMENT_FILTER_FIELDS,
    order_fields: &["create_time", "update_time", "display_name"],
    default_order: OrderBy::desc("create_time"),
    text_order_fields: &["display_name"],
};

/// Creates a segment of `fields` (checked), by the caller; a repeated request id gets its
/// first answer.
pub async fn create(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    fields: SegmentFields,
) -> Result<pb::Segment> {
    let mut w = begin!(app, p, idem);
    let now = app.now();
    let segment = Segment {
        id: Uuid::now_v7(),
        fields,
        creator: p.subject.clone(),
        create_time: now,
        update_time: now,
        delete_time: None,
        version: 1,
    };
    segment_store::insert_segment(w.tx(), &p.tenant_id, &segment).await?;
    let out = segment_to_proto(&segment);
    events::segment_created(&mut w, out.clone());
    w.commit(out).await
}

/// A segment of the caller's tenant, deleted or not; NOT_FOUND otherwise.
pub async fn get(app: &App, p: &Principal, id: Uuid) -> Result<Segment> {
    let mut conn = app.db().pool().acquire().await?;
    segment_store::get_segment(&mut conn, &p.tenant_id, id, None)
        .await?
        .ok_or_else(|| Error::not_found(names::segment_name(id)))
}

/// The list request of ListSegments; a page token is tied to its filter, order and tenant.
pub fn list_query(
    app: &App,
    p: &Principal,
    params: query::ListParams<'_>,
    show_deleted: bool,
) -> Result<ListQuery> {
    let deleted = if show_deleted { "deleted" } else { "live" };
    Ok(ListQuery::parse(
        &LIST,
        params,
        app.db().dialect(),
        2,
        &[&p.tenant_id, "segments", deleted],
    )?)
}

/// A page of segments and the next page's token (empty on the last page).
pub async fn list(
    app: &App,
    p: &Principal,
    q: &ListQuery,
    show_deleted: bool,
) -> Result<(Vec<Segment>, String)> {
    let mut conn = app.db().pool().acquire().await?;
    let mut rows = segment_store::list_segments(&mut conn, &p.tenant_id, q, show_deleted).await?;
    let next = q.next_token(&mut rows, |s| segment_store::segment_cursor(s, &q.order));
    Ok((rows, next))
}

/// Changes the `changed` fields of live segment `id`, as `apply` copies them onto its current
/// fields (they were checked already), unless its etag moved on.
pub async fn update(
    app: &App,
    p: &Principal,
    (id, etag): (Uuid, &str),
    changed: Vec<String>,
    apply: impl FnOnce(&mut SegmentFields),
) -> Result<pb::Segment> {
    let mut w = app.write(p).await?;
    let current = lock_live(app, &mut w, p, id, etag).await?;
    let mut next = current.next_version(app.now());
    apply(&mut next.fields);
    save(&mut w, p, &next, current.version).await?;
    let out = segment_to_proto(&next);
    events::segment_updated(&mut w, out.clone(), changed);
    w.commit(out).await
}

/// Deletes live segment `id`, unless its etag moved on: it is kept, with its delete time.
pub async fn delete(app: &App, p: &Principal, id: Uuid, etag: &str) -> Result<pb::Segment> {
    let mut w = app.write(p).await?;
    let current = lock_live(app, &mut w, p, id, etag).await?;
    let now = app.now();
    let deleted = Segment {
        delete_time: Some(now),
        ..current.next_version(now)
    };
    save(&mut w, p, &deleted, current.version).await?;
    let out = segment_to_proto(&deleted);
    events::segment_deleted(&mut w, out.clone());
    w.commit(out).await
}

/// Segment `id` locked in `w`: NOT_FOUND when the tenant has none, ABORTED when `etag` is
/// given and stale, FAILED_PRECONDITION when it is deleted.
async fn lock_live(
    app: &App,
    w: &mut Write,
    p: &Principal,
    id: Uuid,
    etag: &str,
) -> Result<Segment> {
    let dialect = app.db().dialect();
    let current = segment_store::get_segment(w.tx(), &p.tenant_id, id, Some(dialect))
        .await?
        .ok_or_else(|| Error::not_found(names::segment_name(id)))?;
    rapport_kit::names::check_etag(etag, &current.etag(), &current.resource_name())?;
    require_live(&current)?;
    Ok(current)
}

/// Stores `next` over version `read`; ABORTED when another write changed it since.
async fn save(w: &mut Write, p: &Principal, next: &Segment, read: i64) -> Result<()> {
    if !segment_store::update_segment(w.tx(), &p.tenant_id, next, read).await? {
        return Err(Error::stale_etag(&next.resource_name()));
    }
    Ok(())
}

/// FAILED_PRECONDITION when `s` is deleted.
fn require_live(s: &Segment) -> Result<()> {
    if s.is_deleted() {
        return Err(Error::precondition(
            "SEGMENT_DELETED",
            format!("{} is deleted", s.resource_name()),
        ));
    }
    Ok(())
}

/// The customers `source` keeps for the caller: a live segment's filter, or an ad-hoc one
/// (checked already), over the live customers the caller may see.
async fn members_of(app: &App, p: &Principal, source: &Source) -> Result<Members> {
    let filter = match source {
        Source::Filter(filter) => compile_filter(app, filter)?,
        Source::Segment(id) => {
            let segment = get(app, p, *id).await?;
            require_live(&segment)?;
            // Checked when it was saved; only a filter field since withdrawn fails here.
            compile_filter(app, &segment.fields.filter).map_err(|problems| {
                let why: Vec<String> = problems.into_iter().map(|v| v.description).collect();
                Error::precondition(
                    "SEGMENT_FILTER_INVALID",
                    format!(
                        "the filter of {} no longer reads: {}; update it",
                        segment.resource_name(),
                        why.join("; ")
                    ),
                )
            })?
        }
    };
    Ok(Members {
        filter,
        scope: visibility::scope(p),
    })
}

/// How many members `source` has for the caller, now.
pub async fn count(
    app: &App,
    p: &Principal,
    source: &Source,
) -> Result<pb::CountSegmentMembersResponse> {
    let members = members_of(app, p, source).await?;
    let compute_time = app.now();
    let mut conn = app.db().pool().acquire().await?;
    let count = store::count_members(&mut conn, &p.tenant_id, &members).await?;
    Ok(pb::CountSegmentMembersResponse {
        count,
        compute_time: Some(to_timestamp(compute_time)),
    })
}

/// The members `req` asks for, in customer id order, a batch at a time: the next batches are
/// read while the caller takes one, two at most waiting. A failed read is the last item.
pub async fn stream(
    app: &App,
    p: Principal,
    req: MemberStream,
) -> Result<mpsc::Receiver<Result<pb::SegmentMembersBatch>>> {
    let members = members_of(app, &p, &req.source).await?;
    let (tx, rx) = mpsc::channel(2);
    let app = app.clone();
    tokio::spawn(async move {
        let mut after = req.start_after;
        loop {
            let page = async {
                let mut conn = app.db().pool().acquire().await?;
                store::members_after(&mut conn, &p.tenant_id, &members, after, MEMBERS_PER_BATCH)
                    .await
            }
            .await;
            let rows = match page {
                Ok(rows) => rows,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            let Some(last) = rows.last() else {
                return;
            };
            after = Some(last.id);
            let batch = batch_of(&rows, req.message.as_ref());
            if tx.send(Ok(batch)).await.is_err() || rows.len() < MEMBERS_PER_BATCH as usize {
                return;
            }
        }
    });
    Ok(rx)
}

/// A batch of members, each checked for `message` when there is one, by the rules
/// CheckContactPermission applies.
fn batch_of(rows: &[Customer], message: Option<&Outgoing>) -> pb::SegmentMembersBatch {
    let members: Vec<pb::SegmentMember> = rows
        .iter()
        .map(|c| {
            let decision = message.map(|m| c.profile.contact_decision(m));
            member_to_proto(c, decision.as_ref())
        })
        .collect();
    pb::SegmentMembersBatch {
        next_cursor: members
            .last()
            .map(|m| m.customer.clone())
            .unwrap_or_default(),
        members,
    }
}

/// Reports the problems ListCustomers would find with `filter` on `field`: what a segment's
/// filter and an ad-hoc one are checked with.
pub fn check_filter(app: &App) -> impl Fn(&str, &str, &mut Violations) + '_ {
    move |field, filter, v| super::customers::check_filter(app, field, filter, v)
}

#[cfg(test)]
mod tests {
    use rapport_runtime::{auth::Role, clock::ManualClock};
    use rapport_testkit::{Backend, TestStores, outbox_events};

    use super::*;

    #[tokio::test]
    async fn each_change_of_a_segment_is_an_event_and_a_refused_one_none() {
        for backend in Backend::all() {
            let stores = TestStores::new(backend).await;
            let clock = ManualClock::at(1_714_521_600_000_000);
            let app = App::new(stores.context::<crate::Customers>(&clock).await);
            let marketer = Principal {
                tenant_id: "t1".into(),
                subject: "marketer-1".into(),
                roles: vec![Role::Marketer],
                team_id: None,
            };
            let fields = SegmentFields {
                display_name: "VIP on SMS".into(),
                description: String::new(),
                filter: "value.grade = vip AND consent.sms = opted_in".into(),
            };
            let created = create(&app, marketer.clone(), None, fields)
                .await
                .expect("create");
            let id = names::parse_segment_name(&created.name).expect("a segment name");
            let updated = update(
                &app,
                &marketer,
                (id, &created.etag),
                vec!["display_name".into()],
                |f| f.display_name = "VIPs on SMS".into(),
            )
            .await
            .expect("update");
            let deleted = delete(&app, &marketer, id, &updated.etag)
                .await
                .expect("delete");
            let before = outbox_events(&app.ctx.db).await;
            let again = delete(&app, &marketer, id, "").await;
            assert_eq!(
                again.expect_err("deleted").code(),
                tonic::Code::FailedPrecondition
            );

            let events = outbox_events(&app.ctx.db).await;
            assert_eq!(events.len(), before.len(), "a refused change is no event");
            let kinds: Vec<(&str, &str, &str)> = events
                .iter()
                .map(|e| (e.r#type.as_str(), e.subject.as_str(), e.actor.as_str()))
                .collect();
            assert_eq!(
                kinds,
                [
                    (
                        "rapport.customers.v1.segment.created",
                        created.name.as_str(),
                        "marketer-1"
                    ),
                    (
                        "rapport.customers.v1.segment.updated",
                        created.name.as_str(),
                        "marketer-1"
                    ),
                    (
                        "rapport.customers.v1.segment.deleted",
                        created.name.as_str(),
                        "marketer-1"
                    ),
                ]
            );
            let payload = |i: usize| events[i].data.clone().expect("a payload");
            let changed: pb::SegmentUpdated = payload(1).to_msg().expect("SegmentUpdated");
            assert_eq!(changed.segment, Some(updated));
            assert_eq!(changed.changed_fields, ["display_name"]);
            let gone: pb::SegmentDeleted = payload(2).to_msg().expect("SegmentDeleted");
            assert_eq!(gone.segment, Some(deleted));
        }
    }
}
