//! Clients to peer services: lazily connected gRPC channels by service name. Calls act on
//! behalf of the caller (its bearer token is forwarded) and carry the W3C trace context.

use std::collections::HashMap;

use tonic::transport::{Channel, Endpoint};

use crate::{Error, Result};

/// Channels to the other services, by name (`customers`, `leads`, …).
#[derive(Debug, Clone, Default)]
pub struct Peers {
    channels: HashMap<String, Channel>,
    fallback: Option<Channel>,
}

impl Peers {
    /// Peers from `name=uri` specs; services without a spec are reached at `fallback` (this
    /// process's own address in standalone mode), when given.
    pub fn new(specs: &[String], fallback: Option<&str>) -> Result<Peers> {
        let mut channels = HashMap::new();
        for spec in specs.iter().filter(|s| !s.trim().is_empty()) {
            let (name, uri) = spec.split_once('=').ok_or_else(|| {
                Error::internal(format!(
                    "peer {spec:?} must look like name=http://host:port"
                ))
            })?;
            channels.insert(name.trim().to_owned(), lazy(uri.trim())?);
        }
        let fallback = fallback.map(lazy).transpose()?;
        Ok(Peers { channels, fallback })
    }

    /// The channel to `service`.
    pub fn channel(&self, service: &str) -> Result<Channel> {
        self.channels
            .get(service)
            .or(self.fallback.as_ref())
            .cloned()
            .ok_or_else(|| {
                Error::unavailable(format!("no address configured for the {service} service"))
            })
    }

    /// Prepares an outbound request made on behalf of `caller`: its authorization and the
    /// current trace context go along.
    pub fn request<T, U>(caller: &tonic::Request<U>, message: T) -> tonic::Request<T> {
        let mut req = tonic::Request::new(message);
        crate::auth::forward_authorization(caller, &mut req);
        crate::telemetry::inject_context(req.metadata_mut());
        req
    }
}

impl Peers {
    /// Prepares an outbound request the service makes on its own in `tenant` (a sweep, say):
    /// a fresh service-account token from `auth` named `actor`, and the current trace context.
    pub fn system_request<T>(
        auth: &crate::auth::Auth,
        tenant: &str,
        actor: &str,
        message: T,
    ) -> Result<tonic::Request<T>> {
        let token = auth.system_token(tenant, actor)?;
        let mut req = tonic::Request::new(message);
        req.metadata_mut()
            .insert("authorization", crate::auth::bearer(&token));
        crate::telemetry::inject_context(req.metadata_mut());
        Ok(req)
    }
}

fn lazy(uri: &str) -> Result<Channel> {
    let endpoint = Endpoint::from_shared(uri.to_owned())
        .map_err(|e| Error::internal(format!("bad peer address {uri:?}: {e}")))?
        .connect_timeout(std::time::Duration::from_secs(2))
        .tcp_nodelay(true);
    Ok(endpoint.connect_lazy())
}
