//! The timeline: CreateActivity and ListActivities.

use rapport_proto::customers as pb;
use rapport_runtime::{Result, storage::Idempotency};
use tonic::Request;

use super::{
    paging,
    support::{READERS, WRITERS, authorize},
};
use crate::{
    app::{App, timeline},
    convert::activity::{activity_to_proto, parse_create_activity, parse_list_activities},
};

pub(super) async fn create(
    app: &App,
    req: Request<pb::CreateActivityRequest>,
) -> Result<pb::Activity> {
    let p = authorize(&req, WRITERS)?;
    let msg = req.get_ref();
    let now = app.now();
    let (customer_id, new) = parse_create_activity(msg, now)?;
    let idem = Idempotency::new(&p, "CreateActivity", &msg.request_id, msg)?;
    timeline::create(app, p, idem, customer_id, new, now).await
}

pub(super) async fn list(
    app: &App,
    req: Request<pb::ListActivitiesRequest>,
) -> Result<pb::ListActivitiesResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let (customer_id, page) = paging::parse(&p, msg, parse_list_activities(msg))?;
    let (rows, next_page_token) = timeline::list(app, &p, customer_id, page).await?;
    Ok(pb::ListActivitiesResponse {
        activities: rows.iter().map(activity_to_proto).collect(),
        next_page_token,
    })
}
