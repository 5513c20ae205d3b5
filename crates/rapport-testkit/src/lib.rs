//! Test support: every service test runs against each backend the run has — SQLite always,
//! PostgreSQL + Redis when `RAPPORT_TEST_POSTGRES_URL` / `RAPPORT_TEST_REDIS_URL` are set —
//! through a real gRPC server on 127.0.0.1, with its own database and key prefix per test.
//! The callers, values, assertions and waits every service's tests share live here too, and
//! the other ends of what services send: a webhook receiver, an SMTP server, an SMS gateway;
//! what is one service's own (clients of its gRPC services, its fixtures) stays in its tests.

mod backend;
pub mod http;
pub mod proxy;
pub mod receiver;
pub mod scratch;
mod server;
pub mod sms_gateway;
pub mod smtp;
pub mod standard_webhooks;
pub mod status;
pub mod users;
pub mod values;
pub mod wait;

pub use backend::{Backend, TestStores, context_over, outbox_events};
pub use server::{Bearer, TestServer, TestServerBuilder, each_backend, each_backend_at};
