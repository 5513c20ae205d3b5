//! The channels against real servers on 127.0.0.1: email through the test kit's SMTP server,
//! SMS through its gateway, whose signatures are checked by the test kit's own verifier, by
//! the kit's, and by the Python `standardwebhooks` package when `RAPPORT_TEST_WEBHOOK_PYTHON`
//! names an interpreter that has it.

use std::time::Duration;

use rapport_kit::channels::{Channels, Email, EmailContent, Mailer, Outcome, Sms, SmsGateway};
use rapport_kit::webhooks::{Secret, verify};
use rapport_runtime::{
    clock::{Clock, SystemClock},
    config::ChannelArgs,
};
use rapport_testkit::{
    sms_gateway::SmsGateway as TestGateway, smtp::SmtpServer, standard_webhooks,
};

const FROM: &str = "Rapport <news@shop.example.com>";

fn email(key: &str, to: &str) -> Email {
    Email {
        idempotency_key: key.into(),
        to: to.into(),
        content: EmailContent {
            subject: "王芳，您的优惠券 SPRING20".into(),
            text: "Hello Wang Fang,\r\n.your coupon is SPRING20.".into(),
            html: Some("<p>Hello <b>Wang Fang</b>, your coupon is SPRING20.</p>".into()),
        },
    }
}

async fn send(mailer: &Mailer, email: &Email) -> Outcome {
    mailer.send(email, SystemClock.now()).await
}

fn delivered(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Delivered { reference } => reference.clone().unwrap_or_default(),
        other => panic!("not delivered: {other:?}"),
    }
}

#[tokio::test]
async fn an_email_arrives_with_its_headers_bodies_and_message_id() {
    let server = SmtpServer::start().await;
    let mailer = Mailer::new(&server.url(), FROM).unwrap();
    let e = email("t1/campaign-1/c-1", "Wang Fang <wang@example.com>");
    let out = send(&mailer, &e).await;
    assert_eq!(delivered(&out), "250 2.0.0 OK queued as 1");

    let got = server.mail();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.from, "news@shop.example.com");
    assert_eq!(m.recipients, ["wang@example.com"]);
    assert_eq!(m.subject.as_deref(), Some("王芳，您的优惠券 SPRING20"));
    let id = mailer.message_id("t1/campaign-1/c-1");
    assert_eq!(m.message_id.as_deref(), Some(id.as_str()));
    assert!(
        id.starts_with("<msg_") && id.ends_with("@shop.example.com>"),
        "{id}"
    );
    assert!(m.header("from").unwrap().contains("news@shop.example.com"));
    assert!(m.header("to").unwrap().contains("<wang@example.com>"));
    assert!(m.header("date").is_some());
    assert!(
        m.header("content-type")
            .unwrap()
            .starts_with("multipart/alternative")
    );
    let body = m.body();
    assert!(
        body.contains("Content-Type: text/plain; charset=utf-8"),
        "{body}"
    );
    assert!(
        body.contains("Content-Type: text/html; charset=utf-8"),
        "{body}"
    );
    // A line starting with a dot arrives whole: stuffed by the client, unstuffed by the server.
    assert!(
        body.contains("Hello Wang Fang,\r\n.your coupon is SPRING20."),
        "{body}"
    );
    assert!(body.contains("<p>Hello <b>Wang Fang</b>, your coupon is SPRING20.</p>"));

    // The same message again (a resend after a crash) carries the same id; another message
    // goes over the same pooled connection.
    assert_eq!(
        delivered(&send(&mailer, &e).await),
        "250 2.0.0 OK queued as 2"
    );
    let other = email("t1/campaign-1/c-2", "li@example.com");
    delivered(&send(&mailer, &other).await);
    let got = server.wait_for(3).await;
    assert_eq!(got[1].message_id, got[0].message_id);
    assert_ne!(got[2].message_id, got[0].message_id);
}

#[tokio::test]
async fn a_text_only_email_is_plain_text() {
    let server = SmtpServer::start().await;
    let mailer = Mailer::new(&server.url(), "news@shop.example.com").unwrap();
    let mut e = email("k", "li@example.com");
    e.content.html = None;
    delivered(&send(&mailer, &e).await);
    let m = &server.mail()[0];
    assert!(m.header("content-type").unwrap().starts_with("text/plain"));
}

#[tokio::test]
async fn a_5xx_for_the_recipient_is_permanent_and_a_4xx_is_retried() {
    let server = SmtpServer::start().await;
    server.refuse("gone@example.com", 550, "5.1.1 no such user");
    server.refuse("full@example.com", 452, "4.2.2 mailbox full");
    let mailer = Mailer::new(&server.url(), FROM).unwrap();

    let out = send(&mailer, &email("a", "gone@example.com")).await;
    assert_eq!(
        out,
        Outcome::Rejected {
            reason: "the SMTP server refused the message: permanent error (550): 5.1.1 no such \
                     user"
                .into()
        }
    );
    let out = send(&mailer, &email("b", "full@example.com")).await;
    assert!(out.is_retryable(), "{out:?}");
    assert!(
        out.reason().unwrap().contains("transient error (452)"),
        "{out:?}"
    );
    // A refusal ends its connection; the next message gets a fresh one.
    delivered(&send(&mailer, &email("c", "ok@example.com")).await);
    let got = server.mail();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].recipients, ["ok@example.com"]);

    let out = send(&mailer, &email("d", "not an address")).await;
    assert!(matches!(out, Outcome::Rejected { .. }), "{out:?}");
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let mailer = Mailer::new(&format!("smtp://{addr}"), FROM).unwrap();
    let out = send(&mailer, &email("a", "li@example.com")).await;
    assert!(out.is_retryable(), "{out:?}");
    let reason = out.reason().unwrap();
    assert!(
        reason.starts_with(&format!("connecting to 127.0.0.1:{}: ", addr.port())),
        "{reason}"
    );
}

#[tokio::test]
async fn a_server_that_went_down_fails_until_it_is_back() {
    let mut server = SmtpServer::start().await;
    let mailer = Mailer::new(&server.url(), FROM).unwrap();
    delivered(&send(&mailer, &email("a", "li@example.com")).await);
    // Down: its pooled connection is closed and nothing listens.
    server.stop().await;
    let out = send(&mailer, &email("b", "li@example.com")).await;
    assert!(out.is_retryable(), "{out:?}");
    assert!(
        out.reason().unwrap().starts_with("connecting to"),
        "{out:?}"
    );
    // Back on the same port: the retry goes through.
    server.restart().await;
    delivered(&send(&mailer, &email("b", "li@example.com")).await);
    let got = server.mail();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].message_id, Some(mailer.message_id("b")));
}

#[tokio::test]
async fn a_hung_server_times_out_and_its_connection_is_not_reused() {
    let server = SmtpServer::start().await;
    let mailer = Mailer::new(&server.url(), FROM)
        .unwrap()
        .with_timeout(Duration::from_secs(1));
    delivered(&send(&mailer, &email("a", "li@example.com")).await);
    server.hang(true);
    let out = send(&mailer, &email("b", "li@example.com")).await;
    assert_eq!(
        out.reason(),
        Some(
            format!(
                "timed out after 1s sending to 127.0.0.1:{}",
                server.addr.port()
            )
            .as_str()
        )
    );
    assert!(out.is_retryable());
    // The server did get the message before it hung: the resend carries the same id.
    assert_eq!(server.mail().len(), 2);
    server.hang(false);
    // Were the cancelled connection reused, its unread reply would answer the next command.
    assert_eq!(
        delivered(&send(&mailer, &email("b", "li@example.com")).await),
        "250 2.0.0 OK queued as 3"
    );
    let got = server.mail();
    assert_eq!(got[1].message_id, got[2].message_id);
}

#[tokio::test]
async fn a_login_is_given_when_the_url_has_one() {
    let server = SmtpServer::start().await;
    server.require_login("mailer", "p@ss word");
    let url = server.url_with_login("mailer", "p%40ss%20word");
    let mailer = Mailer::new(&url, FROM).unwrap();
    delivered(&send(&mailer, &email("a", "li@example.com")).await);
    assert_eq!(server.mail()[0].user.as_deref(), Some("mailer"));

    let wrong = Mailer::new(&server.url_with_login("mailer", "nope"), FROM).unwrap();
    let out = send(&wrong, &email("b", "li@example.com")).await;
    // A refused login is the configuration's fault, not the message's: retried.
    assert!(out.is_retryable(), "{out:?}");
    assert!(
        out.reason()
            .unwrap()
            .starts_with("logging in to 127.0.0.1: permanent error (535)"),
        "{out:?}"
    );
    let anonymous = Mailer::new(&server.url(), FROM).unwrap();
    let out = send(&anonymous, &email("c", "li@example.com")).await;
    assert!(out.reason().unwrap().contains("(530)"), "{out:?}");
    assert_eq!(server.mail().len(), 1);
}

fn sms(key: &str) -> Sms {
    Sms {
        idempotency_key: key.into(),
        to: "+86 138 0013 8000".into(),
        text: "王芳您好，您的优惠券SPRING20已到账".into(),
        sender: Some("RAPPORT".into()),
    }
}

async fn gateway() -> (TestGateway, SmsGateway) {
    let test = TestGateway::start().await;
    let secret = Secret::parse(test.secret()).unwrap();
    let gateway = SmsGateway::new(&test.url(), secret).unwrap();
    (test, gateway)
}

#[tokio::test]
async fn an_sms_arrives_signed_and_its_gateway_id_is_kept() {
    let (test, gateway) = gateway().await;
    let s = sms("t1/campaign-1/c-1");
    let out = gateway.send(&s, SystemClock.now()).await;
    assert_eq!(
        out,
        Outcome::Delivered {
            reference: Some("gw-1".into())
        }
    );
    let got = test.wait_for(1).await;
    let g = &got[0];
    assert_eq!(g.verified, Ok(()));
    assert_eq!(g.id, s.id());
    assert_eq!(g.to, "+8613800138000");
    assert_eq!(g.text, "王芳您好，您的优惠券SPRING20已到账");
    assert_eq!(g.sender.as_deref(), Some("RAPPORT"));
    assert_eq!(g.request.header("content-type"), "application/json");
    assert!(g.request.header("user-agent").starts_with("Rapport-SMS/"));
    let body = g.request.json();
    assert_eq!(body.as_object().unwrap().len(), 4, "{body}");

    let headers = g.request.webhook_headers();
    let secret = Secret::parse(test.secret()).unwrap();
    let checked = verify(
        std::slice::from_ref(&secret),
        &headers.id,
        &headers.timestamp,
        &headers.signature,
        &g.request.body,
        SystemClock.now(),
    );
    assert_eq!(checked, Ok(()));
    standard_webhooks::python_verifies(
        &headers.signed(&g.request.body),
        &[test.secret().to_owned()],
        &Secret::generate().expose(),
    );

    // Sent again, it carries the same id; without a sender, the field is left out.
    let again = Sms { sender: None, ..s };
    delivered(&gateway.send(&again, SystemClock.now()).await);
    let got = test.wait_for(2).await;
    assert_eq!(got[1].id, got[0].id);
    assert_eq!(got[1].sender, None);
    assert_eq!(got[1].request.json().get("sender"), None);
}

#[tokio::test]
async fn gateway_answers_map_to_outcomes() {
    let (test, gateway) = gateway().await;
    let cases = [
        (200, "", Outcome::Delivered { reference: None }),
        (
            202,
            r#"{"gateway_message_id":"abc"}"#,
            Outcome::Delivered {
                reference: Some("abc".into()),
            },
        ),
        (
            400,
            r#"{"error":"invalid number"}"#,
            Outcome::Rejected {
                reason: r#"the SMS gateway answered 400: {"error":"invalid number"}"#.into(),
            },
        ),
        (
            401,
            "",
            Outcome::Rejected {
                reason: "the SMS gateway answered 401".into(),
            },
        ),
        (
            408,
            "",
            Outcome::Failed {
                reason: "the SMS gateway answered 408".into(),
            },
        ),
        (
            429,
            "slow down",
            Outcome::Failed {
                reason: "the SMS gateway answered 429: slow down".into(),
            },
        ),
        (
            503,
            "",
            Outcome::Failed {
                reason: "the SMS gateway answered 503".into(),
            },
        ),
    ];
    for (i, (status, body, want)) in cases.into_iter().enumerate() {
        test.answer(status, body);
        let out = gateway
            .send(&sms(&format!("k{i}")), SystemClock.now())
            .await;
        assert_eq!(out, want, "{status}");
    }
    assert_eq!(test.got().len(), 7);
    assert!(test.got().iter().all(|s| s.verified.is_ok()));

    // A number that is not one is refused before anything is sent.
    let bad = Sms {
        to: "13800138000".into(),
        ..sms("bad")
    };
    let out = gateway.send(&bad, SystemClock.now()).await;
    assert!(matches!(out, Outcome::Rejected { .. }), "{out:?}");
    assert_eq!(test.got().len(), 7);
}

#[tokio::test]
async fn a_gateway_that_is_down_is_transient() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let gateway = SmsGateway::new(&format!("http://{addr}/sms"), Secret::generate()).unwrap();
    let out = gateway.send(&sms("k"), SystemClock.now()).await;
    assert!(out.is_retryable(), "{out:?}");
    assert!(
        out.reason().unwrap().starts_with(&format!(
            "no answer from the SMS gateway: connecting to {addr}"
        )),
        "{out:?}"
    );
}

#[tokio::test]
async fn configured_channels_send_through_both() {
    let smtp = SmtpServer::start().await;
    let test = TestGateway::start().await;
    let args = ChannelArgs {
        smtp_url: Some(smtp.url()),
        smtp_from: Some(FROM.into()),
        sms_gateway_url: Some(test.url()),
        sms_gateway_secret: Some(test.secret().into()),
    };
    assert_eq!(Channels::check(&args), Ok(()));
    let channels = Channels::new(&args);
    let now = SystemClock.now();
    delivered(
        &channels
            .send_email(&email("k", "li@example.com"), now)
            .await,
    );
    delivered(&channels.send_sms(&sms("k"), now).await);
    assert_eq!(smtp.mail().len(), 1);
    assert_eq!(test.got().len(), 1);

    let email_only = Channels::new(&ChannelArgs {
        sms_gateway_url: None,
        sms_gateway_secret: None,
        ..args
    });
    let out = email_only.send_sms(&sms("k"), now).await;
    assert!(matches!(out, Outcome::Unavailable { .. }), "{out:?}");
    assert!(email_only.email().is_ok());
}
