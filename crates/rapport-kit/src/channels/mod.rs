//! Message channels: email through an SMTP server and SMS through an HTTP gateway, and the
//! templates messages are rendered from. A service (campaigns) keeps its messages, their
//! sends and their retries; this module renders, sends once and says what came of it
//! ([docs/channels.md](../../../../docs/channels.md)).
//!
//! - [`configured`]: [`Channels`], both channels as the operator configured them
//!   (`RAPPORT_SMTP_URL`, `RAPPORT_SMS_GATEWAY_URL`, …); a channel left unset is
//!   [`Unavailable`] with the reason, and every send through it says so;
//! - [`email`]: [`Mailer`], email through an SMTP server over a pool of connections, each
//!   message carrying a `Message-ID` derived from the caller's idempotency key;
//! - [`sms`]: [`SmsGateway`], a JSON POST per message signed as Standard Webhooks, sent with
//!   the webhook sender;
//! - [`template`]: templates in Jinja syntax with strict variables, checked against the
//!   variables a service declares, HTML escaped in HTML bodies only;
//! - [`segments`]: how many SMS segments a text takes (GSM-7 or UCS-2).
//!
//! Every send answers an [`Outcome`]: delivered, rejected for good (never retry), failed this
//! time (retry later), or unavailable (the channel is not configured). Nothing here panics on
//! a bad address, a dead server or a missing setting.

pub mod configured;
pub mod email;
pub mod segments;
pub mod sms;
pub mod template;

use std::fmt;

pub use configured::Channels;
pub use email::{Email, EmailContent, Mailer};
pub use segments::{Encoding, SmsLength, sms_length};
pub use sms::{Sms, SmsGateway};
pub use template::{EmailTemplate, Preview, SmsContent, SmsTemplate, preview};

/// What one send came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The SMTP server or the gateway took the message.
    Delivered {
        /// How the other side identifies it, when it said: the SMTP server's reply to the
        /// message (`250 2.0.0 Ok: queued as 4F2A1`), the gateway's `gateway_message_id`.
        reference: Option<String>,
    },
    /// Refused for good: a bad address, an SMTP 5xx for the message, a gateway's 4xx other
    /// than 408 and 429. Sending it again would be refused again: never retry it.
    Rejected {
        /// Why, for the send's record.
        reason: String,
    },
    /// Failed this time: an SMTP 4xx, a gateway's 5xx, 408 or 429, a refused or broken
    /// connection, a timeout, a server that refused the login. Retry later; a message resent
    /// after a failure that came after it was taken carries the same id, so the other side
    /// can recognise it.
    Failed {
        /// Why, for the send's record.
        reason: String,
    },
    /// The channel is not configured (or its settings do not read). Record the send as failed
    /// with the reason; retrying helps only once the operator configures the channel.
    Unavailable {
        /// Why, naming the setting.
        reason: String,
    },
}

impl Outcome {
    /// Whether the message was delivered.
    pub fn is_delivered(&self) -> bool {
        matches!(self, Self::Delivered { .. })
    }

    /// Whether sending it again later may succeed: only after [`Outcome::Failed`].
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Failed { .. })
    }

    /// Why it was not delivered; `None` when it was.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Delivered { .. } => None,
            Self::Rejected { reason } | Self::Failed { reason } | Self::Unavailable { reason } => {
                Some(reason)
            }
        }
    }

    pub(crate) fn rejected(reason: impl Into<String>) -> Self {
        Self::Rejected {
            reason: reason.into(),
        }
    }

    pub(crate) fn failed(reason: impl Into<String>) -> Self {
        Self::Failed {
            reason: reason.into(),
        }
    }
}

/// Why a channel cannot send: it is not configured, or its settings do not read. The reason
/// names the settings (`--smtp-url` / `RAPPORT_SMTP_URL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    /// Why, in a sentence.
    pub reason: String,
    /// Whether settings were given but are wrong (the binary refuses to start so), rather than
    /// absent.
    pub misconfigured: bool,
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for Unavailable {}

impl From<&Unavailable> for Outcome {
    fn from(u: &Unavailable) -> Self {
        Self::Unavailable {
            reason: u.reason.clone(),
        }
    }
}

/// The id of a message with `idempotency_key` on `channel`: `msg_` and 32 hex digits, the same
/// every time it is computed, so a message sent again after a crash carries the id it had.
/// The webhooks' derivation, with the channel in the subscription's place.
fn message_id(channel: &str, idempotency_key: &str) -> String {
    crate::webhooks::message_id(channel, idempotency_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_say_whether_to_retry() {
        let delivered = Outcome::Delivered { reference: None };
        assert!(delivered.is_delivered() && !delivered.is_retryable());
        assert_eq!(delivered.reason(), None);
        assert!(Outcome::failed("later").is_retryable());
        assert!(!Outcome::rejected("never").is_retryable());
        let unavailable = Outcome::from(&Unavailable {
            reason: "off".into(),
            misconfigured: false,
        });
        assert!(!unavailable.is_retryable());
        assert_eq!(unavailable.reason(), Some("off"));
    }

    #[test]
    fn message_ids_depend_on_the_channel_and_the_key() {
        let id = message_id("email", "t1/campaign-1/c-9");
        assert_eq!(id, message_id("email", "t1/campaign-1/c-9"));
        assert!(id.starts_with("msg_") && id.len() == 36);
        assert_ne!(id, message_id("sms", "t1/campaign-1/c-9"));
        assert_ne!(id, message_id("email", "t1/campaign-1/c-8"));
    }
}
