//! Configuration shared by every way of running a server: flags with `RAPPORT_*` environment
//! equivalents, all listed by `--help`.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

/// How a server process listens, stores, caches, authenticates and protects itself. Its `Debug`
/// leaves out the secrets (the JWT secret, and the URLs, which may carry passwords).
#[derive(Clone, clap::Args)]
pub struct ServerArgs {
    /// Address of the gRPC port.
    #[arg(long, env = "RAPPORT_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,

    /// Address of the Prometheus /metrics HTTP port; "off" disables it.
    #[arg(long, env = "RAPPORT_METRICS_LISTEN", default_value = "127.0.0.1:9464")]
    pub metrics_listen: Listen,

    /// Address of the HTTP/JSON gateway (every RPC with an HTTP binding, and /openapi.json);
    /// "off" disables it.
    #[arg(long, env = "RAPPORT_HTTP_LISTEN", default_value = "127.0.0.1:8080")]
    pub http_listen: Listen,

    /// Directory for standalone state: one SQLite file per service and the JWT signing secret.
    #[arg(long, env = "RAPPORT_DATA_DIR", default_value = "rapport-data")]
    pub data_dir: PathBuf,

    /// PostgreSQL URL (postgres://user:pass@host/db). Each service uses its own schema in it.
    /// Unset: embedded SQLite files under the data directory.
    #[arg(long, env = "RAPPORT_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Redis URL (redis://host:6379/0) for the cache and the event bus. Unset: in-process.
    #[arg(long, env = "RAPPORT_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Prefix of every Redis key, to share one Redis between deployments.
    #[arg(long, env = "RAPPORT_REDIS_PREFIX", default_value = "rapport:")]
    pub redis_prefix: String,

    /// HS256 secret that signs and verifies tokens. Unset: read from (or created in) the data
    /// directory's `jwt-secret` file.
    #[arg(long, env = "RAPPORT_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// PEM file of a public key (RS256 / ES256) that verifies tokens issued elsewhere; takes
    /// precedence over the secret.
    #[arg(long, env = "RAPPORT_JWT_PUBLIC_KEY_FILE")]
    pub jwt_public_key_file: Option<PathBuf>,

    /// Addresses of peer services, as `name=http://host:port`, comma-separated. Unset peers are
    /// reached at this server's own address (standalone).
    #[arg(long = "peer", env = "RAPPORT_PEERS", value_delimiter = ',')]
    pub peers: Vec<String>,

    /// Deadline of a request that brings none (seconds).
    #[arg(long, env = "RAPPORT_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,

    /// Requests served at once; more are refused with RESOURCE_EXHAUSTED.
    #[arg(long, env = "RAPPORT_MAX_CONCURRENT_REQUESTS", default_value_t = 1024)]
    pub max_concurrent_requests: usize,

    /// Largest request or response message (bytes).
    #[arg(long, env = "RAPPORT_MAX_MESSAGE_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_message_bytes: usize,

    /// Connections are closed gracefully after this many seconds, so clients reconnect and
    /// load spreads over new replicas.
    #[arg(long, env = "RAPPORT_MAX_CONNECTION_AGE_SECS", default_value_t = 300)]
    pub max_connection_age_secs: u64,

    /// On SIGTERM, seconds to report NOT_SERVING before the port closes, so load balancers
    /// stop sending new requests first.
    #[arg(long, env = "RAPPORT_SHUTDOWN_DRAIN_SECS", default_value_t = 5)]
    pub shutdown_drain_secs: u64,

    /// Database connections per service.
    #[arg(long, env = "RAPPORT_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,

    /// In-process cache entries per service (when no Redis is configured).
    #[arg(long, env = "RAPPORT_CACHE_ENTRIES", default_value_t = 100_000)]
    pub cache_entries: u64,

    /// Apply pending migrations when starting (they are idempotent and take a lock).
    #[arg(long, env = "RAPPORT_MIGRATE_ON_START", default_value_t = true, action = clap::ArgAction::Set)]
    pub migrate_on_start: bool,

    /// Name of this replica in event consumer groups; defaults to the host name.
    #[arg(long, env = "RAPPORT_REPLICA", default_value = "")]
    pub replica: String,

    /// Networks webhooks may be sent to although they are internal (loopback, private, …):
    /// CIDR blocks separated by commas or spaces, e.g. "10.20.0.0/16,fd00:1::/32". Empty allows
    /// none.
    #[arg(long, env = "RAPPORT_WEBHOOK_ALLOW_NETWORKS", default_value = "")]
    pub webhook_allow_networks: String,

    /// Where services send email and SMS (the campaigns service); each channel is optional.
    #[command(flatten)]
    pub channels: ChannelArgs,
}

/// The message channels' settings, as given: the kit's `channels` reads them. A channel left
/// unset is unavailable, and a send through it fails with that reason. Its `Debug` leaves out
/// the SMTP URL (it may carry a password) and the gateway's secret.
#[derive(Clone, Default, PartialEq, Eq, clap::Args)]
pub struct ChannelArgs {
    /// SMTP server that sends email: smtp://user:pass@host:port (plain), with ?tls=required
    /// (STARTTLS) or ?tls=opportunistic, or smtps://user:pass@host:port (TLS from the start).
    /// Unset: email is unavailable.
    #[arg(long, env = "RAPPORT_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The From of every email, e.g. "Rapport <news@example.com>". Required with --smtp-url.
    #[arg(long, env = "RAPPORT_SMTP_FROM")]
    pub smtp_from: Option<String>,

    /// URL of the SMS gateway that messages are POSTed to, signed as Standard Webhooks.
    /// Unset: SMS is unavailable.
    #[arg(long, env = "RAPPORT_SMS_GATEWAY_URL")]
    pub sms_gateway_url: Option<String>,

    /// The secret that signs requests to the SMS gateway, whsec_ and base64. Required with
    /// --sms-gateway-url.
    #[arg(long, env = "RAPPORT_SMS_GATEWAY_SECRET", hide_env_values = true)]
    pub sms_gateway_secret: Option<String>,
}

impl std::fmt::Debug for ChannelArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelArgs")
            .field("smtp_url", &redacted(self.smtp_url.as_deref()))
            .field("smtp_from", &self.smtp_from)
            .field("sms_gateway_url", &self.sms_gateway_url)
            .field(
                "sms_gateway_secret",
                &redacted(self.sms_gateway_secret.as_deref()),
            )
            .finish()
    }
}

impl std::fmt::Debug for ServerArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerArgs")
            .field("listen", &self.listen)
            .field("metrics_listen", &self.metrics_listen)
            .field("http_listen", &self.http_listen)
            .field("data_dir", &self.data_dir)
            .field("database_url", &redacted(self.database_url.as_deref()))
            .field("redis_url", &redacted(self.redis_url.as_deref()))
            .field("redis_prefix", &self.redis_prefix)
            .field("jwt_secret", &redacted(self.jwt_secret.as_deref()))
            .field("jwt_public_key_file", &self.jwt_public_key_file)
            .field("peers", &self.peers)
            .field("request_timeout_secs", &self.request_timeout_secs)
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field("max_message_bytes", &self.max_message_bytes)
            .field("max_connection_age_secs", &self.max_connection_age_secs)
            .field("shutdown_drain_secs", &self.shutdown_drain_secs)
            .field("db_max_connections", &self.db_max_connections)
            .field("cache_entries", &self.cache_entries)
            .field("migrate_on_start", &self.migrate_on_start)
            .field("replica", &self.replica)
            .field("webhook_allow_networks", &self.webhook_allow_networks)
            .field("channels", &self.channels)
            .finish()
    }
}

/// What `Debug` shows of a secret setting: whether it is set, never its value.
pub fn redacted(value: Option<&str>) -> &'static str {
    match value {
        Some(_) => "<redacted>",
        None => "<unset>",
    }
}

/// Where a port of the server (metrics, the HTTP gateway) is served, if anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen(pub Option<SocketAddr>);

impl std::str::FromStr for Listen {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("off") {
            return Ok(Listen(None));
        }
        s.parse()
            .map(|a| Listen(Some(a)))
            .map_err(|e| format!("{e}: expected host:port or off"))
    }
}

impl ServerArgs {
    /// The request deadline.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// This replica's member name in consumer groups.
    pub fn replica_name(&self) -> String {
        if !self.replica.is_empty() {
            return self.replica.clone();
        }
        std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .or_else(|| {
                std::fs::read_to_string("/etc/hostname")
                    .ok()
                    .map(|h| h.trim().to_owned())
            })
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "local".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        server: ServerArgs,
    }

    #[test]
    fn secrets_never_print() {
        let cli = Cli::parse_from([
            "rapport",
            "--database-url",
            "postgres://rapport:pg-password@db/rapport",
            "--redis-url",
            "redis://:redis-password@cache:6379/0",
            "--jwt-secret",
            "jwt-secret-value",
        ]);
        let printed = format!("{:?}", cli.server);
        for secret in ["pg-password", "redis-password", "jwt-secret-value"] {
            assert!(!printed.contains(secret), "{printed}");
        }
        assert!(printed.contains("<redacted>"));
        assert!(printed.contains("max_message_bytes"));
    }

    #[test]
    fn channels_are_read_from_flags_and_their_secrets_never_print() {
        let cli = Cli::parse_from([
            "rapport",
            "--smtp-url",
            "smtps://mailer:smtp-password@smtp.example.com",
            "--smtp-from",
            "Rapport <news@example.com>",
            "--sms-gateway-url",
            "https://sms.example.com/send",
            "--sms-gateway-secret",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ]);
        let c = &cli.server.channels;
        assert_eq!(
            c.smtp_url.as_deref(),
            Some("smtps://mailer:smtp-password@smtp.example.com")
        );
        assert_eq!(c.smtp_from.as_deref(), Some("Rapport <news@example.com>"));
        assert_eq!(
            c.sms_gateway_url.as_deref(),
            Some("https://sms.example.com/send")
        );
        for printed in [format!("{:?}", cli.server), format!("{c:?}")] {
            for secret in ["smtp-password", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"] {
                assert!(!printed.contains(secret), "{printed}");
            }
            assert!(
                printed.contains("https://sms.example.com/send"),
                "{printed}"
            );
            assert!(printed.contains("news@example.com"), "{printed}");
        }
        let none = Cli::parse_from(["rapport"]);
        assert_eq!(none.server.channels, ChannelArgs::default());
        assert!(format!("{:?}", none.server.channels).contains("smtp_url: \"<unset>\""));
    }
}
