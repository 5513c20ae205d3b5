//! The timeline: activities with their next follow-up.

use rapport_proto::customers as pb;
use rapport_runtime::Result;
use rapport_runtime::storage::Idempotency;
use tonic::Request;
use uuid::Uuid;

use super::{
    convert::activity::{activity_to_proto, parse_create_activity, parse_list_activities},
    paging::list_page,
    support::begin,
    support::{CustomersApi, WRITERS, authorize, require_live},
};
use crate::store;

pub(super) async fn create(
    api: &CustomersApi,
    req: Request<pb::CreateActivityRequest>,
) -> Result<pb::Activity> {
    let p = authorize(&req, WRITERS)?;
    let now = api.now();
    let (customer_id, new) = parse_create_activity(req.get_ref(), now)?;
    let idem = Idempotency::new(
        &p,
        "CreateActivity",
        &req.get_ref().request_id,
        req.get_ref(),
    )?;
    let mut w = begin!(api, p, idem);
    let customer = api.lock_visible(w.tx(), &p, customer_id).await?;
    require_live(&customer)?;
    let activity = new.into_activity(Uuid::now_v7(), customer_id, p.subject.clone(), now);
    store::insert_activity(w.tx(), &p.tenant_id, &activity).await?;
    let out = activity_to_proto(&activity);
    let event = pb::ActivityAdded {
        customer: customer.resource_name(),
        activity: Some(out.clone()),
    };
    w.emit("activity.added", out.name.clone(), &event);
    w.commit(out).await
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
