// The default limit of 128 is too low for the type of the settings write the handlers await
// (the kit's generic async writes nest deeply); rustc asks for 256.
#![recursion_limit = "256"]
//! The campaigns service (capabilities CA1–CA7 and X6 of `docs/capabilities.md`): campaigns
//! with their approval, costs and invited members; coupons issued by campaigns, redeemed for
//! orders (released again when an order is cancelled) and expired by a sweep; strategies and
//! plans whose runs read their audience from the customers service, hold out a random control
//! group and send on real channels within caps, quiet hours and budgets, with the orders they
//! bring measured against the hold-out; the staff inbox; and the tenant's settings for
//! attribution, frequency caps, resting and sending pace.

pub mod api;
mod app;
mod consumers;
mod convert;
pub mod domain;
mod inbox_sources;
mod order_events;
mod store;
pub mod sweeps;

use rapport_kit::{serve, service::Bundle};
use rapport_proto::campaigns::{
    campaign_service_server::CampaignServiceServer, coupon_service_server::CouponServiceServer,
    inbox_service_server::InboxServiceServer, strategy_service_server::StrategyServiceServer,
};
use rapport_runtime::{
    context::{Service, ServiceBundle, ServiceContext},
    storage::{Migration, Migrations},
};

pub use app::App;

/// The campaigns service, as the binary and the test kit run it.
pub struct Campaigns;

// One list serves both backends: the SQL is in the subset both speak.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 100,
        description: "campaign settings",
        sql: include_str!("../migrations/0100_campaigns.sql"),
    },
    Migration {
        version: 110,
        description: "campaigns, their costs and members",
        sql: include_str!("../migrations/0110_campaigns.sql"),
    },
    Migration {
        version: 120,
        description: "coupons",
        sql: include_str!("../migrations/0120_coupons.sql"),
    },
    Migration {
        version: 130,
        description: "the staff inbox",
        sql: include_str!("../migrations/0130_inbox.sql"),
    },
    Migration {
        version: 140,
        description: "plans, strategies, runs, recipients, contact state, conversions",
        sql: include_str!("../migrations/0140_strategies.sql"),
    },
];

impl Service for Campaigns {
    const NAME: &'static str = "campaigns";

    fn migrations() -> Migrations {
        Migrations {
            postgres: MIGRATIONS,
            sqlite: MIGRATIONS,
        }
    }

    fn build(ctx: ServiceContext) -> ServiceBundle {
        let app = app::App::new(ctx.clone());
        let mut bundle = Bundle::new(Self::NAME, &ctx);
        serve!(bundle, CampaignServiceServer::new(app.clone()));
        serve!(bundle, CouponServiceServer::new(app.clone()));
        bundle.handler(order_events::handler(ctx.clone()));
        bundle.job(sweeps::coupons::job(app.clone()));
        serve!(
            bundle,
            InboxServiceServer::new(app::inbox::Inbox::new(app.clone()))
        );
        for handler in inbox_sources::handlers(ctx.clone()) {
            bundle.handler(handler);
        }
        serve!(bundle, StrategyServiceServer::new(app.clone()));
        bundle.handler(consumers::OrderEvents::handler(ctx.clone()));
        for job in sweeps::jobs(app) {
            bundle.job(job);
        }
        bundle.finish()
    }
}
