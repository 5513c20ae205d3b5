//! The sender: one attempt of one message to one endpoint. It reads the URL, resolves the host
//! and checks every address against the [`Policy`], then connects to one of those very
//! addresses (no second lookup a hostile DNS server could answer differently), speaks TLS for
//! https with the URL's host as the server name, and POSTs the body with the Standard Webhooks
//! headers over HTTP/1.1. Redirects are answers like any other (a 3xx is a failure), the whole
//! attempt has one deadline, and at most [`BODY_LIMIT`] bytes of the answer are kept.
//!
//! Each attempt opens its own connection and closes it: deliveries to one endpoint are spread
//! out in time, and a pooled connection would outlive the address check it was made under.
//!
//! Nothing here is particular to partners' endpoints but the policy and the `User-Agent` a
//! sender is built with: the SMS channel ([`crate::channels::sms`]) sends its signed requests
//! with a sender of its own, under [`Policy::unrestricted`].

use std::{fmt, net::SocketAddr, sync::Arc, time::Duration};

use bytes::Bytes;
use http::{Request, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rapport_runtime::{clock::Micros, validation::FieldViolation};
use rustls::{ClientConfig, RootCertStore, pki_types::ServerName};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpStream,
    time::{Instant, timeout_at},
};
use tokio_rustls::TlsConnector;

use super::{
    schedule::Outcome,
    secret::Secret,
    signature::{Headers, ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER},
    target::{Policy, Target, violation},
};

/// How long one attempt may take, from resolving the host to the end of the answer.
pub const TIMEOUT: Duration = Duration::from_secs(15);
/// How many bytes of an answer's body are kept (for the delivery log).
pub const BODY_LIMIT: usize = 4 * 1024;
/// The `User-Agent` of every attempt.
pub const USER_AGENT: &str = concat!("Rapport-Webhooks/", env!("CARGO_PKG_VERSION"));

/// The field a delivery's URL is reported under.
const URL_FIELD: &str = "url";

/// One message to send.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The endpoint's URL.
    pub url: &'a str,
    /// The message id ([`super::message_id`]), the same on every attempt.
    pub msg_id: &'a str,
    /// The JSON body, sent exactly as signed.
    pub body: &'a [u8],
    /// The endpoint's secrets, at least one: the current one first, then any being rotated out.
    pub secrets: &'a [Secret],
}

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The answer's status; `None` when there was no answer (refused target, failed lookup or
    /// connection, TLS, timeout).
    pub status: Option<u16>,
    /// From the start of the attempt to its end.
    pub latency: Duration,
    /// The start of the answer's body, at most [`BODY_LIMIT`] bytes, as text.
    pub body: String,
    /// What went wrong: why there was no answer, or what broke while reading its body.
    pub error: Option<String>,
}

impl Attempt {
    /// What the attempt means for the message.
    pub fn outcome(&self) -> Outcome {
        Outcome::of(self.status)
    }
}

/// Sends webhooks (and other signed POSTs, such as the SMS gateway's). Cheap to clone; build one
/// per process.
#[derive(Clone)]
pub struct Sender {
    policy: Policy,
    timeout: Duration,
    user_agent: String,
    tls: TlsConnector,
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("policy", &self.policy)
            .field("timeout", &self.timeout)
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

impl Sender {
    /// A sender that sends where `policy` allows, with [`TIMEOUT`] and [`USER_AGENT`], and
    /// trusts the Mozilla root certificates for https.
    pub fn new(policy: Policy) -> Self {
        let roots = RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        // ring, already built for other crates, rather than aws-lc-rs and its C build; rustls
        // marks it deprecated for lacking post-quantum key exchange, which webhook receivers
        // do not ask for.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports TLS 1.2 and 1.3")
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Self {
            policy,
            timeout: TIMEOUT,
            user_agent: USER_AGENT.to_owned(),
            tls: TlsConnector::from(Arc::new(config)),
        }
    }

    /// The same sender with another deadline per attempt.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The same sender with another `User-Agent`.
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Its target policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Makes one attempt at `now` (the `webhook-timestamp`, from the service's clock).
    pub async fn send(&self, delivery: &Delivery<'_>, now: Micros) -> Attempt {
        let started = Instant::now();
        let result = self.exchange(delivery, now, started + self.timeout).await;
        let latency = started.elapsed();
        match result {
            Ok(answer) => Attempt {
                status: Some(answer.status),
                latency,
                body: answer.body,
                error: answer.error,
            },
            Err(error) => Attempt {
                status: None,
                latency,
                body: String::new(),
                error: Some(error),
            },
        }
    }

    async fn exchange(
        &self,
        d: &Delivery<'_>,
        now: Micros,
        deadline: Instant,
    ) -> Result<Answer, String> {
        if d.secrets.is_empty() {
            return Err("no signing secret".into());
        }
        let target = self
            .policy
            .parse_url(URL_FIELD, d.url)
            .map_err(|v| v.to_string())?;
        let request = self.request(&target, d, now)?;
        let addrs = timeout_at(deadline, resolve(&self.policy, URL_FIELD, &target))
            .await
            .map_err(|_| self.timed_out("resolving the host"))?
            .map_err(|v| v.to_string())?;
        let tcp = timeout_at(deadline, connect(&addrs))
            .await
            .map_err(|_| self.timed_out("connecting"))??;
        if !target.is_https() {
            return self.http(tcp, request, deadline).await;
        }
        let host = target.host();
        let name = ServerName::try_from(host.clone())
            .map_err(|e| format!("TLS: {host} is not a server name: {e}"))?;
        let tls = timeout_at(deadline, self.tls.connect(name, tcp))
            .await
            .map_err(|_| self.timed_out("in the TLS handshake"))?
            .map_err(|e| format!("TLS handshake with {host}: {e}"))?;
        self.http(tls, request, deadline).await
    }

    /// The signed POST request.
    fn request(
        &self,
        target: &Target,
        d: &Delivery<'_>,
        now: Micros,
    ) -> Result<Request<Full<Bytes>>, String> {
        let signed = Headers::new(d.msg_id, now, d.body, d.secrets);
        Request::post(target.path_and_query())
            .header(header::HOST, target.authority())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::USER_AGENT, &self.user_agent)
            .header(header::CONNECTION, "close")
            .header(ID_HEADER, signed.id)
            .header(TIMESTAMP_HEADER, signed.timestamp)
            .header(SIGNATURE_HEADER, signed.signature)
            .body(Full::new(Bytes::copy_from_slice(d.body)))
            .map_err(|e| format!("cannot build the request: {e}"))
    }

    /// Sends `request` on `io` and reads the answer, driving the connection meanwhile.
    async fn http<IO>(
        &self,
        io: IO,
        request: Request<Full<Bytes>>,
        deadline: Instant,
    ) -> Result<Answer, String>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (mut sender, conn) = timeout_at(
            deadline,
            hyper::client::conn::http1::handshake(TokioIo::new(io)),
        )
        .await
        .map_err(|_| self.timed_out("starting HTTP"))?
        .map_err(|e| format!("HTTP: {e}"))?;
        let exchange = async move {
            let response = timeout_at(deadline, sender.send_request(request))
                .await
                .map_err(|_| self.timed_out("waiting for the answer"))?
                .map_err(|e| format!("HTTP: {e}"))?;
            let status = response.status().as_u16();
            let (body, error) = read_limited(response.into_body(), deadline).await;
            Ok(Answer {
                status,
                body,
                error,
            })
        };
        tokio::pin!(exchange, conn);
        tokio::select! {
            biased;
            answer = &mut exchange => answer,
            // The connection ended (closed or broken): the exchange ends at once with what it
            // had, or with the error.
            _ = &mut conn => exchange.await,
        }
    }

    fn timed_out(&self, stage: &str) -> String {
        format!("timed out after {:?} {stage}", self.timeout)
    }
}

/// An answer: its status, the start of its body, and what broke while reading the body.
struct Answer {
    status: u16,
    body: String,
    error: Option<String>,
}

/// The first [`BODY_LIMIT`] bytes of `body` as text, and what stopped the reading short.
async fn read_limited(mut body: Incoming, deadline: Instant) -> (String, Option<String>) {
    let mut kept = Vec::new();
    let error = loop {
        if kept.len() >= BODY_LIMIT {
            break None;
        }
        match timeout_at(deadline, body.frame()).await {
            Err(_) => break Some("timed out reading the answer's body".to_owned()),
            Ok(None) => break None,
            Ok(Some(Err(e))) => break Some(format!("reading the answer's body: {e}")),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    let room = BODY_LIMIT - kept.len();
                    kept.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
        }
    };
    (String::from_utf8_lossy(&kept).into_owned(), error)
}

/// A connection to the first of `addrs` that accepts one.
async fn connect(addrs: &[SocketAddr]) -> Result<TcpStream, String> {
    let mut last = "no address to connect to".to_owned();
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                // Only latency is at stake; a socket that refuses the option still works.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => last = format!("connecting to {addr}: {e}"),
        }
    }
    Err(last)
}

/// The addresses to connect to for `target`, every one allowed by `policy`: the URL's own
/// address, or all those its host resolves to, refused as a whole when any of them is refused
/// (a name that also points inside is not a partner's endpoint). Problems are reported under
/// `field`. Use it to check a URL when a subscription is made, too.
pub async fn resolve(
    policy: &Policy,
    field: &str,
    target: &Target,
) -> Result<Vec<SocketAddr>, FieldViolation> {
    let port = target.port();
    if let Some(ip) = target.ip() {
        policy.check_ip(field, None, ip)?;
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let host = target.host();
    let mut addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| violation(field, format!("{host} does not resolve: {e}")))?
        .collect();
    addrs.dedup();
    if addrs.is_empty() {
        return Err(violation(field, format!("{host} resolves to no address")));
    }
    for addr in &addrs {
        policy.check_ip(field, Some(&host), addr.ip())?;
    }
    Ok(addrs)
}
