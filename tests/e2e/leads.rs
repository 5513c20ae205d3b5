//! Scenarios S1 (a store chain: assignment, follow-up rules, forced reclaim, a departing rep)
//! and S2 (the real-estate funnel) through the standalone binary: every service in one process
//! on SQLite, driven by an admin and two reps with tokens from `rapport token issue`. Time is
//! moved by restarting the server on the same data directory with `--clock-offset-secs`.

use std::{collections::BTreeMap, time::Duration};

use rapport_proto::{customers as cpb, leads as pb};
use rapport_testkit::values::{mask, secs};
use tonic::Code;

use crate::support::*;

const DAY_SECS: i64 = 86_400;
const STORE: &str = "stores/store-1";
const TEAM_KEY: &str = "store-1-sales";
const TEAM: &str = "teams/store-1-sales";
/// How long the follow-up sweep (every second) and the event consumer may take to act.
const SETTLE: Duration = Duration::from_secs(30);

/// `rapport serve` on `data` with the services' clock `days` ahead.
async fn start(data: &tempfile::TempDir, days: i64) -> Server {
    let offset = (days * DAY_SECS).to_string();
    let mut server = Server::start(
        &["--clock-offset-secs", &offset],
        &[("RAPPORT_DATA_DIR", arg(data.path()))],
    );
    server.wait_serving().await;
    server
}

async fn stop(server: Server) {
    let status = server.terminate().await;
    assert!(status.success(), "exit after SIGTERM: {status}");
}

/// Store 1, its sales team, reps A and B, and the rule "no follow-up within 3 days of
/// assignment → back to the pool", with a warning a day ahead.
async fn set_up_the_store(admin: &mut LeadClients) {
    admin
        .org
        .create_store(pb::CreateStoreRequest {
            store: Some(pb::Store {
                name: STORE.into(),
                display_name: "Store 1".into(),
                region: "Shanghai".into(),
                ..Default::default()
            }),
            request_id: "store-1".into(),
        })
        .await
        .expect("create the store");
    admin
        .org
        .create_team(pb::CreateTeamRequest {
            team: Some(pb::Team {
                name: TEAM.into(),
                display_name: "Store 1 sales".into(),
                store: STORE.into(),
                manager_id: "manager-1".into(),
                ..Default::default()
            }),
            request_id: "team-1".into(),
        })
        .await
        .expect("create the team");
    for (id, name) in [("rep-a", "Rep A"), ("rep-b", "Rep B")] {
        let rep = admin
            .org
            .create_rep(pb::CreateRepRequest {
                rep: Some(pb::Rep {
                    name: format!("reps/{id}"),
                    display_name: name.into(),
                    team: TEAM.into(),
                    store: STORE.into(),
                    capacity: 20,
                    ..Default::default()
                }),
            })
            .await
            .expect("create a rep")
            .into_inner();
        assert_eq!(rep.status(), pb::RepStatus::Active, "{rep:?}");
    }
    let settings = admin
        .leads
        .update_lead_settings(pb::UpdateLeadSettingsRequest {
            settings: Some(pb::LeadSettings {
                follow_up_rules: vec![pb::FollowUpRule {
                    display_name: "follow up within 3 days".into(),
                    condition: pb::FollowUpCondition::NoFollowUp.into(),
                    after: secs(3 * DAY_SECS),
                    warn_before: secs(DAY_SECS),
                    grade: 0,
                    action: pb::ReclaimAction::ReturnToPool.into(),
                }],
                ..Default::default()
            }),
            update_mask: mask(&["follow_up_rules"]),
        })
        .await
        .expect("set the follow-up rule")
        .into_inner();
    assert_eq!(settings.follow_up_rules.len(), 1, "{settings:?}");
}

async fn get_lead(c: &mut LeadClients, name: &str) -> pb::Lead {
    c.leads
        .get_lead(pb::GetLeadRequest { name: name.into() })
        .await
        .unwrap_or_else(|s| panic!("get {name}: {s:?}"))
        .into_inner()
}

async fn list_leads(c: &mut LeadClients, filter: &str) -> Vec<pb::Lead> {
    c.leads
        .list_leads(pb::ListLeadsRequest {
            filter: filter.into(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap_or_else(|s| panic!("list leads {filter:?}: {s:?}"))
        .into_inner()
        .leads
}

/// Names of the leads `filter` matches, sorted.
async fn lead_names(c: &mut LeadClients, filter: &str) -> Vec<String> {
    let mut names: Vec<String> = list_leads(c, filter)
        .await
        .into_iter()
        .map(|l| l.name)
        .collect();
    names.sort();
    names
}

async fn assignments(c: &mut LeadClients, lead: &str) -> Vec<pb::Assignment> {
    c.leads
        .list_assignments(pb::ListAssignmentsRequest {
            parent: lead.into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap_or_else(|s| panic!("assignments of {lead}: {s:?}"))
        .into_inner()
        .assignments
}

async fn alerts(c: &mut LeadClients, kind: pb::AlertKind) -> Vec<pb::Alert> {
    c.tasks
        .list_alerts(pb::ListAlertsRequest {
            kind: kind.into(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("list alerts")
        .into_inner()
        .alerts
}

/// Subjects of the caller's alerts of `kind`, sorted and deduplicated.
async fn alert_subjects(c: &mut LeadClients, kind: pb::AlertKind) -> Vec<String> {
    let mut subjects: Vec<String> = alerts(c, kind)
        .await
        .into_iter()
        .map(|a| a.subject)
        .collect();
    subjects.sort();
    subjects.dedup();
    subjects
}

async fn follow_up(c: &mut LeadClients, lead: &str, note: &str) -> pb::Lead {
    c.leads
        .record_follow_up(pb::RecordFollowUpRequest {
            name: lead.into(),
            note: note.into(),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|s| panic!("follow up {lead}: {s:?}"))
        .into_inner()
}

fn micros(t: &Option<prost_types::Timestamp>) -> i64 {
    t.as_ref()
        .map_or(0, |t| t.seconds * 1_000_000 + i64::from(t.nanos) / 1_000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_chain_assigns_follows_up_converts_reclaims_and_hands_over() {
    let data = tempfile::tempdir().expect("temp dir");
    let key = ["--data-dir", arg(data.path())];

    // ---- Day 0 ----
    let mut server = Server::start(&[], &[("RAPPORT_DATA_DIR", arg(data.path()))]);
    let admin_token = server.admin_token().await;
    server.wait_serving().await;
    let mut admin = server.leads(&admin_token).await;
    set_up_the_store(&mut admin).await;
    let rep_a = issue_token(&key, "default", "rep-a", "rep", Some(TEAM_KEY)).await;
    let rep_b = issue_token(&key, "default", "rep-b", "rep", Some(TEAM_KEY)).await;

    // Six leads come in from the web form, into the team's public pool.
    let mut leads = Vec::new();
    for i in 0..6 {
        let lead = admin
            .leads
            .create_lead(pb::CreateLeadRequest {
                lead: Some(pb::Lead {
                    display_name: format!("Buyer {i}"),
                    phone: format!("1390000010{i}"),
                    source: pb::LeadSource::Form.into(),
                    pool: TEAM.into(),
                    needs: Some(pb::Needs {
                        product_lines: vec!["apartment".into()],
                        description: "two bedrooms near a metro station".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                request_id: format!("form-{i}"),
            })
            .await
            .expect("create a lead")
            .into_inner();
        assert!(lead.name.starts_with("leads/"), "{}", lead.name);
        assert_eq!(lead.owner_id, "", "a new lead is in the public pool");
        assert_eq!(lead.state(), pb::LeadState::New);
        leads.push(lead.name);
    }
    assert_eq!(lead_names(&mut admin, "owner_id = \"\"").await.len(), 6);

    // Round-robin assignment shares them between A and B, and says why.
    let mut owned: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for lead in &leads {
        let out = admin
            .leads
            .assign_lead(pb::AssignLeadRequest {
                name: lead.clone(),
                strategy: pb::AssignmentStrategy::RoundRobin.into(),
                team: TEAM.into(),
                request_id: format!("assign-{lead}"),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|s| panic!("assign {lead}: {s:?}"))
            .into_inner();
        let assignment = out.assignment.expect("the assignment");
        assert_eq!(assignment.kind(), pb::AssignmentKind::RoundRobin);
        assert!(!assignment.reason.is_empty(), "{assignment:?}");
        let owner = out.lead.expect("the lead").owner_id;
        assert_eq!(assignment.rep_id, owner);
        owned.entry(owner).or_default().push(lead.clone());
    }
    let a_leads = owned.get("rep-a").cloned().unwrap_or_default();
    let b_leads = owned.get("rep-b").cloned().unwrap_or_default();
    assert_eq!(
        (a_leads.len(), b_leads.len()),
        (3, 3),
        "round-robin shares six leads evenly between the two reps: {owned:?}"
    );
    let (b1, b2, b3) = (b_leads[0].clone(), b_leads[1].clone(), b_leads[2].clone());

    // Each rep sees its own private pool and not the other's.
    let mut a = server.leads(&rep_a).await;
    let mut b = server.leads(&rep_b).await;
    let mut mine = a_leads.clone();
    mine.sort();
    assert_eq!(lead_names(&mut a, "owner_id = \"rep-a\"").await, mine);
    let hidden = a
        .leads
        .get_lead(pb::GetLeadRequest { name: b1.clone() })
        .await
        .expect_err("B's lead is not A's to see");
    assert_eq!(hidden.code(), Code::NotFound);

    // A never follows up. B follows up on two leads and converts the first.
    for lead in [&b1, &b2] {
        let after = follow_up(&mut b, lead, "called; wants a viewing").await;
        assert_eq!(after.state(), pb::LeadState::Contacting);
        assert!(after.last_follow_up_time.is_some());
    }
    let convert = pb::ConvertLeadRequest {
        name: b1.clone(),
        request_id: "convert-b1".into(),
        ..Default::default()
    };
    let converted = b
        .leads
        .convert_lead(convert.clone())
        .await
        .expect("convert B's lead")
        .into_inner();
    assert!(
        converted.customer.starts_with("customers/"),
        "{converted:?}"
    );
    assert!(!converted.existing_customer);
    let lead = converted.lead.clone().expect("the lead");
    assert_eq!(lead.state(), pb::LeadState::Converted);
    assert_eq!(lead.customer, converted.customer);
    let opportunity = converted.opportunity.clone().expect("the opportunity");
    assert_eq!(opportunity.pipeline, "pipelines/real-estate");
    assert_eq!(opportunity.stage, "online_viewing");
    assert_eq!(opportunity.owner_id, "rep-b");
    assert_eq!(lead.opportunity, opportunity.name);
    // A retry with the same request id converts nothing twice.
    let again = b
        .leads
        .convert_lead(convert)
        .await
        .expect("retry the conversion")
        .into_inner();
    assert_eq!(again.customer, converted.customer);
    assert_eq!(
        again.opportunity.map(|o| o.name),
        Some(opportunity.name.clone())
    );

    // The customer is in the customers service, B's, with the lead's contact data.
    let mut b_customers = server.customers(&rep_b).await;
    let customer = b_customers
        .get_customer(cpb::GetCustomerRequest {
            name: converted.customer.clone(),
        })
        .await
        .expect("the converted customer")
        .into_inner();
    assert_eq!(customer.display_name, lead.display_name);
    assert_eq!(customer.owner_id, "rep-b");
    assert!(
        customer
            .phones
            .iter()
            .any(|p| p.number.starts_with("+86139")),
        "{customer:?}"
    );

    // A visit on the customer's timeline counts as a follow-up of the lead.
    let before = micros(&get_lead(&mut b, &b1).await.last_follow_up_time);
    tokio::time::sleep(Duration::from_millis(20)).await;
    b_customers
        .create_activity(cpb::CreateActivityRequest {
            parent: converted.customer.clone(),
            activity: Some(cpb::Activity {
                kind: cpb::ActivityKind::StoreVisit.into(),
                content: "viewed the show flat".into(),
                ..Default::default()
            }),
            request_id: "visit-1".into(),
        })
        .await
        .expect("record a visit");
    eventually(
        "the visit reaches the lead as a follow-up",
        SETTLE,
        async || micros(&get_lead(&mut b, &b1).await.last_follow_up_time) > before,
    )
    .await;

    drop((a, b, b_customers, admin));
    stop(server).await;

    // ---- Day 2: nothing is due yet; A is warned; B follows up again ----
    let server = start(&data, 2).await;
    let mut admin = server.leads(&admin_token).await;
    let mut a = server.leads(&rep_a).await;
    let mut b = server.leads(&rep_b).await;
    let mut warned = a_leads.clone();
    warned.sort();
    eventually("A is warned about its three leads", SETTLE, async || {
        alert_subjects(&mut a, pb::AlertKind::ReclaimWarning).await == warned
    })
    .await;
    for lead in &a_leads {
        assert_eq!(
            get_lead(&mut admin, lead).await.owner_id,
            "rep-a",
            "not due before 3 days"
        );
    }
    follow_up(&mut b, &b2, "second call; viewing booked").await;
    drop((a, b, admin));
    stop(server).await;

    // ---- Day 4: A's leads (and B's neglected one) are back in the pool ----
    let server = start(&data, 4).await;
    let mut admin = server.leads(&admin_token).await;
    let mut a = server.leads(&rep_a).await;
    let mut b = server.leads(&rep_b).await;
    let mut reclaimed = a_leads.clone();
    reclaimed.push(b3.clone());
    reclaimed.sort();
    eventually(
        "the leads nobody followed up go back to the pool",
        SETTLE,
        async || lead_names(&mut admin, "owner_id = \"\"").await == reclaimed,
    )
    .await;
    for lead in &reclaimed {
        let got = get_lead(&mut admin, lead).await;
        assert_eq!(got.owner_id, "", "{got:?}");
        assert_eq!(got.pool, TEAM, "back to the pool it came from");
        let latest = assignments(&mut admin, lead).await.remove(0);
        assert_eq!(latest.kind(), pb::AssignmentKind::Reclaim, "{latest:?}");
        assert_eq!(latest.rep_id, "");
        assert!(
            latest.reason.contains("follow up within 3 days"),
            "{latest:?}"
        );
    }
    for lead in &a_leads {
        let latest = assignments(&mut admin, lead).await.remove(0);
        assert_eq!(latest.previous_owner_id, "rep-a");
    }
    // B's followed-up lead and its converted one stay B's: no reclaim in their history.
    for lead in [&b1, &b2] {
        let got = get_lead(&mut admin, lead).await;
        assert_eq!(got.owner_id, "rep-b", "{got:?}");
        let history = assignments(&mut admin, lead).await;
        assert!(
            history
                .iter()
                .all(|x| x.kind() != pb::AssignmentKind::Reclaim),
            "{history:?}"
        );
    }
    let mut lost = a_leads.clone();
    lost.sort();
    eventually("A is told what it lost", SETTLE, async || {
        alert_subjects(&mut a, pb::AlertKind::Reclaimed).await == lost
    })
    .await;

    // S2: the opportunity sat in online viewing past its normal dwell (3 days): B is alerted.
    eventually("B gets a dwell alert", SETTLE, async || {
        alert_subjects(&mut b, pb::AlertKind::Dwell)
            .await
            .contains(&opportunity.name)
    })
    .await;
    // It moves through the funnel to the deal; the stage history keeps every move.
    let mut current = opportunity.clone();
    for stage in ["first_visit", "second_visit", "revisit", "deal"] {
        current = b
            .pipelines
            .move_opportunity_stage(pb::MoveOpportunityStageRequest {
                name: current.name.clone(),
                stage: stage.into(),
                etag: current.etag.clone(),
                request_id: format!("move-{stage}"),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|s| panic!("move to {stage}: {s:?}"))
            .into_inner();
        assert_eq!(current.stage, stage);
    }
    assert_eq!(current.state(), pb::OpportunityState::Won);
    let changes = b
        .pipelines
        .list_stage_changes(pb::ListStageChangesRequest {
            parent: current.name.clone(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .expect("stage history")
        .into_inner()
        .stage_changes;
    let moves: Vec<(&str, &str)> = changes
        .iter()
        .filter(|c| !c.from_stage.is_empty())
        .map(|c| (c.from_stage.as_str(), c.to_stage.as_str()))
        .collect();
    assert_eq!(
        moves,
        [
            ("online_viewing", "first_visit"),
            ("first_visit", "second_visit"),
            ("second_visit", "revisit"),
            ("revisit", "deal"),
        ]
    );
    let viewing = changes
        .iter()
        .find(|c| c.from_stage == "online_viewing")
        .and_then(|c| c.dwell)
        .expect("the dwell in online viewing");
    assert!(
        viewing.seconds >= 4 * DAY_SECS - 60,
        "four days in online viewing: {viewing:?}"
    );
    assert!(get_lead(&mut b, &b1).await.won, "the lead's deal is won");

    // A may not take back what it lost (cool-down); B claims it.
    let target = a_leads[0].clone();
    let refused = a
        .leads
        .claim_lead(pb::ClaimLeadRequest {
            name: target.clone(),
            ..Default::default()
        })
        .await
        .expect_err("the former owner is cooling down");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    let claimed = b
        .leads
        .claim_lead(pb::ClaimLeadRequest {
            name: target.clone(),
            request_id: "claim-1".into(),
            ..Default::default()
        })
        .await
        .expect("B claims a reclaimed lead")
        .into_inner();
    assert_eq!(claimed.owner_id, "rep-b");
    assert_eq!(
        assignments(&mut admin, &target).await[0].kind(),
        pb::AssignmentKind::Claim
    );

    // S1: B leaves. Its leads and its customer go to A; nothing is lost.
    let mut b_had = lead_names(&mut admin, "owner_id = \"rep-b\"").await;
    let mut expected = vec![b1.clone(), b2.clone(), target.clone()];
    expected.sort();
    assert_eq!(b_had, expected);
    let all_before = lead_names(&mut admin, "").await;
    assert_eq!(all_before.len(), 6);
    let handed = admin
        .leads
        .hand_over_rep_leads(pb::HandOverRepLeadsRequest {
            rep: "reps/rep-b".into(),
            to_reps: vec!["reps/rep-a".into()],
            deactivate: true,
            request_id: "rep-b-leaves".into(),
            ..Default::default()
        })
        .await
        .expect("hand over B's leads")
        .into_inner();
    assert_eq!(
        handed.reassigned_count + handed.returned_count,
        3,
        "{handed:?}"
    );
    assert!(
        lead_names(&mut admin, "owner_id = \"rep-b\"")
            .await
            .is_empty()
    );
    let mut a_has = lead_names(&mut admin, "owner_id = \"rep-a\"").await;
    let mut pool = lead_names(&mut admin, "owner_id = \"\"").await;
    a_has.append(&mut pool);
    a_has.sort();
    assert_eq!(a_has, all_before, "every lead is A's or in the pool");
    b_had.retain(|l| !all_before.contains(l));
    assert!(b_had.is_empty(), "lost: {b_had:?}");
    for lead in [&b1, &b2, &target] {
        let latest = assignments(&mut admin, lead).await.remove(0);
        assert_eq!(latest.kind(), pb::AssignmentKind::Handover, "{latest:?}");
        assert_eq!(latest.previous_owner_id, "rep-b");
    }
    let gone = admin
        .org
        .get_rep(pb::GetRepRequest {
            name: "reps/rep-b".into(),
        })
        .await
        .expect("get rep B")
        .into_inner();
    assert_eq!(gone.status(), pb::RepStatus::Inactive);
    let mut customers = server.customers(&admin_token).await;
    let customer = customers
        .get_customer(cpb::GetCustomerRequest {
            name: converted.customer.clone(),
        })
        .await
        .expect("the customer stays")
        .into_inner();
    assert_eq!(customer.owner_id, "rep-a", "the customer went to A too");
    let timeline = customers
        .list_activities(cpb::ListActivitiesRequest {
            parent: converted.customer.clone(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .expect("the timeline")
        .into_inner()
        .activities;
    assert!(
        timeline.iter().any(|x| x.content == "viewed the show flat"),
        "the visit note stays with the customer: {timeline:?}"
    );

    drop((a, b, admin, customers));
    stop(server).await;
}
