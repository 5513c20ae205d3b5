//! CampaignService's members: invitations, answers, attendance and the list.

use rapport_kit::{names, peer, validate};
use rapport_proto::campaigns as pb;
use rapport_runtime::{Error, Result, error::both, storage::Idempotency, validation::Violations};
use tonic::Request;
use uuid::Uuid;

use super::support::{CAMPAIGNERS, STAFF, authorize, page};
use crate::{
    app::{App, members},
    convert::campaign::{member_response, member_state, member_to_proto},
    domain::{
        campaign::CAMPAIGNS,
        member::{MAX_INVITES, MEMBERS},
    },
};

/// The (campaign, customer) ids of a "campaigns/{campaign}/members/{customer}" name.
fn member_key(v: &mut Violations, name: &str) -> (Uuid, Uuid) {
    let pattern = "campaigns/{campaign}/members/{customer}";
    names::parse_child_id(CAMPAIGNS, MEMBERS, name, pattern)
        .map_err(|e| v.add("name", e))
        .unwrap_or_default()
}

pub(super) async fn invite(
    app: &App,
    req: Request<pb::InviteCampaignMembersRequest>,
) -> Result<pb::InviteCampaignMembersResponse> {
    let p = authorize(&req, CAMPAIGNERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let id = validate::id_in(CAMPAIGNS, &msg.parent, "parent", &mut v);
    if msg.customers.is_empty() {
        v.add("customers", "is required: the customers to invite");
    }
    let named = validate::capped(&mut v, "customers", &msg.customers, MAX_INVITES);
    let customers: Vec<Uuid> = named
        .iter()
        .enumerate()
        .filter_map(|(i, c)| validate::id_in("customers", c, &format!("customers[{i}]"), &mut v))
        .collect();
    let (idem, id) = both(
        Idempotency::new(&p, "InviteCampaignMembers", &msg.request_id, msg),
        v.finish(id).map_err(Error::from),
    )?;
    let id = id.unwrap_or_default();
    // The campaign first, so no customer is looked up for a campaign that takes none.
    members::check_open(app, &p, id).await?;
    peer::live_customers(&app.ctx.peers, &req, &customers, "customers").await?;
    let mut unique: Vec<Uuid> = Vec::with_capacity(customers.len());
    for c in customers {
        if !unique.contains(&c) {
            unique.push(c);
        }
    }
    members::invite(app, p, idem, id, unique).await
}

pub(super) async fn respond(
    app: &App,
    req: Request<pb::RecordCampaignResponseRequest>,
) -> Result<pb::CampaignMember> {
    let p = authorize(&req, CAMPAIGNERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let key = member_key(&mut v, &msg.name);
    let response = validate::required_enum(
        &mut v,
        "response",
        msg.response,
        member_response,
        "MemberResponse",
    );
    let (idem, response) = both(
        Idempotency::new(&p, "RecordCampaignResponse", &msg.request_id, msg),
        v.finish(response).map_err(Error::from),
    )?;
    let response = response.ok_or_else(|| Error::invalid("response", "is required"))?;
    members::respond(app, p, idem, key, response).await
}

pub(super) async fn attend(
    app: &App,
    req: Request<pb::RecordCampaignAttendanceRequest>,
) -> Result<pb::CampaignMember> {
    let p = authorize(&req, CAMPAIGNERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let key = member_key(&mut v, &msg.name);
    let (idem, key) = both(
        Idempotency::new(&p, "RecordCampaignAttendance", &msg.request_id, msg),
        v.finish(key).map_err(Error::from),
    )?;
    members::attend(app, p, idem, key).await
}

pub(super) async fn list(
    app: &App,
    req: Request<pb::ListCampaignMembersRequest>,
) -> Result<pb::ListCampaignMembersResponse> {
    let p = authorize(&req, STAFF)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let id = validate::id_in(CAMPAIGNS, &msg.parent, "parent", &mut v);
    let standing = validate::optional_enum(&mut v, "state", msg.state, member_state, "MemberState");
    let state_key = msg.state.to_string();
    let ((id, standing), page) = both(
        v.finish((id, standing)).map_err(Error::from),
        page(
            &p,
            &[MEMBERS, msg.parent.trim(), &state_key],
            msg.page_size,
            &msg.page_token,
        ),
    )?;
    let (rows, next_page_token) =
        members::list(app, &p, id.unwrap_or_default(), standing, &page).await?;
    Ok(pb::ListCampaignMembersResponse {
        members: rows.iter().map(member_to_proto).collect(),
        next_page_token,
    })
}
