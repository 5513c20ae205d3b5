//! PipelineService (LE2) through gRPC on every backend: pipelines (the built-in example
//! included), opportunities, moves between stages and the stage history.

use std::collections::BTreeSet;

use crate::common::*;
use rapport_proto::{leads as pb, types as pt};
use rapport_runtime::{
    auth::Role,
    clock::{DAY, HOUR, Micros},
};
use rapport_testkit::{each_backend, each_backend_at};
use tonic::Code;

/// 2024-05-01T00:00:00Z.
const T0: Micros = 1_714_521_600_000_000;
const EXAMPLE: &str = "pipelines/real-estate";

fn days(n: i64) -> Option<prost_types::Duration> {
    secs(n * 86_400)
}

fn dwell(c: &pb::StageChange) -> Micros {
    let d = c.dwell.as_ref().expect("dwell set");
    d.seconds * 1_000_000 + i64::from(d.nanos) / 1000
}

fn stage(id: &str, kind: pb::StageKind, p: i32, dwell_days: i64) -> pb::Stage {
    pb::Stage {
        id: id.into(),
        display_name: id.replace('_', " "),
        win_probability: p,
        normal_dwell: days(dwell_days),
        escalation_dwell: None,
        kind: kind.into(),
    }
}

fn b2b(key: &str) -> pb::Pipeline {
    pb::Pipeline {
        name: format!("pipelines/{key}"),
        display_name: "B2B".into(),
        stages: vec![
            stage("qualify", pb::StageKind::Open, 10, 5),
            stage("propose", pb::StageKind::Open, 40, 10),
            stage("won", pb::StageKind::Won, 0, 0),
            stage("lost", pb::StageKind::Lost, 0, 0),
        ],
        ..Default::default()
    }
}

async fn create_pipeline(c: &mut Clients, p: pb::Pipeline) -> pb::Pipeline {
    c.pipelines
        .create_pipeline(pb::CreatePipelineRequest { pipeline: Some(p) })
        .await
        .expect("create pipeline")
        .into_inner()
}

async fn get_pipeline(c: &mut Clients, name: &str) -> Result<pb::Pipeline, tonic::Status> {
    c.pipelines
        .get_pipeline(pb::GetPipelineRequest { name: name.into() })
        .await
        .map(|r| r.into_inner())
}

fn opportunity(display_name: &str) -> pb::Opportunity {
    pb::Opportunity {
        display_name: display_name.into(),
        pipeline: EXAMPLE.into(),
        ..Default::default()
    }
}

fn create_req(o: pb::Opportunity, request_id: &str) -> pb::CreateOpportunityRequest {
    pb::CreateOpportunityRequest {
        opportunity: Some(o),
        request_id: request_id.into(),
    }
}

async fn create(c: &mut Clients, o: pb::Opportunity) -> pb::Opportunity {
    c.pipelines
        .create_opportunity(create_req(o, ""))
        .await
        .expect("create opportunity")
        .into_inner()
}

async fn get(c: &mut Clients, name: &str) -> Result<pb::Opportunity, tonic::Status> {
    c.pipelines
        .get_opportunity(pb::GetOpportunityRequest { name: name.into() })
        .await
        .map(|r| r.into_inner())
}

fn move_req(name: &str, stage: &str) -> pb::MoveOpportunityStageRequest {
    pb::MoveOpportunityStageRequest {
        name: name.into(),
        stage: stage.into(),
        ..Default::default()
    }
}

async fn move_to(c: &mut Clients, name: &str, stage: &str) -> pb::Opportunity {
    c.pipelines
        .move_opportunity_stage(move_req(name, stage))
        .await
        .expect("move")
        .into_inner()
}

async fn history(c: &mut Clients, name: &str) -> Vec<pb::StageChange> {
    c.pipelines
        .list_stage_changes(pb::ListStageChangesRequest {
            parent: name.into(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("stage changes")
        .into_inner()
        .stage_changes
}

async fn list(c: &mut Clients, filter: &str) -> Vec<pb::Opportunity> {
    c.pipelines
        .list_opportunities(pb::ListOpportunitiesRequest {
            filter: filter.into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .opportunities
}

fn names(items: &[pb::Opportunity]) -> BTreeSet<String> {
    items.iter().map(|o| o.name.clone()).collect()
}

#[tokio::test]
async fn every_tenant_has_the_example_pipeline() {
    each_backend(&services(), async |s| {
        for mut c in [admin(s), rep(s, "rep-1", "north"), stranger(s)] {
            let p = get_pipeline(&mut c, EXAMPLE).await.expect("example");
            let ids: Vec<&str> = p.stages.iter().map(|s| s.id.as_str()).collect();
            assert_eq!(
                ids,
                [
                    "online_viewing",
                    "first_visit",
                    "second_visit",
                    "revisit",
                    "deal",
                    "lost"
                ]
            );
            assert_eq!(p.stages[4].kind(), pb::StageKind::Won);
            assert_eq!(p.stages[4].win_probability, 100);
            assert_eq!(p.stages[0].normal_dwell, days(3));
            assert!(!p.etag.is_empty());
            assert!(p.create_time.is_none(), "the example was never stored");
            let listed = c
                .pipelines
                .list_pipelines(pb::ListPipelinesRequest::default())
                .await
                .expect("list")
                .into_inner();
            assert_eq!(listed.pipelines, [p]);
            assert!(listed.next_page_token.is_empty());
        }
    })
    .await;
}

#[tokio::test]
async fn pipelines_are_created_read_and_listed_by_name() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let created = create_pipeline(&mut c, b2b("b2b")).await;
        assert_eq!(created.name, "pipelines/b2b");
        // WON wins with 100 percent whatever was sent.
        assert_eq!(created.stages[2].win_probability, 100);
        assert_eq!(created.stages[2].normal_dwell, None);
        assert!(created.create_time.is_some());
        assert_eq!(
            get_pipeline(&mut c, "pipelines/b2b").await.unwrap(),
            created
        );
        create_pipeline(&mut c, b2b("a-first")).await;
        create_pipeline(&mut c, b2b("zz")).await;

        // Page by page, by name, the example in its place.
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let page = c
                .pipelines
                .list_pipelines(pb::ListPipelinesRequest {
                    page_size: 1,
                    page_token: token.clone(),
                })
                .await
                .expect("page")
                .into_inner();
            seen.extend(page.pipelines.into_iter().map(|p| p.name));
            token = page.next_page_token;
            if token.is_empty() {
                break;
            }
        }
        assert_eq!(
            seen,
            [
                "pipelines/a-first",
                "pipelines/b2b",
                EXAMPLE,
                "pipelines/zz"
            ]
        );

        // Existing names, the example's included.
        for key in ["b2b", "real-estate"] {
            let st = c
                .pipelines
                .create_pipeline(pb::CreatePipelineRequest {
                    pipeline: Some(b2b(key)),
                })
                .await;
            let st = assert_code(st, Code::AlreadyExists);
            assert_eq!(reason(&st), "PIPELINE_EXISTS");
        }

        // Another tenant sees none of them.
        let mut other = stranger(s);
        assert_code(
            get_pipeline(&mut other, "pipelines/b2b").await,
            Code::NotFound,
        );
        let st = other
            .pipelines
            .update_pipeline(pb::UpdatePipelineRequest {
                pipeline: Some(b2b("b2b")),
                update_mask: mask(&["display_name"]),
            })
            .await;
        assert_code(st, Code::NotFound);
        let theirs = other
            .pipelines
            .list_pipelines(pb::ListPipelinesRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(theirs.pipelines.len(), 1);

        // A token belongs to its tenant.
        let page = c
            .pipelines
            .list_pipelines(pb::ListPipelinesRequest {
                page_size: 1,
                page_token: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        let st = other
            .pipelines
            .list_pipelines(pb::ListPipelinesRequest {
                page_size: -1,
                page_token: page.next_page_token,
            })
            .await;
        let st = assert_code(st, Code::InvalidArgument);
        assert_eq!(sorted_bad_fields(&st), sorted(["page_size", "page_token"]));
    })
    .await;
}

#[tokio::test]
async fn bad_pipelines_name_every_bad_field() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let mut bad = b2b("Not A Key");
        bad.display_name = String::new();
        bad.stages[0].id = "Qualify".into();
        bad.stages[1].win_probability = 101;
        bad.stages[1].normal_dwell = Some(prost_types::Duration {
            seconds: -5,
            nanos: 0,
        });
        bad.stages[2].kind = pb::StageKind::Open.into();
        bad.stages[3].id = "propose".into();
        bad.stages[3].kind = 42;
        let st = c
            .pipelines
            .create_pipeline(pb::CreatePipelineRequest {
                pipeline: Some(bad),
            })
            .await;
        let st = assert_code(st, Code::InvalidArgument);
        assert_eq!(
            sorted_bad_fields(&st),
            sorted([
                "pipeline.name",
                "pipeline.display_name",
                "pipeline.stages[0].id",
                "pipeline.stages[1].win_probability",
                "pipeline.stages[1].normal_dwell",
                "pipeline.stages[3].kind",
                "pipeline.stages[3].id",
                "pipeline.stages",
            ])
        );
        let st = c
            .pipelines
            .create_pipeline(pb::CreatePipelineRequest { pipeline: None })
            .await;
        assert_eq!(
            bad_fields(&assert_code(st, Code::InvalidArgument)),
            ["pipeline"]
        );

        // Update: the name, the mask and the values, all at once.
        let mut patch = b2b("x");
        patch.name = "teams/x".into();
        patch.stages.clear();
        let st = c
            .pipelines
            .update_pipeline(pb::UpdatePipelineRequest {
                pipeline: Some(patch),
                update_mask: mask(&["stages", "create_time", "colour"]),
            })
            .await;
        let st = assert_code(st, Code::InvalidArgument);
        assert_eq!(
            sorted_bad_fields(&st),
            sorted([
                "pipeline.name",
                "update_mask",
                "update_mask",
                "pipeline.stages"
            ])
        );
        let st = get_pipeline(&mut c, "real-estate").await;
        assert_eq!(
            bad_fields(&assert_code(st, Code::InvalidArgument)),
            ["name"]
        );
    })
    .await;
}

#[tokio::test]
async fn pipelines_check_roles_and_credentials() {
    each_backend(&services(), async |s| {
        let mut r = rep(s, "rep-1", "north");
        let st = r
            .pipelines
            .create_pipeline(pb::CreatePipelineRequest {
                pipeline: Some(b2b("b2b")),
            })
            .await;
        assert_code(st, Code::PermissionDenied);
        let st = r
            .pipelines
            .update_pipeline(pb::UpdatePipelineRequest {
                pipeline: Some(b2b("real-estate")),
                update_mask: mask(&["display_name"]),
            })
            .await;
        assert_code(st, Code::PermissionDenied);
        let mut agent = as_user(s, "t1", "agent", &[Role::ServiceAgent]);
        assert_code(
            get_pipeline(&mut agent, EXAMPLE).await,
            Code::PermissionDenied,
        );
        let st = agent
            .pipelines
            .list_pipelines(pb::ListPipelinesRequest::default())
            .await;
        assert_code(st, Code::PermissionDenied);
        for mut c in [anonymous(s, None), anonymous(s, Some("Bearer nope"))] {
            assert_code(get_pipeline(&mut c, EXAMPLE).await, Code::Unauthenticated);
            let st = c
                .pipelines
                .create_pipeline(pb::CreatePipelineRequest {
                    pipeline: Some(b2b("b2b")),
                })
                .await;
            assert_code(st, Code::Unauthenticated);
        }
        // Managers define pipelines.
        let mut m = manager(s, "boss", "north");
        create_pipeline(&mut m, b2b("b2b")).await;
    })
    .await;
}

#[tokio::test]
async fn updating_the_example_makes_it_the_tenants_own() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let example = get_pipeline(&mut c, EXAMPLE).await.unwrap();
        let mut patch = example.clone();
        patch.display_name = "Our flats".into();
        let updated = c
            .pipelines
            .update_pipeline(pb::UpdatePipelineRequest {
                pipeline: Some(patch.clone()),
                update_mask: mask(&["display_name"]),
            })
            .await
            .expect("update the example")
            .into_inner();
        assert_eq!(updated.display_name, "Our flats");
        assert_eq!(updated.stages, example.stages);
        assert_ne!(updated.etag, example.etag);
        assert!(updated.create_time.is_some());
        assert_eq!(get_pipeline(&mut c, EXAMPLE).await.unwrap(), updated);
        // The example's etag is stale now.
        let st = c
            .pipelines
            .update_pipeline(pb::UpdatePipelineRequest {
                pipeline: Some(patch),
                update_mask: mask(&["display_name"]),
            })
            .await;
        let st = assert_code(st, Code::Aborted);
        assert_eq!(reason(&st), "ETAG_MISMATCH");
        // Other tenants keep the example as it was.
        let theirs = get_pipeline(&mut stranger(s), EXAMPLE).await.unwrap();
        assert_eq!(theirs, example);

        // A stage an open opportunity is in stays; one nobody is in goes.
        let o = create(&mut c, opportunity("Flat 12B")).await;
        let mut without_first = updated.clone();
        without_first.stages.remove(0);
        let st = c
            .pipelines
            .update_pipeline(pb::UpdatePipelineRequest {
                pipeline: Some(without_first),
                update_mask: mask(&["stages"]),
            })
            .await;
        let st = assert_code(st, Code::FailedPrecondition);
        assert_eq!(reason(&st), "STAGE_IN_USE");
        let mut closing_first = updated.clone();
        closing_first.stages[3].kind = pb::StageKind::Lost.into();
        closing_first.stages.swap(0, 3);
        move_to(&mut c, &o.name, "revisit").await;
        let st = c
            .pipelines
            .update_pipeline(pb::UpdatePipelineRequest {
                pipeline: Some(closing_first),
                update_mask: mask(&["stages"]),
            })
            .await;
        assert_code(st, Code::InvalidArgument);
        let mut without_revisit = updated.clone();
        without_revisit.stages.remove(3);
        let st = c
            .pipelines
            .update_pipeline(pb::UpdatePipelineRequest {
                pipeline: Some(without_revisit.clone()),
                update_mask: mask(&["*"]),
            })
            .await;
        assert_eq!(
            reason(&assert_code(st, Code::FailedPrecondition)),
            "STAGE_IN_USE"
        );
        let mut without_second = updated.clone();
        without_second.stages.remove(2);
        let done = c
            .pipelines
            .update_pipeline(pb::UpdatePipelineRequest {
                pipeline: Some(without_second),
                update_mask: mask(&["stages"]),
            })
            .await
            .expect("remove an unused stage")
            .into_inner();
        assert_eq!(done.stages.len(), 5);
        assert_eq!(done.display_name, "Our flats");
    })
    .await;
}

#[tokio::test]
async fn opportunities_start_in_the_first_stage() {
    each_backend_at(&services(), T0, async |s, clock| {
        let mut r = rep(s, "rep-1", "north");
        let mut input = opportunity("Flat 12B");
        input.amount = money("CNY", 200_000_000);
        input.expected_close_date = Some(pt::Date {
            year: 2024,
            month: 8,
            day: 31,
        });
        input.customer = "customers/0190a5b4-7c2e-7d3a-9f00-1234567890ab".into();
        let o = r
            .pipelines
            .create_opportunity(create_req(input.clone(), "req-1"))
            .await
            .expect("create")
            .into_inner();
        assert_eq!(o.stage, "online_viewing");
        assert_eq!(o.state(), pb::OpportunityState::Open);
        assert_eq!(o.owner_id, "rep-1");
        // Not in the organization yet: the token's team.
        assert_eq!(o.team_id, "north");
        assert_eq!(o.source(), pb::LeadSource::Unspecified);
        assert_eq!(micros(&o.stage_enter_time), T0);
        assert_eq!(o.amount, input.amount);
        assert_eq!(o.expected_close_date, input.expected_close_date);
        assert_eq!(o.customer, input.customer);
        assert_eq!(get(&mut r, &o.name).await.unwrap(), o);
        let h = history(&mut r, &o.name).await;
        assert_eq!(h.len(), 1);
        assert_eq!(
            (h[0].from_stage.as_str(), h[0].to_stage.as_str()),
            ("", "online_viewing")
        );
        assert_eq!((dwell(&h[0]), h[0].actor.as_str()), (0, "rep-1"));

        // A retry answers the first result and creates nothing.
        clock.advance(HOUR);
        let again = r
            .pipelines
            .create_opportunity(create_req(input.clone(), "req-1"))
            .await
            .expect("retry")
            .into_inner();
        assert_eq!(again, o);
        assert_eq!(list(&mut r, "").await.len(), 1);

        // A rep creates only its own; marketers read, never create.
        let mut theirs = input.clone();
        theirs.owner_id = "rep-2".into();
        let st = r.pipelines.create_opportunity(create_req(theirs, "")).await;
        assert_code(st, Code::PermissionDenied);
        let mut marketer = as_user(s, "t1", "mk", &[Role::Marketer]);
        let st = marketer
            .pipelines
            .create_opportunity(create_req(input.clone(), ""))
            .await;
        assert_code(st, Code::PermissionDenied);
        assert_eq!(get(&mut marketer, &o.name).await.unwrap().name, o.name);
        // A manager creates for its team only: rep-1 is in north now.
        org_rep(s, "rep-1", "north").await;
        let mut m = manager(s, "boss", "south");
        let mut for_rep = input.clone();
        for_rep.owner_id = "rep-1".into();
        let st = m
            .pipelines
            .create_opportunity(create_req(for_rep, ""))
            .await;
        assert_code(st, Code::PermissionDenied);
        let mine = create(&mut m, input.clone()).await;
        assert_eq!(
            (mine.owner_id.as_str(), mine.team_id.as_str()),
            ("boss", "south")
        );
        let st = anonymous(s, None)
            .pipelines
            .create_opportunity(create_req(input, ""))
            .await;
        assert_code(st, Code::Unauthenticated);
    })
    .await;
}

#[tokio::test]
async fn bad_opportunities_name_every_bad_field() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let bad = pb::Opportunity {
            display_name: " ".into(),
            lead: "leads/nope".into(),
            customer: "customers/".into(),
            pipeline: "real-estate".into(),
            amount: Some(pt::Money {
                currency_code: "yuan".into(),
                minor_units: -1,
            }),
            expected_close_date: Some(pt::Date {
                year: 2024,
                month: 13,
                day: 1,
            }),
            owner_id: "a/b".into(),
            ..Default::default()
        };
        let st = c
            .pipelines
            .create_opportunity(create_req(bad, &"x".repeat(300)))
            .await;
        let st = assert_code(st, Code::InvalidArgument);
        assert_eq!(
            sorted_bad_fields(&st),
            sorted([
                "opportunity.display_name",
                "opportunity.lead",
                "opportunity.customer",
                "opportunity.pipeline",
                "opportunity.amount.currency_code",
                "opportunity.amount.minor_units",
                "opportunity.expected_close_date",
                "opportunity.owner_id",
                "request_id",
            ])
        );
        // Well-formed references to nothing.
        let mut unknown = opportunity("Flat");
        unknown.pipeline = "pipelines/nope".into();
        let st = c
            .pipelines
            .create_opportunity(create_req(unknown, ""))
            .await;
        assert_eq!(
            bad_fields(&assert_code(st, Code::InvalidArgument)),
            ["opportunity.pipeline"]
        );
        let mut no_lead = opportunity("Flat");
        no_lead.lead = "leads/0190a5b4-7c2e-7d3a-9f00-1234567890ab".into();
        let st = c
            .pipelines
            .create_opportunity(create_req(no_lead, ""))
            .await;
        assert_eq!(
            bad_fields(&assert_code(st, Code::InvalidArgument)),
            ["opportunity.lead"]
        );
        // An amount needs its currency.
        let mut no_currency = opportunity("Flat");
        no_currency.amount = money("", 5);
        let st = c
            .pipelines
            .create_opportunity(create_req(no_currency, ""))
            .await;
        assert_eq!(
            bad_fields(&assert_code(st, Code::InvalidArgument)),
            ["opportunity.amount.currency_code"]
        );
        let st = c
            .pipelines
            .create_opportunity(pb::CreateOpportunityRequest::default())
            .await;
        assert_eq!(
            bad_fields(&assert_code(st, Code::InvalidArgument)),
            ["opportunity"]
        );
        assert_eq!(list(&mut c, "").await.len(), 0);
    })
    .await;
}

#[tokio::test]
async fn opportunities_of_leads_take_the_source_and_the_reps_team() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        org_rep(s, "rep-7", "east").await;
        let lead = c
            .leads
            .create_lead(pb::CreateLeadRequest {
                lead: Some(pb::Lead {
                    display_name: "王芳".into(),
                    phone: "+8613812345678".into(),
                    source: pb::LeadSource::WalkIn.into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("create lead")
            .into_inner();
        let mut input = opportunity("Villa");
        input.lead = lead.name.clone();
        input.owner_id = "rep-7".into();
        let o = create(&mut c, input).await;
        assert_eq!(o.source(), pb::LeadSource::WalkIn);
        assert_eq!((o.owner_id.as_str(), o.team_id.as_str()), ("rep-7", "east"));
        assert_eq!(o.lead, lead.name);

        // Winning the opportunity marks the lead won.
        let won = move_to(&mut c, &o.name, "deal").await;
        assert_eq!(won.state(), pb::OpportunityState::Won);
        let after = c
            .leads
            .get_lead(pb::GetLeadRequest {
                name: lead.name.clone(),
            })
            .await
            .expect("get lead")
            .into_inner();
        assert!(after.won);
        assert_ne!(after.etag, lead.etag);
    })
    .await;
}

#[tokio::test]
async fn opportunities_are_seen_by_owner_team_and_tenant() {
    each_backend(&services(), async |s| {
        let mut r1 = rep(s, "rep-1", "north");
        let mut r2 = rep(s, "rep-2", "north");
        let o = create(&mut r1, opportunity("Flat")).await;
        let other = create(&mut r2, opportunity("Shop")).await;
        assert_code(get(&mut r2, &o.name).await, Code::NotFound);
        assert_eq!(
            names(&list(&mut r1, "").await),
            names(std::slice::from_ref(&o))
        );
        let mut boss = manager(s, "boss", "north");
        assert_eq!(get(&mut boss, &o.name).await.unwrap().name, o.name);
        assert_eq!(list(&mut boss, "").await.len(), 2);
        let mut far = manager(s, "far", "south");
        assert_code(get(&mut far, &o.name).await, Code::NotFound);
        assert!(list(&mut far, "").await.is_empty());
        let mut st = stranger(s);
        assert_code(get(&mut st, &o.name).await, Code::NotFound);
        assert!(list(&mut st, "").await.is_empty());
        for call in [
            r2.pipelines
                .move_opportunity_stage(move_req(&o.name, "first_visit"))
                .await,
            st.pipelines
                .move_opportunity_stage(move_req(&o.name, "first_visit"))
                .await,
        ] {
            assert_code(call, Code::NotFound);
        }
        let st_history = st
            .pipelines
            .list_stage_changes(pb::ListStageChangesRequest {
                parent: other.name.clone(),
                ..Default::default()
            })
            .await;
        assert_code(st_history, Code::NotFound);
        let st_update = st
            .pipelines
            .update_opportunity(pb::UpdateOpportunityRequest {
                opportunity: Some(other.clone()),
                update_mask: mask(&["display_name"]),
            })
            .await;
        assert_code(st_update, Code::NotFound);
        let mut agent = as_user(s, "t1", "agent", &[Role::ServiceAgent]);
        assert_code(get(&mut agent, &o.name).await, Code::PermissionDenied);
        assert_code(
            get(&mut anonymous(s, None), &o.name).await,
            Code::Unauthenticated,
        );
        assert_eq!(
            bad_fields(&assert_code(
                get(&mut r1, "opportunities/x").await,
                Code::InvalidArgument
            )),
            ["name"]
        );
    })
    .await;
}

#[tokio::test]
async fn opportunities_are_filtered_and_paged() {
    each_backend_at(&services(), T0, async |s, clock| {
        let mut c = admin(s);
        let mut created = Vec::new();
        for i in 0..5 {
            let mut input = opportunity(&format!("Flat {i}"));
            input.owner_id = format!("rep-{}", i % 2);
            created.push(create(&mut c, input).await);
            clock.advance(HOUR);
        }
        move_to(&mut c, &created[0].name, "first_visit").await;
        let lost = c
            .pipelines
            .move_opportunity_stage(pb::MoveOpportunityStageRequest {
                lost_reason: "bought elsewhere".into(),
                ..move_req(&created[2].name, "lost")
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(lost.lost_reason, "bought elsewhere");
        assert_eq!(names(&list(&mut c, "state = LOST").await), names(&[lost]));
        assert_eq!(
            names(&list(&mut c, "stage = first_visit").await),
            names(&created[0..1])
        );
        assert_eq!(list(&mut c, "owner_id = rep-0").await.len(), 3);
        assert_eq!(
            list(&mut c, &format!("pipeline = \"{EXAMPLE}\""))
                .await
                .len(),
            5
        );
        assert_eq!(
            list(&mut c, "pipeline = \"pipelines/other\"").await.len(),
            0
        );
        assert_eq!(
            list(
                &mut c,
                "create_time >= 2024-05-01T02:00:00Z AND state = OPEN"
            )
            .await
            .len(),
            2
        );

        // Newest first by default, pages of two, tokens bound to their query.
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let page = c
                .pipelines
                .list_opportunities(pb::ListOpportunitiesRequest {
                    page_size: 2,
                    page_token: token.clone(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            seen.extend(page.opportunities.into_iter().map(|o| o.display_name));
            token = page.next_page_token;
            if token.is_empty() {
                break;
            }
        }
        assert_eq!(seen, ["Flat 4", "Flat 3", "Flat 2", "Flat 1", "Flat 0"]);
        let first = c
            .pipelines
            .list_opportunities(pb::ListOpportunitiesRequest {
                page_size: 2,
                order_by: "stage_enter_time".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let st = c
            .pipelines
            .list_opportunities(pb::ListOpportunitiesRequest {
                page_size: 2,
                page_token: first.next_page_token,
                ..Default::default()
            })
            .await;
        assert_eq!(
            bad_fields(&assert_code(st, Code::InvalidArgument)),
            ["page_token"]
        );
        let st = c
            .pipelines
            .list_opportunities(pb::ListOpportunitiesRequest {
                page_size: -1,
                filter: "colour = red AND state = MAYBE".into(),
                order_by: "amount".into(),
                ..Default::default()
            })
            .await;
        assert_eq!(
            sorted_bad_fields(&assert_code(st, Code::InvalidArgument)),
            sorted(["page_size", "order_by", "filter", "filter"])
        );
    })
    .await;
}

#[tokio::test]
async fn opportunities_are_updated_with_their_etag() {
    each_backend(&services(), async |s| {
        let mut r = rep(s, "rep-1", "north");
        let o = create(&mut r, opportunity("Flat")).await;
        let mut patch = o.clone();
        patch.display_name = "Flat 12B".into();
        patch.amount = money("CNY", 150_000_000);
        patch.stage = "deal".into();
        let updated = r
            .pipelines
            .update_opportunity(pb::UpdateOpportunityRequest {
                opportunity: Some(patch.clone()),
                update_mask: mask(&["display_name", "amount"]),
            })
            .await
            .expect("update")
            .into_inner();
        assert_eq!(updated.display_name, "Flat 12B");
        assert_eq!(updated.amount, patch.amount);
        assert_eq!(updated.stage, "online_viewing");
        assert_ne!(updated.etag, o.etag);
        // The old etag is stale.
        let st = r
            .pipelines
            .update_opportunity(pb::UpdateOpportunityRequest {
                opportunity: Some(patch.clone()),
                update_mask: mask(&["display_name"]),
            })
            .await;
        assert_code(st, Code::Aborted);
        // Clearing the amount.
        let mut clear = updated.clone();
        clear.amount = None;
        let cleared = r
            .pipelines
            .update_opportunity(pb::UpdateOpportunityRequest {
                opportunity: Some(clear),
                update_mask: mask(&["*"]),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(cleared.amount, None);
        // Every bad field at once.
        let mut bad = cleared.clone();
        bad.name = "opportunities/nope".into();
        bad.display_name = String::new();
        bad.amount = money("CNY", -5);
        let st = r
            .pipelines
            .update_opportunity(pb::UpdateOpportunityRequest {
                opportunity: Some(bad),
                update_mask: mask(&["display_name", "amount", "stage", "pipeline"]),
            })
            .await;
        assert_eq!(
            sorted_bad_fields(&assert_code(st, Code::InvalidArgument)),
            sorted([
                "opportunity.name",
                "update_mask",
                "update_mask",
                "opportunity.display_name",
                "opportunity.amount.minor_units",
            ])
        );
        let mut marketer = as_user(s, "t1", "mk", &[Role::Marketer]);
        let st = marketer
            .pipelines
            .update_opportunity(pb::UpdateOpportunityRequest {
                opportunity: Some(cleared),
                update_mask: mask(&["display_name"]),
            })
            .await;
        assert_code(st, Code::PermissionDenied);
    })
    .await;
}

#[tokio::test]
async fn moves_record_dwell_and_closing_stages_close() {
    each_backend_at(&services(), T0, async |s, clock| {
        let mut r = rep(s, "rep-1", "north");
        let o = create(&mut r, opportunity("Flat")).await;
        clock.advance(3 * DAY + 5 * HOUR);
        let moved = r
            .pipelines
            .move_opportunity_stage(pb::MoveOpportunityStageRequest {
                etag: o.etag.clone(),
                request_id: "mv-1".into(),
                ..move_req(&o.name, "first_visit")
            })
            .await
            .expect("move")
            .into_inner();
        assert_eq!(moved.stage, "first_visit");
        assert_eq!(micros(&moved.stage_enter_time), T0 + 3 * DAY + 5 * HOUR);
        // A retry answers the same and moves nothing.
        clock.advance(HOUR);
        let again = r
            .pipelines
            .move_opportunity_stage(pb::MoveOpportunityStageRequest {
                etag: o.etag.clone(),
                request_id: "mv-1".into(),
                ..move_req(&o.name, "first_visit")
            })
            .await
            .expect("retry")
            .into_inner();
        assert_eq!(again, moved);
        // The etag of before the move is stale.
        let st = r
            .pipelines
            .move_opportunity_stage(pb::MoveOpportunityStageRequest {
                etag: o.etag.clone(),
                ..move_req(&o.name, "second_visit")
            })
            .await;
        assert_code(st, Code::Aborted);
        // Bad requests.
        let st = r
            .pipelines
            .move_opportunity_stage(move_req(&o.name, "first_visit"))
            .await;
        assert_eq!(
            reason(&assert_code(st, Code::FailedPrecondition)),
            "ALREADY_IN_STAGE"
        );
        let st = r
            .pipelines
            .move_opportunity_stage(move_req(&o.name, "attic"))
            .await;
        assert_eq!(
            bad_fields(&assert_code(st, Code::InvalidArgument)),
            ["stage"]
        );
        let st = r
            .pipelines
            .move_opportunity_stage(move_req(&o.name, "lost"))
            .await;
        assert_eq!(
            bad_fields(&assert_code(st, Code::InvalidArgument)),
            ["lost_reason"]
        );
        let st = r
            .pipelines
            .move_opportunity_stage(pb::MoveOpportunityStageRequest {
                name: "opportunities/x".into(),
                stage: String::new(),
                lost_reason: "y".repeat(501),
                etag: String::new(),
                request_id: "z".repeat(300),
            })
            .await;
        assert_eq!(
            sorted_bad_fields(&assert_code(st, Code::InvalidArgument)),
            sorted(["name", "stage", "lost_reason", "request_id"])
        );
        let mut marketer = as_user(s, "t1", "mk", &[Role::Marketer]);
        let st = marketer
            .pipelines
            .move_opportunity_stage(move_req(&o.name, "second_visit"))
            .await;
        assert_code(st, Code::PermissionDenied);

        // Back a stage, then lost.
        clock.advance(2 * DAY);
        move_to(&mut r, &o.name, "online_viewing").await;
        clock.advance(HOUR);
        let lost = r
            .pipelines
            .move_opportunity_stage(pb::MoveOpportunityStageRequest {
                lost_reason: "went with another agency".into(),
                ..move_req(&o.name, "lost")
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(lost.state(), pb::OpportunityState::Lost);
        assert_eq!(micros(&lost.close_time), T0 + 5 * DAY + 7 * HOUR);
        let st = r
            .pipelines
            .move_opportunity_stage(move_req(&o.name, "deal"))
            .await;
        assert_eq!(
            reason(&assert_code(st, Code::FailedPrecondition)),
            "OPPORTUNITY_CLOSED"
        );

        // The history, oldest first, page by page.
        let h = history(&mut r, &o.name).await;
        let moves: Vec<(&str, &str, Micros)> = h
            .iter()
            .map(|c| (c.from_stage.as_str(), c.to_stage.as_str(), dwell(c)))
            .collect();
        assert_eq!(
            moves,
            [
                ("", "online_viewing", 0),
                ("online_viewing", "first_visit", 3 * DAY + 5 * HOUR),
                ("first_visit", "online_viewing", 2 * DAY + HOUR),
                ("online_viewing", "lost", HOUR),
            ]
        );
        let mut paged = Vec::new();
        let mut token = String::new();
        loop {
            let page = r
                .pipelines
                .list_stage_changes(pb::ListStageChangesRequest {
                    parent: o.name.clone(),
                    page_size: 3,
                    page_token: token.clone(),
                })
                .await
                .unwrap()
                .into_inner();
            paged.extend(page.stage_changes);
            token = page.next_page_token;
            if token.is_empty() {
                break;
            }
        }
        assert_eq!(paged, h);
        // A token of one opportunity is refused for another.
        let other = create(&mut r, opportunity("Other")).await;
        let first = r
            .pipelines
            .list_stage_changes(pb::ListStageChangesRequest {
                parent: o.name.clone(),
                page_size: 1,
                page_token: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        let st = r
            .pipelines
            .list_stage_changes(pb::ListStageChangesRequest {
                parent: other.name.clone(),
                page_size: 1,
                page_token: first.next_page_token,
            })
            .await;
        assert_eq!(
            bad_fields(&assert_code(st, Code::InvalidArgument)),
            ["page_token"]
        );
        let st = r
            .pipelines
            .list_stage_changes(pb::ListStageChangesRequest {
                parent: "leads/x".into(),
                page_size: -2,
                page_token: String::new(),
            })
            .await;
        assert_eq!(
            sorted_bad_fields(&assert_code(st, Code::InvalidArgument)),
            sorted(["parent", "page_size"])
        );
    })
    .await;
}
