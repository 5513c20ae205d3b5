//! A real SMTP server on 127.0.0.1 for tests: it speaks enough of RFC 5321 for a mail client
//! (EHLO / HELO, optional AUTH PLAIN, MAIL FROM, RCPT TO, DATA with dot-unstuffing, RSET, NOOP,
//! QUIT) and records every message it accepts, so a test counts exactly what arrived. It can
//! refuse a recipient with a chosen 4xx or 5xx reply, require a login, never answer the end of
//! a message (a hung server), and be stopped (closing the connections it holds) and started
//! again on the same port. Plain SMTP only: no STARTTLS.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use base64::{Engine, engine::general_purpose::STANDARD};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream, tcp::OwnedWriteHalf},
    sync::watch,
    task::{JoinHandle, JoinSet},
};

use crate::wait::eventually;

/// The name the server gives itself.
const NAME: &str = "rapport-test";

/// A message the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The `MAIL FROM` address.
    pub from: String,
    /// The `RCPT TO` addresses it accepted.
    pub recipients: Vec<String>,
    /// The message as sent after `DATA`, dot-unstuffed, without the closing `.` line.
    pub data: String,
    /// The `Subject` header, unfolded and decoded (RFC 2047).
    pub subject: Option<String>,
    /// The `Message-ID` header.
    pub message_id: Option<String>,
    /// The user that logged in (AUTH PLAIN), if any.
    pub user: Option<String>,
}

impl Mail {
    /// The first header `name` (case-insensitive), unfolded, as written.
    pub fn header(&self, name: &str) -> Option<String> {
        header(&self.data, name)
    }

    /// Everything after the headers.
    pub fn body(&self) -> &str {
        self.data
            .split_once("\r\n\r\n")
            .map(|(_, body)| body)
            .unwrap_or_default()
    }
}

/// What the server is told to do.
#[derive(Default)]
struct State {
    mail: Mutex<Vec<Mail>>,
    refusals: Mutex<HashMap<String, String>>,
    login: Mutex<Option<(String, String)>>,
    hang: AtomicBool,
}

/// A listening server: its stop signal and its accept loop.
struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// An SMTP server on 127.0.0.1.
pub struct SmtpServer {
    /// Where it listens (the same after a restart).
    pub addr: SocketAddr,
    state: Arc<State>,
    running: Option<Running>,
}

impl SmtpServer {
    /// A server on a free port.
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0".parse().expect("addr")).await
    }

    /// A server on `addr`, which nothing listens on now.
    pub async fn start_on(addr: SocketAddr) -> Self {
        let mut server = Self {
            addr,
            state: Arc::default(),
            running: None,
        };
        server.listen(addr).await;
        server
    }

    async fn listen(&mut self, addr: SocketAddr) {
        let listener = TcpListener::bind(addr).await.expect("bind the SMTP server");
        self.addr = listener.local_addr().expect("its address");
        let (stop, stopped) = watch::channel(false);
        let state = self.state.clone();
        let task = tokio::spawn(accept(listener, state, stopped));
        self.running = Some(Running { stop, task });
    }

    /// Its URL for a client: `smtp://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Its URL with a login: `smtp://user:password@127.0.0.1:<port>`.
    pub fn url_with_login(&self, user: &str, password: &str) -> String {
        format!("smtp://{user}:{password}@{}", self.addr)
    }

    /// From now on, offer AUTH PLAIN and accept a message only after a login as `user` with
    /// `password`.
    pub fn require_login(&self, user: &str, password: &str) {
        *self.state.login.lock().unwrap() = Some((user.to_owned(), password.to_owned()));
    }

    /// From now on, answer `RCPT TO` of `recipient` with `code` and `text` (e.g. 550, "5.1.1
    /// no such user"; 452, "4.2.2 mailbox full").
    pub fn refuse(&self, recipient: &str, code: u16, text: &str) {
        self.state
            .refusals
            .lock()
            .unwrap()
            .insert(recipient.to_lowercase(), format!("{code} {text}"));
    }

    /// Whether to record every message and then never answer its end (a server that hangs
    /// after taking it), from now on.
    pub fn hang(&self, hang: bool) {
        self.state.hang.store(hang, Ordering::SeqCst);
    }

    /// The messages accepted so far, oldest first (kept across restarts).
    pub fn mail(&self) -> Vec<Mail> {
        self.state.mail.lock().unwrap().clone()
    }

    /// The messages accepted once there are at least `n`.
    pub async fn wait_for(&self, n: usize) -> Vec<Mail> {
        eventually(&format!("{} got {n} messages", self.addr), async || {
            self.mail().len() >= n
        })
        .await;
        self.mail()
    }

    /// Stops listening and closes every connection, as a server that went down.
    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.stop.send(true);
            let _ = running.task.await;
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.listen(self.addr).await;
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(running) = &self.running {
            let _ = running.stop.send(true);
        }
    }
}

/// Accepts connections until stopped, then closes them all.
async fn accept(listener: TcpListener, state: Arc<State>, mut stopped: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    connections.spawn(session(stream, state.clone()));
                }
            }
        }
    }
    // Aborting a session drops its socket: the client sees the connection close.
    connections.shutdown().await;
}

/// A transaction under way.
#[derive(Default)]
struct Envelope {
    from: Option<String>,
    recipients: Vec<String>,
}

/// One client's session.
async fn session(stream: TcpStream, state: Arc<State>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if reply(&mut write, &format!("220 {NAME} ESMTP"))
        .await
        .is_err()
    {
        return;
    }
    let mut envelope = Envelope::default();
    let mut user: Option<String> = None;
    loop {
        let Some(line) = read_line(&mut lines).await else {
            return;
        };
        let (verb, arg) = match line.split_once(' ') {
            Some((verb, arg)) => (verb.to_uppercase(), arg.trim().to_owned()),
            None => (line.to_uppercase(), String::new()),
        };
        let login = state.login.lock().unwrap().clone();
        let answer = match verb.as_str() {
            "EHLO" => {
                let auth = if login.is_some() {
                    "250-AUTH PLAIN\r\n"
                } else {
                    ""
                };
                format!("250-{NAME}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n{auth}250 SIZE 10485760")
            }
            "HELO" => format!("250 {NAME}"),
            "AUTH" => {
                let Some(encoded) = auth_plain(&arg, &mut lines, &mut write).await else {
                    return;
                };
                match (decode_plain(&encoded), &login) {
                    (Some((u, p)), Some((want_u, want_p))) if &u == want_u && &p == want_p => {
                        user = Some(u);
                        "235 2.7.0 Authentication successful".into()
                    }
                    _ => "535 5.7.8 Authentication credentials invalid".into(),
                }
            }
            "MAIL" if login.is_some() && user.is_none() => {
                "530 5.7.0 Authentication required".into()
            }
            "MAIL" => {
                envelope = Envelope {
                    from: Some(address(&arg)),
                    recipients: Vec::new(),
                };
                "250 2.1.0 OK".into()
            }
            "RCPT" if envelope.from.is_none() => "503 5.5.1 MAIL first".into(),
            "RCPT" => {
                let to = address(&arg);
                let refusal = state
                    .refusals
                    .lock()
                    .unwrap()
                    .get(&to.to_lowercase())
                    .cloned();
                match refusal {
                    Some(refusal) => refusal,
                    None => {
                        envelope.recipients.push(to);
                        "250 2.1.5 OK".into()
                    }
                }
            }
            "DATA" if envelope.recipients.is_empty() => "503 5.5.1 RCPT first".into(),
            "DATA" => {
                if reply(&mut write, "354 End data with <CR><LF>.<CR><LF>")
                    .await
                    .is_err()
                {
                    return;
                }
                let Some(data) = read_data(&mut lines).await else {
                    return;
                };
                let mail = Mail {
                    from: envelope.from.take().unwrap_or_default(),
                    recipients: std::mem::take(&mut envelope.recipients),
                    subject: header(&data, "subject").map(|s| decode_words(&s)),
                    message_id: header(&data, "message-id"),
                    data,
                    user: user.clone(),
                };
                let queued = {
                    let mut all = state.mail.lock().unwrap();
                    all.push(mail);
                    all.len()
                };
                if state.hang.load(Ordering::SeqCst) {
                    // Taken but never answered, as a server that hangs at the worst moment;
                    // the session ends when a stop closes it.
                    std::future::pending::<()>().await;
                }
                format!("250 2.0.0 OK queued as {queued}")
            }
            "RSET" => {
                envelope = Envelope::default();
                "250 2.0.0 OK".into()
            }
            "NOOP" => "250 2.0.0 OK".into(),
            "QUIT" => {
                let _ = reply(&mut write, "221 2.0.0 Bye").await;
                return;
            }
            _ => "502 5.5.2 Command not recognized".into(),
        };
        if reply(&mut write, &answer).await.is_err() {
            return;
        }
    }
}

/// Sends one reply (its lines joined with CRLF already).
async fn reply(write: &mut OwnedWriteHalf, text: &str) -> std::io::Result<()> {
    write.write_all(format!("{text}\r\n").as_bytes()).await
}

/// One line without its line end; `None` when the client closed the connection.
async fn read_line<R: AsyncBufReadExt + Unpin>(lines: &mut R) -> Option<String> {
    let mut buf = Vec::new();
    match lines.read_until(b'\n', &mut buf).await {
        Ok(0) | Err(_) => None,
        Ok(_) => {
            while matches!(buf.last(), Some(b'\n' | b'\r')) {
                buf.pop();
            }
            Some(String::from_utf8_lossy(&buf).into_owned())
        }
    }
}

/// The lines after DATA up to the lone `.`, dot-unstuffed, joined with CRLF.
async fn read_data<R: AsyncBufReadExt + Unpin>(lines: &mut R) -> Option<String> {
    let mut data: Vec<String> = Vec::new();
    loop {
        let line = read_line(lines).await?;
        if line == "." {
            return Some(data.join("\r\n"));
        }
        data.push(match line.strip_prefix('.') {
            Some(rest) => rest.to_owned(),
            None => line,
        });
    }
}

/// The base64 of an AUTH PLAIN: given with the command, or asked for with a 334.
async fn auth_plain<R: AsyncBufReadExt + Unpin>(
    arg: &str,
    lines: &mut R,
    write: &mut OwnedWriteHalf,
) -> Option<String> {
    let mut parts = arg.split_whitespace();
    let mechanism = parts.next().unwrap_or_default();
    if !mechanism.eq_ignore_ascii_case("PLAIN") {
        return Some(String::new());
    }
    match parts.next() {
        Some(initial) => Some(initial.to_owned()),
        None => {
            reply(write, "334 ").await.ok()?;
            read_line(lines).await
        }
    }
}

/// The user and password of an AUTH PLAIN response (`\0user\0password`, base64).
fn decode_plain(encoded: &str) -> Option<(String, String)> {
    let bytes = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.split('\0');
    let _authzid = parts.next()?;
    Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
}

/// The address of `FROM:<a@b> SIZE=…` or `TO:<a@b>`.
fn address(arg: &str) -> String {
    let rest = arg.split_once(':').map_or(arg, |(_, rest)| rest).trim();
    match (rest.find('<'), rest.find('>')) {
        (Some(open), Some(close)) if open < close => rest[open + 1..close].to_owned(),
        _ => rest
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}

/// The first header `name` of a message, unfolded.
fn header(data: &str, name: &str) -> Option<String> {
    let head = data.split("\r\n\r\n").next().unwrap_or_default();
    let mut value: Option<String> = None;
    for line in head.split("\r\n") {
        match &mut value {
            Some(v) if line.starts_with([' ', '\t']) => v.push_str(line),
            Some(_) => break,
            None => {
                if let Some((n, v)) = line.split_once(':')
                    && n.trim().eq_ignore_ascii_case(name)
                {
                    value = Some(v.trim_start().to_owned());
                }
            }
        }
    }
    value.map(|v| v.trim().to_owned())
}

/// A header value with its RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) decoded;
/// the space between two encoded words is dropped, as the RFC says.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut pending_space = String::new();
    let mut last_was_word = false;
    for token in value.split_inclusive([' ', '\t']) {
        let word = token.trim_end_matches([' ', '\t']);
        let space = &token[word.len()..];
        match decode_word(word) {
            Some(decoded) => {
                if !last_was_word {
                    out.push_str(&pending_space);
                }
                out.push_str(&decoded);
                last_was_word = true;
            }
            None => {
                out.push_str(&pending_space);
                out.push_str(word);
                last_was_word = false;
            }
        }
        pending_space = space.to_owned();
    }
    out
}

/// One encoded word, decoded; `None` when `word` is not one.
fn decode_word(word: &str) -> Option<String> {
    let inner = word.strip_prefix("=?")?.strip_suffix("?=")?;
    let mut parts = inner.splitn(3, '?');
    let (_charset, encoding, text) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = match encoding {
        "B" | "b" => STANDARD.decode(text).ok()?,
        "Q" | "q" => {
            let mut out = Vec::new();
            let mut bytes = text.bytes();
            while let Some(b) = bytes.next() {
                match b {
                    b'_' => out.push(b' '),
                    b'=' => {
                        let hex = [bytes.next()?, bytes.next()?];
                        out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
                    }
                    b => out.push(b),
                }
            }
            out
        }
        _ => return None,
    };
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    use super::*;

    /// A raw client: sends lines, reads replies.
    struct Client {
        lines: BufReader<tokio::net::tcp::OwnedReadHalf>,
        write: tokio::net::tcp::OwnedWriteHalf,
    }

    impl Client {
        async fn connect(addr: SocketAddr) -> Self {
            let (read, write) = TcpStream::connect(addr).await.unwrap().into_split();
            let mut c = Self {
                lines: BufReader::new(read),
                write,
            };
            assert!(c.reply().await.starts_with("220 "));
            c
        }

        /// One whole reply, its lines joined with `|`.
        async fn reply(&mut self) -> String {
            let mut all = Vec::new();
            loop {
                let mut line = String::new();
                if self.lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return all.join("|");
                }
                let line = line.trim_end().to_owned();
                let last = line.as_bytes().get(3) != Some(&b'-');
                all.push(line);
                if last {
                    return all.join("|");
                }
            }
        }

        async fn say(&mut self, line: &str) -> String {
            // A closed connection shows as an empty reply.
            let _ = self.write.write_all(format!("{line}\r\n").as_bytes()).await;
            self.reply().await
        }
    }

    #[tokio::test]
    async fn a_message_is_recorded_dot_unstuffed() {
        let server = SmtpServer::start().await;
        let mut c = Client::connect(server.addr).await;
        assert!(
            c.say("EHLO client")
                .await
                .starts_with("250-rapport-test|250-8BITMIME")
        );
        assert_eq!(c.say("NOOP").await, "250 2.0.0 OK");
        assert_eq!(
            c.say("RCPT TO:<a@example.com>").await,
            "503 5.5.1 MAIL first"
        );
        assert_eq!(
            c.say("MAIL FROM:<news@example.com> BODY=8BITMIME").await,
            "250 2.1.0 OK"
        );
        assert_eq!(c.say("RCPT TO:<a@example.com>").await, "250 2.1.5 OK");
        assert!(c.say("DATA").await.starts_with("354 "));
        let data = "Subject: =?utf-8?b?5L2g5aW9?= =?utf-8?q?_there?=\r\nMessage-ID: <m1@example.com>\r\n\r\nline\r\n..starts with a dot\r\n.";
        assert_eq!(c.say(data).await, "250 2.0.0 OK queued as 1");
        assert_eq!(c.say("RSET").await, "250 2.0.0 OK");
        assert_eq!(c.say("QUIT").await, "221 2.0.0 Bye");
        let mail = server.mail();
        assert_eq!(mail.len(), 1);
        let m = &mail[0];
        assert_eq!(m.from, "news@example.com");
        assert_eq!(m.recipients, ["a@example.com"]);
        assert_eq!(m.subject.as_deref(), Some("你好 there"));
        assert_eq!(m.message_id.as_deref(), Some("<m1@example.com>"));
        assert_eq!(m.body(), "line\r\n.starts with a dot");
        assert_eq!(m.user, None);
    }

    #[tokio::test]
    async fn refusals_logins_and_restarts() {
        let mut server = SmtpServer::start().await;
        server.refuse("Gone@example.com", 550, "5.1.1 no such user");
        server.require_login("mailer", "pw");
        let mut c = Client::connect(server.addr).await;
        assert!(c.say("EHLO client").await.contains("250-AUTH PLAIN"));
        assert_eq!(
            c.say("MAIL FROM:<a@b.c>").await,
            "530 5.7.0 Authentication required"
        );
        let wrong = STANDARD.encode("\0mailer\0nope");
        assert_eq!(
            c.say(&format!("AUTH PLAIN {wrong}")).await,
            "535 5.7.8 Authentication credentials invalid"
        );
        assert_eq!(c.say("AUTH PLAIN").await, "334");
        assert_eq!(
            c.say(&STANDARD.encode("\0mailer\0pw")).await,
            "235 2.7.0 Authentication successful"
        );
        assert_eq!(c.say("MAIL FROM:<a@b.c>").await, "250 2.1.0 OK");
        assert_eq!(
            c.say("RCPT TO:<gone@example.com>").await,
            "550 5.1.1 no such user"
        );
        assert_eq!(c.say("DATA").await, "503 5.5.1 RCPT first");

        let addr = server.addr;
        server.stop().await;
        // The open connection was closed, and nothing listens.
        assert_eq!(c.say("NOOP").await, "");
        assert!(TcpStream::connect(addr).await.is_err());
        server.restart().await;
        assert_eq!(server.addr, addr);
        let mut c = Client::connect(addr).await;
        assert_eq!(c.say("HELO client").await, "250 rapport-test");
    }

    #[test]
    fn headers_unfold_and_words_decode() {
        let data = "To: a@b.c\r\nSubject: =?utf-8?b?5L2g?=\r\n =?utf-8?b?5aW9?= plain\r\nX: y\r\n\r\nSubject: not this";
        assert_eq!(
            header(data, "SUBJECT").as_deref(),
            Some("=?utf-8?b?5L2g?= =?utf-8?b?5aW9?= plain")
        );
        assert_eq!(
            decode_words(&header(data, "subject").unwrap()),
            "你好 plain"
        );
        assert_eq!(decode_words("plain words"), "plain words");
        assert_eq!(header(data, "cc"), None);
        assert_eq!(address("FROM:<a@b.c> SIZE=100"), "a@b.c");
        assert_eq!(address("TO: x@y.z"), "x@y.z");
    }
}
