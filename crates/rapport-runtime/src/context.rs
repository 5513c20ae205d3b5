//! What a service is handed to build itself, and what it hands back. A service never knows
//! whether it runs standalone or distributed: it gets a database, a cache, a bus, a clock and
//! peers, and returns its gRPC routes, event handlers and background jobs.

use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::Notify;
use tonic::service::Routes;

use crate::{
    auth::Auth,
    cache::Cache,
    clock::SharedClock,
    config::ChannelArgs,
    events::{Bus, EventHandler},
    peers::Peers,
    storage::Db,
};

/// Everything a service needs from its environment.
#[derive(Clone)]
pub struct ServiceContext {
    /// The service's own database.
    pub db: Db,
    /// Read-through cache for hot single-resource reads.
    pub cache: Cache,
    /// The event bus (for services that consume events through handlers).
    pub bus: Bus,
    /// The clock; tests inject a manual one.
    pub clock: SharedClock,
    /// Verifies bearer tokens, checks them against the revocation list and puts the caller's
    /// principal in request extensions: every service wraps its gRPC services in it.
    pub auth: Auth,
    /// Channels to peer services.
    pub peers: Peers,
    /// Largest message accepted or sent, bytes.
    pub max_message_bytes: usize,
    /// Wakes the outbox relay; services call `notify_one` after committing events.
    pub outbox_waker: Arc<Notify>,
    /// The operator's allow-list of internal networks webhooks may go to
    /// (`RAPPORT_WEBHOOK_ALLOW_NETWORKS`), as given; a service that sends webhooks reads it.
    pub webhook_allow_networks: String,
    /// The operator's settings of the message channels (`RAPPORT_SMTP_URL`, …), as given; a
    /// service that sends email or SMS reads them with `rapport_kit::channels::Channels`.
    pub channels: ChannelArgs,
}

impl std::fmt::Debug for ServiceContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceContext")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

/// Adds services to the server's routes (tonic cannot merge two finished route tables).
pub type AddRoutes = Box<dyn FnOnce(Routes) -> Routes + Send>;

/// A built service, ready to be served.
pub struct ServiceBundle {
    /// Short name, e.g. `customers`.
    pub name: &'static str,
    /// Fully-qualified gRPC service names, for health (e.g. `rapport.customers.v1.CustomerService`).
    pub grpc_services: Vec<&'static str>,
    /// Adds the service's gRPC services (already wrapped in authentication) to the server's.
    pub routes: AddRoutes,
    /// Event handlers to run.
    pub handlers: Vec<Arc<dyn EventHandler>>,
    /// Periodic jobs, run until shutdown.
    pub jobs: Vec<BoxFuture<'static, ()>>,
}

/// How a service crate presents itself to the binary.
pub trait Service {
    /// Short name, e.g. `customers`; also its database schema and event stream.
    const NAME: &'static str;
    /// Its migrations for both backends.
    fn migrations() -> crate::storage::Migrations;
    /// Builds the service.
    fn build(ctx: ServiceContext) -> ServiceBundle;
}

/// A runnable service as the binary and the test kit list it.
#[derive(Clone, Copy)]
pub struct ServiceEntry {
    /// Its short name.
    pub name: &'static str,
    /// Its migrations.
    pub migrations: fn() -> crate::storage::Migrations,
    /// Builds it.
    pub build: fn(ServiceContext) -> ServiceBundle,
}

impl ServiceEntry {
    /// The entry of service `S`.
    pub fn of<S: Service>() -> Self {
        Self {
            name: S::NAME,
            migrations: S::migrations,
            build: S::build,
        }
    }
}

impl std::fmt::Debug for ServiceEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}
