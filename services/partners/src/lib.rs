//! The partners service (capabilities PA1–PA5 and PA7 of `docs/capabilities.md`): partners of four
//! kinds with their lifecycle and onboarding checklist, tiers with criteria and benefits
//! re-evaluated daily, and deal registration with conflict detection against registrations,
//! leads and customers, whose approval makes an attributed lead in the leads service;
//! commissions accrued and reversed from the orders' events, with monthly statements; the
//! partner report; and partners' API keys (PA5), which every service accepts as the partner's
//! credential.

pub mod api;
mod app;
mod consumers;
mod convert;
pub mod domain;
mod key_uses;
mod store;
pub mod sweeps;
mod webhook_events;

use rapport_kit::{serve, service::Bundle};
use rapport_proto::partners::{
    commission_service_server::CommissionServiceServer, key_service_server::KeyServiceServer,
    partner_analytics_service_server::PartnerAnalyticsServiceServer,
    partner_service_server::PartnerServiceServer,
    registration_service_server::RegistrationServiceServer, tier_service_server::TierServiceServer,
    webhook_service_server::WebhookServiceServer,
};
use rapport_runtime::{
    context::{Service, ServiceBundle, ServiceContext},
    storage::{Migration, Migrations},
};

pub use app::App;

/// The partners service, as the binary and the test kit run it.
pub struct Partners;

// One list serves both backends: the SQL is in the subset both speak.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 100,
        description: "partners, tiers, registrations, attributions",
        sql: include_str!("../migrations/0100_partners.sql"),
    },
    Migration {
        version: 105,
        description: "partners' API keys",
        sql: include_str!("../migrations/0105_api_keys.sql"),
    },
    Migration {
        version: 120,
        description: "webhook endpoints and deliveries",
        sql: include_str!("../migrations/0120_webhooks.sql"),
    },
    Migration {
        version: 130,
        description: "commission accruals, lines and statements",
        sql: include_str!("../migrations/0130_commissions.sql"),
    },
    Migration {
        version: 140,
        description: "the state of attributed leads and orders",
        sql: include_str!("../migrations/0140_attribution_state.sql"),
    },
];

impl Service for Partners {
    const NAME: &'static str = "partners";

    fn migrations() -> Migrations {
        Migrations {
            postgres: MIGRATIONS,
            sqlite: MIGRATIONS,
        }
    }

    fn build(ctx: ServiceContext) -> ServiceBundle {
        let app = app::App::new(ctx.clone());
        let mut bundle = Bundle::new(Self::NAME, &ctx);
        serve!(bundle, PartnerServiceServer::new(app.clone()));
        serve!(bundle, TierServiceServer::new(app.clone()));
        serve!(bundle, RegistrationServiceServer::new(app.clone()));
        serve!(bundle, CommissionServiceServer::new(app.clone()));
        serve!(bundle, PartnerAnalyticsServiceServer::new(app.clone()));
        serve!(bundle, KeyServiceServer::new(app.clone()));
        bundle.handler(consumers::LeadEvents::handler(ctx.clone()));
        bundle.handler(consumers::OrderEvents::handler(ctx.clone()));
        bundle.handler(key_uses::KeyUses::handler(ctx.clone()));
        let hooks = app::webhooks::Webhooks::new(app.clone());
        serve!(bundle, WebhookServiceServer::new(hooks.clone()));
        for handler in webhook_events::handlers(ctx.clone()) {
            bundle.handler(handler);
        }
        bundle.job(sweeps::webhooks::job(hooks));
        for job in sweeps::jobs(app) {
            bundle.job(job);
        }
        bundle.finish()
    }
}
