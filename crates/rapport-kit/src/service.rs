//! Assembling a service: its generated gRPC servers behind the message limits and the
//! authentication every service has, named by the generated code, plus its event handlers and
//! jobs.
//!
//! ```text
//! fn build(ctx: ServiceContext) -> ServiceBundle {
//!     let api = api::LeadsApi::new(ctx.clone());
//!     let mut bundle = Bundle::new(Self::NAME, &ctx);
//!     serve!(bundle, LeadServiceServer::new(api.clone()));
//!     bundle.handler(consumers::handler(ctx.clone()));
//!     bundle.finish()
//! }
//! ```

use std::{convert::Infallible, sync::Arc};

use futures::future::BoxFuture;
use rapport_runtime::{
    Result,
    auth::{Auth, Principal},
    clock::Micros,
    context::{AddRoutes, ServiceBundle, ServiceContext},
    events::EventHandler,
    storage::{Db, Idempotency},
    write::{EventSource, Write},
};
use tonic::{body::Body, server::NamedService, service::Routes};

/// A service's bundle in the making.
pub struct Bundle {
    name: &'static str,
    auth: Auth,
    max_message_bytes: usize,
    grpc_services: Vec<&'static str>,
    routes: Vec<AddRoutes>,
    handlers: Vec<Arc<dyn EventHandler>>,
    jobs: Vec<BoxFuture<'static, ()>>,
}

impl Bundle {
    /// The bundle of service `name`, on `ctx`.
    pub fn new(name: &'static str, ctx: &ServiceContext) -> Self {
        Self {
            name,
            auth: ctx.auth.clone(),
            max_message_bytes: ctx.max_message_bytes,
            grpc_services: Vec::new(),
            routes: Vec::new(),
            handlers: Vec::new(),
            jobs: Vec::new(),
        }
    }

    /// The largest message a server of this bundle reads or writes ([`serve!`] applies it).
    pub fn max_message_bytes(&self) -> usize {
        self.max_message_bytes
    }

    /// Serves `server` behind authentication, under its generated name. Use [`serve!`], which
    /// also applies the message limits.
    pub fn serve<S>(&mut self, server: S)
    where
        S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.grpc_services.push(S::NAME);
        let service = self.auth.wrap(server);
        self.routes
            .push(Box::new(move |routes: Routes| routes.add_service(service)));
    }

    /// Runs `handler` on the events it consumes.
    pub fn handler(&mut self, handler: Arc<dyn EventHandler>) {
        self.handlers.push(handler);
    }

    /// Runs `job` until shutdown.
    pub fn job(&mut self, job: BoxFuture<'static, ()>) {
        self.jobs.push(job);
    }

    /// The finished bundle.
    pub fn finish(self) -> ServiceBundle {
        let routes = self.routes;
        ServiceBundle {
            name: self.name,
            grpc_services: self.grpc_services,
            routes: Box::new(move |r| routes.into_iter().fold(r, |r, add| add(r))),
            handlers: self.handlers,
            jobs: self.jobs,
        }
    }
}

/// Serves a generated server in a [`Bundle`] with the bundle's message limits:
/// `serve!(bundle, LeadServiceServer::new(api.clone()))`.
#[macro_export]
macro_rules! serve {
    ($bundle:expr, $server:expr) => {{
        let limit = $bundle.max_message_bytes();
        $bundle.serve(
            $server
                .max_decoding_message_size(limit)
                .max_encoding_message_size(limit),
        )
    }};
}

/// What a service's use cases start from: its context and its event stream, with the time, the
/// database and writes. A service's state wraps it (the gRPC traits are
/// implemented on the service's own type) and dereferences to it.
#[derive(Clone)]
pub struct State {
    /// The service's context.
    pub ctx: ServiceContext,
    /// Where the service's events go.
    pub events: EventSource,
}

impl State {
    /// The state of a service on `ctx` announcing on `events`.
    pub fn new(ctx: ServiceContext, events: EventSource) -> Self {
        Self { ctx, events }
    }

    /// Now, by the service's clock.
    pub fn now(&self) -> Micros {
        self.ctx.clock.now()
    }

    /// The service's database.
    pub fn db(&self) -> &Db {
        &self.ctx.db
    }

    /// Starts a write that takes no request id.
    pub async fn write(&self, p: &Principal) -> Result<Write> {
        self.ctx.write(p, self.events).await
    }

    /// Starts a write for a request whose answer carries a secret (an API key, a signing
    /// secret), which must never be stored: `Err` with the stored answer of an earlier attempt
    /// of `idem` (the secret left out), or the write, holding the request id's lock. Commit it
    /// with [`commit_redacted`].
    pub async fn write_with_secret<T: prost::Message + Default>(
        &self,
        p: &Principal,
        idem: Option<&Idempotency>,
    ) -> Result<std::result::Result<Write, T>> {
        let locks = idem.map(Idempotency::lock_key).into_iter().collect();
        let mut w = self.ctx.write_locking(p, self.events, locks).await?;
        if let Some(k) = idem
            && let Some(done) = k.replay::<T>(w.tx()).await?
        {
            w.rollback().await?;
            return Ok(Err(done));
        }
        Ok(Ok(w))
    }
}

/// Commits `w` begun by [`State::write_with_secret`], answering `full` and storing `redacted`
/// (the answer without its secret) under the request id: a retry gets the rest, never the
/// secret.
pub async fn commit_redacted<T: prost::Message + Default>(
    mut w: Write,
    idem: Option<&Idempotency>,
    full: T,
    redacted: &T,
) -> Result<T> {
    if let Some(k) = idem {
        w.answer(k, redacted).await?;
    }
    w.commit(full).await
}
