//! The leads service (PRODUCT.md LE1–LE10, LE12): leads and their sources, public and private
//! pools, assignment, conversion into customers and opportunities, pipelines, follow-up rules
//! with forced reclaim, dwell-time alerts, tasks and reminders, scoring, analytics.

pub mod api;
mod consumers;
pub mod domain;
mod jobs;
mod store;

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

#[allow(unused_macros)]
/// Wraps a generated server in the message limits and authentication every service has.
macro_rules! serve {
    ($server:ident, $api:expr, $ctx:expr) => {
        $ctx.auth.wrap(
            $server::new($api.clone())
                .max_decoding_message_size($ctx.max_message_bytes)
                .max_encoding_message_size($ctx.max_message_bytes),
        )
    };
}

impl Service for Leads {
    const NAME: &'static str = "leads";

    fn migrations() -> Migrations {
        Migrations {
            postgres: MIGRATIONS,
            sqlite: MIGRATIONS,
        }
    }

    fn build(ctx: ServiceContext) -> ServiceBundle {
        let api = api::LeadsApi::new(ctx.clone());
        let jobs = jobs::jobs(api.clone());
        let handlers = vec![consumers::CustomerEvents::handler(
            ctx.db.clone(),
            ctx.clock.clone(),
        )];
        ServiceBundle {
            name: Self::NAME,
            grpc_services: vec![
                "rapport.leads.v1.LeadService",
                "rapport.leads.v1.SalesOrgService",
                "rapport.leads.v1.TaskService",
                "rapport.leads.v1.PipelineService",
                "rapport.leads.v1.LeadAnalyticsService",
            ],
            routes: Box::new(move |routes| {
                routes
                    .add_service(serve!(LeadServiceServer, api, ctx))
                    .add_service(serve!(SalesOrgServiceServer, api, ctx))
                    .add_service(serve!(TaskServiceServer, api, ctx))
                    .add_service(serve!(PipelineServiceServer, api, ctx))
                    .add_service(serve!(LeadAnalyticsServiceServer, api, ctx))
            }),
            handlers,
            jobs,
        }
    }
}
