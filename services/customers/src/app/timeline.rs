//! The timeline: activities with their next follow-up.

use rapport_kit::query::Page;
use rapport_proto::customers as pb;
use rapport_runtime::{Result, auth::Principal, clock::Micros, storage::Idempotency};
use uuid::Uuid;

use super::{
    paging,
    state::{App, begin, require_live},
};
use crate::{
    convert::activity::activity_to_proto,
    domain::activity::{Activity, NewActivity},
    store,
};

/// Records `new` on a live customer the caller may see, by the caller, at `now`.
pub async fn create(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    customer_id: Uuid,
    new: NewActivity,
    now: Micros,
) -> Result<pb::Activity> {
    let mut w = begin!(app, p, idem);
    let customer = app.lock_visible(w.tx(), &p, customer_id).await?;
    require_live(&customer)?;
    let activity = new.into_activity(Uuid::now_v7(), customer_id, p.subject.clone(), now);
    store::insert_activity(w.tx(), &p.tenant_id, &activity).await?;
    // Segments filter on the newest activity; the customer's row is locked already.
    w.defer(store::note_activity(
        &p.tenant_id,
        customer_id,
        activity.occur_time,
    ))
    .await?;
    let out = activity_to_proto(&activity);
    let event = pb::ActivityAdded {
        customer: customer.resource_name(),
        activity: Some(out.clone()),
    };
    w.emit("activity.added", out.name.clone(), &event);
    w.commit(out).await
}

/// A page of a customer's timeline, newest first.
pub async fn list(
    app: &App,
    p: &Principal,
    customer_id: Uuid,
    page: Page,
) -> Result<(Vec<Activity>, String)> {
    paging::page_of(app, p, customer_id, page, store::list_activities, |a| {
        (a.occur_time, a.id)
    })
    .await
}
