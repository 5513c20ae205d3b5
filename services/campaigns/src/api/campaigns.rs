//! CampaignService: campaigns, their lifecycle and costs (members in `members.rs`, the
//! settings in `settings.rs`).

use rapport_kit::{Reply, mask, reply, validate};
use rapport_proto::campaigns::{self as pb, campaign_service_server::CampaignService};
use rapport_runtime::{
    Error, Result, auth::Role, error::both, storage::Idempotency, validation::Violations,
};
use tonic::Request;

use super::{
    members, settings,
    support::{APPROVERS, CAMPAIGNERS, STAFF, authorize, page},
};
use crate::{
    app::{App, campaigns},
    convert::campaign::{
        CAMPAIGN_MASK, PLAN_FIELDS, apply_campaign, campaign_state, campaign_to_proto,
        campaign_type, parse_campaign, parse_cost,
    },
    domain::campaign::{CAMPAIGNS, MAX_REASON, Step},
    store::campaigns::Filter,
};

#[tonic::async_trait]
impl CampaignService for App {
    async fn create_campaign(
        &self,
        req: Request<pb::CreateCampaignRequest>,
    ) -> Reply<pb::Campaign> {
        reply(create(self, req).await)
    }

    async fn get_campaign(&self, req: Request<pb::GetCampaignRequest>) -> Reply<pb::Campaign> {
        reply(get(self, req).await)
    }

    async fn list_campaigns(
        &self,
        req: Request<pb::ListCampaignsRequest>,
    ) -> Reply<pb::ListCampaignsResponse> {
        reply(list(self, req).await)
    }

    async fn update_campaign(
        &self,
        req: Request<pb::UpdateCampaignRequest>,
    ) -> Reply<pb::Campaign> {
        reply(update(self, req).await)
    }

    async fn submit_campaign(
        &self,
        req: Request<pb::SubmitCampaignRequest>,
    ) -> Reply<pb::Campaign> {
        reply(take(self, req).await)
    }

    async fn approve_campaign(
        &self,
        req: Request<pb::ApproveCampaignRequest>,
    ) -> Reply<pb::Campaign> {
        reply(take(self, req).await)
    }

    async fn reject_campaign(
        &self,
        req: Request<pb::RejectCampaignRequest>,
    ) -> Reply<pb::Campaign> {
        reply(take(self, req).await)
    }

    async fn start_campaign(&self, req: Request<pb::StartCampaignRequest>) -> Reply<pb::Campaign> {
        reply(take(self, req).await)
    }

    async fn complete_campaign(
        &self,
        req: Request<pb::CompleteCampaignRequest>,
    ) -> Reply<pb::Campaign> {
        reply(take(self, req).await)
    }

    async fn cancel_campaign(
        &self,
        req: Request<pb::CancelCampaignRequest>,
    ) -> Reply<pb::Campaign> {
        reply(take(self, req).await)
    }

    async fn record_campaign_cost(
        &self,
        req: Request<pb::RecordCampaignCostRequest>,
    ) -> Reply<pb::RecordCampaignCostResponse> {
        reply(record_cost(self, req).await)
    }

    async fn invite_campaign_members(
        &self,
        req: Request<pb::InviteCampaignMembersRequest>,
    ) -> Reply<pb::InviteCampaignMembersResponse> {
        reply(members::invite(self, req).await)
    }

    async fn record_campaign_response(
        &self,
        req: Request<pb::RecordCampaignResponseRequest>,
    ) -> Reply<pb::CampaignMember> {
        reply(members::respond(self, req).await)
    }

    async fn record_campaign_attendance(
        &self,
        req: Request<pb::RecordCampaignAttendanceRequest>,
    ) -> Reply<pb::CampaignMember> {
        reply(members::attend(self, req).await)
    }

    async fn list_campaign_members(
        &self,
        req: Request<pb::ListCampaignMembersRequest>,
    ) -> Reply<pb::ListCampaignMembersResponse> {
        reply(members::list(self, req).await)
    }

    async fn get_campaign_settings(
        &self,
        req: Request<pb::GetCampaignSettingsRequest>,
    ) -> Reply<pb::CampaignSettings> {
        reply(settings::get(self, req).await)
    }

    async fn update_campaign_settings(
        &self,
        req: Request<pb::UpdateCampaignSettingsRequest>,
    ) -> Reply<pb::CampaignSettings> {
        reply(settings::update(self, req).await)
    }
}

async fn create(app: &App, req: Request<pb::CreateCampaignRequest>) -> Result<pb::Campaign> {
    let p = authorize(&req, CAMPAIGNERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let campaign = parse_campaign(msg.campaign.as_ref(), &mut v);
    let (idem, campaign) = both(
        Idempotency::new(&p, "CreateCampaign", &msg.request_id, msg),
        v.finish(campaign).map_err(Error::from),
    )?;
    campaigns::create(app, p, idem, campaign).await
}

async fn get(app: &App, req: Request<pb::GetCampaignRequest>) -> Result<pb::Campaign> {
    let p = authorize(&req, STAFF)?;
    let mut v = Violations::new();
    let id = validate::id_in(CAMPAIGNS, &req.get_ref().name, "name", &mut v);
    let id = v.finish(id)?.unwrap_or_default();
    Ok(campaign_to_proto(&campaigns::get(app, &p, id).await?))
}

async fn list(
    app: &App,
    req: Request<pb::ListCampaignsRequest>,
) -> Result<pb::ListCampaignsResponse> {
    let p = authorize(&req, STAFF)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let state =
        validate::optional_enum(&mut v, "state", msg.state, campaign_state, "CampaignState");
    let kind = validate::optional_enum(&mut v, "type", msg.r#type, campaign_type, "CampaignType");
    let owner_id = validate::id(&mut v, "owner_id", msg.owner_id.trim());
    let filter = v.finish(Filter {
        state,
        kind,
        owner_id,
    });
    let (state_key, type_key) = (msg.state.to_string(), msg.r#type.to_string());
    let (filter, page) = both(
        filter.map_err(Error::from),
        page(
            &p,
            &[CAMPAIGNS, &state_key, &type_key, msg.owner_id.trim()],
            msg.page_size,
            &msg.page_token,
        ),
    )?;
    let (rows, next_page_token) = campaigns::list(app, &p, &filter, &page).await?;
    Ok(pb::ListCampaignsResponse {
        campaigns: rows.iter().map(campaign_to_proto).collect(),
        next_page_token,
    })
}

async fn update(app: &App, req: Request<pb::UpdateCampaignRequest>) -> Result<pb::Campaign> {
    let p = authorize(&req, CAMPAIGNERS)?;
    let msg = req.into_inner();
    let idem = Idempotency::new(&p, "UpdateCampaign", &msg.request_id, &msg);
    let Some(given) = msg.campaign else {
        return Err(Error::invalid("campaign", "is required"));
    };
    let mut v = Violations::new();
    let selected = mask::select(&CAMPAIGN_MASK, &mask::paths(msg.update_mask), &mut v);
    let fields = mask::fields(&CAMPAIGN_MASK, &selected);
    let id = validate::id_in(CAMPAIGNS, &given.name, "campaign.name", &mut v);
    // Every bad value is named before anything is read; the values are applied in the write.
    let mut probe = parse_campaign(None, &mut Violations::new());
    apply_campaign(&given, &fields, &mut probe, &mut v);
    let (idem, id) = both(idem, v.finish(id).map_err(Error::from))?;
    let plan = fields.iter().any(|f| PLAN_FIELDS.contains(f));
    let key = (id.unwrap_or_default(), given.etag.as_str());
    campaigns::update(app, p, idem, key, plan, |c| {
        apply_campaign(&given, &fields, c, &mut Violations::new())
    })
    .await
}

/// What a request that takes a campaign one step through its lifecycle gives.
struct Parts<'a> {
    name: &'a str,
    etag: &'a str,
    request_id: &'a str,
    /// The reason, for the steps that need one.
    reason: Option<&'a str>,
}

/// A request that takes a campaign one step through its lifecycle.
trait StepRequest: prost::Message {
    /// The method, which request ids are kept under.
    const METHOD: &'static str;
    const STEP: Step;
    /// Who may take the step.
    const ROLES: &'static [Role];
    fn parts(&self) -> Parts<'_>;
}

macro_rules! step_request {
    ($msg:ty, $method:literal, $step:ident, $roles:ident $(, $reason:ident)?) => {
        impl StepRequest for $msg {
            const METHOD: &'static str = $method;
            const STEP: Step = Step::$step;
            const ROLES: &'static [Role] = $roles;
            fn parts(&self) -> Parts<'_> {
                Parts {
                    name: &self.name,
                    etag: &self.etag,
                    request_id: &self.request_id,
                    reason: None $(.or(Some(self.$reason.as_str())))?,
                }
            }
        }
    };
}

step_request!(
    pb::SubmitCampaignRequest,
    "SubmitCampaign",
    Submit,
    CAMPAIGNERS
);
step_request!(
    pb::ApproveCampaignRequest,
    "ApproveCampaign",
    Approve,
    APPROVERS
);
step_request!(
    pb::RejectCampaignRequest,
    "RejectCampaign",
    Reject,
    APPROVERS,
    reason
);
step_request!(
    pb::StartCampaignRequest,
    "StartCampaign",
    Start,
    CAMPAIGNERS
);
step_request!(
    pb::CompleteCampaignRequest,
    "CompleteCampaign",
    Complete,
    CAMPAIGNERS
);
step_request!(
    pb::CancelCampaignRequest,
    "CancelCampaign",
    Cancel,
    CAMPAIGNERS,
    reason
);

/// Takes the step `req` asks for on its campaign, checking its etag.
async fn take<M: StepRequest>(app: &App, req: Request<M>) -> Result<pb::Campaign> {
    let p = authorize(&req, M::ROLES)?;
    let msg = req.get_ref();
    let parts = msg.parts();
    let mut v = Violations::new();
    let id = validate::id_in(CAMPAIGNS, parts.name, "name", &mut v);
    let reason = parts
        .reason
        .map(|r| validate::required_text(&mut v, "reason", r, MAX_REASON))
        .unwrap_or_default();
    let (idem, id) = both(
        Idempotency::new(&p, M::METHOD, parts.request_id, msg),
        v.finish(id).map_err(Error::from),
    )?;
    let key = (id.unwrap_or_default(), parts.etag);
    campaigns::take(app, p, idem, key, M::STEP, &reason).await
}

async fn record_cost(
    app: &App,
    req: Request<pb::RecordCampaignCostRequest>,
) -> Result<pb::RecordCampaignCostResponse> {
    let p = authorize(&req, CAMPAIGNERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let id = validate::id_in(CAMPAIGNS, &msg.parent, "parent", &mut v);
    let cost = parse_cost(msg.cost.as_ref(), &mut v);
    let (idem, (id, cost)) = both(
        Idempotency::new(&p, "RecordCampaignCost", &msg.request_id, msg),
        v.finish((id, cost)).map_err(Error::from),
    )?;
    let (Some(id), Some(cost)) = (id, cost) else {
        return Err(Error::invalid("cost", "is required"));
    };
    campaigns::record_cost(app, p, idem, id, cost).await
}
