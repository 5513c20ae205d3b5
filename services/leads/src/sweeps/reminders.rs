//! The task reminder sweep (LE9). It is driven by the tasks' own state (`reminded`), so a
//! restart misses nothing, and a reminder is claimed by one transaction, so replicas sweeping
//! at once raise it once.

use rapport_runtime::{Result, auth::Principal, clock::Micros};

use crate::app::App;
use crate::app::alerts::raise_alert;
use crate::store;

/// Reminders claimed per transaction.
const BATCH: u32 = 100;
/// Tenants looked up per round.
const TENANTS_PER_ROUND: u32 = 100;
/// The actor of the sweep's events.
const ACTOR: &str = "rapport-leads/reminders";

/// Raises the reminder alert of every open task whose reminder time is at or before `now` and
/// that was not reminded yet; returns how many this call raised. Tasks another sweep holds are
/// left to it.
pub(crate) async fn remind_due_tasks(api: &App, now: Micros) -> Result<usize> {
    rapport_kit::sweep::drain(
        || async move {
            let mut conn = api.db().pool().acquire().await?;
            store::tasks::tenants_with_due_reminders(&mut conn, now, TENANTS_PER_ROUND).await
        },
        |tenant| async move { remind_batch(api, &tenant, now).await },
        BATCH as usize,
    )
    .await
}

/// Claims and reminds up to one batch of `tenant`'s due reminders in one transaction.
async fn remind_batch(api: &App, tenant: &str, now: Micros) -> Result<usize> {
    let system = Principal::system(tenant, ACTOR);
    let mut w = api.write(&system).await?;
    let claimed =
        store::tasks::claim_due_reminders(w.tx(), api.db().dialect(), tenant, now, BATCH).await?;
    for task in &claimed {
        if let Some(alert) = task.reminder() {
            raise_alert(&mut w, tenant, &alert).await?;
        }
    }
    w.commit(()).await?;
    Ok(claimed.len())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use rapport_runtime::auth::Role;
    use rapport_runtime::clock::{HOUR, MINUTE, ManualClock};
    use rapport_testkit::{Backend, TestStores, outbox_events};
    use sqlx::Row;
    use uuid::Uuid;

    use super::*;
    use crate::domain::task::{Task, TaskKind};

    const T0: Micros = 1_714_521_600_000_000;

    async fn api_on(stores: &TestStores, clock: &ManualClock) -> App {
        App::new(stores.context::<crate::Leads>(clock).await)
    }

    fn task(assignee: &str, due: Micros, remind: Option<Micros>) -> Task {
        Task {
            id: Uuid::now_v7(),
            kind: TaskKind::Visit,
            title: format!("Visit for {assignee}"),
            assignee_id: assignee.into(),
            team_id: "north".into(),
            subject: String::new(),
            due_time: due,
            remind_time: remind,
            reminded: false,
            complete_time: None,
            notes: String::new(),
            create_time: T0,
            update_time: T0,
            version: 1,
        }
    }

    async fn insert(api: &App, tenant: &str, tasks: &[Task]) {
        let p = Principal {
            tenant_id: tenant.into(),
            subject: "test".into(),
            roles: vec![Role::Admin],
            team_id: None,
        };
        let mut w = api.write(&p).await.expect("write");
        for t in tasks {
            store::tasks::insert_task(w.tx(), tenant, t)
                .await
                .expect("insert");
        }
        w.commit(()).await.expect("commit");
    }

    /// Alerts per (tenant, subject).
    async fn alerts(api: &App) -> HashMap<(String, String), usize> {
        let rows =
            sqlx::query("SELECT tenant_id, subject FROM alerts WHERE kind = 'TASK_REMINDER'")
                .fetch_all(api.db().pool())
                .await
                .expect("alerts");
        let mut out = HashMap::new();
        for r in rows {
            let key = (r.get::<String, _>(0), r.get::<String, _>(1));
            *out.entry(key).or_insert(0) += 1;
        }
        out
    }

    /// `alert.raised` events in the outbox (no relay runs here), per tenant.
    async fn events(api: &App) -> HashMap<String, usize> {
        let mut out = HashMap::new();
        for e in outbox_events(api.db()).await {
            if e.r#type == "rapport.leads.v1.alert.raised" {
                *out.entry(e.tenant).or_insert(0) += 1;
            }
        }
        out
    }

    #[tokio::test]
    async fn each_due_reminder_fires_once_across_concurrent_sweeps_and_restarts() {
        for backend in Backend::all() {
            eprintln!("-- on {backend:?}");
            let stores = TestStores::new(backend).await;
            let clock = ManualClock::at(T0);
            let api = api_on(&stores, &clock).await;
            // More than a batch in t1, a few in t2.
            let mut due: Vec<Task> = (0..(BATCH as i64 + 30))
                .map(|i| {
                    task(
                        &format!("rep-{}", i % 7),
                        T0 + 2 * HOUR,
                        Some(T0 - i * MINUTE),
                    )
                })
                .collect();
            let mut done = task("rep-1", T0 + HOUR, Some(T0 - HOUR));
            done.complete_time = Some(T0 - 2 * HOUR);
            let later = task("rep-2", T0 + 3 * HOUR, Some(T0 + HOUR));
            let silent = task("rep-3", T0 + HOUR, None);
            let mut first = due.split_off(20);
            first.extend([done.clone(), later.clone(), silent]);
            insert(&api, "t1", &first).await;
            insert(&api, "t2", &due).await;

            let (a, b) = tokio::join!(remind_due_tasks(&api, T0), remind_due_tasks(&api, T0));
            let raised = a.expect("sweep a") + b.expect("sweep b");
            assert_eq!(raised, BATCH as usize + 30);
            let seen = alerts(&api).await;
            assert_eq!(seen.len(), BATCH as usize + 30);
            assert!(seen.values().all(|n| *n == 1), "{seen:?}");
            assert!(!seen.contains_key(&("t1".into(), done.name())));
            assert!(!seen.contains_key(&("t1".into(), later.name())));

            // A restarted sweep finds nothing new; the later reminder fires when its time comes.
            let api = api_on(&stores, &clock).await;
            assert_eq!(remind_due_tasks(&api, T0).await.expect("again"), 0);
            assert_eq!(remind_due_tasks(&api, T0 + HOUR).await.expect("later"), 1);
            assert_eq!(alerts(&api).await.len(), BATCH as usize + 31);
            let events = events(&api).await;
            assert_eq!(events.get("t1"), Some(&(BATCH as usize + 11)));
            assert_eq!(events.get("t2"), Some(&20));
        }
    }
}
