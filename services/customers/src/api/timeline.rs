//! The timeline: activities with their next follow-up.

use rapport_proto::customers as pb;
use rapport_runtime::Result;
use tonic::Request;
use uuid::Uuid;

use super::{
    convert::activity::{activity_to_proto, parse_create_activity, parse_list_activities},
    paging::list_page,
    support::{self, CustomersApi, WRITERS, caller, require_live},
};
use crate::store;

pub(super) async fn create(
    api: &CustomersApi,
    req: Request<pb::CreateActivityRequest>,
) -> Result<pb::Activity> {
    let p = caller(&req, WRITERS)?;
    let now = api.now();
    let (customer_id, new) = parse_create_activity(req.get_ref(), now)?;
    let idem = support::idempotency(&p, "CreateActivity", &req.get_ref().request_id)?;
    let mut tx = api.db().begin().await?;
    if let Some(done) = api.replay(&mut tx, &idem).await? {
        return Ok(done);
    }
    let customer = api.lock_visible(&mut tx, &p, customer_id).await?;
    require_live(&customer)?;
    let activity = new.into_activity(Uuid::now_v7(), customer_id, p.subject.clone(), now);
    store::insert_activity(&mut tx, &p.tenant_id, &activity).await?;
    let out = activity_to_proto(&activity);
    let event = pb::ActivityAdded {
        customer: customer.resource_name(),
        activity: Some(out.clone()),
    };
    api.emit(
        &mut tx,
        &p,
        "activity.added",
        out.name.clone(),
        "ActivityAdded",
        &event,
    )
    .await?;
    api.finish(tx, &p, &idem, out, &[]).await
}

pub(super) async fn list(
    api: &CustomersApi,
    req: Request<pb::ListActivitiesRequest>,
) -> Result<pb::ListActivitiesResponse> {
    let msg = req.get_ref();
    let parent = (parse_list_activities(msg), msg.parent.as_str());
    let (rows, next_page_token) = list_page(
        api,
        &req,
        parent,
        msg.page_size,
        &msg.page_token,
        store::list_activities,
        |a| (a.occur_time, a.id),
    )
    .await?;
    Ok(pb::ListActivitiesResponse {
        activities: rows.iter().map(activity_to_proto).collect(),
        next_page_token,
    })
}
