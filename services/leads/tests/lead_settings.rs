//! GetLeadSettings and UpdateLeadSettings through gRPC on every backend.

use crate::common::*;
use rapport_proto::leads as pb;
use rapport_runtime::auth::Role;
use rapport_testkit::{TestServer, each_backend};
use tonic::{Code, Status};

const DAY: i64 = 86_400;

async fn get(c: &mut Clients, name: &str) -> Result<pb::LeadSettings, Status> {
    c.leads
        .get_lead_settings(pb::GetLeadSettingsRequest { name: name.into() })
        .await
        .map(tonic::Response::into_inner)
}

async fn fetch(c: &mut Clients) -> pb::LeadSettings {
    get(c, "leadSettings").await.expect("get lead settings")
}

async fn update(
    c: &mut Clients,
    settings: pb::LeadSettings,
    paths: &[&str],
) -> Result<pb::LeadSettings, Status> {
    c.leads
        .update_lead_settings(pb::UpdateLeadSettingsRequest {
            settings: Some(settings),
            update_mask: mask(paths),
        })
        .await
        .map(tonic::Response::into_inner)
}

fn thresholds(low: i32, high: i32) -> pb::LeadSettings {
    pb::LeadSettings {
        low_intent_below: low,
        high_intent_from: high,
        ..Default::default()
    }
}

fn role(s: &TestServer, role: Role) -> Clients {
    as_user(s, "t1", "someone", &[role])
}

fn follow_up_rule(display_name: &str, after: i64, warn_before: i64) -> pb::FollowUpRule {
    pb::FollowUpRule {
        display_name: display_name.into(),
        condition: pb::FollowUpCondition::NoFollowUp.into(),
        after: secs(after),
        warn_before: secs(warn_before).filter(|d| d.seconds > 0),
        grade: pb::IntentGrade::Unspecified.into(),
        action: pb::ReclaimAction::ReturnToPool.into(),
    }
}

/// The settings every tenant starts with.
fn defaults(etag: &str) -> pb::LeadSettings {
    pb::LeadSettings {
        name: "leadSettings".into(),
        default_strategy: pb::AssignmentStrategy::RoundRobin.into(),
        assignment_rules: Vec::new(),
        follow_up_rules: Vec::new(),
        claim_cooldown: secs(7 * DAY),
        low_intent_below: 30,
        high_intent_from: 70,
        update_time: None,
        etag: etag.into(),
        duplicate_policy: pb::LeadDuplicatePolicy::Flag.into(),
        duplicate_disclosure: rapport_proto::types::DuplicateDisclosure::Masked.into(),
    }
}

#[tokio::test]
async fn every_reader_of_leads_gets_the_defaults() {
    each_backend(&services(), async |s| {
        let got = fetch(&mut admin(s)).await;
        assert!(!got.etag.is_empty());
        assert_eq!(got, defaults(&got.etag));
        // The name may be left out.
        assert_eq!(
            get(&mut admin(s), "").await.expect("get without a name"),
            got
        );
        for r in [
            Role::Manager,
            Role::Rep,
            Role::Marketer,
            Role::ServiceAccount,
        ] {
            assert_eq!(fetch(&mut role(s, r)).await, got, "{r:?}");
        }
        assert_eq!(fetch(&mut rep(s, "rep-1", "north")).await, got);
    })
    .await;
}

#[tokio::test]
async fn get_refuses_other_names_roles_and_tokens() {
    each_backend(&services(), async |s| {
        for bad in ["settings", "leadSettings/x", "tenants/t1/leadSettings"] {
            let status = assert_code(get(&mut admin(s), bad).await, Code::InvalidArgument);
            assert_eq!(bad_fields(&status), ["name"], "{bad:?}");
        }
        for r in [Role::Partner, Role::ServiceAgent] {
            assert_code(
                get(&mut role(s, r), "leadSettings").await,
                Code::PermissionDenied,
            );
        }
        for authorization in [None, Some("Bearer not-a-jwt")] {
            assert_code(
                get(&mut anonymous(s, authorization), "leadSettings").await,
                Code::Unauthenticated,
            );
        }
    })
    .await;
}

#[tokio::test]
async fn admins_update_the_masked_fields_and_the_etag_moves() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let before = fetch(&mut c).await;
        let wanted = pb::LeadSettings {
            default_strategy: pb::AssignmentStrategy::LeastLoaded.into(),
            assignment_rules: vec![
                pb::AssignmentRule {
                    display_name: " North walk-ins ".into(),
                    regions: vec![" 北京 ".into(), " ".into()],
                    product_lines: vec![" Sofa ".into()],
                    sources: vec![pb::LeadSource::WalkIn.into()],
                    languages: vec!["zh".into()],
                    min_score: 10,
                    target: "teams/north".into(),
                    strategy: pb::AssignmentStrategy::Unspecified.into(),
                },
                pb::AssignmentRule {
                    display_name: "VIP".into(),
                    min_score: 70,
                    target: "reps/rep-1".into(),
                    strategy: pb::AssignmentStrategy::SkillsMatch.into(),
                    ..Default::default()
                },
            ],
            follow_up_rules: vec![
                pb::FollowUpRule {
                    grade: pb::IntentGrade::High.into(),
                    ..follow_up_rule("3 days without a call", 3 * DAY, DAY)
                },
                follow_up_rule("a week", 7 * DAY, 0),
            ],
            claim_cooldown: secs(2 * DAY),
            low_intent_below: 20,
            high_intent_from: 60,
            etag: before.etag.clone(),
            ..Default::default()
        };
        let updated = update(
            &mut c,
            wanted,
            &[
                "default_strategy",
                "assignment_rules",
                "follow_up_rules",
                "claim_cooldown",
                "low_intent_below",
                "high_intent_from",
            ],
        )
        .await
        .expect("update settings");
        assert_eq!(updated.name, "leadSettings");
        assert_eq!(
            updated.default_strategy,
            i32::from(pb::AssignmentStrategy::LeastLoaded)
        );
        let north = &updated.assignment_rules[0];
        assert_eq!(north.display_name, "North walk-ins");
        assert_eq!(north.regions, ["北京"]);
        assert_eq!(north.product_lines, ["sofa"]);
        assert_eq!(north.sources, [i32::from(pb::LeadSource::WalkIn)]);
        assert_eq!(north.target, "teams/north");
        assert_eq!(
            north.strategy,
            i32::from(pb::AssignmentStrategy::RoundRobin)
        );
        assert_eq!(updated.assignment_rules[1].target, "reps/rep-1");
        assert_eq!(
            updated.follow_up_rules,
            [
                pb::FollowUpRule {
                    grade: pb::IntentGrade::High.into(),
                    ..follow_up_rule("3 days without a call", 3 * DAY, DAY)
                },
                follow_up_rule("a week", 7 * DAY, 0),
            ]
        );
        assert_eq!(updated.claim_cooldown, secs(2 * DAY));
        assert_eq!(
            (updated.low_intent_below, updated.high_intent_from),
            (20, 60)
        );
        assert!(updated.update_time.is_some());
        assert_ne!(updated.etag, before.etag);
        assert_eq!(fetch(&mut c).await, updated);
        assert_eq!(fetch(&mut role(s, Role::Rep)).await, updated);

        // Only the masked fields are read.
        let one = update(
            &mut c,
            pb::LeadSettings {
                default_strategy: pb::AssignmentStrategy::Weighted.into(),
                ..thresholds(25, 0)
            },
            &["low_intent_below"],
        )
        .await
        .expect("update one field");
        assert_eq!(one.low_intent_below, 25);
        assert_eq!(one.high_intent_from, 60);
        assert_eq!(one.default_strategy, updated.default_strategy);
        assert_eq!(one.assignment_rules, updated.assignment_rules);
        assert_ne!(one.etag, updated.etag);

        // Asking for what is there already changes nothing.
        let same = update(
            &mut c,
            thresholds(25, 60),
            &["low_intent_below", "high_intent_from"],
        )
        .await
        .expect("no-op update");
        assert_eq!(same, one);

        // "*" replaces everything; an absent cool-down is the default one.
        let star = update(
            &mut c,
            pb::LeadSettings {
                default_strategy: pb::AssignmentStrategy::Weighted.into(),
                ..thresholds(10, 90)
            },
            &["*"],
        )
        .await
        .expect("update *");
        assert_eq!(
            star,
            pb::LeadSettings {
                default_strategy: pb::AssignmentStrategy::Weighted.into(),
                low_intent_below: 10,
                high_intent_from: 90,
                update_time: star.update_time,
                ..defaults(&star.etag)
            }
        );
    })
    .await;
}

#[tokio::test]
async fn a_stale_etag_is_refused() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let first = fetch(&mut c).await;
        let with_etag = |etag: &str| pb::LeadSettings {
            etag: etag.into(),
            ..thresholds(20, 80)
        };
        let paths = &["low_intent_below", "high_intent_from"];
        let updated = update(&mut c, with_etag(&first.etag), paths)
            .await
            .expect("update with the current etag");
        let status = assert_code(
            update(&mut c, with_etag(&first.etag), paths).await,
            Code::Aborted,
        );
        assert_eq!(reason(&status), "ETAG_MISMATCH");
        assert_code(
            update(&mut c, with_etag("made-up"), paths).await,
            Code::Aborted,
        );
        assert_eq!(fetch(&mut c).await, updated);
        // Without an etag the last writer wins.
        let last = update(&mut c, thresholds(5, 50), paths)
            .await
            .expect("update without an etag");
        assert_eq!((last.low_intent_below, last.high_intent_from), (5, 50));
        update(&mut c, with_etag(&last.etag), &["low_intent_below"])
            .await
            .expect("update with the newest etag");
    })
    .await;
}

#[tokio::test]
async fn update_names_every_bad_field_at_once() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let bad = pb::LeadSettings {
            name: "settings".into(),
            default_strategy: pb::AssignmentStrategy::Unspecified.into(),
            assignment_rules: vec![pb::AssignmentRule {
                display_name: " ".into(),
                target: "north".into(),
                strategy: pb::AssignmentStrategy::RuleBased.into(),
                min_score: 101,
                sources: vec![0],
                ..Default::default()
            }],
            follow_up_rules: vec![
                pb::FollowUpRule {
                    display_name: String::new(),
                    condition: 0,
                    after: None,
                    warn_before: secs(-1),
                    grade: 0,
                    action: 0,
                },
                // Well formed, but too short and warned too late.
                follow_up_rule("short", 600, 1200),
            ],
            claim_cooldown: secs(-1),
            ..thresholds(80, 70)
        };
        let status = assert_code(
            update(
                &mut c,
                bad,
                &[
                    "name",
                    "etag",
                    "bogus",
                    "default_strategy",
                    "assignment_rules",
                    "follow_up_rules",
                    "claim_cooldown",
                    "low_intent_below",
                    "high_intent_from",
                ],
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&status),
            [
                "update_mask",
                "update_mask",
                "update_mask",
                "settings.name",
                "settings.default_strategy",
                "settings.assignment_rules[0].display_name",
                "settings.assignment_rules[0].target",
                "settings.assignment_rules[0].strategy",
                "settings.assignment_rules[0].min_score",
                "settings.assignment_rules[0].sources",
                "settings.follow_up_rules[0].display_name",
                "settings.follow_up_rules[0].condition",
                "settings.follow_up_rules[0].action",
                "settings.follow_up_rules[0].after",
                "settings.follow_up_rules[0].warn_before",
                "settings.follow_up_rules[1].after",
                "settings.follow_up_rules[1].warn_before",
                "settings.claim_cooldown",
                "settings.high_intent_from",
            ]
        );

        let status = assert_code(
            update(
                &mut c,
                thresholds(101, -1),
                &["low_intent_below", "high_intent_from"],
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&status),
            ["settings.low_intent_below", "settings.high_intent_from"]
        );
        // high_intent_from must stay above the low threshold already stored.
        let status = assert_code(
            update(&mut c, thresholds(0, 30), &["high_intent_from"]).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["settings.high_intent_from"]);

        let status = assert_code(
            update(&mut c, thresholds(10, 20), &[]).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["update_mask"]);
        let status = assert_code(
            c.leads
                .update_lead_settings(pb::UpdateLeadSettingsRequest {
                    settings: None,
                    update_mask: mask(&["update_time"]),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["update_mask", "settings"]);

        let unchanged = fetch(&mut c).await;
        assert_eq!(unchanged, defaults(&unchanged.etag));
    })
    .await;
}

#[tokio::test]
async fn only_admins_change_the_settings() {
    each_backend(&services(), async |s| {
        for r in [
            Role::Manager,
            Role::Rep,
            Role::Marketer,
            Role::ServiceAccount,
            Role::ServiceAgent,
            Role::Partner,
        ] {
            assert_code(
                update(&mut role(s, r), thresholds(10, 20), &["low_intent_below"]).await,
                Code::PermissionDenied,
            );
        }
        for authorization in [None, Some("Bearer not-a-jwt")] {
            assert_code(
                update(
                    &mut anonymous(s, authorization),
                    thresholds(10, 20),
                    &["low_intent_below"],
                )
                .await,
                Code::Unauthenticated,
            );
        }
        let unchanged = fetch(&mut admin(s)).await;
        assert_eq!(unchanged, defaults(&unchanged.etag));
    })
    .await;
}

#[tokio::test]
async fn each_tenant_has_its_own_settings() {
    each_backend(&services(), async |s| {
        let ours = update(
            &mut admin(s),
            thresholds(10, 20),
            &["low_intent_below", "high_intent_from"],
        )
        .await
        .expect("update t1");
        let mut x = stranger(s);
        let theirs = fetch(&mut x).await;
        assert_eq!(theirs, defaults(&theirs.etag));
        // Our etag means nothing there.
        let status = assert_code(
            update(
                &mut x,
                pb::LeadSettings {
                    etag: ours.etag.clone(),
                    ..thresholds(50, 60)
                },
                &["low_intent_below"],
            )
            .await,
            Code::Aborted,
        );
        assert_eq!(reason(&status), "ETAG_MISMATCH");
        update(
            &mut x,
            thresholds(50, 60),
            &["low_intent_below", "high_intent_from"],
        )
        .await
        .expect("update t2");
        assert_eq!(fetch(&mut admin(s)).await, ours);
    })
    .await;
}
