//! The orders service (capabilities OR1–OR6 and LE11 of `docs/capabilities.md`): the product
//! catalog and recommendations, orders with their discounts, taxes, payments and immutable
//! revisions, the delivery lifecycle with its reminders and follow-up visits, returns and
//! exchanges, the loan calculator, and order analytics.

pub mod api;
mod app;
mod consumers;
mod convert;
pub mod domain;
mod store;
mod sweeps;

use rapport_kit::{serve, service::Bundle};
use rapport_proto::orders::{
    calculator_service_server::CalculatorServiceServer,
    catalog_service_server::CatalogServiceServer, delivery_service_server::DeliveryServiceServer,
    order_analytics_service_server::OrderAnalyticsServiceServer,
    order_service_server::OrderServiceServer, return_service_server::ReturnServiceServer,
};
use rapport_runtime::{
    context::{Service, ServiceBundle, ServiceContext},
    storage::{Migration, Migrations},
};

/// The orders service, as the binary and the test kit run it.
pub struct Orders;

// One list serves both backends: the SQL is in the subset both speak.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 100,
        description: "catalog, orders, revisions",
        sql: include_str!("../migrations/0100_orders.sql"),
    },
    Migration {
        version: 101,
        description: "analytics facts",
        sql: include_str!("../migrations/0101_analytics.sql"),
    },
];

impl Service for Orders {
    const NAME: &'static str = "orders";

    fn migrations() -> Migrations {
        Migrations {
            postgres: MIGRATIONS,
            sqlite: MIGRATIONS,
        }
    }

    fn build(ctx: ServiceContext) -> ServiceBundle {
        let app = app::App::new(ctx.clone());
        let mut bundle = Bundle::new(Self::NAME, &ctx);
        serve!(bundle, CatalogServiceServer::new(app.clone()));
        serve!(bundle, OrderServiceServer::new(app.clone()));
        serve!(bundle, CalculatorServiceServer::new(app.clone()));
        serve!(bundle, DeliveryServiceServer::new(app.clone()));
        serve!(bundle, ReturnServiceServer::new(app.clone()));
        bundle.handler(consumers::customer_events(ctx.clone()));
        serve!(bundle, OrderAnalyticsServiceServer::new(app.clone()));
        for job in sweeps::jobs(app) {
            bundle.job(job);
        }
        bundle.finish()
    }
}
