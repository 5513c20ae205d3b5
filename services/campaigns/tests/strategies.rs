//! Strategies and plans: definition with every bad field named, the lifecycle, runs started by
//! hand and by the schedule, tenants, roles, etags and retried request ids.

use prost_types::Timestamp;
use rapport_proto::{campaigns as pb, types::Money};
use rapport_runtime::auth::Role;
use rapport_testkit::{TestServer, each_backend, each_backend_at, wait::eventually};
use tonic::Code;

use crate::common::*;

const DAY: i64 = 86_400_000_000;
const START: i64 = 1_780_000_000_000_000;

fn ts(micros: i64) -> Option<Timestamp> {
    Some(rapport_runtime::clock::to_timestamp(micros))
}

fn cny(minor_units: i64) -> Option<Money> {
    Some(Money {
        currency_code: "CNY".into(),
        minor_units,
    })
}

/// "Active in the last 30 days without an order → SMS", weekly from `start`, 10% held out.
pub fn win_back(start: i64) -> pb::Strategy {
    pb::Strategy {
        display_name: "Win back the browsers".into(),
        audience: Some(pb::Audience {
            filter: "value.order_count = 0".into(),
            ..Default::default()
        }),
        action: Some(pb::Action {
            kind: Some(pb::action::Kind::Message(pb::MessageAction {
                channel: pb::Channel::Sms.into(),
                template: Some(pb::MessageTemplate {
                    text: "{{ customer.display_name }}, 100 off your first order".into(),
                    ..Default::default()
                }),
                transactional: false,
                unit_cost: cny(5),
            })),
        }),
        trigger: Some(pb::Trigger {
            kind: Some(pb::trigger::Kind::Schedule(pb::Schedule {
                start_time: ts(start),
                every_days: 7,
            })),
        }),
        control_bps: 1_000,
        budget: cny(100_000),
        ..Default::default()
    }
}

async fn create(
    s: &TestServer,
    strategy: pb::Strategy,
    request_id: &str,
) -> Result<pb::Strategy, tonic::Status> {
    strategies_with(s, s.manager("mm-1", "marketing"))
        .create_strategy(pb::CreateStrategyRequest {
            strategy: Some(strategy),
            request_id: request_id.into(),
        })
        .await
        .map(|r| r.into_inner())
}

async fn set_state(
    s: &TestServer,
    name: &str,
    state: pb::StrategyState,
) -> Result<pb::Strategy, tonic::Status> {
    strategies_with(s, s.manager("mm-1", "marketing"))
        .change_strategy_state(pb::ChangeStrategyStateRequest {
            name: name.into(),
            state: state.into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_strategy_is_defined_with_every_bad_field_named_and_replayed_on_retry() {
    each_backend(&services(), async |s| {
        let made = create(s, win_back(START), "r-1").await.unwrap();
        assert_eq!(made.state, pb::StrategyState::Draft as i32);
        assert_eq!(made.creator, "mm-1");
        assert_eq!(made.spent, cny(0));
        // A retry answers the first strategy; the same id with another request is refused.
        assert_eq!(create(s, win_back(START), "r-1").await.unwrap(), made);
        let mut other = win_back(START);
        other.display_name = "Other".into();
        assert_code(create(s, other, "r-1").await, Code::InvalidArgument);

        let bad = pb::Strategy {
            display_name: " ".into(),
            plan: "plans/nope".into(),
            audience: Some(pb::Audience {
                segment: "segments/0190a0a0-0000-7000-8000-000000000000".into(),
                filter: "value.order_count = 0".into(),
            }),
            action: Some(pb::Action {
                kind: Some(pb::action::Kind::Coupon(pb::CouponAction {
                    message: Some(pb::MessageAction {
                        channel: 0,
                        template: Some(pb::MessageTemplate::default()),
                        ..Default::default()
                    }),
                    value: None,
                    min_order: None,
                    valid_days: 0,
                })),
            }),
            trigger: None,
            control_bps: 6_000,
            budget: Some(Money {
                currency_code: "cny".into(),
                minor_units: -1,
            }),
            ..Default::default()
        };
        let status = assert_code(create(s, bad, "").await, Code::InvalidArgument);
        assert_eq!(
            sorted_bad_fields(&status),
            [
                "strategy.action.coupon.message.channel",
                "strategy.action.coupon.message.template.text",
                "strategy.action.coupon.valid_days",
                "strategy.action.coupon.value",
                "strategy.audience",
                "strategy.budget.currency_code",
                "strategy.budget.minor_units",
                "strategy.control_bps",
                "strategy.display_name",
                "strategy.plan",
                "strategy.trigger",
            ]
        );
        // Rules across fields, and a plan that does not exist.
        let mut email = win_back(START);
        if let Some(pb::action::Kind::Message(m)) =
            email.action.as_mut().and_then(|a| a.kind.as_mut())
        {
            m.channel = pb::Channel::Email.into();
            m.unit_cost = Some(Money {
                currency_code: "USD".into(),
                minor_units: 1,
            });
        }
        email.plan = "plans/0190a0a0-0000-7000-8000-000000000000".into();
        let status = assert_code(create(s, email.clone(), "").await, Code::InvalidArgument);
        assert_eq!(
            sorted_bad_fields(&status),
            ["strategy.action.message.template.subject"]
        );
        if let Some(pb::action::Kind::Message(m)) =
            email.action.as_mut().and_then(|a| a.kind.as_mut())
        {
            m.template.as_mut().unwrap().subject = "Spring".into();
        }
        let status = assert_code(create(s, email, "").await, Code::InvalidArgument);
        assert_eq!(
            sorted_bad_fields(&status),
            ["strategy.budget.currency_code", "strategy.plan"]
        );
        assert_code(
            create(s, pb::Strategy::default(), "").await,
            Code::InvalidArgument,
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn strategies_belong_to_plans_list_and_stay_in_their_tenant_and_roles() {
    each_backend(&services(), async |s| {
        let mut m = strategies_with(s, s.manager("mm-1", "marketing"));
        let plan = m
            .create_plan(pb::CreatePlanRequest {
                plan: Some(pb::Plan {
                    display_name: "Q1 retention".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        let mut in_plan = win_back(START);
        in_plan.plan = plan.name.clone();
        let a = create(s, in_plan, "").await.unwrap();
        let b = create(s, win_back(START), "").await.unwrap();
        let listed = m
            .list_strategies(pb::ListStrategiesRequest {
                plan: plan.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.strategies, std::slice::from_ref(&a));
        // Newest first, a page at a time.
        let first = m
            .list_strategies(pb::ListStrategiesRequest {
                page_size: 1,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(first.strategies, std::slice::from_ref(&b));
        let second = m
            .list_strategies(pb::ListStrategiesRequest {
                page_size: 1,
                page_token: first.next_page_token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(second.strategies, std::slice::from_ref(&a));
        let plans = m
            .list_plans(pb::ListPlansRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(plans.plans, std::slice::from_ref(&plan));

        // Another tenant sees none of it; a rep reads but does not write.
        let mut theirs = strategies_with(s, s.stranger());
        assert_code(
            theirs
                .get_strategy(pb::GetStrategyRequest {
                    name: a.name.clone(),
                })
                .await,
            Code::NotFound,
        );
        assert_code(
            theirs
                .get_plan(pb::GetPlanRequest {
                    name: plan.name.clone(),
                })
                .await,
            Code::NotFound,
        );
        assert!(
            theirs
                .list_strategies(pb::ListStrategiesRequest::default())
                .await
                .unwrap()
                .into_inner()
                .strategies
                .is_empty()
        );
        let mut rep = strategies_with(s, s.rep("rep-1", "north"));
        rep.get_strategy(pb::GetStrategyRequest {
            name: a.name.clone(),
        })
        .await
        .unwrap();
        assert_code(
            rep.create_strategy(pb::CreateStrategyRequest {
                strategy: Some(win_back(START)),
                request_id: String::new(),
            })
            .await,
            Code::PermissionDenied,
        );
        let mut marketer = strategies_with(s, s.auth("t1", "mk-1", &[Role::Marketer]));
        marketer
            .create_strategy(pb::CreateStrategyRequest {
                strategy: Some(win_back(START)),
                request_id: String::new(),
            })
            .await
            .unwrap();
        assert_eq!(
            bad_fields(&assert_code(
                m.get_strategy(pb::GetStrategyRequest {
                    name: "strategies/x".into(),
                })
                .await,
                Code::InvalidArgument,
            )),
            ["name"]
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_lifecycle_guards_edits_and_runs_and_stale_etags_are_refused() {
    each_backend(&services(), async |s| {
        let mut m = strategies_with(s, s.manager("mm-1", "marketing"));
        let made = create(s, win_back(START), "").await.unwrap();
        // A draft does not run.
        let status = assert_code(
            m.run_strategy(pb::RunStrategyRequest {
                name: made.name.clone(),
                request_id: String::new(),
            })
            .await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&status), "STRATEGY_STATE");
        // Edits name every bad field, then apply what the mask names.
        let status = assert_code(
            m.update_strategy(pb::UpdateStrategyRequest {
                strategy: Some(pb::Strategy {
                    name: made.name.clone(),
                    display_name: String::new(),
                    control_bps: -1,
                    ..Default::default()
                }),
                update_mask: mask(&["display_name", "control_bps", "spent"]),
            })
            .await,
            Code::InvalidArgument,
        );
        // A bad mask path is named with every bad value.
        assert_eq!(
            sorted_bad_fields(&status),
            [
                "strategy.control_bps",
                "strategy.display_name",
                "update_mask"
            ]
        );
        let status = assert_code(
            m.update_strategy(pb::UpdateStrategyRequest {
                strategy: Some(pb::Strategy {
                    name: made.name.clone(),
                    display_name: String::new(),
                    control_bps: -1,
                    ..Default::default()
                }),
                update_mask: mask(&["display_name", "control_bps"]),
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&status),
            ["strategy.control_bps", "strategy.display_name"]
        );
        let edited = m
            .update_strategy(pb::UpdateStrategyRequest {
                strategy: Some(pb::Strategy {
                    name: made.name.clone(),
                    control_bps: 2_000,
                    etag: made.etag.clone(),
                    ..Default::default()
                }),
                update_mask: mask(&["control_bps"]),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(edited.control_bps, 2_000);
        assert_eq!(edited.display_name, made.display_name);
        assert_code(
            m.update_strategy(pb::UpdateStrategyRequest {
                strategy: Some(pb::Strategy {
                    name: made.name.clone(),
                    control_bps: 500,
                    etag: made.etag.clone(),
                    ..Default::default()
                }),
                update_mask: mask(&["control_bps"]),
            })
            .await,
            Code::Aborted,
        );
        // Active: it runs, is not edited, and its first run is the schedule's start.
        let active = set_state(s, &made.name, pb::StrategyState::Active)
            .await
            .unwrap();
        assert!(active.next_run_time.is_some());
        assert_code(
            m.update_strategy(pb::UpdateStrategyRequest {
                strategy: Some(pb::Strategy {
                    name: made.name.clone(),
                    control_bps: 500,
                    ..Default::default()
                }),
                update_mask: mask(&["control_bps"]),
            })
            .await,
            Code::FailedPrecondition,
        );
        let run = m
            .run_strategy(pb::RunStrategyRequest {
                name: made.name.clone(),
                request_id: "run-1".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(run.name.starts_with(&format!("{}/runs/", made.name)));
        // A retried run is the same run, not a second one.
        let again = m
            .run_strategy(pb::RunStrategyRequest {
                name: made.name.clone(),
                request_id: "run-1".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(again.name, run.name);
        let runs = m
            .list_strategy_runs(pb::ListStrategyRunsRequest {
                parent: made.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(runs.runs.len(), 1);
        let got = m
            .get_strategy_run(pb::GetStrategyRunRequest {
                name: run.name.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(got.name, run.name);
        assert_code(
            strategies_with(s, s.stranger())
                .get_strategy_run(pb::GetStrategyRunRequest {
                    name: run.name.clone(),
                })
                .await,
            Code::NotFound,
        );
        assert_code(
            strategies_with(s, s.stranger())
                .run_strategy(pb::RunStrategyRequest {
                    name: made.name.clone(),
                    request_id: String::new(),
                })
                .await,
            Code::NotFound,
        );
        // Paused, then archived for good; never back to draft.
        let paused = set_state(s, &made.name, pb::StrategyState::Paused)
            .await
            .unwrap();
        assert_eq!(paused.next_run_time, None);
        assert_eq!(
            bad_fields(&assert_code(
                set_state(s, &made.name, pb::StrategyState::Draft).await,
                Code::InvalidArgument,
            )),
            ["state"]
        );
        set_state(s, &made.name, pb::StrategyState::Archived)
            .await
            .unwrap();
        assert_code(
            set_state(s, &made.name, pb::StrategyState::Active).await,
            Code::FailedPrecondition,
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_schedule_starts_each_run_once_when_due() {
    each_backend_at(&services(), START, async |s, clock| {
        let mut m = strategies_with(s, s.manager("mm-1", "marketing"));
        let made = create(s, win_back(START + DAY), "").await.unwrap();
        set_state(s, &made.name, pb::StrategyState::Active)
            .await
            .unwrap();
        let runs = async |m: &mut rapport_proto::campaigns::strategy_service_client::StrategyServiceClient<_>| {
            m.list_strategy_runs(pb::ListStrategyRunsRequest {
                parent: made.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .runs
            .len()
        };
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        assert_eq!(runs(&mut m).await, 0, "not due yet");
        clock.advance(DAY);
        eventually("the first run starts", async || runs(&mut m.clone()).await == 1).await;
        // The next is a week on; nothing more before then.
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        assert_eq!(runs(&mut m).await, 1);
        let got = m
            .get_strategy(pb::GetStrategyRequest {
                name: made.name.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(got.next_run_time, ts(START + 8 * DAY));
        clock.advance(7 * DAY);
        eventually("the second run starts", async || runs(&mut m.clone()).await == 2).await;
    })
    .await;
}
