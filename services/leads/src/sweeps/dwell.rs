//! The dwell-time alert sweep (LE8). Driven by the opportunities' own state (`dwell_alert`,
//! reset by every move), so a restart misses nothing; each alert level is claimed by a
//! conditional UPDATE in the transaction that raises the alert, so replicas sweeping at once
//! raise it once.

use rapport_runtime::{
    Result,
    auth::Principal,
    clock::{DAY, HOUR, Micros},
};

use crate::app::App;
use crate::app::alerts::raise_alert;
use crate::{
    domain::{
        alert::{AlertKind, NewAlert},
        dwell::{Level, dedupe_key},
        opportunity::opportunity_name,
        pipeline::{Pipeline, Stage},
    },
    store::{
        dwell::{self as store, Claimed},
        pipelines,
    },
};

/// Opportunities claimed per transaction.
const BATCH: u32 = 200;
/// The actor of the sweep's events.
const ACTOR: &str = "rapport-leads/dwell-alerts";

/// Alerts the owner of every open opportunity that stayed in its stage longer than the stage's
/// normal dwell at `now`, and the owner's team manager after the escalation dwell, once per
/// stage visit each; returns how many alerts this call raised.
pub(crate) async fn dwell_alerts(api: &App, now: Micros) -> Result<usize> {
    let pairs = {
        let mut conn = api.db().pool().acquire().await?;
        store::pipelines_to_sweep(&mut conn).await?
    };
    let mut raised = 0;
    for (tenant, pipeline_id) in pairs {
        let pipeline = {
            let mut conn = api.db().pool().acquire().await?;
            pipelines::get(&mut conn, &tenant, &pipeline_id).await?
        };
        let Some(pipeline) = pipeline else { continue };
        for stage in &pipeline.stages {
            // The owner first: a sweep that was down long fires both levels, in order.
            for level in Level::ALL {
                let Some(cutoff) = level.cutoff(stage, now) else {
                    continue;
                };
                loop {
                    let (claimed, n) =
                        sweep_batch(api, &tenant, &pipeline, stage, level, cutoff).await?;
                    raised += n;
                    if claimed < BATCH as usize {
                        break;
                    }
                }
            }
        }
    }
    Ok(raised)
}

/// Claims one batch of opportunities due for `level` in `stage` and raises their alerts, in one
/// transaction. Returns how many were claimed and how many alerts were raised.
async fn sweep_batch(
    api: &App,
    tenant: &str,
    pipeline: &Pipeline,
    stage: &Stage,
    level: Level,
    cutoff: Micros,
) -> Result<(usize, usize)> {
    let system = Principal::system(tenant, ACTOR);
    let mut w = api.write(&system).await?;
    let claimed = store::claim(
        w.tx(),
        tenant,
        &pipeline.id,
        &stage.id,
        level,
        cutoff,
        BATCH,
    )
    .await?;
    let mut raised = 0;
    for o in &claimed {
        // With nobody to tell (no owner, or a team without a manager) the level still counts as
        // done, so it is not looked at again.
        let recipient = match level {
            Level::Owner => Some(o.owner_id.clone()).filter(|r| !r.is_empty()),
            Level::Manager => store::team_manager(w.tx(), tenant, &o.team_id).await?,
        };
        if let Some(recipient) = recipient {
            let alert = new_alert(o, stage, level, recipient);
            raised += usize::from(raise_alert(&mut w, tenant, &alert).await?.is_some());
        }
    }
    w.commit(()).await?;
    Ok((claimed.len(), raised))
}

/// The alert of `level` for `o`, in `stage`, to `recipient`.
fn new_alert(o: &Claimed, stage: &Stage, level: Level, recipient: String) -> NewAlert {
    let (kind, after, due_time) = match level {
        Level::Owner => (
            AlertKind::Dwell,
            stage.alert_after().unwrap_or_default(),
            // When it escalates unless the opportunity moves on.
            stage.escalation_after().map(|e| o.stage_enter_time + e),
        ),
        Level::Manager => (
            AlertKind::DwellEscalation,
            stage.escalation_after().unwrap_or_default(),
            None,
        ),
    };
    let whose = match level {
        Level::Owner => String::new(),
        Level::Manager => format!(" (owner {})", o.owner_id),
    };
    NewAlert {
        recipient_id: recipient,
        team_id: o.team_id.clone(),
        kind,
        subject: opportunity_name(o.id),
        message: format!(
            "{}{whose} has been in stage \"{}\" for more than {}",
            o.display_name,
            stage.display_name,
            human(after)
        ),
        due_time,
        dedupe_key: dedupe_key(o.id, o.stage_enter_time, level),
    }
}

/// "3 days", "1 day 4 hours", "5 hours" — whole hours are the finest dwell people set.
fn human(d: Micros) -> String {
    let (days, hours) = (d / DAY, (d % DAY) / HOUR);
    let unit = |n: i64, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    match (days, hours) {
        (0, h) => unit(h, "hour"),
        (d, 0) => unit(d, "day"),
        (d, h) => format!("{} {}", unit(d, "day"), unit(h, "hour")),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use rapport_runtime::auth::Role;
    use rapport_runtime::clock::ManualClock;
    use rapport_testkit::{Backend, TestStores};
    use sqlx::Row;
    use uuid::Uuid;

    use super::*;
    use crate::{
        domain::pipeline::example,
        store::opportunities::{self, NewOpportunity, create_opportunity},
    };

    const T0: Micros = 1_714_521_600_000_000;

    async fn api_on(stores: &TestStores, clock: &ManualClock) -> App {
        App::new(stores.context::<crate::Leads>(clock).await)
    }

    fn admin(tenant: &str) -> Principal {
        Principal {
            tenant_id: tenant.into(),
            subject: "test".into(),
            roles: vec![Role::Admin],
            team_id: None,
        }
    }

    /// Opportunities of `owner` in `team`, each entering the first stage at its time.
    async fn opportunities(
        api: &App,
        tenant: &str,
        owner: &str,
        team: &str,
        entered: &[Micros],
    ) -> Vec<Uuid> {
        let mut w = api.write(&admin(tenant)).await.expect("write");
        let mut ids = Vec::new();
        for (i, at) in entered.iter().enumerate() {
            let new = NewOpportunity {
                display_name: format!("Flat {i}"),
                lead_id: None,
                customer: String::new(),
                pipeline_id: "real-estate".into(),
                amount: None,
                expected_close_date: None,
                owner_id: owner.into(),
                team_id: team.into(),
                source: String::new(),
            };
            ids.push(
                create_opportunity(w.tx(), tenant, &new, "test", *at)
                    .await
                    .expect("create")
                    .id,
            );
        }
        sqlx::query(
            "INSERT INTO teams (tenant_id, id, display_name, manager_id, create_time, update_time, version) \
             VALUES ($1, 'north', 'North', 'boss', 0, 0, 1) ON CONFLICT DO NOTHING",
        )
        .bind(tenant)
        .execute(&mut **w.tx())
        .await
        .expect("team");
        w.commit(()).await.expect("commit");
        ids
    }

    /// Dwell alerts per (tenant, recipient, kind).
    async fn alerts(api: &App) -> HashMap<(String, String, String), usize> {
        let rows = sqlx::query("SELECT tenant_id, recipient_id, kind FROM alerts")
            .fetch_all(api.db().pool())
            .await
            .expect("alerts");
        let mut out = HashMap::new();
        for r in rows {
            let key = (
                r.get::<String, _>(0),
                r.get::<String, _>(1),
                r.get::<String, _>(2),
            );
            *out.entry(key).or_insert(0) += 1;
        }
        out
    }

    fn key(tenant: &str, recipient: &str, kind: &str) -> (String, String, String) {
        (tenant.into(), recipient.into(), kind.into())
    }

    #[tokio::test]
    async fn each_level_fires_once_per_stage_visit_across_concurrent_sweeps() {
        for backend in Backend::all() {
            eprintln!("-- on {backend:?}");
            let stores = TestStores::new(backend).await;
            let clock = ManualClock::at(T0);
            let api = api_on(&stores, &clock).await;
            // online_viewing: 3 days normal, 6 to escalate.
            let overdue: Vec<Micros> = (0..(BATCH as i64 + 20)).map(|i| T0 - 4 * DAY - i).collect();
            opportunities(&api, "t1", "rep-1", "north", &overdue).await;
            let far = opportunities(&api, "t1", "rep-2", "north", &[T0 - 7 * DAY]).await;
            // A team without a manager: the owner hears, nobody else.
            opportunities(&api, "t1", "rep-3", "nomgr", &[T0 - 7 * DAY]).await;
            opportunities(&api, "t1", "rep-4", "north", &[T0 - 3 * DAY, T0 - DAY]).await;
            opportunities(&api, "t2", "rep-1", "north", &[T0 - 10 * DAY]).await;

            let (a, b) = tokio::join!(dwell_alerts(&api, T0), dwell_alerts(&api, T0));
            let raised = a.expect("sweep a") + b.expect("sweep b");
            let seen = alerts(&api).await;
            assert_eq!(seen[&key("t1", "rep-1", "DWELL")], BATCH as usize + 20);
            assert_eq!(seen[&key("t1", "rep-2", "DWELL")], 1);
            assert_eq!(seen[&key("t1", "rep-3", "DWELL")], 1);
            assert_eq!(seen[&key("t1", "boss", "DWELL_ESCALATION")], 1);
            assert_eq!(seen[&key("t2", "rep-1", "DWELL")], 1);
            assert_eq!(seen[&key("t2", "boss", "DWELL_ESCALATION")], 1);
            assert!(
                !seen.contains_key(&key("t1", "rep-4", "DWELL")),
                "exactly normal is not over"
            );
            assert_eq!(raised, seen.values().sum::<usize>());

            // A restarted sweep raises nothing new; time passing raises what falls due.
            let api = api_on(&stores, &clock).await;
            assert_eq!(dwell_alerts(&api, T0).await.expect("again"), 0);
            assert_eq!(dwell_alerts(&api, T0 + HOUR).await.expect("later"), 1);
            assert_eq!(alerts(&api).await[&key("t1", "rep-4", "DWELL")], 1);

            // A move starts the stage's clock again: the next stage alerts on its own.
            let later = T0 + 100 * DAY;
            dwell_alerts(&api, later).await.expect("everything due");
            let mut w = api.write(&admin("t1")).await.expect("write");
            let o = opportunities::lock(w.tx(), "t1", far[0])
                .await
                .unwrap()
                .unwrap();
            let p = example();
            let (moved, change) = o
                .move_to(p.stage("first_visit").unwrap(), "", "test", later)
                .unwrap();
            opportunities::update(w.tx(), "t1", &moved, o.version)
                .await
                .unwrap();
            opportunities::insert_stage_change(w.tx(), "t1", &change)
                .await
                .unwrap();
            w.commit(()).await.unwrap();
            // first_visit: 7 days normal, 14 to escalate.
            assert_eq!(
                dwell_alerts(&api, later + 7 * DAY).await.expect("not yet"),
                0
            );
            assert_eq!(
                dwell_alerts(&api, later + 7 * DAY + 1)
                    .await
                    .expect("owner"),
                1
            );
            assert_eq!(
                dwell_alerts(&api, later + 15 * DAY).await.expect("manager"),
                1
            );
            let about_far: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM alerts WHERE subject = $1")
                    .bind(opportunity_name(far[0]))
                    .fetch_one(api.db().pool())
                    .await
                    .unwrap();
            assert_eq!(about_far, 4);
        }
    }

    #[test]
    fn alerts_say_what_and_when() {
        let stage = example().stage("online_viewing").cloned().unwrap();
        let o = Claimed {
            id: Uuid::nil(),
            display_name: "Flat 12B".into(),
            owner_id: "rep-1".into(),
            team_id: "north".into(),
            stage_enter_time: 10 * DAY,
        };
        let owner = new_alert(&o, &stage, Level::Owner, "rep-1".into());
        assert_eq!(owner.kind, AlertKind::Dwell);
        assert_eq!(owner.due_time, Some(16 * DAY));
        assert_eq!(
            owner.message,
            "Flat 12B has been in stage \"Online viewing\" for more than 3 days"
        );
        assert!(owner.dedupe_key.ends_with(&format!(":{}:1", 10 * DAY)));
        let manager = new_alert(&o, &stage, Level::Manager, "boss".into());
        assert_eq!(manager.kind, AlertKind::DwellEscalation);
        assert_eq!(
            (manager.recipient_id.as_str(), manager.due_time),
            ("boss", None)
        );
        assert!(manager.message.contains("(owner rep-1)"));
        assert!(manager.message.ends_with("6 days"));
        assert_eq!(human(DAY + 4 * HOUR), "1 day 4 hours");
        assert_eq!(human(HOUR), "1 hour");
    }
}
