//! The independent checks of webhook signatures: [`verify`], written from the specification
//! apart from the kit's signing code (the test kit cannot use the kit), and the Python
//! `standardwebhooks` package, run when `RAPPORT_TEST_WEBHOOK_PYTHON` names an interpreter
//! that has it.

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The variable naming the interpreter.
pub const PYTHON_ENV: &str = "RAPPORT_TEST_WEBHOOK_PYTHON";

/// A delivery as the receiver got it.
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    /// The body.
    pub body: &'a [u8],
    /// `webhook-id`.
    pub id: &'a str,
    /// `webhook-timestamp`.
    pub timestamp: &'a str,
    /// `webhook-signature`.
    pub signature: &'a str,
}

/// The three headers of a request as received, owned: [`Headers::signed`] lends them with its
/// body to the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headers {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: String,
    /// `webhook-signature`.
    pub signature: String,
}

impl Headers {
    /// The request with `body`, as the checks read it.
    pub fn signed<'a>(&'a self, body: &'a [u8]) -> Signed<'a> {
        Signed {
            body,
            id: &self.id,
            timestamp: &self.timestamp,
            signature: &self.signature,
        }
    }
}

/// How far a message's timestamp may be from now, in seconds, as the specification says.
const TOLERANCE_SECS: i64 = 5 * 60;

/// Verifies `signed` with `secret` (`whsec_` and base64) at `now_secs`: the timestamp within
/// five minutes, and one `v1,` signature equal to the base64 of HMAC-SHA256 over
/// `{id}.{timestamp}.{body}` keyed with the secret's bytes. Says what failed.
pub fn verify(secret: &str, signed: &Signed<'_>, now_secs: i64) -> Result<(), String> {
    let key = secret
        .strip_prefix("whsec_")
        .and_then(|b64| STANDARD.decode(b64).ok())
        .ok_or_else(|| format!("{secret:?} is not a whsec_ secret"))?;
    let timestamp: i64 = signed
        .timestamp
        .parse()
        .map_err(|_| format!("webhook-timestamp {:?} is not a number", signed.timestamp))?;
    if (timestamp - now_secs).abs() > TOLERANCE_SECS {
        return Err(format!(
            "webhook-timestamp {timestamp} is more than 5 minutes from {now_secs}"
        ));
    }
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("any key length");
    mac.update(format!("{}.{}.", signed.id, signed.timestamp).as_bytes());
    mac.update(signed.body);
    let want = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    if signed.signature.split(' ').any(|s| s == want) {
        Ok(())
    } else {
        Err(format!("no signature in {:?} matches", signed.signature))
    }
}

/// Has `standardwebhooks` verify `signed` with each of `secrets` alone, and refuse it with a
/// changed body and with `other`, a secret that did not sign it. Says plainly, once per call,
/// when the variable is not set and the check is skipped.
pub fn python_verifies(signed: &Signed<'_>, secrets: &[String], other: &str) {
    let python = match std::env::var(PYTHON_ENV) {
        Ok(python) if !python.is_empty() => python,
        _ => {
            eprintln!(
                "note: {PYTHON_ENV} is not set; the independent check of the signatures with \
                 the Python standardwebhooks package is skipped"
            );
            return;
        }
    };
    const SCRIPT: &str = r#"
import json, sys
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

case = json.load(open(sys.argv[1]))
body, headers = case["body"], case["headers"]
for secret in case["secrets"]:
    Webhook(secret).verify(body, headers)
for secret, data in [(case["secrets"][0], body + " "), (case["other"], body)]:
    try:
        Webhook(secret).verify(data, headers)
    except WebhookVerificationError:
        continue
    sys.exit("verified what it should have refused")
print("verified with %d secrets" % len(case["secrets"]))
"#;
    let case = serde_json::json!({
        "body": std::str::from_utf8(signed.body).expect("a UTF-8 body"),
        "headers": {
            "webhook-id": signed.id,
            "webhook-timestamp": signed.timestamp,
            "webhook-signature": signed.signature,
        },
        "secrets": secrets,
        "other": other,
    });
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    std::fs::write(file.path(), case.to_string()).expect("write the case");
    let out = std::process::Command::new(&python)
        .args(["-c", SCRIPT])
        .arg(file.path())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {PYTHON_ENV}={python}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "standardwebhooks refused the delivery: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.trim(),
        format!("verified with {} secrets", secrets.len())
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of the specification's reference libraries.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SIGNED: Signed<'static> = Signed {
        body: br#"{"test": 2432232314}"#,
        id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
        timestamp: "1614265330",
        signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    };

    #[test]
    fn the_specifications_example_verifies_and_changes_do_not() {
        assert_eq!(verify(SECRET, &SIGNED, 1_614_265_330), Ok(()));
        let rotated = Signed {
            signature: "v1,AAAA v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            ..SIGNED
        };
        assert_eq!(verify(SECRET, &rotated, 1_614_265_330), Ok(()));
        let changed = Signed {
            body: br#"{"test": 2432232315}"#,
            ..SIGNED
        };
        assert!(verify(SECRET, &changed, 1_614_265_330).is_err());
        let late = verify(SECRET, &SIGNED, 1_614_265_330 + 301).unwrap_err();
        assert!(late.contains("more than 5 minutes"), "{late}");
        assert!(verify("MfKQ9r8G", &SIGNED, 1_614_265_330).is_err());
    }
}
