//! Email through an SMTP server. [`Mailer`] reads an SMTP URL and a From address once, keeps a
//! few connections open between messages, and sends each message as one SMTP transaction
//! within a deadline.
//!
//! lettre builds the messages (MIME, header encoding) and speaks SMTP (EHLO, STARTTLS, AUTH,
//! MAIL / RCPT / DATA with dot-stuffing, the reply codes); its own pool is not used. Its async
//! connections have no read deadline, so a deadline must cancel the exchange from outside, and
//! its pool takes a cancelled connection back as it is, mid-transaction: the next message on
//! it would read the replies meant for the one before. The pool here keeps a connection only
//! after a message went through on it, and a cancelled exchange drops (closes) its connection.
//!
//! What a failure means depends on where it happened. Connecting, TLS, EHLO and the login
//! concern the server and its configuration, never the message: all of them are
//! [`Outcome::Failed`], to retry once the server or the settings are right. Once the message
//! is under way, a 5xx reply (an unknown recipient, a refused sender or content) is
//! [`Outcome::Rejected`] and a 4xx (a full mailbox, greylisting) is [`Outcome::Failed`].

use std::{
    fmt,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use lettre::{
    Message,
    address::Envelope,
    message::{Mailbox, MultiPart, SinglePart, header::ContentType},
    transport::smtp::{
        SMTP_PORT, SUBMISSION_PORT, SUBMISSIONS_PORT,
        authentication::{Credentials, DEFAULT_MECHANISMS},
        client::{AsyncSmtpConnection, TlsParameters},
        extension::ClientId,
    },
};
use rapport_runtime::clock::Micros;
use tokio::{
    sync::Semaphore,
    time::{Instant, timeout_at},
};
use url::Url;

use super::{Outcome, message_id};

/// How long one message may take, from waiting for a connection to the server's reply to it.
pub const TIMEOUT: Duration = Duration::from_secs(30);
/// How long connecting (TCP) may take, within [`TIMEOUT`].
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections open at once; more messages wait for one. Mail servers limit connections per
/// client, and a campaign must not open one per recipient.
pub const MAX_CONNECTIONS: usize = 8;
/// How long an idle connection is kept; servers close idle ones after a minute or more.
const IDLE_FOR: Duration = Duration::from_secs(30);
/// The channel name in message ids.
const CHANNEL: &str = "email";

/// An email to send to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// The caller's key of this message, the same on every attempt (e.g.
    /// `{tenant}/{campaign}/{recipient}`): the `Message-ID` is derived from it.
    pub idempotency_key: String,
    /// The recipient: `someone@example.com` or `Name <someone@example.com>`.
    pub to: String,
    /// Subject and bodies, e.g. rendered by [`super::EmailTemplate::render`].
    pub content: EmailContent,
}

/// What an email says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EmailContent {
    /// One line.
    pub subject: String,
    /// The plain-text body, always sent.
    pub text: String,
    /// The HTML body; with it the message is `multipart/alternative`.
    pub html: Option<String>,
}

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain SMTP (`smtp://`): for a relay on the same host or network only.
    Plain,
    /// STARTTLS, refusing a server that does not offer it (`smtp://…?tls=required`).
    StartTls,
    /// STARTTLS when the server offers it, plain otherwise (`smtp://…?tls=opportunistic`).
    Opportunistic,
    /// TLS from the first byte (`smtps://`).
    Tls,
}

/// The SMTP server as its URL names it.
#[derive(Clone)]
struct Server {
    host: String,
    port: u16,
    security: Security,
    tls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    user: Option<String>,
    hello: ClientId,
}

impl Server {
    /// Reads `smtp[s]://[user:password@]host[:port][/ehlo-name][?tls=required|opportunistic]`,
    /// lettre's connection URL: the same ports by default (25 plain, 587 with STARTTLS, 465
    /// with TLS), the user and password percent-decoded, the path as the EHLO name.
    fn parse(raw: &str) -> Result<Self, String> {
        let url = Url::parse(raw.trim()).map_err(|e| format!("is not a URL: {e}"))?;
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let (security, default_port) = match (url.scheme(), tls.as_deref()) {
            ("smtp", None) => (Security::Plain, SMTP_PORT),
            ("smtp", Some("required")) => (Security::StartTls, SUBMISSION_PORT),
            ("smtp", Some("opportunistic")) => (Security::Opportunistic, SUBMISSION_PORT),
            ("smtps", None) => (Security::Tls, SUBMISSIONS_PORT),
            ("smtp" | "smtps", Some(other)) => {
                return Err(format!(
                    "has tls={other}; use tls=required or tls=opportunistic with smtp://, \
                     nothing with smtps://"
                ));
            }
            (scheme, _) => return Err(format!("must be an smtp or smtps URL, not {scheme}")),
        };
        let host = match url.host_str() {
            Some(h) if !h.is_empty() => h.trim_start_matches('[').trim_end_matches(']'),
            _ => return Err("must name a host".into()),
        };
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| "has a user or password that is not UTF-8 once decoded".to_owned())
        };
        let (credentials, user) = match url.password() {
            Some(password) => {
                let user = decode(url.username())?;
                (
                    Some(Credentials::new(user.clone(), decode(password)?)),
                    Some(user),
                )
            }
            None if !url.username().is_empty() => {
                return Err("has a user but no password".into());
            }
            None => (None, None),
        };
        let tls = match security {
            Security::Plain => None,
            _ => Some(
                TlsParameters::new(host.to_owned())
                    .map_err(|e| format!("cannot set up TLS for {host}: {e}"))?,
            ),
        };
        let hello = match url.path().trim_matches('/') {
            "" => ClientId::default(),
            name => ClientId::Domain(name.to_owned()),
        };
        Ok(Self {
            host: host.to_owned(),
            port: url.port().unwrap_or(default_port),
            security,
            tls,
            credentials,
            user,
            hello,
        })
    }

    /// A new connection, protected and logged in as the URL says.
    async fn connect(&self) -> Result<AsyncSmtpConnection, String> {
        let wrapped = match self.security {
            Security::Tls => self.tls.clone(),
            _ => None,
        };
        let mut conn = AsyncSmtpConnection::connect_tokio1(
            (self.host.as_str(), self.port),
            Some(CONNECT_TIMEOUT),
            &self.hello,
            wrapped,
            None,
        )
        .await
        .map_err(|e| format!("connecting to {}:{}: {e}", self.host, self.port))?;
        let starttls = match self.security {
            Security::StartTls => true,
            Security::Opportunistic => conn.can_starttls(),
            Security::Plain | Security::Tls => false,
        };
        if starttls && let Some(tls) = &self.tls {
            conn.starttls(tls.clone(), &self.hello)
                .await
                .map_err(|e| format!("STARTTLS with {}: {e}", self.host))?;
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, credentials)
                .await
                .map_err(|e| format!("logging in to {}: {e}", self.host))?;
        }
        Ok(conn)
    }
}

/// An idle connection and since when.
struct Idle {
    conn: AsyncSmtpConnection,
    since: Instant,
}

struct Inner {
    server: Server,
    from: Mailbox,
    idle: Mutex<Vec<Idle>>,
    permits: Semaphore,
}

/// Sends email through one SMTP server from one address. Cheap to clone (clones share the
/// connections); build one per process.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
    timeout: Duration,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.inner.server;
        f.debug_struct("Mailer")
            .field("host", &s.host)
            .field("port", &s.port)
            .field("security", &s.security)
            .field("user", &s.user)
            .field("from", &self.inner.from.to_string())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer for the SMTP server of `url` (see [`Security`] for the forms) sending from
    /// `from` (`news@example.com` or `Name <news@example.com>`). Nothing is connected until the
    /// first message. Errors say what is wrong with which of the two, never the password.
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let server = Server::parse(url).map_err(|e| format!("the SMTP URL {e}"))?;
        let from: Mailbox = from
            .trim()
            .parse()
            .map_err(|e| format!("the From address {from:?} does not read: {e}"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                server,
                from,
                idle: Mutex::default(),
                permits: Semaphore::new(MAX_CONNECTIONS),
            }),
            timeout: TIMEOUT,
        })
    }

    /// The same mailer (sharing its connections) with another deadline per message.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The From of its messages.
    pub fn from(&self) -> &Mailbox {
        &self.inner.from
    }

    /// The `Message-ID` of the message with `idempotency_key` from this mailer:
    /// `<msg_…@the From's domain>`.
    pub fn message_id(&self, idempotency_key: &str) -> String {
        format!(
            "<{}@{}>",
            message_id(CHANNEL, idempotency_key),
            self.inner.from.email.domain()
        )
    }

    /// Sends `email`, dated `now` (the service's clock), within the mailer's deadline.
    pub async fn send(&self, email: &Email, now: Micros) -> Outcome {
        let (envelope, bytes) = match self.build(email, now) {
            Ok(built) => built,
            Err(reason) => return Outcome::rejected(reason),
        };
        let deadline = Instant::now() + self.timeout;
        match timeout_at(deadline, self.deliver(&envelope, &bytes)).await {
            Ok(outcome) => outcome,
            // The exchange was dropped with its connection, which closed it.
            Err(_) => Outcome::failed(format!(
                "timed out after {:?} sending to {}:{}",
                self.timeout, self.inner.server.host, self.inner.server.port
            )),
        }
    }

    /// The message's envelope and bytes; a recipient or content that cannot be sent is the
    /// reason it is rejected.
    fn build(&self, email: &Email, now: Micros) -> Result<(Envelope, Vec<u8>), String> {
        let to: Mailbox = email
            .to
            .trim()
            .parse()
            .map_err(|e| format!("to: {:?} is not an email address: {e}", email.to))?;
        let c = &email.content;
        let builder = Message::builder()
            .message_id(Some(self.message_id(&email.idempotency_key)))
            .date(SystemTime::UNIX_EPOCH + Duration::from_micros(now.max(0) as u64))
            .from(self.inner.from.clone())
            .to(to)
            .subject(c.subject.clone());
        let message = match &c.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                c.text.clone(),
                html.clone(),
            )),
            None => builder.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(c.text.clone()),
            ),
        }
        .map_err(|e| format!("the message cannot be built: {e}"))?;
        Ok((message.envelope().clone(), message.formatted()))
    }

    /// One SMTP transaction on a pooled or new connection.
    async fn deliver(&self, envelope: &Envelope, bytes: &[u8]) -> Outcome {
        let Ok(_permit) = self.inner.permits.acquire().await else {
            return Outcome::failed("the mailer is closed");
        };
        let mut conn = match self.checkout().await {
            Ok(conn) => conn,
            Err(reason) => return Outcome::failed(reason),
        };
        match conn.send(envelope, bytes).await {
            Ok(reply) => {
                self.checkin(conn);
                let text: Vec<&str> = reply.message().collect();
                Outcome::Delivered {
                    reference: Some(format!("{} {}", reply.code(), text.join(" "))),
                }
            }
            // lettre has already ended the connection (QUIT) after any failure.
            Err(e) if e.is_permanent() => {
                Outcome::rejected(format!("the SMTP server refused the message: {e}"))
            }
            Err(e) => Outcome::failed(format!("sending to {}: {e}", self.inner.server.host)),
        }
    }

    /// The newest idle connection that still answers, or a new one.
    async fn checkout(&self) -> Result<AsyncSmtpConnection, String> {
        loop {
            let idle = self.inner.idle.lock().expect("pool lock").pop();
            let Some(Idle { mut conn, since }) = idle else {
                break;
            };
            // NOOP proves the server still holds the connection (it may have closed it while
            // idle) before a message is committed to it.
            if since.elapsed() < IDLE_FOR && conn.test_connected().await {
                return Ok(conn);
            }
        }
        self.inner.server.connect().await
    }

    /// Keeps a connection that just completed a transaction, for the next message.
    fn checkin(&self, conn: AsyncSmtpConnection) {
        let mut idle = self.inner.idle.lock().expect("pool lock");
        idle.retain(|c| c.since.elapsed() < IDLE_FOR);
        if idle.len() < MAX_CONNECTIONS {
            idle.push(Idle {
                conn,
                since: Instant::now(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(url: &str) -> Server {
        Server::parse(url).unwrap()
    }

    #[test]
    fn smtp_urls_read_as_lettre_reads_them() {
        let s = server("smtp://relay.internal");
        assert_eq!(
            (s.host.as_str(), s.port, s.security),
            ("relay.internal", 25, Security::Plain)
        );
        assert!(s.credentials.is_none() && s.tls.is_none());
        let s = server("smtp://mailer:p%40ss@smtp.example.com?tls=required");
        assert_eq!((s.port, s.security), (587, Security::StartTls));
        assert_eq!(s.user.as_deref(), Some("mailer"));
        assert_eq!(
            s.credentials,
            Some(Credentials::new("mailer".into(), "p@ss".into()))
        );
        let s = server("smtp://smtp.example.com:2525/crm.example.com?tls=opportunistic");
        assert_eq!((s.port, s.security), (2525, Security::Opportunistic));
        assert_eq!(s.hello, ClientId::Domain("crm.example.com".into()));
        let s = server("smtps://u:p@smtp.example.com");
        assert_eq!((s.port, s.security), (465, Security::Tls));
        assert!(s.tls.is_some());
        let s = server("smtp://[::1]:2525");
        assert_eq!((s.host.as_str(), s.port), ("::1", 2525));
    }

    #[test]
    fn bad_smtp_urls_are_refused_with_the_reason() {
        let cases = [
            (
                "smtp.example.com",
                "is not a URL: relative URL without a base",
            ),
            (
                "http://smtp.example.com",
                "must be an smtp or smtps URL, not http",
            ),
            (
                "smtp://smtp.example.com?tls=starttls",
                "has tls=starttls; use tls=required or tls=opportunistic with smtp://, nothing \
                 with smtps://",
            ),
            (
                "smtp://mailer@smtp.example.com",
                "has a user but no password",
            ),
            ("smtp://", "must name a host"),
        ];
        for (url, want) in cases {
            assert_eq!(Server::parse(url).err().as_deref(), Some(want), "{url}");
        }
    }

    #[test]
    fn a_mailer_never_shows_its_password() {
        let m = Mailer::new(
            "smtps://mailer:secret-password@smtp.example.com",
            "Rapport <news@example.com>",
        )
        .unwrap();
        let printed = format!("{m:?}");
        assert!(!printed.contains("secret-password"), "{printed}");
        assert!(printed.contains("smtp.example.com") && printed.contains("mailer"));
        let e = Mailer::new("smtp://u:secret-password@h?tls=x", "a@b.c").unwrap_err();
        assert!(!e.contains("secret-password"), "{e}");
        let e = Mailer::new("smtp://h", "not an address").unwrap_err();
        assert!(
            e.starts_with("the From address \"not an address\" does not read"),
            "{e}"
        );
    }

    #[test]
    fn the_message_id_comes_from_the_key_and_the_senders_domain() {
        let m = Mailer::new("smtp://h", "News <news@shop.example.com>").unwrap();
        let id = m.message_id("t1/c1/r1");
        assert_eq!(id, m.message_id("t1/c1/r1"));
        assert!(
            id.starts_with("<msg_") && id.ends_with("@shop.example.com>"),
            "{id}"
        );
        assert_ne!(id, m.message_id("t1/c1/r2"));
    }

    #[test]
    fn a_recipient_that_is_not_an_address_is_rejected_before_connecting() {
        let m = Mailer::new("smtp://127.0.0.1:9", "news@example.com").unwrap();
        let email = Email {
            idempotency_key: "k".into(),
            to: "nobody".into(),
            content: EmailContent {
                subject: "Hi".into(),
                text: "Hello".into(),
                html: None,
            },
        };
        let e = m.build(&email, 0).unwrap_err();
        assert!(
            e.starts_with("to: \"nobody\" is not an email address"),
            "{e}"
        );
    }
}
