//! Pools and assignment (LE5, LE6) through the gRPC API on every backend: claim, release, lock,
//! assign by hand and by strategy, assignment history, and 64 concurrent assigners that never
//! overfill a rep nor assign a lead twice. The hand-over of a departing rep, which moves its
//! customers too, is tested in `tests/e2e/in_process/handover.rs`.

use std::collections::{HashMap, HashSet};

use crate::common::{pools::*, *};
use rapport_proto::leads as pb;
use rapport_testkit::each_backend;
use tonic::Code;

#[tokio::test]
async fn claim_release_and_cooldown() {
    each_backend(&services(), async |s| {
        let mut a = setup(s).await;
        let l = lead(&mut a, "张伟", "13800000001").await;
        let mut alice = rep(s, "alice", "north");
        let mut bob = rep(s, "bob", "north");

        let claimed = alice
            .leads
            .claim_lead(claim(&l.name))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(claimed.owner_id, "alice");
        assert!(claimed.assign_time.is_some());
        assert_eq!(open_leads(&mut a, "alice").await, 1);
        // Someone else's lead reads as not found to a rep; claiming it again is a lost race.
        assert_code(
            bob.leads
                .get_lead(pb::GetLeadRequest {
                    name: l.name.clone(),
                })
                .await,
            Code::NotFound,
        );
        let st = assert_code(a.leads.claim_lead(claim(&l.name)).await, Code::Aborted);
        assert_eq!(reason(&st), "LEAD_TAKEN");

        // Releasing puts it back; the former owner may not claim it again during the cool-down.
        let released = alice
            .leads
            .release_lead(pb::ReleaseLeadRequest {
                name: l.name.clone(),
                reason: "not reachable".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(released.owner_id, "");
        assert_eq!(open_leads(&mut a, "alice").await, 0);
        let st = assert_code(
            alice.leads.claim_lead(claim(&l.name)).await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&st), "CLAIM_COOLDOWN");
        bob.leads
            .claim_lead(claim(&l.name))
            .await
            .expect("bob claims it");

        // History, newest first, with reasons.
        let history = a
            .leads
            .list_assignments(pb::ListAssignmentsRequest {
                parent: l.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .assignments;
        let kinds: Vec<_> = history.iter().map(|h| h.kind()).collect();
        assert_eq!(
            kinds,
            [
                pb::AssignmentKind::Claim,
                pb::AssignmentKind::Release,
                pb::AssignmentKind::Claim
            ]
        );
        assert_eq!(history[1].previous_owner_id, "alice");
        assert!(history[1].reason.contains("not reachable"));
    })
    .await;
}

#[tokio::test]
async fn daily_claim_limit_and_capacity() {
    each_backend(&services(), async |s| {
        let mut a = setup(s).await;
        let mut alice = rep(s, "alice", "north");
        let mut names = Vec::new();
        for i in 0..4 {
            names.push(
                lead(&mut a, &format!("lead {i}"), &format!("1380000010{i}"))
                    .await
                    .name,
            );
        }
        alice.leads.claim_lead(claim(&names[0])).await.unwrap();
        alice.leads.claim_lead(claim(&names[1])).await.unwrap();
        let st = assert_code(
            alice.leads.claim_lead(claim(&names[2])).await,
            Code::ResourceExhausted,
        );
        assert_eq!(reason(&st), "DAILY_CLAIM_LIMIT");
        // Capacity 3: a manager's pick fills it, the next is refused.
        a.leads
            .assign_lead(assign(
                &names[2],
                "reps/alice",
                pb::AssignmentStrategy::Unspecified,
            ))
            .await
            .unwrap();
        let st = assert_code(
            a.leads
                .assign_lead(assign(
                    &names[3],
                    "reps/alice",
                    pb::AssignmentStrategy::Unspecified,
                ))
                .await,
            Code::ResourceExhausted,
        );
        assert_eq!(reason(&st), "REP_AT_CAPACITY");
        assert_eq!(
            get(&mut a, &names[3]).await.owner_id,
            "",
            "nothing half-done"
        );
    })
    .await;
}

#[tokio::test]
async fn locked_leads_stay_put() {
    each_backend(&services(), async |s| {
        let mut a = setup(s).await;
        let l = lead(&mut a, "王芳", "13800000002").await;
        let locked = a
            .leads
            .set_lead_lock(pb::SetLeadLockRequest {
                name: l.name.clone(),
                locked: true,
                etag: l.etag.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(locked.locked);
        let mut alice = rep(s, "alice", "north");
        let st = assert_code(
            alice.leads.claim_lead(claim(&l.name)).await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&st), "LEAD_LOCKED");
        assert_code(
            a.leads
                .assign_lead(assign(
                    &l.name,
                    "reps/alice",
                    pb::AssignmentStrategy::Unspecified,
                ))
                .await,
            Code::FailedPrecondition,
        );
        // Reps may not lock; stale etags are refused; other tenants see nothing.
        assert_code(
            alice
                .leads
                .set_lead_lock(pb::SetLeadLockRequest {
                    name: l.name.clone(),
                    locked: false,
                    etag: String::new(),
                })
                .await,
            Code::PermissionDenied,
        );
        assert_code(
            a.leads
                .set_lead_lock(pb::SetLeadLockRequest {
                    name: l.name.clone(),
                    locked: false,
                    etag: l.etag.clone(),
                })
                .await,
            Code::Aborted,
        );
        assert_code(
            stranger(s)
                .leads
                .set_lead_lock(pb::SetLeadLockRequest {
                    name: l.name.clone(),
                    locked: false,
                    etag: String::new(),
                })
                .await,
            Code::NotFound,
        );
    })
    .await;
}

#[tokio::test]
async fn strategies_explain_their_choice() {
    each_backend(&services(), async |s| {
        let mut a = setup(s).await;
        rep_in(&mut a, "carol", "north", 10).await;
        a.org
            .update_rep(pb::UpdateRepRequest {
                rep: Some(pb::Rep {
                    name: "reps/bob".into(),
                    status: pb::RepStatus::Absent.into(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["status".into()],
                }),
            })
            .await
            .unwrap();
        let l1 = lead(&mut a, "one", "13800000011").await;
        let out = a
            .leads
            .assign_lead(assign(&l1.name, "", pb::AssignmentStrategy::LeastLoaded))
            .await
            .unwrap()
            .into_inner();
        let assignment = out.assignment.unwrap();
        assert_eq!(assignment.kind(), pb::AssignmentKind::LeastLoaded);
        assert!(
            assignment
                .reason
                .contains("lowest share of its capacity in use")
                && assignment.reason.contains("now holds 1 of its"),
            "{}",
            assignment.reason
        );
        assert_ne!(assignment.rep_id, "bob", "absent reps get nothing");

        // Round-robin alternates between the two active reps.
        let mut got = Vec::new();
        for i in 0..4 {
            let l = lead(&mut a, &format!("rr {i}"), &format!("1380000020{i}")).await;
            let out = a
                .leads
                .assign_lead(assign(&l.name, "", pb::AssignmentStrategy::RoundRobin))
                .await
                .unwrap()
                .into_inner();
            got.push(out.assignment.unwrap().rep_id);
        }
        assert_ne!(got[0], got[1]);
        assert_eq!(got[0], got[2]);

        // Bad input names every bad field; reps may not assign; other tenants see nothing.
        let st = assert_code(
            a.leads
                .assign_lead(pb::AssignLeadRequest {
                    name: "leads/x".into(),
                    team: "teams/North".into(),
                    strategy: 99,
                    request_id: "x".repeat(200),
                    ..Default::default()
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["name", "team", "strategy", "request_id"]);
        assert_code(
            rep(s, "alice", "north")
                .leads
                .assign_lead(assign(
                    &l1.name,
                    "reps/alice",
                    pb::AssignmentStrategy::Unspecified,
                ))
                .await,
            Code::PermissionDenied,
        );
        assert_code(
            stranger(s)
                .leads
                .assign_lead(assign(&l1.name, "", pb::AssignmentStrategy::RoundRobin))
                .await,
            Code::NotFound,
        );
        assert_code(
            anonymous(s, None)
                .leads
                .assign_lead(assign(&l1.name, "", pb::AssignmentStrategy::RoundRobin))
                .await,
            Code::Unauthenticated,
        );
    })
    .await;
}

#[tokio::test]
async fn assign_retries_are_idempotent() {
    each_backend(&services(), async |s| {
        let mut a = setup(s).await;
        let l = lead(&mut a, "retry", "13800000031").await;
        let req = pb::AssignLeadRequest {
            request_id: "assign-1".into(),
            ..assign(&l.name, "", pb::AssignmentStrategy::RoundRobin)
        };
        let first = a.leads.assign_lead(req.clone()).await.unwrap().into_inner();
        let again = a.leads.assign_lead(req).await.unwrap().into_inner();
        assert_eq!(first, again);
        let history = a
            .leads
            .list_assignments(pb::ListAssignmentsRequest {
                parent: l.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .assignments;
        assert_eq!(history.len(), 1);
        let total = open_leads(&mut a, "alice").await + open_leads(&mut a, "bob").await;
        assert_eq!(total, 1);
    })
    .await;
}

/// LE6's guarantee: 64 assigners at once over leads and reps with little room; no rep ever
/// holds more than its capacity and no lead is assigned twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_assigners_never_overfill_or_double_assign() {
    each_backend(&services(), async |s| {
        let mut a = admin(s);
        team(&mut a, "north").await;
        let reps = 8;
        let capacity = 5;
        for r in 0..reps {
            rep_in(&mut a, &format!("r{r}"), "north", capacity).await;
        }
        // More leads than room, and each lead is raced for by two assigners.
        let mut names = Vec::new();
        for i in 0..48 {
            names.push(
                lead(&mut a, &format!("c{i}"), &format!("1390000{i:04}"))
                    .await
                    .name,
            );
        }
        let strategies = [
            pb::AssignmentStrategy::RoundRobin,
            pb::AssignmentStrategy::LeastLoaded,
            pb::AssignmentStrategy::Weighted,
            pb::AssignmentStrategy::SkillsMatch,
        ];
        let mut tasks = Vec::new();
        for worker in 0..64usize {
            let mut c = admin(s);
            let mine: Vec<String> = names
                .iter()
                .skip(worker % 32)
                .step_by(32)
                .cloned()
                .collect();
            let strategy = strategies[worker % strategies.len()];
            tasks.push(tokio::spawn(async move {
                let mut won = Vec::new();
                for n in mine {
                    match c.leads.assign_lead(assign(&n, "", strategy)).await {
                        Ok(r) => won.push((n, r.into_inner().assignment.unwrap().rep_id)),
                        Err(e) => assert!(
                            matches!(e.code(), Code::Aborted | Code::ResourceExhausted),
                            "unexpected {e:?}"
                        ),
                    }
                }
                won
            }));
        }
        let mut per_lead: HashMap<String, usize> = HashMap::new();
        let mut per_rep: HashMap<String, i32> = HashMap::new();
        for t in tasks {
            for (lead, rep) in t.await.unwrap() {
                *per_lead.entry(lead).or_default() += 1;
                *per_rep.entry(rep).or_default() += 1;
            }
        }
        assert!(
            per_lead.values().all(|n| *n == 1),
            "a lead was assigned twice: {per_lead:?}"
        );
        assert_eq!(
            per_lead.len(),
            (reps * capacity) as usize,
            "every place is filled"
        );
        for r in 0..reps {
            let id = format!("r{r}");
            let held = open_leads(&mut a, &id).await;
            assert!(held <= capacity, "{id} holds {held} > {capacity}");
            assert_eq!(held, per_rep.get(&id).copied().unwrap_or(0));
        }
        // The stored owners agree with what the assigners were told.
        let owned: HashSet<String> = {
            let mut out = HashSet::new();
            for n in per_lead.keys() {
                let l = get(&mut a, n).await;
                assert!(!l.owner_id.is_empty());
                out.insert(l.name);
            }
            out
        };
        assert_eq!(owned.len(), per_lead.len());
    })
    .await;
}

/// Bad input, other tenants, wrong roles and missing tokens of the pool methods.
#[tokio::test]
async fn pool_methods_refuse_bad_requests() {
    each_backend(&services(), async |s| {
        let mut a = setup(s).await;
        let l = lead(&mut a, "李娜", "13800000051").await;
        let mut alice = rep(s, "alice", "north");

        let st = assert_code(
            alice
                .leads
                .claim_lead(pb::ClaimLeadRequest {
                    name: "lead/1".into(),
                    etag: String::new(),
                    request_id: "r".repeat(200),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["name", "request_id"]);
        let st = assert_code(
            alice
                .leads
                .release_lead(pb::ReleaseLeadRequest {
                    name: String::new(),
                    reason: "x".repeat(501),
                    ..Default::default()
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["name", "reason"]);
        let st = assert_code(
            a.leads
                .list_assignments(pb::ListAssignmentsRequest {
                    parent: "leads/x".into(),
                    page_size: -1,
                    page_token: "junk".into(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["parent", "page_size", "page_token"]);

        // Another tenant's lead does not exist for it.
        let mut other = stranger(s);
        assert_code(other.leads.claim_lead(claim(&l.name)).await, Code::NotFound);
        assert_code(
            other
                .leads
                .release_lead(pb::ReleaseLeadRequest {
                    name: l.name.clone(),
                    ..Default::default()
                })
                .await,
            Code::NotFound,
        );
        assert_code(
            other
                .leads
                .list_assignments(pb::ListAssignmentsRequest {
                    parent: l.name.clone(),
                    ..Default::default()
                })
                .await,
            Code::NotFound,
        );

        // Stale etags, wrong roles, no token.
        assert_code(
            alice
                .leads
                .claim_lead(pb::ClaimLeadRequest {
                    name: l.name.clone(),
                    etag: "stale".into(),
                    request_id: String::new(),
                })
                .await,
            Code::Aborted,
        );
        let mut marketer = as_user(s, "t1", "m-1", &[rapport_runtime::auth::Role::Marketer]);
        assert_code(
            marketer.leads.claim_lead(claim(&l.name)).await,
            Code::PermissionDenied,
        );
        assert_code(
            anonymous(s, None).leads.claim_lead(claim(&l.name)).await,
            Code::Unauthenticated,
        );
        assert_code(
            anonymous(s, Some("Bearer nope"))
                .leads
                .release_lead(pb::ReleaseLeadRequest {
                    name: l.name.clone(),
                    ..Default::default()
                })
                .await,
            Code::Unauthenticated,
        );

        // Releasing what is in the pool is a wrong state; retried claims answer the same.
        assert_code(
            a.leads
                .release_lead(pb::ReleaseLeadRequest {
                    name: l.name.clone(),
                    ..Default::default()
                })
                .await,
            Code::FailedPrecondition,
        );
        let req = pb::ClaimLeadRequest {
            name: l.name.clone(),
            etag: String::new(),
            request_id: "claim-1".into(),
        };
        let first = alice
            .leads
            .claim_lead(req.clone())
            .await
            .unwrap()
            .into_inner();
        let again = alice.leads.claim_lead(req).await.unwrap().into_inner();
        assert_eq!(first, again);
        assert_eq!(open_leads(&mut a, "alice").await, 1);
    })
    .await;
}

/// Twenty reps race for one pool lead: one wins, every other is told the lead was taken
/// (ABORTED, LEAD_TAKEN) as the contract says, not that it does not exist, and learns nothing
/// of who won.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn claim_losers_learn_the_lead_was_taken() {
    each_backend(&services(), async |s| {
        let mut a = admin(s);
        team(&mut a, "north").await;
        for r in 0..20 {
            rep_in(&mut a, &format!("r{r}"), "north", 5).await;
        }
        let l = lead(&mut a, "抢单", "13800000077").await;
        let racers = (0..20).map(|r| {
            let name = l.name.clone();
            let mut c = rep(s, &format!("r{r}"), "north");
            async move { c.leads.claim_lead(claim(&name)).await }
        });
        let results = futures::future::join_all(racers).await;
        let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "{results:?}");
        let winner = &winners[0].get_ref().owner_id;
        for r in results.iter().filter_map(|r| r.as_ref().err()) {
            assert_eq!(r.code(), Code::Aborted, "{r:?}");
            assert_eq!(reason(r), "LEAD_TAKEN");
            assert!(!r.message().contains(winner.as_str()), "{r:?}");
        }
    })
    .await;
}
