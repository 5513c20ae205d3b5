//! Test support: every service test runs against each backend the run has — SQLite always,
//! PostgreSQL + Redis when `RAPPORT_TEST_POSTGRES_URL` / `RAPPORT_TEST_REDIS_URL` are set —
//! through a real gRPC server on 127.0.0.1, with its own database and key prefix per test.

mod backend;
pub mod proxy;
pub mod scratch;
mod server;
pub mod status;

pub use backend::{Backend, TestStores, outbox_events};
pub use server::{Bearer, TestServer, TestServerBuilder, each_backend};
