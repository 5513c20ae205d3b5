//! SMS through an HTTP gateway: one JSON POST per message, signed as Standard Webhooks and sent
//! with the webhook sender ([`crate::webhooks::Sender`]):
//!
//! ```text
//! POST {gateway_url}
//! content-type: application/json
//! webhook-id: msg_…            (the message id, the same on every attempt)
//! webhook-timestamp: 1767225600
//! webhook-signature: v1,…
//!
//! {"id":"msg_…","to":"+8613800138000","text":"…","sender":"RAPPORT"}
//! ```
//!
//! `sender` is left out when the message has none. The gateway answers 2xx when it took the
//! message, optionally with `{"gateway_message_id": "…"}`, which is kept as the delivery's
//! reference. A 4xx other than 408 and 429 is [`Outcome::Rejected`] (the gateway refused this
//! message: a bad number, a text it will not carry); 408, 429, 5xx, a 3xx (redirects are not
//! followed) and no answer at all are [`Outcome::Failed`].
//!
//! The gateway's URL is the operator's configuration, not a partner's, so it may be anywhere,
//! loopback and private networks included ([`Policy::unrestricted`]): a gateway usually runs
//! inside, beside the servers, and whoever sets the URL can already reach those networks.
//! Partners' webhook URLs stay under the webhook policy.

use std::time::Duration;

use rapport_runtime::clock::Micros;
use serde::Serialize;

use super::{Outcome, message_id};
use crate::{
    contact,
    webhooks::{Attempt, Delivery, Policy, Secret, Sender},
};

/// How long one request may take, from resolving the host to the end of the answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("Rapport-SMS/", env!("CARGO_PKG_VERSION"));
/// The channel name in message ids.
const CHANNEL: &str = "sms";

/// An SMS to send to one number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    /// The caller's key of this message, the same on every attempt (e.g.
    /// `{tenant}/{campaign}/{recipient}`): the request's `id` is derived from it.
    pub idempotency_key: String,
    /// The number in E.164 (`+8613800138000`); other spellings of an international number
    /// (`+86 138 0013 8000`) are normalized.
    pub to: String,
    /// The text, e.g. rendered by [`super::SmsTemplate::render`].
    pub text: String,
    /// The sender id the gateway shows, when the tenant has one.
    pub sender: Option<String>,
}

impl Sms {
    /// The request's `id` and `webhook-id`: `msg_` and 32 hex digits derived from the
    /// idempotency key.
    pub fn id(&self) -> String {
        message_id(CHANNEL, &self.idempotency_key)
    }
}

/// The body the gateway receives.
#[derive(Serialize)]
struct Body<'a> {
    id: &'a str,
    to: &'a str,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sender: Option<&'a str>,
}

/// Sends SMS through one gateway. Cheap to clone; build one per process.
#[derive(Debug, Clone)]
pub struct SmsGateway {
    url: String,
    secret: Secret,
    http: Sender,
}

impl SmsGateway {
    /// A gateway at `url` (http or https, without a user or password), signing with `secret`.
    pub fn new(url: &str, secret: Secret) -> Result<Self, String> {
        let policy = Policy::unrestricted();
        let target = policy
            .parse_url("url", url)
            .map_err(|v| format!("the SMS gateway URL {}", v.description))?;
        Ok(Self {
            url: target.to_string(),
            secret,
            http: Sender::new(policy)
                .with_timeout(TIMEOUT)
                .with_user_agent(USER_AGENT),
        })
    }

    /// The same gateway with another deadline per request.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.http = self.http.with_timeout(timeout);
        self
    }

    /// Its URL, normalized.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends `sms`, signed at `now` (the service's clock).
    pub async fn send(&self, sms: &Sms, now: Micros) -> Outcome {
        let to = match e164(&sms.to) {
            Ok(to) => to,
            Err(reason) => return Outcome::rejected(reason),
        };
        if sms.text.trim().is_empty() {
            return Outcome::rejected("text: is empty");
        }
        let id = sms.id();
        let body = Body {
            id: &id,
            to: &to,
            text: &sms.text,
            sender: sms
                .sender
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty()),
        };
        let body = serde_json::to_vec(&body).expect("a body of strings serializes");
        let delivery = Delivery {
            url: &self.url,
            msg_id: &id,
            body: &body,
            secrets: std::slice::from_ref(&self.secret),
        };
        outcome(&self.http.send(&delivery, now).await)
    }
}

/// The number in E.164, or why it is not an international number.
fn e164(raw: &str) -> Result<String, String> {
    if !raw.trim().starts_with('+') {
        return Err(format!(
            "to: {raw:?} must be an international number starting with + (E.164)"
        ));
    }
    contact::normalize_phone(raw, "").map_err(|e| format!("to: {raw:?} {e}"))
}

/// What the gateway's answer to one request means.
pub fn outcome(attempt: &Attempt) -> Outcome {
    let answered = |status: u16| {
        let body = attempt.body.trim();
        if body.is_empty() {
            format!("the SMS gateway answered {status}")
        } else {
            format!("the SMS gateway answered {status}: {body}")
        }
    };
    match attempt.status {
        Some(200..=299) => Outcome::Delivered {
            reference: serde_json::from_str::<serde_json::Value>(&attempt.body)
                .ok()
                .and_then(|v| match v.get("gateway_message_id")? {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                }),
        },
        Some(status @ (408 | 429)) => Outcome::failed(answered(status)),
        Some(status @ 400..=499) => Outcome::rejected(answered(status)),
        Some(status) => Outcome::failed(answered(status)),
        None => Outcome::failed(format!(
            "no answer from the SMS gateway: {}",
            attempt.error.as_deref().unwrap_or("unknown error")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: Option<u16>, body: &str) -> Outcome {
        outcome(&Attempt {
            status,
            latency: Duration::ZERO,
            body: body.into(),
            error: status
                .is_none()
                .then(|| "connecting to 10.0.0.1:80: refused".into()),
        })
    }

    #[test]
    fn answers_map_to_outcomes() {
        assert_eq!(
            answer(Some(200), r#"{"gateway_message_id":"gw-1"}"#),
            Outcome::Delivered {
                reference: Some("gw-1".into())
            }
        );
        assert_eq!(
            answer(Some(202), r#"{"gateway_message_id":42}"#),
            Outcome::Delivered {
                reference: Some("42".into())
            }
        );
        for body in ["", "ok", "{}", r#"{"gateway_message_id":null}"#] {
            assert_eq!(
                answer(Some(204), body),
                Outcome::Delivered { reference: None }
            );
        }
        assert_eq!(
            answer(Some(400), "bad number"),
            Outcome::rejected("the SMS gateway answered 400: bad number")
        );
        for s in [401, 403, 404, 410, 422] {
            assert!(!answer(Some(s), "").is_retryable(), "{s}");
        }
        for s in [301, 408, 429, 500, 502, 503] {
            assert!(answer(Some(s), "").is_retryable(), "{s}");
        }
        assert_eq!(
            answer(None, ""),
            Outcome::failed("no answer from the SMS gateway: connecting to 10.0.0.1:80: refused")
        );
    }

    #[test]
    fn numbers_must_be_international() {
        assert_eq!(e164("+86 138 0013 8000").unwrap(), "+8613800138000");
        assert_eq!(
            e164("13800138000").unwrap_err(),
            "to: \"13800138000\" must be an international number starting with + (E.164)"
        );
        assert!(e164("+1").is_err());
    }

    #[test]
    fn the_body_leaves_out_a_missing_sender() {
        let body = Body {
            id: "msg_1",
            to: "+8613800138000",
            text: "你好",
            sender: None,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"id":"msg_1","to":"+8613800138000","text":"你好"}"#
        );
    }

    #[test]
    fn gateway_urls_are_checked_but_may_be_internal() {
        let secret = Secret::generate();
        for url in [
            "http://127.0.0.1:9000/sms",
            "http://10.0.0.5/send",
            "https://sms.example.com/",
        ] {
            assert!(SmsGateway::new(url, secret.clone()).is_ok(), "{url}");
        }
        assert_eq!(
            SmsGateway::new("ftp://sms.example.com", secret.clone()).unwrap_err(),
            "the SMS gateway URL must be an http or https URL, not ftp"
        );
        assert_eq!(
            SmsGateway::new("https://u:p@sms.example.com", secret.clone()).unwrap_err(),
            "the SMS gateway URL must not contain a user name or password"
        );
        let printed = format!(
            "{:?}",
            SmsGateway::new("http://h/", secret.clone()).unwrap()
        );
        assert!(!printed.contains(&secret.expose()[6..]), "{printed}");
    }
}
