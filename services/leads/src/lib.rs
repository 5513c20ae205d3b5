//! The leads service (PRODUCT.md LE1–LE10, LE12): leads and their sources, public and private
//! pools, assignment, conversion into customers and opportunities, pipelines, follow-up rules
//! with forced reclaim, dwell-time alerts, tasks and reminders, scoring, analytics.

pub mod api;
pub mod domain;
mod store;

use rapport_runtime::{
    context::{Service, ServiceBundle, ServiceContext},
    storage::{Migration, Migrations},
};
use tonic::codegen::InterceptedService;

/// The leads service, as the binary and the test kit run it.
pub struct Leads;

// One list serves both backends: the SQL is in the subset both speak.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 100,
    description: "leads",
    sql: include_str!("../migrations/0100_leads.sql"),
}];

#[allow(unused_macros)]
/// Wraps a generated server in the message limits and authentication every service has.
macro_rules! serve {
    ($server:ident, $api:expr, $ctx:expr) => {
        InterceptedService::new(
            $server::new($api.clone())
                .max_decoding_message_size($ctx.max_message_bytes)
                .max_encoding_message_size($ctx.max_message_bytes),
            $ctx.auth.clone(),
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
        #[allow(unused_variables)]
        let api = api::LeadsApi::new(ctx.clone());
        ServiceBundle {
            name: Self::NAME,
            grpc_services: vec![
                // one line per gRPC service, e.g. "rapport.leads.v1.LeadService",
            ],
            routes: Box::new(move |routes| {
                routes
                // one `.add_service(serve!(XServiceServer, api, ctx))` per gRPC service
            }),
            handlers: Vec::new(),
            jobs: Vec::new(),
        }
    }
}
