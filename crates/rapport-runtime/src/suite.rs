//! Assembling and starting a set of services in one process, the same way for `rapport serve`
//! and for tests: each service gets its database (a schema of the PostgreSQL database, or its
//! own SQLite file), a cache (Redis or in-process), the bus, an outbox relay and peers.

use std::{path::Path, sync::Arc, time::Duration};

use tokio::net::TcpListener;

use crate::{
    Error, Result,
    access::{AccessApi, RevocationHandler, Revocations},
    api_keys::{ApiKeys, KeyHandler},
    auth::{Auth, JwtKeys},
    cache::Cache,
    clock::SharedClock,
    config::ServerArgs,
    context::{ServiceContext, ServiceEntry},
    events::{Bus, Relay},
    peers::Peers,
    server::{Running, Served, ServerOptions},
    storage::{Db, PoolSettings},
    telemetry::Metrics,
};

/// The signing or verifying keys `args` call for, and, when a standalone secret file was
/// created just now, `true` (the caller prints an admin token then).
pub fn resolve_keys(args: &ServerArgs) -> Result<(JwtKeys, bool)> {
    if let Some(file) = &args.jwt_public_key_file {
        let pem = std::fs::read(file)
            .map_err(|e| Error::internal(format!("cannot read {}: {e}", file.display())))?;
        return Ok((JwtKeys::verifier_from_pem(&pem)?, false));
    }
    if let Some(secret) = &args.jwt_secret {
        return Ok((JwtKeys::hs256(secret.as_bytes()), false));
    }
    let (secret, created) = crate::auth::load_or_create_secret(&args.data_dir).map_err(|e| {
        Error::internal(format!(
            "cannot keep the JWT secret in {}: {e}",
            args.data_dir.display()
        ))
    })?;
    Ok((JwtKeys::hs256(&secret), created))
}

/// Opens the database of `service` as `args` say.
pub async fn open_db(args: &ServerArgs, service: &str) -> Result<Db> {
    let settings = PoolSettings {
        max_connections: args.db_max_connections,
        ..PoolSettings::default()
    };
    match &args.database_url {
        Some(url) => Db::connect(url, service, settings).await,
        None => Db::open_sqlite_file(Path::new(&args.data_dir), service, settings).await,
    }
}

/// Starts `services` on `listener` (bound already, so its address is known for peers).
pub async fn launch(
    args: &ServerArgs,
    services: &[ServiceEntry],
    keys: Arc<JwtKeys>,
    clock: SharedClock,
    listener: TcpListener,
) -> Result<Running> {
    let metrics = Metrics::new();
    let addr = listener.local_addr().map_err(Error::internal)?;
    let bus = match &args.redis_url {
        Some(url) => Bus::redis(url, &args.redis_prefix).await?,
        None => Bus::memory(),
    };
    let own = format!("http://{}", loopback(addr));
    let peers = Peers::new(&args.peers, Some(&own))?;
    let mut served = Vec::with_capacity(services.len());
    for (i, entry) in services.iter().enumerate() {
        let db = open_db(args, entry.name).await?;
        if args.migrate_on_start {
            db.migrate(&(entry.migrations)()).await?;
        }
        let cache = match &args.redis_url {
            Some(url) => Cache::redis(url, &format!("{}cache:{}:", args.redis_prefix, entry.name))?,
            None => Cache::memory(args.cache_entries),
        };
        let relay = Relay::new(db.clone(), bus.clone());
        let revocations = Revocations::new(db.clone());
        let api_keys = ApiKeys::new(db.clone(), clock.clone());
        let ctx = ServiceContext {
            db: db.clone(),
            cache: cache.clone(),
            bus: bus.clone(),
            clock: clock.clone(),
            auth: Auth::new(keys.clone(), revocations.clone()).with_api_keys(api_keys.clone()),
            peers: peers.clone(),
            max_message_bytes: args.max_message_bytes,
            outbox_waker: relay.waker(),
            webhook_allow_networks: args.webhook_allow_networks.clone(),
            channels: args.channels.clone(),
        };
        let mut bundle = (entry.build)(ctx.clone());
        // Every service keeps the revocation list and a copy of the API keys; the process's
        // first also serves the API that adds to the list.
        bundle.handlers.push(Arc::new(RevocationHandler::new(
            entry.name,
            db.clone(),
            clock.clone(),
            revocations,
        )));
        bundle.handlers.push(Arc::new(KeyHandler::new(
            entry.name,
            db.clone(),
            clock.clone(),
            api_keys,
        )));
        if i == 0 {
            add_access_service(&mut bundle, ctx);
        }
        served.push(Served {
            bundle,
            db,
            cache,
            relay,
        });
    }

    let options = ServerOptions {
        request_timeout: args.request_timeout(),
        max_concurrent_requests: args.max_concurrent_requests,
        max_connection_age: Duration::from_secs(args.max_connection_age_secs),
        drain: Duration::from_secs(args.shutdown_drain_secs),
        metrics_listen: args.metrics_listen.0,
        http_listen: args.http_listen.0,
        max_message_bytes: args.max_message_bytes,
        replica: args.replica_name(),
    };
    crate::server::start_on(listener, options, served, bus, clock, metrics).await
}

/// Serves `rapport.access.v1.AccessService` with `bundle`, writing through `ctx`.
fn add_access_service(bundle: &mut crate::context::ServiceBundle, ctx: ServiceContext) {
    use rapport_proto::access::access_service_server::AccessServiceServer;
    let limit = ctx.max_message_bytes;
    let service = ctx.auth.wrap(
        AccessServiceServer::new(AccessApi::new(ctx.clone()))
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit),
    );
    let routes = std::mem::replace(&mut bundle.routes, Box::new(|r| r));
    bundle.routes = Box::new(move |r| routes(r).add_service(service));
    bundle.grpc_services.push(AccessApi::NAME);
}

/// The address to dial for a listener bound to `addr` (an unspecified address is reached
/// over loopback).
fn loopback(addr: std::net::SocketAddr) -> std::net::SocketAddr {
    let mut a = addr;
    if a.ip().is_unspecified() {
        a.set_ip(match a {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    a
}
