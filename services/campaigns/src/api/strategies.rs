//! StrategyService: strategies, plans and runs.

use rapport_kit::{mask, validate};
use rapport_proto::campaigns as pb;
use rapport_runtime::{Error, Result, error::both, storage::Idempotency, validation::Violations};
use tonic::Request;

use super::support::{MARKETERS, STAFF, authorize, page, parse_id};
use crate::{
    app::{App, strategies},
    convert::strategy::{
        STRATEGY_MASK, apply_strategy, parse_plan, parse_strategy, plan_to_proto, probe, state,
        strategy_to_proto,
    },
    domain::strategy::{PLANS, STRATEGIES},
    store::strategies::Filter,
};

pub(super) async fn create(
    app: &App,
    req: Request<pb::CreateStrategyRequest>,
) -> Result<pb::Strategy> {
    let p = authorize(&req, MARKETERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let s = parse_strategy(msg.strategy.as_ref(), &mut v);
    let (idem, s) = both(
        Idempotency::new(&p, "CreateStrategy", &msg.request_id, msg),
        v.finish(s).map_err(Error::from),
    )?;
    let s = s.ok_or_else(|| Error::invalid("strategy", "is required"))?;
    strategies::create(app, p, idem, s).await
}

pub(super) async fn get(app: &App, req: Request<pb::GetStrategyRequest>) -> Result<pb::Strategy> {
    let p = authorize(&req, STAFF)?;
    let id = parse_id("name", STRATEGIES, &req.get_ref().name)?;
    Ok(strategy_to_proto(&strategies::get(app, &p, id).await?))
}

pub(super) async fn list(
    app: &App,
    req: Request<pb::ListStrategiesRequest>,
) -> Result<pb::ListStrategiesResponse> {
    let p = authorize(&req, STAFF)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let st = validate::optional_enum(&mut v, "state", msg.state, state, "StrategyState");
    let plan = validate::optional_id_in(PLANS, &msg.plan, "plan", &mut v);
    let state_key = msg.state.to_string();
    let (filter, page) = both(
        v.finish(Filter {
            state: st,
            plan_id: plan,
        })
        .map_err(Error::from),
        page(
            &p,
            &[STRATEGIES, &state_key, &msg.plan],
            msg.page_size,
            &msg.page_token,
        ),
    )?;
    let (rows, next_page_token) = strategies::list(app, &p, &filter, &page).await?;
    Ok(pb::ListStrategiesResponse {
        strategies: rows.iter().map(strategy_to_proto).collect(),
        next_page_token,
    })
}

pub(super) async fn update(
    app: &App,
    req: Request<pb::UpdateStrategyRequest>,
) -> Result<pb::Strategy> {
    let p = authorize(&req, MARKETERS)?;
    let msg = req.into_inner();
    let Some(given) = msg.strategy else {
        return Err(Error::invalid("strategy", "is required"));
    };
    let mut v = Violations::new();
    let selected = mask::select(&STRATEGY_MASK, &mask::paths(msg.update_mask), &mut v);
    let fields = mask::fields(&STRATEGY_MASK, &selected);
    let id = validate::id_in(STRATEGIES, &given.name, "strategy.name", &mut v);
    // Every given field is checked now, so the answer names all bad ones before any write.
    apply_strategy(&given, &fields, &mut probe(), &mut v);
    let id = v.finish(id)?.unwrap_or_default();
    strategies::update(app, &p, id, &given.etag, |s| {
        apply_strategy(&given, &fields, s, &mut Violations::new())
    })
    .await
}

pub(super) async fn change_state(
    app: &App,
    req: Request<pb::ChangeStrategyStateRequest>,
) -> Result<pb::Strategy> {
    let p = authorize(&req, MARKETERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let id = validate::id_in(STRATEGIES, &msg.name, "name", &mut v);
    let to = validate::required_enum(&mut v, "state", msg.state, state, "StrategyState");
    if to == Some(crate::domain::strategy::State::Draft) {
        v.add("state", "a strategy never goes back to DRAFT");
    }
    let (idem, (id, to)) = both(
        Idempotency::new(&p, "ChangeStrategyState", &msg.request_id, msg),
        v.finish((id, to)).map_err(Error::from),
    )?;
    let (Some(id), Some(to)) = (id, to) else {
        return Err(Error::invalid("name", "is required"));
    };
    let etag = msg.etag.clone();
    strategies::change_state(app, p, idem, id, &etag, to).await
}

pub(super) async fn run(
    app: &App,
    req: Request<pb::RunStrategyRequest>,
) -> Result<pb::StrategyRun> {
    let p = authorize(&req, MARKETERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let id = validate::id_in(STRATEGIES, &msg.name, "name", &mut v);
    let (idem, id) = both(
        Idempotency::new(&p, "RunStrategy", &msg.request_id, msg),
        v.finish(id).map_err(Error::from),
    )?;
    strategies::run_now(app, p, idem, id.unwrap_or_default()).await
}

/// The strategy and run ids of "strategies/{strategy}/runs/{run}".
fn run_name(name: &str) -> Result<(uuid::Uuid, uuid::Uuid)> {
    rapport_kit::names::parse_child_id(STRATEGIES, "runs", name, "strategies/{strategy}/runs/{run}")
        .map_err(|e| Error::invalid("name", e))
}

pub(super) async fn get_run(
    app: &App,
    req: Request<pb::GetStrategyRunRequest>,
) -> Result<pb::StrategyRun> {
    let p = authorize(&req, STAFF)?;
    let (sid, rid) = run_name(&req.get_ref().name)?;
    strategies::get_run(app, &p, sid, rid).await
}

pub(super) async fn list_runs(
    app: &App,
    req: Request<pb::ListStrategyRunsRequest>,
) -> Result<pb::ListStrategyRunsResponse> {
    let p = authorize(&req, STAFF)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let id = validate::id_in(STRATEGIES, &msg.parent, "parent", &mut v);
    let (id, page) = both(
        v.finish(id).map_err(Error::from),
        page(&p, &["runs", &msg.parent], msg.page_size, &msg.page_token),
    )?;
    let (runs, next_page_token) =
        strategies::list_runs(app, &p, id.unwrap_or_default(), &page).await?;
    Ok(pb::ListStrategyRunsResponse {
        runs,
        next_page_token,
    })
}

pub(super) async fn create_plan(
    app: &App,
    req: Request<pb::CreatePlanRequest>,
) -> Result<pb::Plan> {
    let p = authorize(&req, MARKETERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let plan = parse_plan(msg.plan.as_ref(), &mut v);
    let (idem, plan) = both(
        Idempotency::new(&p, "CreatePlan", &msg.request_id, msg),
        v.finish(plan).map_err(Error::from),
    )?;
    strategies::create_plan(app, p, idem, plan).await
}

pub(super) async fn get_plan(app: &App, req: Request<pb::GetPlanRequest>) -> Result<pb::Plan> {
    let p = authorize(&req, STAFF)?;
    let id = parse_id("name", PLANS, &req.get_ref().name)?;
    Ok(plan_to_proto(&strategies::get_plan(app, &p, id).await?))
}

pub(super) async fn list_plans(
    app: &App,
    req: Request<pb::ListPlansRequest>,
) -> Result<pb::ListPlansResponse> {
    let p = authorize(&req, STAFF)?;
    let msg = req.get_ref();
    let page = page(&p, &[PLANS], msg.page_size, &msg.page_token)?;
    let (rows, next_page_token) = strategies::list_plans(app, &p, &page).await?;
    Ok(pb::ListPlansResponse {
        plans: rows.iter().map(plan_to_proto).collect(),
        next_page_token,
    })
}

pub(super) async fn report(
    app: &App,
    req: Request<pb::GetStrategyReportRequest>,
) -> Result<pb::StrategyReport> {
    let p = authorize(&req, STAFF)?;
    let id = parse_id("name", STRATEGIES, &req.get_ref().name)?;
    strategies::report(app, &p, id).await
}

/// Most plans compared at once.
const MAX_COMPARED: usize = 20;

pub(super) async fn compare_plans(
    app: &App,
    req: Request<pb::ComparePlansRequest>,
) -> Result<pb::ComparePlansResponse> {
    let p = authorize(&req, STAFF)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    if msg.plans.is_empty() {
        v.add("plans", "is required: name 1 to 20 plans");
    }
    let given = validate::capped(&mut v, "plans", &msg.plans, MAX_COMPARED);
    let mut ids = Vec::with_capacity(given.len());
    for (i, name) in given.iter().enumerate() {
        if let Some(id) = validate::id_in(PLANS, name, &format!("plans[{i}]"), &mut v) {
            if ids.contains(&id) {
                v.add(format!("plans[{i}]"), "names a plan twice");
            }
            ids.push(id);
        }
    }
    v.finish(())?;
    Ok(pb::ComparePlansResponse {
        plans: strategies::compare_plans(app, &p, &ids).await?,
    })
}
