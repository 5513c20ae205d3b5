//! The gRPC adapters: each handler authorizes, parses through `convert/`, runs its use case in
//! `app/` and converts the answer. Nothing else imports this module. `campaigns.rs` serves
//! CampaignService (its members and settings handled in their own files), `coupons.rs`
//! CouponService.

mod campaigns;
mod coupons;
mod inbox;
mod members;
mod settings;
mod strategies;
mod support;

use rapport_kit::{Reply, reply};
use rapport_proto::campaigns::{self as pb, strategy_service_server::StrategyService};
use tonic::Request;

use crate::app::App;

#[tonic::async_trait]
impl StrategyService for App {
    async fn create_strategy(
        &self,
        req: Request<pb::CreateStrategyRequest>,
    ) -> Reply<pb::Strategy> {
        reply(strategies::create(self, req).await)
    }

    async fn get_strategy(&self, req: Request<pb::GetStrategyRequest>) -> Reply<pb::Strategy> {
        reply(strategies::get(self, req).await)
    }

    async fn list_strategies(
        &self,
        req: Request<pb::ListStrategiesRequest>,
    ) -> Reply<pb::ListStrategiesResponse> {
        reply(strategies::list(self, req).await)
    }

    async fn update_strategy(
        &self,
        req: Request<pb::UpdateStrategyRequest>,
    ) -> Reply<pb::Strategy> {
        reply(strategies::update(self, req).await)
    }

    async fn change_strategy_state(
        &self,
        req: Request<pb::ChangeStrategyStateRequest>,
    ) -> Reply<pb::Strategy> {
        reply(strategies::change_state(self, req).await)
    }

    async fn run_strategy(&self, req: Request<pb::RunStrategyRequest>) -> Reply<pb::StrategyRun> {
        reply(strategies::run(self, req).await)
    }

    async fn get_strategy_run(
        &self,
        req: Request<pb::GetStrategyRunRequest>,
    ) -> Reply<pb::StrategyRun> {
        reply(strategies::get_run(self, req).await)
    }

    async fn list_strategy_runs(
        &self,
        req: Request<pb::ListStrategyRunsRequest>,
    ) -> Reply<pb::ListStrategyRunsResponse> {
        reply(strategies::list_runs(self, req).await)
    }

    async fn get_strategy_report(
        &self,
        req: Request<pb::GetStrategyReportRequest>,
    ) -> Reply<pb::StrategyReport> {
        reply(strategies::report(self, req).await)
    }

    async fn compare_plans(
        &self,
        req: Request<pb::ComparePlansRequest>,
    ) -> Reply<pb::ComparePlansResponse> {
        reply(strategies::compare_plans(self, req).await)
    }

    async fn create_plan(&self, req: Request<pb::CreatePlanRequest>) -> Reply<pb::Plan> {
        reply(strategies::create_plan(self, req).await)
    }

    async fn get_plan(&self, req: Request<pb::GetPlanRequest>) -> Reply<pb::Plan> {
        reply(strategies::get_plan(self, req).await)
    }

    async fn list_plans(&self, req: Request<pb::ListPlansRequest>) -> Reply<pb::ListPlansResponse> {
        reply(strategies::list_plans(self, req).await)
    }
}
