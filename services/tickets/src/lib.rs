//! The tickets service (capabilities TK1–TK7 of `docs/capabilities.md`): service tickets with
//! built-in and tenant types, queues and routing within each agent's capacity, SLAs counted on
//! business calendars with escalation, the workflow with comments and merges, return requests
//! that become returns in the orders service, satisfaction surveys, and ticket analytics.

pub mod api;
mod app;
mod consumers;
mod convert;
pub mod domain;
mod store;
pub mod sweeps;

use rapport_kit::{serve, service::Bundle};
use rapport_proto::tickets::{
    queue_service_server::QueueServiceServer,
    ticket_analytics_service_server::TicketAnalyticsServiceServer,
    ticket_service_server::TicketServiceServer,
};
use rapport_runtime::{
    context::{Service, ServiceBundle, ServiceContext},
    storage::{Migration, Migrations},
};

pub use app::App;

/// The tickets service, as the binary and the test kit run it.
pub struct Tickets;

// One list serves both backends: the SQL is in the subset both speak.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 100,
    description: "tickets, queues, agents, history, surveys",
    sql: include_str!("../migrations/0100_tickets.sql"),
}];

impl Service for Tickets {
    const NAME: &'static str = "tickets";

    fn migrations() -> Migrations {
        Migrations {
            postgres: MIGRATIONS,
            sqlite: MIGRATIONS,
        }
    }

    fn build(ctx: ServiceContext) -> ServiceBundle {
        let app = app::App::new(ctx.clone());
        let mut bundle = Bundle::new(Self::NAME, &ctx);
        serve!(bundle, TicketServiceServer::new(app.clone()));
        serve!(bundle, QueueServiceServer::new(app.clone()));
        serve!(bundle, TicketAnalyticsServiceServer::new(app.clone()));
        bundle.handler(consumers::customer_events(ctx.clone()));
        bundle.handler(consumers::OrderEvents::handler(ctx.clone()));
        for job in sweeps::jobs(app) {
            bundle.job(job);
        }
        bundle.finish()
    }
}
