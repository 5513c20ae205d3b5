//! Webhook delivery as the Standard Webhooks specification describes it: the parts that need
//! no database. A service keeps its subscriptions, its deliveries and their log; this module
//! signs, schedules, checks targets and sends.
//!
//! - [`secret`]: signing secrets, `whsec_` and base64 of 24 to 64 random bytes;
//! - [`signature`]: message ids, the `webhook-signature` header (one signature per secret
//!   during a rotation) and its verification;
//! - [`schedule`]: the retry schedule and what an attempt's result means (delivered, disable
//!   the endpoint, retry, dead letter);
//! - [`target`]: which URLs and addresses a webhook may be sent to (no internal networks unless
//!   the operator allows them);
//! - [`send`]: the sender: resolves and checks the target, connects to the checked address and
//!   POSTs the signed body.
//!
//! Everything but [`send`] is free of I/O.

pub mod schedule;
pub mod secret;
pub mod send;
pub mod signature;
pub mod target;

pub use schedule::{Outcome, Step, next_attempt};
pub use secret::Secret;
pub use send::{Attempt, Delivery, Sender, resolve};
pub use signature::{Headers, message_id, sign, verify};
pub use target::{Policy, Target};
