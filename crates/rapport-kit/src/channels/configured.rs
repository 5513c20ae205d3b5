//! Both channels as the operator configured them (`ServiceContext::channels`, from
//! `--smtp-url` / `RAPPORT_SMTP_URL` and the others). A channel whose settings are absent is
//! unavailable, saying which setting to give; one whose settings do not read is unavailable
//! too, saying what is wrong (the binary refuses to start so: [`Channels::check`]); a service
//! built from a context with such settings still runs, and records its sends as failed.

use rapport_runtime::{clock::Micros, config::ChannelArgs, context::ServiceContext};

use super::{Email, Mailer, Outcome, Sms, SmsGateway, Unavailable};
use crate::webhooks::Secret;

/// The email and SMS channels. Cheap to clone; build one per service.
#[derive(Debug, Clone)]
pub struct Channels {
    email: Result<Mailer, Unavailable>,
    sms: Result<SmsGateway, Unavailable>,
}

/// Where each channel's settings come from, for the reasons.
const SMTP_URL: &str = "--smtp-url (RAPPORT_SMTP_URL)";
const SMTP_FROM: &str = "--smtp-from (RAPPORT_SMTP_FROM)";
const GATEWAY_URL: &str = "--sms-gateway-url (RAPPORT_SMS_GATEWAY_URL)";
const GATEWAY_SECRET: &str = "--sms-gateway-secret (RAPPORT_SMS_GATEWAY_SECRET)";

impl Channels {
    /// The channels `args` configure.
    pub fn new(args: &ChannelArgs) -> Self {
        Self {
            email: email(args),
            sms: sms(args),
        }
    }

    /// The channels of a service's context.
    pub fn from_context(ctx: &ServiceContext) -> Self {
        Self::new(&ctx.channels)
    }

    /// Channels made of the given senders (tests, or a service that builds its own).
    pub fn of(email: Result<Mailer, Unavailable>, sms: Result<SmsGateway, Unavailable>) -> Self {
        Self { email, sms }
    }

    /// `Err` with every misconfigured channel's reason when settings were given that do not
    /// read (half a channel, a URL or a secret that does not parse); channels left unset are
    /// fine. The binary checks this before it starts.
    pub fn check(args: &ChannelArgs) -> Result<(), String> {
        let channels = Self::new(args);
        let problems: Vec<String> = [channels.email.err(), channels.sms.err()]
            .into_iter()
            .flatten()
            .filter(|u| u.misconfigured)
            .map(|u| u.reason)
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    /// The email channel, or why there is none.
    pub fn email(&self) -> Result<&Mailer, &Unavailable> {
        self.email.as_ref()
    }

    /// The SMS channel, or why there is none.
    pub fn sms(&self) -> Result<&SmsGateway, &Unavailable> {
        self.sms.as_ref()
    }

    /// Sends `email` at `now`, or answers [`Outcome::Unavailable`].
    pub async fn send_email(&self, email: &Email, now: Micros) -> Outcome {
        match &self.email {
            Ok(mailer) => mailer.send(email, now).await,
            Err(u) => u.into(),
        }
    }

    /// Sends `sms` at `now`, or answers [`Outcome::Unavailable`].
    pub async fn send_sms(&self, sms: &Sms, now: Micros) -> Outcome {
        match &self.sms {
            Ok(gateway) => gateway.send(sms, now).await,
            Err(u) => u.into(),
        }
    }
}

fn unset(reason: String) -> Unavailable {
    Unavailable {
        reason,
        misconfigured: false,
    }
}

fn wrong(reason: String) -> Unavailable {
    Unavailable {
        reason,
        misconfigured: true,
    }
}

/// A setting that is present and not blank.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// Both settings a channel needs, or why it is unavailable: `first` is the one that turns
/// the channel on.
fn both<'a>(
    channel: &str,
    first: (&str, &'a Option<String>),
    second: (&str, &'a Option<String>),
) -> Result<(&'a str, &'a str), Unavailable> {
    let half = |set: &str, unset: &str| {
        wrong(format!(
            "{channel} is not configured: {set} is set but {unset} is not"
        ))
    };
    match (given(first.1), given(second.1)) {
        (Some(a), Some(b)) => Ok((a, b)),
        (None, None) => Err(unset(format!(
            "{channel} is not configured: the server has no {}",
            first.0
        ))),
        (None, Some(_)) => Err(half(second.0, first.0)),
        (Some(_), None) => Err(half(first.0, second.0)),
    }
}

fn email(args: &ChannelArgs) -> Result<Mailer, Unavailable> {
    let (url, from) = both(
        "email",
        (SMTP_URL, &args.smtp_url),
        (SMTP_FROM, &args.smtp_from),
    )?;
    Mailer::new(url, from).map_err(|e| wrong(format!("email is misconfigured: {e}")))
}

fn sms(args: &ChannelArgs) -> Result<SmsGateway, Unavailable> {
    let (url, secret) = both(
        "SMS",
        (GATEWAY_URL, &args.sms_gateway_url),
        (GATEWAY_SECRET, &args.sms_gateway_secret),
    )?;
    let secret = Secret::parse(secret)
        .map_err(|e| wrong(format!("SMS is misconfigured: {GATEWAY_SECRET} {e}")))?;
    SmsGateway::new(url, secret).map_err(|e| wrong(format!("SMS is misconfigured: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn args(
        url: Option<&str>,
        from: Option<&str>,
        gw: Option<&str>,
        secret: Option<&str>,
    ) -> ChannelArgs {
        ChannelArgs {
            smtp_url: url.map(Into::into),
            smtp_from: from.map(Into::into),
            sms_gateway_url: gw.map(Into::into),
            sms_gateway_secret: secret.map(Into::into),
        }
    }

    #[tokio::test]
    async fn unset_channels_are_unavailable_and_say_why() {
        let none = ChannelArgs::default();
        assert_eq!(Channels::check(&none), Ok(()));
        let c = Channels::new(&none);
        let email = Email {
            idempotency_key: "k".into(),
            to: "a@example.com".into(),
            content: Default::default(),
        };
        assert_eq!(
            c.send_email(&email, 0).await,
            Outcome::Unavailable {
                reason: "email is not configured: the server has no --smtp-url (RAPPORT_SMTP_URL)"
                    .into()
            }
        );
        let sms = Sms {
            idempotency_key: "k".into(),
            to: "+8613800138000".into(),
            text: "hi".into(),
            sender: None,
        };
        let out = c.send_sms(&sms, 0).await;
        assert_eq!(
            out.reason(),
            Some(
                "SMS is not configured: the server has no --sms-gateway-url (RAPPORT_SMS_GATEWAY_URL)"
            )
        );
        assert!(!c.email().unwrap_err().misconfigured);
    }

    #[test]
    fn configured_channels_are_available() {
        let a = args(
            Some("smtp://mailer:pw@smtp.example.com?tls=required"),
            Some("Rapport <news@example.com>"),
            Some("http://127.0.0.1:9000/sms"),
            Some(SECRET),
        );
        assert_eq!(Channels::check(&a), Ok(()));
        let c = Channels::new(&a);
        assert_eq!(
            c.email().unwrap().from().email.to_string(),
            "news@example.com"
        );
        assert_eq!(c.sms().unwrap().url(), "http://127.0.0.1:9000/sms");
        let printed = format!("{c:?}");
        assert!(
            !printed.contains("pw@") && !printed.contains("MfKQ9r8G"),
            "{printed}"
        );
    }

    #[test]
    fn half_or_bad_settings_are_named() {
        let cases = [
            (
                args(Some("smtp://h"), None, None, None),
                "email is not configured: --smtp-url (RAPPORT_SMTP_URL) is set but --smtp-from \
                 (RAPPORT_SMTP_FROM) is not",
            ),
            (
                args(Some("http://h"), Some("a@b.c"), None, None),
                "email is misconfigured: the SMTP URL must be an smtp or smtps URL, not http",
            ),
            (
                args(None, None, Some("http://gw"), None),
                "SMS is not configured: --sms-gateway-url (RAPPORT_SMS_GATEWAY_URL) is set but \
                 --sms-gateway-secret (RAPPORT_SMS_GATEWAY_SECRET) is not",
            ),
            (
                args(None, None, Some("http://gw"), Some("secret")),
                "SMS is misconfigured: --sms-gateway-secret (RAPPORT_SMS_GATEWAY_SECRET) must \
                 start with whsec_",
            ),
            (
                args(None, None, Some("gw"), Some(SECRET)),
                "SMS is misconfigured: the SMS gateway URL is not a URL: relative URL without a \
                 base",
            ),
        ];
        for (a, want) in cases {
            assert_eq!(Channels::check(&a), Err(want.to_owned()));
            let c = Channels::new(&a);
            let reason = [c.email().err(), c.sms().err()]
                .into_iter()
                .flatten()
                .find(|u| u.misconfigured)
                .map(|u| u.reason.clone());
            assert_eq!(reason.as_deref(), Some(want));
        }
        let both = args(Some("smtp://h"), None, Some("http://gw"), None);
        assert_eq!(Channels::check(&both).unwrap_err().matches("; ").count(), 1);
    }
}
