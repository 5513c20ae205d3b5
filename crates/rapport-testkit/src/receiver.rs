//! A webhook receiver on 127.0.0.1 for tests: it logs every request it gets and answers the
//! status (and body) it is set to, so a test sees what a partner's system would have received.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU16, AtomicU64, Ordering},
    },
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use serde_json::Value;

use crate::{standard_webhooks::Headers, wait::eventually};

/// A request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body.
    pub body: Bytes,
}

impl Received {
    /// The value of header `name`, empty when absent.
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// Its Standard Webhooks headers, to check with [`Headers::signed`].
    pub fn webhook_headers(&self) -> Headers {
        Headers {
            id: self.header("webhook-id"),
            timestamp: self.header("webhook-timestamp"),
            signature: self.header("webhook-signature"),
        }
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// A receiver on 127.0.0.1: logs every request and answers the status it is set to.
#[derive(Clone)]
pub struct Receiver {
    /// Where it listens.
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
    body: Arc<Mutex<String>>,
    delay_ms: Arc<AtomicU64>,
}

impl Receiver {
    /// A receiver on a free port.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(listener)
    }

    /// A receiver on `addr`, which nothing listened on until now.
    pub async fn start_on(addr: SocketAddr) -> Self {
        Self::serve(tokio::net::TcpListener::bind(addr).await.unwrap())
    }

    fn serve(listener: tokio::net::TcpListener) -> Self {
        let r = Receiver {
            addr: listener.local_addr().unwrap(),
            log: Arc::default(),
            status: Arc::new(AtomicU16::new(200)),
            body: Arc::default(),
            delay_ms: Arc::default(),
        };
        let app = Router::new().fallback(receive).with_state(r.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        r
    }

    /// The URL of `path` on it.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Answers `status` with an empty body from now on.
    pub fn answer(&self, status: u16) {
        self.answer_with(status, "");
    }

    /// Answers `status` with `body` from now on.
    pub fn answer_with(&self, status: u16, body: &str) {
        *self.body.lock().unwrap() = body.to_owned();
        self.status.store(status, Ordering::SeqCst);
    }

    /// Answers each request `delay` after it arrived (logged at once), from now on: a slow
    /// peer, so that a test can stop its caller while answers are outstanding.
    pub fn delay(&self, delay: std::time::Duration) {
        self.delay_ms.store(
            u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            Ordering::SeqCst,
        );
    }

    /// What it got so far, oldest first.
    pub fn got(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }

    /// What it got once it got at least `n` requests.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        eventually(&format!("{} got {n} requests", self.addr), async || {
            self.got().len() >= n
        })
        .await;
        self.got()
    }
}

async fn receive(
    State(r): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    r.log.lock().unwrap().push(Received { headers, body });
    let delay = r.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    let answer = r.body.lock().unwrap().clone();
    (
        StatusCode::from_u16(r.status.load(Ordering::SeqCst)).unwrap(),
        answer,
    )
}
