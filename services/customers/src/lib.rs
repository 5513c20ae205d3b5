//! The customers service (PRODUCT.md CU1–CU10): profiles with custom fields, validation and
//! normalization, duplicates and merge, relationships, timeline, ownership, consent, bulk work.

pub mod api;
pub mod domain;
mod store;

use rapport_proto::customers::customer_service_server::CustomerServiceServer;
use rapport_runtime::{
    context::{Service, ServiceBundle, ServiceContext},
    storage::{Migration, Migrations},
};
use tonic::codegen::InterceptedService;

/// The customers service, as the binary and the test kit run it.
pub struct Customers;

// The SQL is in the subset both backends speak, so one list serves both; a migration that
// must differ gets a file per backend and its own entry in each list.
const MIGRATIONS: &[Migration] = &[
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
];

impl Service for Customers {
    const NAME: &'static str = "customers";

    fn migrations() -> Migrations {
        Migrations {
            postgres: MIGRATIONS,
            sqlite: MIGRATIONS,
        }
    }

    fn build(ctx: ServiceContext) -> ServiceBundle {
        let limit = ctx.max_message_bytes;
        let auth = ctx.auth.clone();
        let server = CustomerServiceServer::new(api::CustomersApi::new(ctx))
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit);
        let service = InterceptedService::new(server, auth);
        ServiceBundle {
            name: Self::NAME,
            grpc_services: vec!["rapport.customers.v1.CustomerService"],
            routes: Box::new(move |routes| routes.add_service(service)),
            handlers: Vec::new(),
            jobs: Vec::new(),
        }
    }
}
