//! Strategies and plans (CA3): define, change, activate, run; the runs' figures.

use rapport_kit::{names, query::Page};
use rapport_proto::campaigns as pb;
use rapport_runtime::{Error, Result, auth::Principal, storage::Idempotency, write::Write};
use uuid::Uuid;

use super::{App, EVENTS};
use crate::{
    convert::strategy::{plan_to_proto, run_to_proto, strategy_to_proto},
    domain::{
        run::{Run, Tally},
        strategy::{PLANS, Plan, Refusal, STRATEGIES, State, Strategy},
    },
    store::strategies as store,
};

fn not_found(id: Uuid) -> Error {
    Error::not_found(names::format_id(STRATEGIES, id))
}

/// A refusal of the lifecycle as the caller's answer.
fn refused(r: Refusal) -> Error {
    Error::precondition("STRATEGY_STATE", r.to_string())
}

/// Emits `strategy.<kind>` for `s`; its answer.
fn emit(w: &mut Write, kind: &str, s: &Strategy) -> pb::Strategy {
    let out = strategy_to_proto(s);
    w.emit(
        &format!("strategy.{kind}"),
        s.name(),
        &pb::StrategyChanged {
            strategy: Some(out.clone()),
        },
    );
    out
}

/// The rules across fields, and a plan that must exist, as bad fields.
async fn check(w: &mut Write, s: &Strategy) -> Result<()> {
    let mut v = rapport_runtime::validation::Violations::new();
    for (field, what) in s.problems() {
        v.add(field, what);
    }
    if let Some(plan) = s.plan_id {
        let tenant = w.tenant().to_owned();
        if store::get_plan(w.tx(), &tenant, plan).await?.is_none() {
            v.add(
                "strategy.plan",
                format!("{} does not exist", names::format_id(PLANS, plan)),
            );
        }
    }
    Ok(v.finish(())?)
}

/// Creates a strategy, in DRAFT.
pub async fn create(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    mut s: Strategy,
) -> Result<pb::Strategy> {
    let creator = p.subject.clone();
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    check(&mut w, &s).await?;
    let now = w.now();
    s.id = Uuid::now_v7();
    s.state = State::Draft;
    s.creator = creator;
    s.create_time = now;
    s.update_time = now;
    s.version = 1;
    let tenant = w.tenant().to_owned();
    store::insert(w.tx(), &tenant, &s).await?;
    let out = emit(&mut w, "created", &s);
    w.commit(out).await
}

/// A strategy of the caller's tenant.
pub async fn get(app: &App, p: &Principal, id: Uuid) -> Result<Strategy> {
    let mut conn = app.db().pool().acquire().await?;
    store::get(&mut conn, &p.tenant_id, id, None)
        .await?
        .ok_or_else(|| not_found(id))
}

/// A page of strategies.
pub async fn list(
    app: &App,
    p: &Principal,
    filter: &store::Filter,
    page: &Page,
) -> Result<(Vec<Strategy>, String)> {
    let mut conn = app.db().pool().acquire().await?;
    let mut rows = store::list(&mut conn, &p.tenant_id, filter, page).await?;
    let next = page.next_token(&mut rows, store::cursor_of);
    Ok((rows, next))
}

/// Loads strategy `id` for a change in `w`, locked, checking `etag` when given.
async fn load(w: &mut Write, app: &App, id: Uuid, etag: &str) -> Result<Strategy> {
    let tenant = w.tenant().to_owned();
    let current = store::get(w.tx(), &tenant, id, Some(app.db().dialect()))
        .await?
        .ok_or_else(|| not_found(id))?;
    names::check_etag(
        etag,
        &names::etag(id.as_bytes(), current.version),
        &current.name(),
    )?;
    Ok(current)
}

/// Saves `next` over `current` in `w` and emits `strategy.<kind>`; commits.
async fn save(
    mut w: Write,
    kind: &str,
    current: &Strategy,
    mut next: Strategy,
) -> Result<pb::Strategy> {
    if next == *current {
        return w.commit(strategy_to_proto(current)).await;
    }
    next.version = current.version + 1;
    next.update_time = w.now();
    let tenant = w.tenant().to_owned();
    if !store::update(w.tx(), &tenant, &next, current.version).await? {
        return Err(Error::stale_etag(&next.name()));
    }
    let out = emit(&mut w, kind, &next);
    w.commit(out).await
}

/// Changes a strategy in DRAFT or PAUSED: `apply` sets the fields the caller named.
pub async fn update(
    app: &App,
    p: &Principal,
    id: Uuid,
    etag: &str,
    apply: impl FnOnce(&mut Strategy),
) -> Result<pb::Strategy> {
    let mut w = app.write(p).await?;
    let current = load(&mut w, app, id, etag).await?;
    current.check_editable().map_err(refused)?;
    let mut next = current.clone();
    apply(&mut next);
    check(&mut w, &next).await?;
    save(w, "updated", &current, next).await
}

/// Moves a strategy to `to`.
pub async fn change_state(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    id: Uuid,
    etag: &str,
    to: State,
) -> Result<pb::Strategy> {
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let current = load(&mut w, app, id, etag).await?;
    let mut next = current.clone();
    next.change_state(to, w.now()).map_err(refused)?;
    save(w, "state_changed", &current, next).await
}

/// Starts a run of `s` in `w` (the strategy is locked by the caller): its audience is read
/// and queued by the run sweep.
pub(crate) fn start_run(w: &mut Write, s: &Strategy) -> Run {
    let run = Run::start(s.id, w.now());
    w.emit(
        "strategy_run.started",
        run.name(),
        &pb::StrategyRunChanged {
            run: Some(run_to_proto(&run, &Tally::default())),
        },
    );
    run
}

/// Runs an ACTIVE strategy now.
pub async fn run_now(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    id: Uuid,
) -> Result<pb::StrategyRun> {
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let s = load(&mut w, app, id, "").await?;
    s.check_runs().map_err(refused)?;
    let run = start_run(&mut w, &s);
    let tenant = w.tenant().to_owned();
    store::insert_run(w.tx(), &tenant, &run).await?;
    let out = run_to_proto(&run, &Tally::default());
    w.commit(out).await
}

/// Run `run` of strategy `id` with its figures.
pub async fn get_run(app: &App, p: &Principal, id: Uuid, run: Uuid) -> Result<pb::StrategyRun> {
    let mut conn = app.db().pool().acquire().await?;
    let r = store::get_run(&mut conn, &p.tenant_id, id, run)
        .await?
        .ok_or_else(|| {
            Error::not_found(format!("{}/runs/{run}", names::format_id(STRATEGIES, id)))
        })?;
    let counts = store::run_counts(&mut conn, &p.tenant_id, run).await?;
    Ok(run_to_proto(&r, &Tally::of(&counts)))
}

/// A page of strategy `id`'s runs with their figures.
pub async fn list_runs(
    app: &App,
    p: &Principal,
    id: Uuid,
    page: &Page,
) -> Result<(Vec<pb::StrategyRun>, String)> {
    get(app, p, id).await?;
    let mut conn = app.db().pool().acquire().await?;
    let mut rows = store::list_runs(&mut conn, &p.tenant_id, id, page).await?;
    let next = page.next_token(&mut rows, store::run_cursor);
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let counts = store::run_counts(&mut conn, &p.tenant_id, r.id).await?;
        out.push(run_to_proto(r, &Tally::of(&counts)));
    }
    Ok((out, next))
}

/// Creates a plan.
pub async fn create_plan(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    mut plan: Plan,
) -> Result<pb::Plan> {
    let creator = p.subject.clone();
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    plan.id = Uuid::now_v7();
    plan.creator = creator;
    plan.create_time = w.now();
    let tenant = w.tenant().to_owned();
    store::insert_plan(w.tx(), &tenant, &plan).await?;
    let out = plan_to_proto(&plan);
    w.emit(
        "plan.created",
        plan.name(),
        &pb::PlanChanged {
            plan: Some(out.clone()),
        },
    );
    w.commit(out).await
}

/// A plan of the caller's tenant.
pub async fn get_plan(app: &App, p: &Principal, id: Uuid) -> Result<Plan> {
    let mut conn = app.db().pool().acquire().await?;
    store::get_plan(&mut conn, &p.tenant_id, id)
        .await?
        .ok_or_else(|| Error::not_found(names::format_id(PLANS, id)))
}

/// A page of plans.
pub async fn list_plans(app: &App, p: &Principal, page: &Page) -> Result<(Vec<Plan>, String)> {
    let mut conn = app.db().pool().acquire().await?;
    let mut rows = store::list_plans(&mut conn, &p.tenant_id, page).await?;
    let next = page.next_token(&mut rows, store::plan_cursor);
    Ok((rows, next))
}

/// How many due strategies one transaction starts runs for.
pub const DUE_BATCH: usize = 50;

/// Tenants with a scheduled run due now.
pub async fn due_tenants(app: &App) -> Result<Vec<String>> {
    let mut conn = app.db().pool().acquire().await?;
    store::due_tenants(&mut conn, app.now()).await
}

/// Starts the due scheduled runs of up to [`DUE_BATCH`] of `tenant`'s strategies in one
/// transaction, each strategy moved on to its next run; how many were started. A strategy
/// another replica holds is skipped: that replica starts its run.
pub async fn start_due(app: &App, tenant: &str) -> Result<usize> {
    let system = Principal::system(tenant, "system");
    let mut w = app.write(&system).await?;
    let now = w.now();
    let due = store::due(w.tx(), app.db().dialect(), tenant, now, DUE_BATCH as i64).await?;
    for s in &due {
        let mut s = s.clone();
        let run = start_run(&mut w, &s);
        store::insert_run(w.tx(), tenant, &run).await?;
        s.advance(s.next_run_time.unwrap_or(now).max(now));
        store::set_next_run(w.tx(), tenant, s.id, s.next_run_time).await?;
    }
    w.commit(()).await?;
    Ok(due.len())
}

/// The figures of `s`, with what it spent.
async fn figures(
    conn: &mut sqlx::AnyConnection,
    tenant: &str,
    s: &Strategy,
) -> Result<crate::domain::report::Figures> {
    let currency = s.currency().unwrap_or_default();
    let mut f =
        crate::store::conversions::figures(conn, tenant, &s.id.to_string(), currency).await?;
    f.cost = s.spent;
    Ok(f)
}

/// The effect of strategy `id`.
pub async fn report(app: &App, p: &Principal, id: Uuid) -> Result<pb::StrategyReport> {
    let s = get(app, p, id).await?;
    let mut conn = app.db().pool().acquire().await?;
    let f = figures(&mut conn, &p.tenant_id, &s).await?;
    Ok(crate::convert::strategy::report_to_proto(
        s.name(),
        &f,
        s.currency(),
    ))
}

/// The effect of each of `plans`, side by side: every strategy and the plan's total (amounts
/// summed over the strategies in the first strategy's currency; a strategy in another currency
/// adds its groups and conversions only).
pub async fn compare_plans(
    app: &App,
    p: &Principal,
    plans: &[Uuid],
) -> Result<Vec<pb::PlanReport>> {
    let mut out = Vec::with_capacity(plans.len());
    for id in plans {
        let plan = get_plan(app, p, *id).await?;
        let mut conn = app.db().pool().acquire().await?;
        let mut strategies = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = Page::parse(
                &[p.tenant_id.as_str(), "report", &plan.name()],
                1000,
                &page_token,
                |_| true,
            )
            .map_err(Error::from)?;
            let filter = store::Filter {
                state: None,
                plan_id: Some(*id),
            };
            let mut rows = store::list(&mut conn, &p.tenant_id, &filter, &page).await?;
            page_token = page.next_token(&mut rows, store::cursor_of);
            strategies.extend(rows);
            if page_token.is_empty() {
                break;
            }
        }
        let currency = strategies
            .iter()
            .find_map(|s| s.currency())
            .map(str::to_owned);
        let mut total = crate::domain::report::Figures::default();
        let mut lines = Vec::with_capacity(strategies.len());
        for s in &strategies {
            let mut f = figures(&mut conn, &p.tenant_id, s).await?;
            lines.push(crate::convert::strategy::report_to_proto(
                s.name(),
                &f,
                s.currency(),
            ));
            if s.currency() != currency.as_deref() {
                (f.revenue, f.cost) = (0, 0);
            }
            total = total + f;
        }
        out.push(pb::PlanReport {
            plan: plan.name(),
            strategies: lines,
            total: Some(crate::convert::strategy::report_to_proto(
                plan.name(),
                &total,
                currency.as_deref(),
            )),
        });
    }
    Ok(out)
}
