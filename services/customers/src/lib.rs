//! The customers service (capabilities CU1–CU10, CU12 and CU13 of `docs/capabilities.md`):
//! profiles with custom fields, validation and normalization, duplicates and merge,
//! relationships, timeline, ownership, consent, bulk work, the value of customers kept from
//! the orders service's events, and saved segments with their members (`SegmentService`).
//!
//! `api` is the gRPC face; `app` the use cases it calls; `convert` reads requests into
//! `domain` values and writes them back as protos; `store` is the SQL; `consumers` and
//! `sweeps` are the event handlers and periodic jobs.

mod api;
mod app;
mod consumers;
pub mod convert;
pub mod domain;
mod store;
mod sweeps;

use rapport_kit::{serve, service::Bundle};
use rapport_proto::customers::{
    customer_service_server::CustomerServiceServer, segment_service_server::SegmentServiceServer,
};
use rapport_runtime::{
    context::{Service, ServiceBundle, ServiceContext},
    storage::{Migration, Migrations},
};

/// The customers service, as the binary and the test kit run it.
pub struct Customers;

// Most SQL is in the subset both backends speak and shared; a migration that must differ gets
// a file per backend (106, which reads JSON), or only the backend that needs it (102, 104).
/// The migrations both backends run.
const SHARED: [Migration; 4] = [
    Migration {
        version: 100,
        description: "customers",
        sql: include_str!("../migrations/0100_customers.sql"),
    },
    Migration {
        version: 101,
        description: "covering index for duplicate lookups",
        sql: include_str!("../migrations/0101_contacts_covering.sql"),
    },
    Migration {
        version: 103,
        description: "customer value: order ledger and figures",
        sql: include_str!("../migrations/0103_customer_value.sql"),
    },
    Migration {
        version: 105,
        description: "segments; consent and last activity columns",
        sql: include_str!("../migrations/0105_segments.sql"),
    },
];

/// SQLite compares text bytewise already (its BINARY collation).
const SQLITE: &[Migration] = &[
    SHARED[0],
    SHARED[1],
    SHARED[2],
    SHARED[3],
    Migration {
        version: 106,
        description: "consent columns from the stored profiles",
        sql: include_str!("../migrations/sqlite/0106_consent_columns.sql"),
    },
];

const POSTGRES: &[Migration] = &[
    SHARED[0],
    SHARED[1],
    Migration {
        version: 102,
        description: "text columns compare bytewise",
        sql: include_str!("../migrations/postgres/0102_bytewise_text.sql"),
    },
    SHARED[2],
    Migration {
        version: 104,
        description: "customer value text compares bytewise",
        sql: include_str!("../migrations/postgres/0104_customer_value_bytewise.sql"),
    },
    SHARED[3],
    Migration {
        version: 106,
        description: "consent columns from the stored profiles; segment text bytewise",
        sql: include_str!("../migrations/postgres/0106_consent_columns.sql"),
    },
];

impl Service for Customers {
    const NAME: &'static str = "customers";

    fn migrations() -> Migrations {
        Migrations {
            postgres: POSTGRES,
            sqlite: SQLITE,
        }
    }

    fn build(ctx: ServiceContext) -> ServiceBundle {
        let app = app::App::new(ctx.clone());
        let mut bundle = Bundle::new(Self::NAME, &ctx);
        serve!(bundle, CustomerServiceServer::new(app.clone()));
        serve!(bundle, SegmentServiceServer::new(app.clone()));
        bundle.handler(consumers::OrderEvents::handler(ctx));
        for job in sweeps::jobs(app) {
            bundle.job(job);
        }
        bundle.finish()
    }
}
