//! Runs that send: the audience read from the customers service, a stable hold-out, consent
//! honoured, one signed SMS per reachable member on a real gateway, caps across runs, and the
//! orders members place measured against the hold-out.

use std::collections::BTreeSet;

use rapport_proto::{campaigns as pb, customers as cpb, orders as opb, types::Money};
use rapport_runtime::config::ChannelArgs;
use rapport_testkit::{Backend, TestServer, sms_gateway::SmsGateway, wait::eventually};

use crate::{
    common::*,
    orders_common::{self, furniture, line, order},
};

fn cny(minor_units: i64) -> Option<Money> {
    Some(Money {
        currency_code: "CNY".into(),
        minor_units,
    })
}

/// A server of customers, orders and campaigns sending SMS through `gateway`.
async fn server(backend: Backend, gateway: &SmsGateway) -> TestServer {
    server_with(TestServer::builder(), backend, gateway).await
}

async fn server_with(
    builder: rapport_testkit::TestServerBuilder,
    backend: Backend,
    gateway: &SmsGateway,
) -> TestServer {
    builder
        .channels(ChannelArgs {
            sms_gateway_url: Some(gateway.url()),
            sms_gateway_secret: Some(gateway.secret().to_owned()),
            ..ChannelArgs::default()
        })
        .start(backend, &services())
        .await
}

/// A person of rep-1's tagged `s5`, with SMS consent `sms` and, unless empty, `phone`.
async fn member(s: &TestServer, name: &str, phone: &str, sms: cpb::ConsentStatus) -> String {
    admin(s)
        .customers
        .create_customer(cpb::CreateCustomerRequest {
            customer: Some(cpb::Customer {
                kind: cpb::CustomerKind::Person.into(),
                display_name: name.into(),
                phones: if phone.is_empty() {
                    Vec::new()
                } else {
                    vec![cpb::Phone {
                        number: phone.into(),
                        ..Default::default()
                    }]
                },
                tags: vec!["s5".into()],
                owner_id: "rep-1".into(),
                team_id: "north".into(),
                consent: Some(cpb::Consent {
                    channels: vec![cpb::ChannelConsent {
                        channel: cpb::Channel::Sms.into(),
                        status: sms.into(),
                        source: "store_form".into(),
                    }],
                    ..Default::default()
                }),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("create customer")
        .into_inner()
        .name
}

fn greeting() -> pb::Strategy {
    pb::Strategy {
        display_name: "Spring greeting".into(),
        audience: Some(pb::Audience {
            filter: "tags:s5".into(),
            ..Default::default()
        }),
        action: Some(pb::Action {
            kind: Some(pb::action::Kind::Message(pb::MessageAction {
                channel: pb::Channel::Sms.into(),
                template: Some(pb::MessageTemplate {
                    text: "Hi {{ customer.display_name }}, spring is here".into(),
                    ..Default::default()
                }),
                transactional: false,
                unit_cost: cny(5),
            })),
        }),
        trigger: Some(pb::Trigger {
            kind: Some(pb::trigger::Kind::Schedule(pb::Schedule {
                start_time: Some(prost_types::Timestamp {
                    seconds: 4_000_000_000,
                    nanos: 0,
                }),
                every_days: 0,
            })),
        }),
        control_bps: 5_000,
        budget: cny(10_000),
        ..Default::default()
    }
}

type Strategies = rapport_proto::campaigns::strategy_service_client::StrategyServiceClient<Ch>;

/// Runs `strategy` now and waits for the run to finish; the run.
async fn run_to_end(m: &mut Strategies, strategy: &str) -> pb::StrategyRun {
    let run = m
        .run_strategy(pb::RunStrategyRequest {
            name: strategy.into(),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut done = None;
    eventually("the run finishes", async || {
        let r = m
            .clone()
            .get_strategy_run(pb::GetStrategyRunRequest {
                name: run.name.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        let finished = r.state == pb::RunState::Done as i32;
        done = Some(r);
        finished
    })
    .await;
    done.unwrap()
}

async fn report(m: &mut Strategies, strategy: &str) -> pb::StrategyReport {
    m.get_strategy_report(pb::GetStrategyReportRequest {
        name: strategy.into(),
    })
    .await
    .unwrap()
    .into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_reaches_each_member_once_holds_out_honours_consent_and_caps_and_measures_orders() {
    for backend in Backend::all() {
        eprintln!("-- on {backend:?}");
        let gateway = SmsGateway::start().await;
        let s = server(backend, &gateway).await;
        furniture(&s).await;
        let mut people = Vec::new();
        for i in 0..20 {
            let name = format!("Member {i:02}");
            let c = member(
                &s,
                &name,
                &format!("+86138001000{i:02}"),
                cpb::ConsentStatus::OptedIn,
            )
            .await;
            people.push((name, c));
        }
        member(
            &s,
            "Refuser 1",
            "+8613800200001",
            cpb::ConsentStatus::OptedOut,
        )
        .await;
        member(
            &s,
            "Refuser 2",
            "+8613800200002",
            cpb::ConsentStatus::OptedOut,
        )
        .await;
        member(&s, "No phone", "", cpb::ConsentStatus::OptedIn).await;

        let mut m = strategies_with(&s, s.manager("mm-1", "marketing"));
        let made = m
            .create_strategy(pb::CreateStrategyRequest {
                strategy: Some(greeting()),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        m.change_strategy_state(pb::ChangeStrategyStateRequest {
            name: made.name.clone(),
            state: pb::StrategyState::Active.into(),
            ..Default::default()
        })
        .await
        .unwrap();

        // The first run: everyone reachable gets one SMS, except the hold-out.
        let first = run_to_end(&mut m, &made.name).await;
        assert_eq!(first.audience, 23);
        assert_eq!(first.skipped.get("OPTED_OUT"), Some(&2));
        assert_eq!(first.skipped.get("NO_ADDRESS"), Some(&1));
        assert!(first.control > 0 && first.control < 20, "{}", first.control);
        assert_eq!(first.sent + first.control, 20);
        let got = gateway.wait_for(first.sent as usize).await;
        assert_eq!(got.len() as i64, first.sent);
        let ids: BTreeSet<&str> = got.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids.len(), got.len(), "one message per recipient");
        assert!(
            got.iter().all(|m| m.verified.is_ok()),
            "every request signed"
        );
        let reached: BTreeSet<String> = got
            .iter()
            .map(|m| {
                m.text
                    .strip_prefix("Hi ")
                    .and_then(|t| t.strip_suffix(", spring is here"))
                    .expect("the template rendered")
                    .to_owned()
            })
            .collect();
        assert_eq!(reached.len() as i64, first.sent);

        // The second run reaches the same members (the hold-out is stable); the third finds
        // them capped at two marketing SMS a week.
        let second = run_to_end(&mut m, &made.name).await;
        assert_eq!(second.control, first.control);
        assert_eq!(second.sent, first.sent);
        let third = run_to_end(&mut m, &made.name).await;
        assert_eq!(third.sent, 0);
        assert_eq!(third.skipped.get("CAPPED"), Some(&first.sent));
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert_eq!(gateway.got().len() as i64, 2 * first.sent);

        // One reached member and one held-out member buy: the report compares the groups.
        let treated = people.iter().find(|(n, _)| reached.contains(n)).unwrap();
        let held = people.iter().find(|(n, _)| !reached.contains(n)).unwrap();
        let mut r1 = orders_common::rep(&s, "rep-1", "north");
        for (_, customer) in [treated, held] {
            let o =
                orders_common::create_order(&mut r1, order(customer, vec![line("LAMP", 1, 0)]), "")
                    .await
                    .unwrap();
            r1.orders
                .confirm_order(opb::ConfirmOrderRequest {
                    name: o.name,
                    ..Default::default()
                })
                .await
                .unwrap();
        }
        let mut last = None;
        eventually("both orders are attributed", async || {
            let r = report(&mut m.clone(), &made.name).await;
            let done = r.treated_converted == 1 && r.control_converted == 1;
            last = Some(r);
            done
        })
        .await;
        let r = last.unwrap();
        assert_eq!(r.treated, 20 - first.control);
        assert_eq!(r.control, first.control);
        assert_eq!(r.reached, first.sent);
        assert_eq!(r.orders, 1);
        assert_eq!(r.revenue, cny(30_000));
        assert_eq!(r.cost, cny(5 * 2 * first.sent));
        assert!(r.uplift_known && r.uplift_low <= r.uplift && r.uplift <= r.uplift_high);
        // Another tenant sees nothing of it.
        assert_code(
            strategies_with(&s, s.stranger())
                .get_strategy_report(pb::GetStrategyReportRequest {
                    name: made.name.clone(),
                })
                .await,
            tonic::Code::NotFound,
        );
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn caps_hold_across_replicas_under_64_concurrent_runs() {
    for backend in Backend::all() {
        eprintln!("-- on {backend:?}");
        let gateway = SmsGateway::start().await;
        let s = server(backend, &gateway).await;
        let replica = s.start_replica().await;
        for i in 0..10 {
            member(
                &s,
                &format!("Member {i:02}"),
                &format!("+86138003000{i:02}"),
                cpb::ConsentStatus::OptedIn,
            )
            .await;
        }
        // Eight strategies, none held out, each run eight times at once: 64 runs that all
        // want to reach the same ten members.
        let mut m = strategies_with(&s, s.manager("mm-1", "marketing"));
        let mut names = Vec::new();
        for i in 0..8 {
            let mut g = greeting();
            g.display_name = format!("Greeting {i}");
            g.control_bps = 0;
            g.budget = None;
            let made = m
                .create_strategy(pb::CreateStrategyRequest {
                    strategy: Some(g),
                    request_id: String::new(),
                })
                .await
                .unwrap()
                .into_inner();
            m.change_strategy_state(pb::ChangeStrategyStateRequest {
                name: made.name.clone(),
                state: pb::StrategyState::Active.into(),
                ..Default::default()
            })
            .await
            .unwrap();
            names.push(made.name);
        }
        let runs: Vec<pb::StrategyRun> = futures::future::join_all((0..64).map(|i| {
            let mut m = m.clone();
            let name = names[i % 8].clone();
            async move {
                m.run_strategy(pb::RunStrategyRequest {
                    name,
                    request_id: String::new(),
                })
                .await
                .unwrap()
                .into_inner()
            }
        }))
        .await;
        for run in &runs {
            eventually("every run finishes", async || {
                m.clone()
                    .get_strategy_run(pb::GetStrategyRunRequest {
                        name: run.name.clone(),
                    })
                    .await
                    .unwrap()
                    .into_inner()
                    .state
                    == pb::RunState::Done as i32
            })
            .await;
        }
        // Two marketing SMS a week each, however many replicas and runs wanted more.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let got = gateway.got();
        assert_eq!(got.len(), 20, "ten members, two messages each");
        let mut per_number = std::collections::BTreeMap::new();
        for sms in &got {
            *per_number.entry(sms.to.clone()).or_insert(0) += 1;
        }
        assert!(per_number.values().all(|n| *n == 2), "{per_number:?}");
        replica.shutdown().await.unwrap();
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_interrupted_by_a_restart_reaches_every_member_exactly_once() {
    for backend in Backend::all() {
        eprintln!("-- on {backend:?}");
        let gateway = SmsGateway::start().await;
        // The gateway is slow to answer, so the restart lands while messages are in flight.
        gateway
            .receiver()
            .delay(std::time::Duration::from_millis(300));
        let clock = rapport_runtime::clock::ManualClock::at(1_780_000_000_000_000);
        let mut s = server_with(
            TestServer::builder().clock(clock.clone()),
            backend,
            &gateway,
        )
        .await;
        let mut people = BTreeSet::new();
        for i in 0..30 {
            member(
                &s,
                &format!("Member {i:02}"),
                &format!("+86138004000{i:02}"),
                cpb::ConsentStatus::OptedIn,
            )
            .await;
            people.insert(format!("+86138004000{i:02}"));
        }
        let mut g = greeting();
        g.control_bps = 0;
        let mut m = strategies_with(&s, s.manager("mm-1", "marketing"));
        let made = m
            .create_strategy(pb::CreateStrategyRequest {
                strategy: Some(g),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        m.change_strategy_state(pb::ChangeStrategyStateRequest {
            name: made.name.clone(),
            state: pb::StrategyState::Active.into(),
            ..Default::default()
        })
        .await
        .unwrap();
        let run = m
            .run_strategy(pb::RunStrategyRequest {
                name: made.name.clone(),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        gateway.wait_for(1).await;
        s.halt().await;
        s.restart().await;
        // Messages handed over before the stop go again once their minute is out.
        clock.advance(61_000_000);
        let mut m = strategies_with(&s, s.manager("mm-1", "marketing"));
        eventually("the run finishes after the restart", async || {
            m.get_strategy_run(pb::GetStrategyRunRequest {
                name: run.name.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .state
                == pb::RunState::Done as i32
        })
        .await;
        // Every member got the message; a message resent after the restart carries the id it
        // had, so the gateway counts one per member.
        let got = gateway.got();
        let finished = m
            .get_strategy_run(pb::GetStrategyRunRequest {
                name: run.name.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(finished.sent, 30, "{finished:?}");
        let ids: BTreeSet<&str> = got.iter().map(|m| m.id.as_str()).collect();
        let numbers: BTreeSet<String> = got.iter().map(|m| m.to.clone()).collect();
        assert_eq!(numbers, people);
        assert_eq!(ids.len(), people.len());
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn birthday_greetings_reach_whose_day_it_is_until_the_budget_is_spent() {
    // 2026-05-28T20:26:40Z: already 29 May in China.
    let now = 1_780_000_000_000_000;
    for backend in Backend::all() {
        eprintln!("-- on {backend:?}");
        let gateway = SmsGateway::start().await;
        let clock = rapport_runtime::clock::ManualClock::at(now);
        let s = server_with(
            TestServer::builder().clock(clock.clone()),
            backend,
            &gateway,
        )
        .await;
        let mut a = admin(&s);
        for (i, (month, day)) in [(5, 29), (5, 29), (5, 29), (5, 28), (12, 1)]
            .iter()
            .enumerate()
        {
            let name = member(
                &s,
                &format!("Member {i}"),
                &format!("+861380050000{i}"),
                cpb::ConsentStatus::OptedIn,
            )
            .await;
            a.customers
                .update_customer(cpb::UpdateCustomerRequest {
                    customer: Some(cpb::Customer {
                        name,
                        demographics: Some(cpb::Demographics {
                            birth_date: Some(rapport_proto::types::Date {
                                year: 0,
                                month: *month,
                                day: *day,
                            }),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    update_mask: mask(&["demographics.birth_date"]),
                })
                .await
                .unwrap();
        }
        let mut g = greeting();
        g.display_name = "Birthday".into();
        g.control_bps = 0;
        g.budget = cny(10);
        g.trigger = Some(pb::Trigger {
            kind: Some(pb::trigger::Kind::Occasion(pb::Occasion {
                kind: pb::OccasionKind::Birthday.into(),
                start_time: Some(rapport_runtime::clock::to_timestamp(now)),
                utc_offset_minutes: 480,
            })),
        });
        let mut m = strategies_with(&s, s.manager("mm-1", "marketing"));
        let made = m
            .create_strategy(pb::CreateStrategyRequest {
                strategy: Some(g),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(matches!(
            made.trigger.as_ref().and_then(|t| t.kind.as_ref()),
            Some(pb::trigger::Kind::Occasion(o)) if o.utc_offset_minutes == 480
        ));
        m.change_strategy_state(pb::ChangeStrategyStateRequest {
            name: made.name.clone(),
            state: pb::StrategyState::Active.into(),
            ..Default::default()
        })
        .await
        .unwrap();
        // The daily run starts by itself: three birthdays today, two messages' budget.
        let mut run = None;
        eventually("the day's run finishes", async || {
            let runs = m
                .clone()
                .list_strategy_runs(pb::ListStrategyRunsRequest {
                    parent: made.name.clone(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .runs;
            let done = runs
                .first()
                .is_some_and(|r| r.state == pb::RunState::Done as i32);
            run = runs.into_iter().next();
            done
        })
        .await;
        let run = run.unwrap();
        assert_eq!(run.audience, 3);
        assert_eq!(run.sent, 2);
        assert_eq!(run.skipped.get("BUDGET_SPENT"), Some(&1));
        assert_eq!(gateway.got().len(), 2);
        let spent = m
            .get_strategy(pb::GetStrategyRequest {
                name: made.name.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .spent;
        assert_eq!(spent, cny(10));
        // A bad occasion names its fields.
        let mut bad = greeting();
        bad.trigger = Some(pb::Trigger {
            kind: Some(pb::trigger::Kind::Occasion(pb::Occasion {
                kind: 0,
                start_time: None,
                utc_offset_minutes: 0,
            })),
        });
        let status = assert_code(
            m.create_strategy(pb::CreateStrategyRequest {
                strategy: Some(bad),
                request_id: String::new(),
            })
            .await,
            tonic::Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&status),
            [
                "strategy.trigger.occasion.kind",
                "strategy.trigger.occasion.start_time"
            ]
        );
        s.stop().await;
    }
}
