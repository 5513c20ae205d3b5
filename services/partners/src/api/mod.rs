//! The gRPC adapters: each handler authorizes, parses through `convert/`, runs its use case in
//! `app/` and converts the answer. Nothing else imports this module.

mod analytics;
mod commissions;
mod keys;
mod partners;
mod peers;
mod registrations;
mod support;
mod tiers;
mod webhooks;

use rapport_kit::{Reply, reply};
use rapport_proto::partners::{
    self as pb, commission_service_server::CommissionService, key_service_server::KeyService,
    partner_analytics_service_server::PartnerAnalyticsService,
    partner_service_server::PartnerService, registration_service_server::RegistrationService,
    tier_service_server::TierService,
};
use tonic::Request;

use crate::app::App;

#[tonic::async_trait]
impl PartnerService for App {
    async fn create_partner(&self, req: Request<pb::CreatePartnerRequest>) -> Reply<pb::Partner> {
        reply(partners::create(self, req).await)
    }

    async fn get_partner(&self, req: Request<pb::GetPartnerRequest>) -> Reply<pb::Partner> {
        reply(partners::get(self, req).await)
    }

    async fn list_partners(
        &self,
        req: Request<pb::ListPartnersRequest>,
    ) -> Reply<pb::ListPartnersResponse> {
        reply(partners::list(self, req).await)
    }

    async fn update_partner(&self, req: Request<pb::UpdatePartnerRequest>) -> Reply<pb::Partner> {
        reply(partners::update(self, req).await)
    }

    async fn change_partner_state(
        &self,
        req: Request<pb::ChangePartnerStateRequest>,
    ) -> Reply<pb::Partner> {
        reply(partners::change_state(self, req).await)
    }

    async fn complete_onboarding_item(
        &self,
        req: Request<pb::CompleteOnboardingItemRequest>,
    ) -> Reply<pb::Partner> {
        reply(partners::complete_item(self, req).await)
    }

    async fn list_attributions(
        &self,
        req: Request<pb::ListAttributionsRequest>,
    ) -> Reply<pb::ListAttributionsResponse> {
        reply(partners::attributions(self, req).await)
    }

    async fn get_partner_settings(
        &self,
        req: Request<pb::GetPartnerSettingsRequest>,
    ) -> Reply<pb::PartnerSettings> {
        reply(partners::get_settings(self, req).await)
    }

    async fn update_partner_settings(
        &self,
        req: Request<pb::UpdatePartnerSettingsRequest>,
    ) -> Reply<pb::PartnerSettings> {
        reply(partners::update_settings(self, req).await)
    }
}

#[tonic::async_trait]
impl TierService for App {
    async fn create_tier(&self, req: Request<pb::CreateTierRequest>) -> Reply<pb::Tier> {
        reply(tiers::create(self, req).await)
    }

    async fn get_tier(&self, req: Request<pb::GetTierRequest>) -> Reply<pb::Tier> {
        reply(tiers::get(self, req).await)
    }

    async fn list_tiers(&self, req: Request<pb::ListTiersRequest>) -> Reply<pb::ListTiersResponse> {
        reply(tiers::list(self, req).await)
    }

    async fn update_tier(&self, req: Request<pb::UpdateTierRequest>) -> Reply<pb::Tier> {
        reply(tiers::update(self, req).await)
    }

    async fn evaluate_partner_tier(
        &self,
        req: Request<pb::EvaluatePartnerTierRequest>,
    ) -> Reply<pb::Partner> {
        reply(tiers::evaluate(self, req).await)
    }

    async fn list_tier_changes(
        &self,
        req: Request<pb::ListTierChangesRequest>,
    ) -> Reply<pb::ListTierChangesResponse> {
        reply(tiers::changes(self, req).await)
    }
}

#[tonic::async_trait]
impl RegistrationService for App {
    async fn create_registration(
        &self,
        req: Request<pb::CreateRegistrationRequest>,
    ) -> Reply<pb::Registration> {
        reply(registrations::create(self, req).await)
    }

    async fn get_registration(
        &self,
        req: Request<pb::GetRegistrationRequest>,
    ) -> Reply<pb::Registration> {
        reply(registrations::get(self, req).await)
    }

    async fn list_registrations(
        &self,
        req: Request<pb::ListRegistrationsRequest>,
    ) -> Reply<pb::ListRegistrationsResponse> {
        reply(registrations::list(self, req).await)
    }

    async fn check_registration_conflicts(
        &self,
        req: Request<pb::CheckRegistrationConflictsRequest>,
    ) -> Reply<pb::Registration> {
        reply(registrations::check_conflicts(self, req).await)
    }

    async fn approve_registration(
        &self,
        req: Request<pb::ApproveRegistrationRequest>,
    ) -> Reply<pb::Registration> {
        reply(registrations::approve(self, req).await)
    }

    async fn reject_registration(
        &self,
        req: Request<pb::RejectRegistrationRequest>,
    ) -> Reply<pb::Registration> {
        reply(registrations::reject(self, req).await)
    }
}

#[tonic::async_trait]
impl CommissionService for App {
    async fn list_commission_lines(
        &self,
        req: Request<pb::ListCommissionLinesRequest>,
    ) -> Reply<pb::ListCommissionLinesResponse> {
        reply(commissions::lines(self, req).await)
    }

    async fn create_commission_adjustment(
        &self,
        req: Request<pb::CreateCommissionAdjustmentRequest>,
    ) -> Reply<pb::CommissionLine> {
        reply(commissions::adjust(self, req).await)
    }

    async fn get_statement(&self, req: Request<pb::GetStatementRequest>) -> Reply<pb::Statement> {
        reply(commissions::get_statement(self, req).await)
    }

    async fn list_statements(
        &self,
        req: Request<pb::ListStatementsRequest>,
    ) -> Reply<pb::ListStatementsResponse> {
        reply(commissions::list_statements(self, req).await)
    }

    async fn approve_statement(
        &self,
        req: Request<pb::ApproveStatementRequest>,
    ) -> Reply<pb::Statement> {
        reply(commissions::approve(self, req).await)
    }

    async fn pay_statement(&self, req: Request<pb::PayStatementRequest>) -> Reply<pb::Statement> {
        reply(commissions::pay(self, req).await)
    }

    async fn export_statement(
        &self,
        req: Request<pb::ExportStatementRequest>,
    ) -> Reply<pb::ExportStatementResponse> {
        reply(commissions::export(self, req).await)
    }
}

#[tonic::async_trait]
impl PartnerAnalyticsService for App {
    async fn get_partner_report(
        &self,
        req: Request<pb::GetPartnerReportRequest>,
    ) -> Reply<pb::PartnerReport> {
        reply(analytics::report(self, req).await)
    }
}

#[tonic::async_trait]
impl KeyService for App {
    async fn create_api_key(
        &self,
        req: Request<pb::CreateApiKeyRequest>,
    ) -> Reply<pb::CreateApiKeyResponse> {
        reply(keys::create(self, req).await)
    }

    async fn get_api_key(&self, req: Request<pb::GetApiKeyRequest>) -> Reply<pb::ApiKey> {
        reply(keys::get(self, req).await)
    }

    async fn list_api_keys(
        &self,
        req: Request<pb::ListApiKeysRequest>,
    ) -> Reply<pb::ListApiKeysResponse> {
        reply(keys::list(self, req).await)
    }

    async fn rotate_api_key(
        &self,
        req: Request<pb::RotateApiKeyRequest>,
    ) -> Reply<pb::RotateApiKeyResponse> {
        reply(keys::rotate(self, req).await)
    }

    async fn revoke_api_key(&self, req: Request<pb::RevokeApiKeyRequest>) -> Reply<pb::ApiKey> {
        reply(keys::revoke(self, req).await)
    }
}
