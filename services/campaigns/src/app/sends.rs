//! The send worker: due recipients are claimed channel by channel at the channel's pace,
//! judged against caps, resting and the strategy's budget under the customer's lock (so two
//! replicas never both let a capped message through), marked as handed to the channel under
//! a stable message id and committed, then sent; what the channel answered settles each one.
//! A replica that dies between the commit and the answer leaves recipients in SENDING, which
//! are sent again with the same id once their lease is out: the gateway and the mail server
//! see one message id however many times it arrives.

use std::collections::HashMap;

use futures::{StreamExt, stream};
use rapport_kit::channels::{Email, EmailTemplate, Outcome, Sms, SmsTemplate};
use rapport_runtime::{Result, auth::Principal, clock::Micros, validation::Violations};

use super::App;
use crate::{
    domain::{
        caps::{Contacts, judge},
        channel::Channel,
        run::{Delivery, RunState},
        sending::{MAX_ATTEMPTS, message_id, retry_at},
        strategy::{State, Strategy},
    },
    store::{
        recipients::{self as store, Claimed},
        strategies,
    },
};

/// How long a message handed to a channel may go unanswered before it is sent again.
const LEASE: Micros = 60_000_000;
/// How many messages are in flight at once per replica.
const IN_FLIGHT: usize = 16;
/// The channels the worker sends on.
const CHANNELS: [Channel; 2] = [Channel::Sms, Channel::Email];

/// A claimed message ready to go, or settled already.
enum Next {
    Send(Box<Claimed>, String),
    Settle(Box<Claimed>, Delivery, String),
}

/// One round of the worker over every tenant with due messages: up to `period_secs` worth of
/// each channel's pace per tenant. How many messages were sent.
pub async fn round(app: &App, period_secs: i64) -> Result<usize> {
    let now = app.now();
    let tenants = {
        let mut conn = app.db().pool().acquire().await?;
        store::due_tenants(&mut conn, now, now).await?
    };
    let settings_of = |t: String| async move { app.settings(&t).await };
    let mut sent = 0;
    for tenant in tenants {
        let settings = settings_of(tenant.clone()).await?;
        for channel in CHANNELS {
            let limit = i64::from(settings.rate(channel)) * period_secs.max(1);
            sent += batch(app, &tenant, channel, limit).await?;
        }
    }
    finish_runs(app).await?;
    Ok(sent)
}

/// Claims, judges and sends up to `limit` due messages of `tenant` on `channel`.
async fn batch(app: &App, tenant: &str, channel: Channel, limit: i64) -> Result<usize> {
    let settings = app.settings(tenant).await?;
    let system = Principal::system(tenant, "campaigns");
    let mut w = app.write(&system).await?;
    let now = w.now();
    let dialect = app.db().dialect();
    let claimed = store::claim(w.tx(), dialect, tenant, channel, now, now, limit).await?;
    if claimed.is_empty() {
        w.commit(()).await?;
        return Ok(0);
    }
    let mut plans: HashMap<String, Option<Strategy>> = HashMap::new();
    let mut next = Vec::with_capacity(claimed.len());
    for c in claimed {
        if !plans.contains_key(&c.strategy_id) {
            let id = crate::store::uuid(&c.strategy_id)?;
            let s = strategies::get(w.tx(), tenant, id, None).await?;
            plans.insert(c.strategy_id.clone(), s);
        }
        // A message handed over before (a crash, a failure since) goes again as it was: it was
        // judged and paid for then.
        if !c.message_id.is_empty() {
            let id = c.message_id.clone();
            store::mark_sending(w.tx(), tenant, &c, &id, now, now + LEASE).await?;
            next.push(Next::Send(Box::new(c), id));
            continue;
        }
        let Some(Some(s)) = plans.get_mut(&c.strategy_id) else {
            next.push(Next::Settle(
                Box::new(c),
                Delivery::Skipped,
                "STOPPED".into(),
            ));
            continue;
        };
        if s.state != State::Active {
            next.push(Next::Settle(
                Box::new(c),
                Delivery::Skipped,
                "STOPPED".into(),
            ));
            continue;
        }
        let (unanswered, last_marketing) =
            store::lock_contact(w.tx(), dialect, tenant, &c.customer_id).await?;
        let since = settings
            .cap(channel)
            .map_or(now, |cap| now - cap.period_micros());
        let recent = store::recent(w.tx(), tenant, &c.customer_id, channel, since).await?;
        let contacts = Contacts {
            recent,
            unanswered,
            last_marketing,
        };
        let verdict = judge(&settings, channel, c.transactional, now, &contacts);
        if let Some(reason) = verdict.reason() {
            next.push(Next::Settle(Box::new(c), Delivery::Skipped, reason.into()));
            continue;
        }
        let cost = s
            .action
            .message()
            .unit_cost
            .as_ref()
            .map_or(0, |m| m.minor_units);
        if !s.affords(cost) {
            next.push(Next::Settle(
                Box::new(c),
                Delivery::Skipped,
                "BUDGET_SPENT".into(),
            ));
            continue;
        }
        s.spent += cost;
        strategies::spend(w.tx(), tenant, &c.strategy_id, cost).await?;
        if !c.transactional {
            store::touch(w.tx(), tenant, &c.customer_id, now).await?;
        }
        let id = message_id(&c.run_id, &c.customer_id);
        store::mark_sending(w.tx(), tenant, &c, &id, now, now + LEASE).await?;
        next.push(Next::Send(Box::new(c), id));
    }
    for n in &next {
        if let Next::Settle(c, state, reason) = n {
            store::settle(
                w.tx(),
                tenant,
                &c.run_id,
                &c.customer_id,
                *state,
                reason,
                now,
                c.attempts,
            )
            .await?;
        }
    }
    w.commit(()).await?;

    let sends: Vec<(Box<Claimed>, String)> = next
        .into_iter()
        .filter_map(|n| match n {
            Next::Send(c, id) => Some((c, id)),
            Next::Settle(..) => None,
        })
        .collect();
    let outcomes: Vec<(Box<Claimed>, Outcome)> = stream::iter(sends)
        .map(|(c, id)| {
            let strategy = plans.get(&c.strategy_id).cloned().flatten();
            async move {
                let outcome = deliver(app, strategy.as_ref(), &c, &id).await;
                (c, outcome)
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;

    let mut w = app.write(&system).await?;
    let now = w.now();
    let mut sent = 0;
    for (c, outcome) in &outcomes {
        let attempts = c.attempts + 1;
        let (state, reason, due) = match outcome {
            Outcome::Delivered { .. } => {
                sent += 1;
                (Delivery::Sent, String::new(), now)
            }
            Outcome::Rejected { reason } => (Delivery::Skipped, format!("REJECTED: {reason}"), now),
            Outcome::Failed { reason } | Outcome::Unavailable { reason }
                if attempts >= MAX_ATTEMPTS =>
            {
                (Delivery::Skipped, format!("FAILED: {reason}"), now)
            }
            Outcome::Failed { .. } | Outcome::Unavailable { .. } => {
                (Delivery::Sending, String::new(), retry_at(attempts, now))
            }
        };
        let reason: String = reason.chars().take(200).collect();
        store::settle(
            w.tx(),
            tenant,
            &c.run_id,
            &c.customer_id,
            state,
            &reason,
            due,
            attempts,
        )
        .await?;
    }
    w.commit(()).await?;
    Ok(sent)
}

/// Renders and sends one message; a template that does not render is refused for good.
async fn deliver(app: &App, s: Option<&Strategy>, c: &Claimed, id: &str) -> Outcome {
    let Some(s) = s else {
        return Outcome::Rejected {
            reason: "the strategy is gone".into(),
        };
    };
    let vars: serde_json::Value = serde_json::from_str(&c.vars).unwrap_or_default();
    let message = s.action.message();
    let mut v = Violations::new();
    let now = app.now();
    match c.channel {
        Channel::Email => {
            let t = EmailTemplate {
                subject: message.template.subject.clone(),
                text: message.template.text.clone(),
                html: Some(message.template.html.clone()).filter(|h| !h.is_empty()),
            };
            match t.render(&mut v, &vars) {
                Some(content) => {
                    app.channels
                        .send_email(
                            &Email {
                                idempotency_key: id.to_owned(),
                                to: c.address.clone(),
                                content,
                            },
                            now,
                        )
                        .await
                }
                None => not_rendered(v),
            }
        }
        _ => {
            let t = SmsTemplate {
                text: message.template.text.clone(),
            };
            match t.render(&mut v, &vars) {
                Some(content) => {
                    app.channels
                        .send_sms(
                            &Sms {
                                idempotency_key: id.to_owned(),
                                to: c.address.clone(),
                                text: content.text,
                                sender: None,
                            },
                            now,
                        )
                        .await
                }
                None => not_rendered(v),
            }
        }
    }
}

fn not_rendered(v: Violations) -> Outcome {
    let problems: Vec<String> = v.into_vec().iter().map(ToString::to_string).collect();
    Outcome::Rejected {
        reason: format!("the template did not render: {}", problems.join("; ")),
    }
}

/// Ends the runs that have nothing left to send.
async fn finish_runs(app: &App) -> Result<()> {
    let done = {
        let mut conn = app.db().pool().acquire().await?;
        store::finished_runs(&mut conn, 100).await?
    };
    for (tenant, run, _) in done {
        let system = Principal::system(&tenant, "campaigns");
        let mut w = app.write(&system).await?;
        let now = w.now();
        strategies::set_run_state(w.tx(), &tenant, &run, RunState::Done, Some(now)).await?;
        w.commit(()).await?;
    }
    Ok(())
}
