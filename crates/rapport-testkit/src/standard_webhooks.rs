//! The independent check of webhook signatures: the Python `standardwebhooks` package, run
//! when `RAPPORT_TEST_WEBHOOK_PYTHON` names an interpreter that has it.

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
