//! The gRPC adapters: each handler authorizes, parses through `convert/`, runs its use case in
//! `app/` and converts the answer. Nothing else imports this module.

mod inbox;
mod settings;
mod support;

use rapport_kit::{Reply, reply};
use rapport_proto::campaigns::{self as pb, campaign_service_server::CampaignService};
use tonic::Request;

use crate::app::App;

#[tonic::async_trait]
impl CampaignService for App {
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
