//! An SMS gateway for tests, over [`Receiver`]: it takes the channel's signed JSON POSTs, checks
//! each signature on its own ([`standard_webhooks::verify`]) and answers what it is set to
//! (`200` with `{"gateway_message_id": "gw-<n>"}` at first), so a test counts what would have
//! been sent and sees that it was signed with the gateway's secret.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::{Engine, engine::general_purpose::STANDARD};

use crate::{
    receiver::{Received, Receiver},
    standard_webhooks,
};

/// An SMS as the gateway got it.
#[derive(Debug, Clone)]
pub struct Sms {
    /// `id`: the message id, the same on every attempt.
    pub id: String,
    /// `to`: the number.
    pub to: String,
    /// `text`.
    pub text: String,
    /// `sender`, when given.
    pub sender: Option<String>,
    /// Whether the signature verified with the gateway's secret when it arrived, and if not,
    /// why.
    pub verified: Result<(), String>,
    /// The request itself.
    pub request: Received,
}

/// A gateway on 127.0.0.1 with a secret of its own.
#[derive(Clone)]
pub struct SmsGateway {
    receiver: Receiver,
    secret: String,
}

impl SmsGateway {
    /// A gateway on a free port with a new secret.
    pub async fn start() -> Self {
        let gateway = Self {
            receiver: Receiver::start().await,
            secret: new_secret(),
        };
        gateway
            .receiver
            .answer_with(200, r#"{"gateway_message_id":"gw-1"}"#);
        gateway
    }

    /// Its URL, the channel's `--sms-gateway-url`.
    pub fn url(&self) -> String {
        self.receiver.url("/sms")
    }

    /// Its secret, `whsec_…`: the channel's `--sms-gateway-secret`.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// The receiver underneath.
    pub fn receiver(&self) -> &Receiver {
        &self.receiver
    }

    /// Answers `status` with `body` from now on.
    pub fn answer(&self, status: u16, body: &str) {
        self.receiver.answer_with(status, body);
    }

    /// What it got so far, oldest first.
    pub fn got(&self) -> Vec<Sms> {
        self.receiver
            .got()
            .into_iter()
            .map(|r| self.read(r))
            .collect()
    }

    /// What it got once it got at least `n` requests.
    pub async fn wait_for(&self, n: usize) -> Vec<Sms> {
        self.receiver
            .wait_for(n)
            .await
            .into_iter()
            .map(|r| self.read(r))
            .collect()
    }

    fn read(&self, request: Received) -> Sms {
        let body = request.json();
        let text = |key: &str| body[key].as_str().unwrap_or_default().to_owned();
        let headers = request.webhook_headers();
        // Checked against the time of reading: a test reads within the five minutes allowed.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs() as i64;
        let mut verified =
            standard_webhooks::verify(&self.secret, &headers.signed(&request.body), now);
        if verified.is_ok() && headers.id != text("id") {
            verified = Err(format!(
                "webhook-id {} is not the body's id {}",
                headers.id,
                text("id")
            ));
        }
        Sms {
            id: text("id"),
            to: text("to"),
            text: text("text"),
            sender: body["sender"].as_str().map(str::to_owned),
            verified,
            request,
        }
    }
}

/// A `whsec_` secret of 32 random bytes.
fn new_secret() -> String {
    let bytes: Vec<u8> = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()]
        .iter()
        .flat_map(|u| *u.as_bytes())
        .collect();
    format!("whsec_{}", STANDARD.encode(bytes))
}
