//! LeadAnalyticsService (LE12) through gRPC on every backend: the funnel of scenario S2 with
//! exact reached counts, conversions and median dwells (whole months from the kept counts,
//! partial months from the stage history), leaderboards and the weighted forecast.

use std::collections::BTreeMap;

use crate::common::*;
use rapport_proto::{leads as pb, types as pt};
use rapport_runtime::{
    auth::Role,
    clock::{DAY, HOUR, ManualClock, Micros},
};
use rapport_testkit::{TestServer, each_backend_at};
use tonic::Code;

/// 2024-05-01T00:00:00Z.
const T0: Micros = 1_714_521_600_000_000;
const EXAMPLE: &str = "pipelines/real-estate";

fn ts(micros: Micros) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: 0,
    })
}

async fn lead(c: &mut Clients, phone: &str, source: pb::LeadSource) -> String {
    c.leads
        .create_lead(pb::CreateLeadRequest {
            lead: Some(pb::Lead {
                display_name: format!("Lead {phone}"),
                phone: phone.into(),
                source: source.into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("create lead")
        .into_inner()
        .name
}

/// An opportunity in the example pipeline owned by `owner`.
async fn open(c: &mut Clients, owner: &str, lead: &str, amount: Option<pt::Money>) -> String {
    c.pipelines
        .create_opportunity(pb::CreateOpportunityRequest {
            opportunity: Some(pb::Opportunity {
                display_name: format!("Deal of {owner}"),
                pipeline: EXAMPLE.into(),
                owner_id: owner.into(),
                lead: lead.into(),
                amount,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("create opportunity")
        .into_inner()
        .name
}

async fn to(c: &mut Clients, name: &str, stage: &str) {
    c.pipelines
        .move_opportunity_stage(pb::MoveOpportunityStageRequest {
            name: name.into(),
            stage: stage.into(),
            lost_reason: if stage == "lost" {
                "chose another flat".into()
            } else {
                String::new()
            },
            ..Default::default()
        })
        .await
        .expect("move");
}

fn funnel_req(
    group: pb::GroupBy,
    start: Option<Micros>,
    end: Option<Micros>,
) -> pb::GetFunnelRequest {
    pb::GetFunnelRequest {
        pipeline: EXAMPLE.into(),
        group_by: group.into(),
        start_time: start.and_then(ts),
        end_time: end.and_then(ts),
    }
}

/// (stage, reached, conversion, median dwell in hours) of each stage.
type Row = (String, i64, f64, Option<f64>);

async fn funnels(c: &mut Clients, req: pb::GetFunnelRequest) -> BTreeMap<String, Vec<Row>> {
    let out = c
        .analytics
        .get_funnel(req)
        .await
        .expect("funnel")
        .into_inner();
    out.funnels
        .into_iter()
        .map(|f| {
            let rows = f
                .stages
                .into_iter()
                .map(|s| {
                    let hours = s
                        .median_dwell
                        .map(|d| (d.seconds as f64 + f64::from(d.nanos) / 1e9) / 3600.0);
                    (s.stage, s.reached, s.conversion, hours)
                })
                .collect();
            (f.key, rows)
        })
        .collect()
}

fn row(stage: &str, reached: i64, conversion: f64, hours: Option<f64>) -> Row {
    (stage.to_owned(), reached, conversion, hours)
}

/// Scenario S2 in May 2024 and one opportunity in June: five opportunities of three reps in two
/// teams from two sources, moved forwards, back and out; every dwell a whole number of hours.
async fn s2(s: &TestServer, clock: &ManualClock) {
    for (rep, team) in [("rep-1", "north"), ("rep-2", "north"), ("rep-3", "south")] {
        org_rep(s, rep, team).await;
    }
    let mut c = admin(s);
    let form = lead(&mut c, "+8613800000001", pb::LeadSource::Form).await;
    let walk_in = lead(&mut c, "+8613800000002", pb::LeadSource::WalkIn).await;
    let at = |h: i64| clock.set(T0 + h * HOUR);
    at(0);
    let a = open(&mut c, "rep-1", &form, None).await;
    at(1);
    let b = open(&mut c, "rep-1", &walk_in, None).await;
    at(2);
    let cc = open(&mut c, "rep-2", &form, None).await;
    at(3);
    open(&mut c, "rep-3", &form, None).await;
    for (h, o, stage) in [
        (24, &a, "first_visit"),
        (49, &b, "first_visit"),
        (72, &a, "second_visit"),
        (74, &cc, "first_visit"),
        (98, &cc, "second_visit"),
        (108, &cc, "first_visit"),
        (113, &cc, "second_visit"),
        (144, &a, "deal"),
        (149, &b, "lost"),
    ] {
        at(h);
        to(&mut c, o, stage).await;
    }
    // June 1st, 05:00.
    at(31 * 24 + 5);
    let e = open(&mut c, "rep-3", &walk_in, None).await;
    at(31 * 24 + 17);
    to(&mut c, &e, "first_visit").await;
}

#[tokio::test]
async fn the_s2_funnel_counts_reach_conversion_and_median_dwell() {
    each_backend_at(&services(), T0, async |s, clock| {
        s2(s, clock).await;
        let mut c = admin(s);
        let all = funnels(&mut c, funnel_req(pb::GroupBy::Unspecified, None, None)).await;
        assert_eq!(
            all[""],
            [
                // Dwells 12, 24, 48, 72 hours.
                row("online_viewing", 5, 1.0, Some(36.0)),
                // 5, 24, 48, 100 (one opportunity was there twice).
                row("first_visit", 4, 0.8, Some(36.0)),
                // Entered three times by two opportunities: 72, 10.
                row("second_visit", 2, 0.5, Some(41.0)),
                row("revisit", 0, 0.0, None),
                row("deal", 1, 0.0, None),
                row("lost", 1, 1.0, None),
            ]
        );
        assert_eq!(all.len(), 1);

        let by_source = funnels(&mut c, funnel_req(pb::GroupBy::Source, None, None)).await;
        assert_eq!(by_source.keys().collect::<Vec<_>>(), ["FORM", "WALK_IN"]);
        assert_eq!(
            by_source["FORM"][..3],
            [
                row("online_viewing", 3, 1.0, Some(48.0)),
                row("first_visit", 2, 2.0 / 3.0, Some(24.0)),
                row("second_visit", 2, 1.0, Some(41.0)),
            ]
        );
        assert_eq!(
            by_source["WALK_IN"],
            [
                row("online_viewing", 2, 1.0, Some(30.0)),
                row("first_visit", 2, 1.0, Some(100.0)),
                row("second_visit", 0, 0.0, None),
                row("revisit", 0, 0.0, None),
                row("deal", 0, 0.0, None),
                row("lost", 1, 0.0, None),
            ]
        );

        let by_team = funnels(&mut c, funnel_req(pb::GroupBy::Team, None, None)).await;
        assert_eq!(
            by_team.keys().collect::<Vec<_>>(),
            ["teams/north", "teams/south"]
        );
        assert_eq!(
            by_team["teams/north"][0],
            row("online_viewing", 3, 1.0, Some(48.0))
        );
        assert_eq!(
            by_team["teams/south"][0],
            row("online_viewing", 2, 1.0, Some(12.0))
        );
        let by_rep = funnels(&mut c, funnel_req(pb::GroupBy::Rep, None, None)).await;
        assert_eq!(
            by_rep.keys().collect::<Vec<_>>(),
            ["rep-1", "rep-2", "rep-3"]
        );
        assert_eq!(
            by_rep["rep-2"][..2],
            [
                row("online_viewing", 1, 1.0, Some(72.0)),
                // 24 and 5 hours: the mean of the two.
                row("first_visit", 1, 1.0, Some(14.5)),
            ]
        );

        // A manager's figures cover its team.
        let mut boss = manager(s, "boss", "north");
        let north = funnels(&mut boss, funnel_req(pb::GroupBy::Unspecified, None, None)).await;
        assert_eq!(north[""][0], row("online_viewing", 3, 1.0, Some(48.0)));
        assert_eq!(north[""][1], row("first_visit", 3, 1.0, Some(36.0)));
        let north_reps = funnels(&mut boss, funnel_req(pb::GroupBy::Rep, None, None)).await;
        assert_eq!(north_reps.keys().collect::<Vec<_>>(), ["rep-1", "rep-2"]);
        let north_sources = funnels(&mut boss, funnel_req(pb::GroupBy::Source, None, None)).await;
        assert_eq!(
            north_sources["WALK_IN"][0],
            row("online_viewing", 1, 1.0, Some(48.0))
        );
    })
    .await;
}

#[tokio::test]
async fn funnel_windows_mix_whole_and_partial_months() {
    each_backend_at(&services(), T0, async |s, clock| {
        s2(s, clock).await;
        let mut c = admin(s);
        let june = T0 + 31 * DAY;
        let july = june + 30 * DAY;
        // May, whole: A, B, C, D.
        let may = funnels(
            &mut c,
            funnel_req(pb::GroupBy::Unspecified, Some(T0), Some(june)),
        )
        .await;
        assert_eq!(may[""][0], row("online_viewing", 4, 1.0, Some(48.0)));
        assert_eq!(may[""][1], row("first_visit", 3, 0.75, Some(36.0)));
        // From mid-May (C, D counted from the history) through June (E, from the counts).
        let ragged = funnels(
            &mut c,
            funnel_req(pb::GroupBy::Unspecified, Some(T0 + 2 * HOUR), Some(july)),
        )
        .await;
        assert_eq!(
            ragged[""][..3],
            [
                row("online_viewing", 3, 1.0, Some(42.0)),
                row("first_visit", 2, 2.0 / 3.0, Some(14.5)),
                row("second_visit", 1, 0.5, Some(10.0)),
            ]
        );
        // From 01:30 on May 1st (May less A and B) to 06:00 on June 1st (plus E): the same.
        let shifted = funnels(
            &mut c,
            funnel_req(
                pb::GroupBy::Unspecified,
                Some(T0 + 90 * 60_000_000),
                Some(june + 6 * HOUR),
            ),
        )
        .await;
        assert_eq!(shifted[""][..3], ragged[""][..3]);
        // From late May (adding the end of May, where nothing was created) on: E alone.
        let late = funnels(
            &mut c,
            funnel_req(pb::GroupBy::Rep, Some(T0 + 20 * DAY), None),
        )
        .await;
        assert_eq!(late.keys().collect::<Vec<_>>(), ["rep-3"]);
        assert_eq!(late["rep-3"][0], row("online_viewing", 1, 1.0, Some(12.0)));
        // Open start, ragged end: A and B.
        let early = funnels(
            &mut c,
            funnel_req(pb::GroupBy::Rep, None, Some(T0 + 2 * HOUR)),
        )
        .await;
        assert_eq!(early.keys().collect::<Vec<_>>(), ["rep-1"]);
        assert_eq!(early["rep-1"][0], row("online_viewing", 2, 1.0, Some(36.0)));
        assert_eq!(early["rep-1"][4], row("deal", 1, 0.0, None));
        // Inside one month, on both sides of E's creation.
        let inside = funnels(
            &mut c,
            funnel_req(
                pb::GroupBy::Source,
                Some(june + HOUR),
                Some(june + 6 * HOUR),
            ),
        )
        .await;
        assert_eq!(
            inside["WALK_IN"][0],
            row("online_viewing", 1, 1.0, Some(12.0))
        );
        let none = funnels(
            &mut c,
            funnel_req(pb::GroupBy::Source, Some(june + 6 * HOUR), Some(july)),
        )
        .await;
        assert!(none.is_empty(), "{none:?}");
        let empty = funnels(
            &mut c,
            funnel_req(pb::GroupBy::Unspecified, Some(july), None),
        )
        .await;
        assert!(empty[""].iter().all(|r| r.1 == 0 && r.3.is_none()));
    })
    .await;
}

#[tokio::test]
async fn funnels_check_input_roles_and_tenants() {
    each_backend_at(&services(), T0, async |s, _clock| {
        let mut c = admin(s);
        let st = c
            .analytics
            .get_funnel(pb::GetFunnelRequest {
                pipeline: "real-estate".into(),
                group_by: 9,
                start_time: ts(T0),
                end_time: ts(T0),
            })
            .await;
        assert_eq!(
            sorted_bad_fields(&assert_code(st, Code::InvalidArgument)),
            sorted(["pipeline", "group_by", "end_time"])
        );
        let st = c
            .analytics
            .get_funnel(pb::GetFunnelRequest {
                start_time: Some(prost_types::Timestamp {
                    seconds: i64::MAX,
                    nanos: 0,
                }),
                ..funnel_req(pb::GroupBy::Unspecified, None, None)
            })
            .await;
        assert_eq!(
            bad_fields(&assert_code(st, Code::InvalidArgument)),
            ["start_time"]
        );
        let st = c
            .analytics
            .get_funnel(pb::GetFunnelRequest {
                pipeline: "pipelines/nope".into(),
                ..funnel_req(pb::GroupBy::Unspecified, None, None)
            })
            .await;
        assert_code(st, Code::NotFound);
        // A pipeline of one tenant is not found in another.
        c.pipelines
            .create_pipeline(pb::CreatePipelineRequest {
                pipeline: Some(pb::Pipeline {
                    name: "pipelines/b2b".into(),
                    display_name: "B2B".into(),
                    stages: vec![
                        pb::Stage {
                            id: "talk".into(),
                            display_name: "Talk".into(),
                            ..Default::default()
                        },
                        pb::Stage {
                            id: "won".into(),
                            display_name: "Won".into(),
                            kind: pb::StageKind::Won.into(),
                            ..Default::default()
                        },
                    ],
                    ..Default::default()
                }),
            })
            .await
            .expect("create pipeline");
        let b2b = pb::GetFunnelRequest {
            pipeline: "pipelines/b2b".into(),
            ..funnel_req(pb::GroupBy::Unspecified, None, None)
        };
        let ours = funnels(&mut c, b2b.clone()).await;
        assert_eq!(ours[""].len(), 2);
        assert_code(
            stranger(s).analytics.get_funnel(b2b.clone()).await,
            Code::NotFound,
        );
        // Reps read no analytics; a manager needs its team; a credential is needed.
        let st = rep(s, "rep-1", "north")
            .analytics
            .get_funnel(b2b.clone())
            .await;
        assert_code(st, Code::PermissionDenied);
        assert_code(
            as_user(s, "t1", "boss", &[Role::Manager])
                .analytics
                .get_funnel(b2b.clone())
                .await,
            Code::PermissionDenied,
        );
        assert_code(
            anonymous(s, None).analytics.get_funnel(b2b).await,
            Code::Unauthenticated,
        );
    })
    .await;
}

/// Deals of four reps in two teams: won in April (the month before) and May, in two
/// currencies, and one rep with only an open opportunity.
async fn deals(s: &TestServer, clock: &ManualClock) {
    for (rep, team) in [
        ("rep-1", "north"),
        ("rep-2", "north"),
        ("rep-3", "south"),
        ("rep-4", "south"),
    ] {
        org_rep(s, rep, team).await;
    }
    let mut c = admin(s);
    let april = T0 - 16 * DAY;
    clock.set(april);
    let mut won_at = Vec::new();
    for (owner, amount, day) in [
        ("rep-2", money("CNY", 30_000), april + DAY),
        ("rep-4", money("CNY", 50_000), april + 2 * DAY),
        ("rep-1", money("CNY", 10_000), T0 + 2 * DAY),
        ("rep-1", money("USD", 999), T0 + 3 * DAY),
        ("rep-1", money("CNY", 5_000), T0 + 9 * DAY),
        ("rep-2", money("CNY", 20_000), T0 + 19 * DAY),
    ] {
        won_at.push((open(&mut c, owner, "", amount).await, day));
    }
    open(&mut c, "rep-3", "", money("CNY", 1)).await;
    won_at.sort_by_key(|(_, day)| *day);
    for (o, day) in won_at {
        clock.set(day);
        to(&mut c, &o, "deal").await;
    }
}

fn board_keys(list: &[pb::LeaderboardEntry]) -> Vec<String> {
    list.iter().map(|e| e.key.clone()).collect()
}

fn board_req(group: pb::GroupBy, limit: i32, currency: &str) -> pb::GetLeaderboardRequest {
    pb::GetLeaderboardRequest {
        group_by: group.into(),
        month: "2024-05".into(),
        limit,
        currency_code: currency.into(),
    }
}

#[tokio::test]
async fn leaderboards_rank_best_worst_and_rising() {
    each_backend_at(&services(), T0, async |s, clock| {
        deals(s, clock).await;
        let mut c = admin(s);
        let reps = c
            .analytics
            .get_leaderboard(board_req(pb::GroupBy::Unspecified, 0, ""))
            .await
            .expect("board")
            .into_inner();
        assert_eq!(board_keys(&reps.best), ["reps/rep-2", "reps/rep-1"]);
        assert_eq!(reps.best[1].won_count, 3, "the USD deal counts");
        assert_eq!(reps.best[1].won_amount, money("CNY", 15_000));
        assert_eq!(reps.best[0].previous_amount, money("CNY", 30_000));
        assert_eq!(
            board_keys(&reps.worst),
            ["reps/rep-3", "reps/rep-1", "reps/rep-2"]
        );
        assert_eq!(board_keys(&reps.rising), ["reps/rep-1"]);

        let teams = c
            .analytics
            .get_leaderboard(board_req(pb::GroupBy::Team, 0, "CNY"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(board_keys(&teams.best), ["teams/north"]);
        assert_eq!(teams.best[0].won_amount, money("CNY", 35_000));
        assert_eq!(teams.best[0].won_count, 4);
        assert_eq!(board_keys(&teams.worst), ["teams/south", "teams/north"]);
        assert_eq!(board_keys(&teams.rising), ["teams/north"]);

        let usd = c
            .analytics
            .get_leaderboard(board_req(pb::GroupBy::Rep, 1, "USD"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(board_keys(&usd.best), ["reps/rep-1"]);
        assert_eq!(usd.best[0].won_amount, money("USD", 999));

        // A manager ranks its team.
        let mut south = manager(s, "boss", "south");
        let theirs = south
            .analytics
            .get_leaderboard(board_req(pb::GroupBy::Rep, 0, ""))
            .await
            .unwrap()
            .into_inner();
        assert!(theirs.best.is_empty());
        assert_eq!(board_keys(&theirs.worst), ["reps/rep-3"]);

        let st = c
            .analytics
            .get_leaderboard(pb::GetLeaderboardRequest {
                group_by: pb::GroupBy::Source.into(),
                month: "2024-5".into(),
                limit: 101,
                currency_code: "usd".into(),
            })
            .await;
        assert_eq!(
            sorted_bad_fields(&assert_code(st, Code::InvalidArgument)),
            sorted(["group_by", "month", "limit", "currency_code"])
        );
        let st = c
            .analytics
            .get_leaderboard(pb::GetLeaderboardRequest::default())
            .await;
        assert_eq!(
            bad_fields(&assert_code(st, Code::InvalidArgument)),
            ["month"]
        );
        // Another tenant's board is its own (and empty).
        let other = stranger(s)
            .analytics
            .get_leaderboard(board_req(pb::GroupBy::Rep, 0, ""))
            .await
            .unwrap()
            .into_inner();
        assert!(other.best.is_empty() && other.worst.is_empty() && other.rising.is_empty());
        let st = rep(s, "rep-1", "north")
            .analytics
            .get_leaderboard(board_req(pb::GroupBy::Rep, 0, ""))
            .await;
        assert_code(st, Code::PermissionDenied);
        let st = anonymous(s, None)
            .analytics
            .get_leaderboard(board_req(pb::GroupBy::Rep, 0, ""))
            .await;
        assert_code(st, Code::Unauthenticated);
    })
    .await;
}

#[tokio::test]
async fn forecasts_weigh_open_amounts_by_stage() {
    each_backend_at(&services(), T0, async |s, _clock| {
        for (rep, team) in [("rep-1", "north"), ("rep-2", "north"), ("rep-3", "south")] {
            org_rep(s, rep, team).await;
        }
        let mut c = admin(s);
        let mut make = async |owner: &str, amount, close, stage: &str| {
            let name = c
                .pipelines
                .create_opportunity(pb::CreateOpportunityRequest {
                    opportunity: Some(pb::Opportunity {
                        display_name: "Flat".into(),
                        pipeline: EXAMPLE.into(),
                        owner_id: owner.into(),
                        amount,
                        expected_close_date: close,
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await
                .expect("create")
                .into_inner()
                .name;
            if stage != "online_viewing" {
                to(&mut c, &name, stage).await;
            }
        };
        // 10, 25, 50 and 70 percent.
        make(
            "rep-1",
            money("CNY", 100_000),
            date(2024, 6, 15),
            "online_viewing",
        )
        .await;
        make(
            "rep-2",
            money("CNY", 200_000),
            date(2024, 6, 30),
            "first_visit",
        )
        .await;
        make(
            "rep-3",
            money("CNY", 300_000),
            date(2024, 7, 1),
            "second_visit",
        )
        .await;
        make("rep-1", money("CNY", 100_000), None, "revisit").await;
        make("rep-1", money("USD", 5000), date(2024, 6, 1), "first_visit").await;
        make("rep-2", money("CNY", 999_900), date(2024, 6, 1), "deal").await;
        make("rep-2", None, date(2024, 6, 1), "first_visit").await;

        let lines = |r: pb::GetForecastResponse| -> Vec<(String, String, i64, i64, i64)> {
            r.lines
                .into_iter()
                .map(|l| {
                    let m = |x: Option<pt::Money>| x.expect("money").minor_units;
                    (l.month, l.key, l.open_count, m(l.total), m(l.weighted))
                })
                .collect()
        };
        let all = c
            .analytics
            .get_forecast(pb::GetForecastRequest::default())
            .await
            .expect("forecast")
            .into_inner();
        assert_eq!(all.lines[0].total.as_ref().unwrap().currency_code, "CNY");
        assert_eq!(
            lines(all),
            [
                ("2024-06".into(), "".into(), 2, 300_000, 60_000),
                ("2024-07".into(), "".into(), 1, 300_000, 150_000),
                ("none".into(), "".into(), 1, 100_000, 70_000),
            ]
        );
        let by_team = c
            .analytics
            .get_forecast(pb::GetForecastRequest {
                group_by: pb::GroupBy::Team.into(),
                pipeline: EXAMPLE.into(),
                currency_code: "CNY".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            lines(by_team),
            [
                ("2024-06".into(), "teams/north".into(), 2, 300_000, 60_000),
                ("2024-07".into(), "teams/south".into(), 1, 300_000, 150_000),
                ("none".into(), "teams/north".into(), 1, 100_000, 70_000),
            ]
        );
        let usd = c
            .analytics
            .get_forecast(pb::GetForecastRequest {
                group_by: pb::GroupBy::Rep.into(),
                currency_code: "USD".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            lines(usd),
            [("2024-06".into(), "rep-1".into(), 1, 5000, 1250)]
        );
        let south = manager(s, "boss", "south")
            .analytics
            .get_forecast(pb::GetForecastRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(lines(south).len(), 1);

        let st = c
            .analytics
            .get_forecast(pb::GetForecastRequest {
                pipeline: "b2b".into(),
                currency_code: "eur".into(),
                group_by: 7,
            })
            .await;
        assert_eq!(
            sorted_bad_fields(&assert_code(st, Code::InvalidArgument)),
            sorted(["pipeline", "currency_code", "group_by"])
        );
        let st = c
            .analytics
            .get_forecast(pb::GetForecastRequest {
                pipeline: "pipelines/nope".into(),
                ..Default::default()
            })
            .await;
        assert_code(st, Code::NotFound);
        let theirs = stranger(s)
            .analytics
            .get_forecast(pb::GetForecastRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert!(theirs.lines.is_empty());
        let st = rep(s, "rep-1", "north")
            .analytics
            .get_forecast(pb::GetForecastRequest::default())
            .await;
        assert_code(st, Code::PermissionDenied);
        let st = anonymous(s, None)
            .analytics
            .get_forecast(pb::GetForecastRequest::default())
            .await;
        assert_code(st, Code::Unauthenticated);
    })
    .await;
}
