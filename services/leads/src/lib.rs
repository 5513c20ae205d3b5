//! The leads service (capabilities LE1–LE10 and LE12 of `docs/capabilities.md`): leads and
//! their sources, public and private pools, assignment, conversion into customers and
//! opportunities, pipelines, follow-up rules with forced reclaim, dwell-time alerts, tasks and
//! reminders, scoring, analytics.

pub mod api;
mod app;
mod consumers;
mod convert;
pub mod domain;
mod jobs;
mod store;
mod sweeps;

use rapport_kit::{serve, service::Bundle};
use rapport_proto::leads::{
    lead_analytics_service_server::LeadAnalyticsServiceServer,
    lead_service_server::LeadServiceServer, pipeline_service_server::PipelineServiceServer,
    sales_org_service_server::SalesOrgServiceServer, task_service_server::TaskServiceServer,
};
use rapport_runtime::{
    context::{Service, ServiceBundle, ServiceContext},
    storage::{Migration, Migrations},
};

/// The leads service, as the binary and the test kit run it.
pub struct Leads;

// One list serves both backends: the SQL is in the subset both speak.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 100,
        description: "leads",
        sql: include_str!("../migrations/0100_leads.sql"),
    },
    Migration {
        version: 101,
        description: "rep attributes",
        sql: include_str!("../migrations/0101_rep_attrs.sql"),
    },
    Migration {
        version: 102,
        description: "funnel counts",
        sql: include_str!("../migrations/0102_funnel_rollup.sql"),
    },
    Migration {
        version: 103,
        description: "dedupe keys only where alerts may repeat",
        sql: include_str!("../migrations/0103_fresh_alerts.sql"),
    },
    Migration {
        version: 104,
        description: "conversions in progress",
        sql: include_str!("../migrations/0104_lead_conversions.sql"),
    },
    Migration {
        version: 105,
        description: "duplicate leads",
        sql: include_str!("../migrations/0105_lead_duplicates.sql"),
    },
    Migration {
        version: 106,
        description: "transfers of opportunities and tasks",
        sql: include_str!("../migrations/0106_transfers.sql"),
    },
];

impl Service for Leads {
    const NAME: &'static str = "leads";

    fn migrations() -> Migrations {
        Migrations {
            postgres: MIGRATIONS,
            sqlite: MIGRATIONS,
        }
    }

    fn build(ctx: ServiceContext) -> ServiceBundle {
        let api = app::App::new(ctx.clone());
        let mut bundle = Bundle::new(Self::NAME, &ctx);
        serve!(bundle, LeadServiceServer::new(api.clone()));
        serve!(bundle, SalesOrgServiceServer::new(api.clone()));
        serve!(bundle, TaskServiceServer::new(api.clone()));
        serve!(bundle, PipelineServiceServer::new(api.clone()));
        serve!(bundle, LeadAnalyticsServiceServer::new(api.clone()));
        bundle.handler(consumers::CustomerEvents::handler(ctx.clone()));
        bundle.handler(consumers::OrderEvents::handler(ctx.clone()));
        bundle.handler(consumers::PartnerEvents::handler(ctx.clone()));
        for job in jobs::jobs(api) {
            bundle.job(job);
        }
        bundle.finish()
    }
}
