//! LeadService: the trait impl, one line per method; the work is in the modules beside it.

use rapport_kit::{Reply, reply};
use rapport_proto::leads::{self as pb, lead_service_server::LeadService};
use tonic::Request;

use super::{convert_lead, lead_crud, lead_settings, pools};
use crate::app::App;

#[tonic::async_trait]
impl LeadService for App {
    async fn create_lead(&self, req: Request<pb::CreateLeadRequest>) -> Reply<pb::Lead> {
        reply(lead_crud::create(self, req).await)
    }
    async fn get_lead(&self, req: Request<pb::GetLeadRequest>) -> Reply<pb::Lead> {
        reply(lead_crud::get(self, req).await)
    }
    async fn list_leads(&self, req: Request<pb::ListLeadsRequest>) -> Reply<pb::ListLeadsResponse> {
        reply(lead_crud::list(self, req).await)
    }
    async fn update_lead(&self, req: Request<pb::UpdateLeadRequest>) -> Reply<pb::Lead> {
        reply(lead_crud::update(self, req).await)
    }
    async fn delete_lead(&self, req: Request<pb::DeleteLeadRequest>) -> Reply<pb::Lead> {
        reply(lead_crud::delete(self, req).await)
    }
    async fn undelete_lead(&self, req: Request<pb::UndeleteLeadRequest>) -> Reply<pb::Lead> {
        reply(lead_crud::undelete(self, req).await)
    }
    async fn claim_lead(&self, req: Request<pb::ClaimLeadRequest>) -> Reply<pb::Lead> {
        reply(pools::claim(self, req).await)
    }
    async fn release_lead(&self, req: Request<pb::ReleaseLeadRequest>) -> Reply<pb::Lead> {
        reply(pools::release(self, req).await)
    }
    async fn set_lead_lock(&self, req: Request<pb::SetLeadLockRequest>) -> Reply<pb::Lead> {
        reply(pools::set_lock(self, req).await)
    }
    async fn assign_lead(
        &self,
        req: Request<pb::AssignLeadRequest>,
    ) -> Reply<pb::AssignLeadResponse> {
        reply(pools::assign(self, req).await)
    }
    async fn list_assignments(
        &self,
        req: Request<pb::ListAssignmentsRequest>,
    ) -> Reply<pb::ListAssignmentsResponse> {
        reply(pools::list_assignments(self, req).await)
    }
    async fn hand_over_rep_leads(
        &self,
        req: Request<pb::HandOverRepLeadsRequest>,
    ) -> Reply<pb::HandOverRepLeadsResponse> {
        reply(super::handover::hand_over(self, req).await)
    }
    async fn record_follow_up(&self, req: Request<pb::RecordFollowUpRequest>) -> Reply<pb::Lead> {
        reply(lead_crud::record_follow_up(self, req).await)
    }
    async fn record_lead_behavior(
        &self,
        req: Request<pb::RecordLeadBehaviorRequest>,
    ) -> Reply<pb::Lead> {
        reply(lead_crud::record_behavior(self, req).await)
    }
    async fn convert_lead(
        &self,
        req: Request<pb::ConvertLeadRequest>,
    ) -> Reply<pb::ConvertLeadResponse> {
        reply(convert_lead::convert(self, req).await)
    }
    async fn get_lead_settings(
        &self,
        req: Request<pb::GetLeadSettingsRequest>,
    ) -> Reply<pb::LeadSettings> {
        reply(lead_settings::get(self, req).await)
    }
    async fn update_lead_settings(
        &self,
        req: Request<pb::UpdateLeadSettingsRequest>,
    ) -> Reply<pb::LeadSettings> {
        reply(lead_settings::update(self, req).await)
    }
}
