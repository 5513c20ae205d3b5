//! LeadService through gRPC on every backend: CreateLead, GetLead, ListLeads, UpdateLead,
//! DeleteLead, UndeleteLead, RecordFollowUp and RecordLeadBehavior, with who may see and do
//! what. Pools and assignment have their own tests.

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::common::*;
use rapport_proto::{leads as pb, types as pt};
use rapport_runtime::auth::Role;
use rapport_testkit::{TestServer, each_backend};
use tonic::{Code, Status};

/// A timestamp `offset_secs` from now.
fn from_now(offset_secs: i64) -> prost_types::Timestamp {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    prost_types::Timestamp {
        seconds: now + offset_secs,
        nanos: 0,
    }
}

fn create_req(lead: pb::Lead, request_id: &str) -> pb::CreateLeadRequest {
    pb::CreateLeadRequest {
        lead: Some(lead),
        request_id: request_id.into(),
    }
}

async fn create(c: &mut Clients, lead: pb::Lead) -> pb::Lead {
    c.leads
        .create_lead(create_req(lead, ""))
        .await
        .expect("create lead")
        .into_inner()
}

async fn get(c: &mut Clients, name: &str) -> Result<pb::Lead, Status> {
    c.leads
        .get_lead(pb::GetLeadRequest { name: name.into() })
        .await
        .map(tonic::Response::into_inner)
}

async fn fetch(c: &mut Clients, name: &str) -> pb::Lead {
    get(c, name).await.expect("get lead")
}

fn list_req(
    filter: &str,
    order_by: &str,
    page_size: i32,
    page_token: &str,
) -> pb::ListLeadsRequest {
    pb::ListLeadsRequest {
        page_size,
        page_token: page_token.into(),
        filter: filter.into(),
        order_by: order_by.into(),
        show_deleted: false,
    }
}

async fn list(c: &mut Clients, req: pb::ListLeadsRequest) -> Result<pb::ListLeadsResponse, Status> {
    c.leads
        .list_leads(req)
        .await
        .map(tonic::Response::into_inner)
}

/// Display names of the leads `filter` lists, in the order listed.
async fn listed(c: &mut Clients, filter: &str) -> Vec<String> {
    let page = list(c, list_req(filter, "", 0, ""))
        .await
        .expect("list leads");
    assert!(page.next_page_token.is_empty());
    display_names(&page.leads)
}

fn display_names(leads: &[pb::Lead]) -> Vec<String> {
    leads.iter().map(|l| l.display_name.clone()).collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

fn sorted(names: Vec<String>) -> BTreeSet<String> {
    names.into_iter().collect()
}

async fn update(c: &mut Clients, lead: pb::Lead, paths: &[&str]) -> Result<pb::Lead, Status> {
    c.leads
        .update_lead(pb::UpdateLeadRequest {
            lead: Some(lead),
            update_mask: mask(paths),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Moves `name` to `state` (with `reason`, for UNQUALIFIED).
async fn set_state(
    c: &mut Clients,
    name: &str,
    state: pb::LeadState,
    reason: &str,
) -> Result<pb::Lead, Status> {
    let lead = pb::Lead {
        name: name.into(),
        state: state.into(),
        unqualified_reason: reason.into(),
        ..Default::default()
    };
    let paths: &[&str] = if reason.is_empty() {
        &["state"]
    } else {
        &["state", "unqualified_reason"]
    };
    update(c, lead, paths).await
}

async fn delete(c: &mut Clients, name: &str, etag: &str) -> Result<pb::Lead, Status> {
    c.leads
        .delete_lead(pb::DeleteLeadRequest {
            name: name.into(),
            etag: etag.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn undelete(c: &mut Clients, name: &str) -> Result<pb::Lead, Status> {
    c.leads
        .undelete_lead(pb::UndeleteLeadRequest { name: name.into() })
        .await
        .map(tonic::Response::into_inner)
}

async fn follow_up(
    c: &mut Clients,
    name: &str,
    at: Option<prost_types::Timestamp>,
) -> Result<pb::Lead, Status> {
    c.leads
        .record_follow_up(pb::RecordFollowUpRequest {
            name: name.into(),
            follow_up_time: at,
            note: "called".into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn behave(c: &mut Clients, name: &str, kind: pb::BehaviorKind) -> Result<pb::Lead, Status> {
    c.leads
        .record_lead_behavior(pb::RecordLeadBehaviorRequest {
            name: name.into(),
            kind: kind.into(),
            occur_time: None,
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Adds the rep `reps/{subject}` of `teams/{team}`; capacity 0 keeps the default.
async fn add_rep(s: &TestServer, subject: &str, team: &str, capacity: i32) {
    add_rep_at(s, subject, team, "", capacity).await;
}

async fn open_leads(s: &TestServer, subject: &str) -> i32 {
    admin(s)
        .org
        .get_rep(pb::GetRepRequest {
            name: format!("reps/{subject}"),
        })
        .await
        .expect("get rep")
        .into_inner()
        .open_leads
}

fn role(s: &TestServer, subject: &str, role: Role) -> Clients {
    as_user(s, "t1", subject, &[role])
}

/// The lead methods of this file, each called on `lead` with an otherwise valid request.
const METHODS: [&str; 8] = [
    "CreateLead",
    "GetLead",
    "ListLeads",
    "UpdateLead",
    "DeleteLead",
    "UndeleteLead",
    "RecordFollowUp",
    "RecordLeadBehavior",
];

async fn call(c: &mut Clients, method: &str, lead: &str) -> Result<(), Status> {
    let name = lead.to_owned();
    match method {
        "CreateLead" => c
            .leads
            .create_lead(create_req(new_lead("新客户", "13900000009"), ""))
            .await
            .map(drop),
        "GetLead" => get(c, &name).await.map(drop),
        "ListLeads" => list(c, list_req("", "", 0, "")).await.map(drop),
        "UpdateLead" => {
            let l = pb::Lead {
                name,
                region: "北京".into(),
                ..Default::default()
            };
            update(c, l, &["region"]).await.map(drop)
        }
        "DeleteLead" => delete(c, &name, "").await.map(drop),
        "UndeleteLead" => undelete(c, &name).await.map(drop),
        "RecordFollowUp" => follow_up(c, &name, None).await.map(drop),
        "RecordLeadBehavior" => behave(c, &name, pb::BehaviorKind::PageView).await.map(drop),
        other => panic!("unknown method {other}"),
    }
}

#[tokio::test]
async fn create_normalizes_the_lead_and_ignores_output_only_fields() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let input = pb::Lead {
            display_name: "  张伟 ".into(),
            phone: "138 1234 5678".into(),
            email: " Wei.Zhang@Example.COM ".into(),
            source: pb::LeadSource::WalkIn.into(),
            attribution: Some(pb::Attribution {
                campaign_id: "campaigns/spring".into(),
                partner_id: String::new(),
                channel: " wechat ".into(),
                referrer: "customers/c1".into(),
            }),
            needs: Some(pb::Needs {
                product_lines: vec![" Sofa ".into(), "sofa".into(), "bed".into()],
                description: "grey fabric".into(),
                budget: money("CNY", 1_000_000),
                timeline: " within 3 months ".into(),
            }),
            region: " 深圳 ".into(),
            language: "zh".into(),
            pool: "teams/north".into(),
            // Output-only fields a client sends are ignored.
            name: "leads/0190a5b2-7c3e-7d4f-8a1b-2c3d4e5f6a7b".into(),
            state: pb::LeadState::Converted.into(),
            owner_id: "someone".into(),
            locked: true,
            score: 99,
            customer: "customers/x".into(),
            won: true,
            etag: "made-up".into(),
            ..Default::default()
        };
        let created = create(&mut c, input).await;
        assert!(created.name.starts_with("leads/"));
        assert_ne!(created.name, "leads/0190a5b2-7c3e-7d4f-8a1b-2c3d4e5f6a7b");
        assert_eq!(created.display_name, "张伟");
        assert_eq!(created.phone, "+8613812345678");
        assert_eq!(
            created.email, "wei.zhang@example.com",
            "stored in lower case"
        );
        assert_eq!(created.source, i32::from(pb::LeadSource::WalkIn));
        let attribution = created.attribution.clone().expect("attribution");
        assert_eq!(attribution.channel, "wechat");
        assert_eq!(attribution.campaign_id, "campaigns/spring");
        let needs = created.needs.clone().expect("needs");
        assert_eq!(needs.product_lines, ["sofa", "bed"]);
        assert_eq!(needs.budget, money("CNY", 1_000_000));
        assert_eq!(needs.timeline, "within 3 months");
        assert_eq!(
            (created.region.as_str(), created.pool.as_str()),
            ("深圳", "teams/north")
        );
        assert_eq!(created.state, i32::from(pb::LeadState::New));
        assert_eq!(
            created.owner_id, "",
            "an admin's lead goes to the public pool"
        );
        assert!(!created.locked && !created.won);
        assert_eq!(created.customer, "");
        // Phone, email, region, product lines, budget, timeline: 6 × 5.
        assert_eq!(created.score, 30);
        assert_eq!(created.intent, i32::from(pb::IntentGrade::Medium));
        assert!(!created.recall && !created.call_flag);
        assert!(created.assign_time.is_none() && created.last_follow_up_time.is_none());
        assert!(created.create_time.is_some());
        assert_eq!(created.create_time, created.update_time);
        assert_eq!(created.create_time, created.state_change_time);
        assert!(created.delete_time.is_none());
        assert!(!created.etag.is_empty() && created.etag != "made-up");
        assert_eq!(fetch(&mut c, &created.name).await, created);

        // A bare lead is LOW intent, due for recall.
        let bare = create(&mut c, new_lead("李娜", "13900001111")).await;
        assert_eq!(bare.score, 5);
        assert_eq!(bare.intent, i32::from(pb::IntentGrade::Low));
        assert!(bare.recall && !bare.call_flag);
        // An email alone is enough.
        let by_mail = create(
            &mut c,
            pb::Lead {
                phone: String::new(),
                email: "ann@example.com".into(),
                ..new_lead("Ann", "")
            },
        )
        .await;
        assert_eq!(
            (by_mail.phone.as_str(), by_mail.email.as_str()),
            ("", "ann@example.com")
        );
    })
    .await;
}

#[tokio::test]
async fn create_names_every_bad_field_at_once() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let bad = pb::Lead {
            display_name: " ".into(),
            phone: "12".into(),
            email: "not-an-email".into(),
            source: 0,
            attribution: Some(pb::Attribution {
                campaign_id: "spring".into(),
                partner_id: "partners/".into(),
                channel: "c".repeat(65),
                referrer: "leads/x".into(),
            }),
            needs: Some(pb::Needs {
                product_lines: vec![" ".into()],
                description: "d".repeat(2001),
                budget: money("cny", -1),
                timeline: "t".repeat(101),
            }),
            region: "r".repeat(101),
            language: "l".repeat(36),
            pool: "north".into(),
            ..Default::default()
        };
        let status = assert_code(
            c.leads.create_lead(create_req(bad, &"x".repeat(129))).await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&status),
            [
                "request_id",
                "lead.display_name",
                "lead.phone",
                "lead.email",
                "lead.source",
                "lead.attribution.campaign_id",
                "lead.attribution.partner_id",
                "lead.attribution.referrer",
                "lead.attribution.channel",
                "lead.needs.product_lines",
                "lead.needs.description",
                "lead.needs.timeline",
                "lead.needs.budget.currency_code",
                "lead.needs.budget.minor_units",
                "lead.region",
                "lead.language",
                "lead.pool",
            ]
        );

        let status = assert_code(
            c.leads
                .create_lead(pb::CreateLeadRequest {
                    lead: None,
                    request_id: "x".repeat(129),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["request_id", "lead"]);

        // Neither a phone nor an email.
        let status = assert_code(
            c.leads
                .create_lead(create_req(new_lead("张伟", " "), ""))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["lead.phone"]);

        // Pools are the company pool, a team's or a store's.
        for pool in ["teams/", "teams/North Team", "stores/s1/x", "reps/rep-1"] {
            let status = assert_code(
                c.leads
                    .create_lead(create_req(
                        pb::Lead {
                            pool: pool.into(),
                            ..new_lead("张伟", "13812345678")
                        },
                        "",
                    ))
                    .await,
                Code::InvalidArgument,
            );
            assert_eq!(bad_fields(&status), ["lead.pool"], "{pool:?}");
        }

        // Nothing was created.
        assert!(listed(&mut c, "").await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_retried_create_returns_the_first_lead_and_creates_no_other() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let first = c
            .leads
            .create_lead(create_req(new_lead("张伟", "13812345678"), "req-1"))
            .await
            .expect("create")
            .into_inner();
        let again = c
            .leads
            .create_lead(create_req(new_lead("张伟", "13812345678"), "req-1"))
            .await
            .expect("retry")
            .into_inner();
        assert_eq!(again, first);
        let page = list(&mut c, list_req("", "", 0, "")).await.expect("list");
        assert_eq!(
            page.leads,
            std::slice::from_ref(&first),
            "one lead, not two"
        );

        // Another request id is another lead.
        let other = c
            .leads
            .create_lead(create_req(new_lead("张伟", "13812345678"), "req-2"))
            .await
            .expect("create another")
            .into_inner();
        assert_ne!(other.name, first.name);
        assert_eq!(listed(&mut c, "").await.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_reps_own_lead_goes_into_its_private_pool() {
    each_backend(&services(), async |s| {
        add_team(s, "north").await;
        add_rep(s, "rep-1", "north", 0).await;
        let mut r = rep(s, "rep-1", "north");
        let created = create(&mut r, new_lead("张伟", "13812345678")).await;
        assert_eq!(created.owner_id, "rep-1");
        assert!(created.assign_time.is_some());
        assert_eq!(created.assign_time, created.create_time);
        assert_eq!(open_leads(s, "rep-1").await, 1);
        assert_eq!(fetch(&mut admin(s), &created.name).await, created);

        // Managers, admins and service accounts fill the public pool.
        let mut m = manager(s, "mgr-1", "north");
        assert_eq!(
            create(&mut m, new_lead("李娜", "13900001111"))
                .await
                .owner_id,
            ""
        );
        let mut sa = role(s, "svc-forms", Role::ServiceAccount);
        assert_eq!(
            create(&mut sa, new_lead("王芳", "13700002222"))
                .await
                .owner_id,
            ""
        );

        // A rep the sales organization does not know cannot hold leads.
        let mut unknown = rep(s, "rep-x", "north");
        let status = assert_code(
            unknown
                .leads
                .create_lead(create_req(new_lead("赵敏", "13600003333"), ""))
                .await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&status), "REP_UNKNOWN");

        // Nor a rep beyond its capacity.
        add_rep(s, "rep-2", "north", 1).await;
        let mut full = rep(s, "rep-2", "north");
        create(&mut full, new_lead("钱多", "13500004444")).await;
        let status = assert_code(
            full.leads
                .create_lead(create_req(new_lead("孙乐", "13500005555"), ""))
                .await,
            Code::ResourceExhausted,
        );
        assert_eq!(reason(&status), "REP_AT_CAPACITY");
        assert_eq!(listed(&mut admin(s), "").await.len(), 4);
    })
    .await;
}

#[tokio::test]
async fn get_refuses_bad_names_and_unknown_leads() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        for bad in [
            "",
            "customers/0190a5b2-7c3e-7d4f-8a1b-2c3d4e5f6a7b",
            "leads/not-a-uuid",
        ] {
            let status = assert_code(get(&mut c, bad).await, Code::InvalidArgument);
            assert_eq!(bad_fields(&status), ["name"], "{bad:?}");
        }
        assert_code(
            get(&mut c, "leads/0190a5b2-7c3e-7d4f-8a1b-2c3d4e5f6a7b").await,
            Code::NotFound,
        );
    })
    .await;
}

#[tokio::test]
async fn every_method_needs_a_valid_token() {
    each_backend(&services(), async |s| {
        let lead = create(&mut admin(s), new_lead("张伟", "13812345678")).await;
        for authorization in [
            None,
            Some("Bearer not-a-jwt"),
            Some("Basic YWRtaW46YWRtaW4="),
        ] {
            let mut c = anonymous(s, authorization);
            for method in METHODS {
                let result = call(&mut c, method, &lead.name).await;
                assert_code(result, Code::Unauthenticated);
            }
        }
        assert_eq!(fetch(&mut admin(s), &lead.name).await, lead);
    })
    .await;
}

#[tokio::test]
async fn roles_decide_who_reads_and_who_works_leads() {
    each_backend(&services(), async |s| {
        let lead = create(&mut admin(s), new_lead("张伟", "13812345678")).await;
        // (role, methods it may call); the rest are PERMISSION_DENIED.
        let table: [(Role, &[&str]); 4] = [
            (Role::Marketer, &["GetLead", "ListLeads"]),
            (Role::Partner, &[]),
            (Role::ServiceAgent, &[]),
            (
                Role::Rep,
                &[
                    "GetLead",
                    "ListLeads",
                    "UpdateLead",
                    "RecordFollowUp",
                    "RecordLeadBehavior",
                ],
            ),
        ];
        for (r, allowed) in table {
            let mut c = role(s, "someone", r);
            for method in METHODS {
                // CreateLead as a rep would need the rep in the sales org; see its own test.
                if method == "CreateLead" && r == Role::Rep {
                    continue;
                }
                let result = call(&mut c, method, &lead.name).await;
                if allowed.contains(&method) {
                    result.unwrap_or_else(|e| panic!("{r:?} {method}: {e:?}"));
                } else {
                    let status = result.expect_err(&format!("{r:?} may not call {method}"));
                    assert_eq!(
                        status.code(),
                        Code::PermissionDenied,
                        "{r:?} {method}: {status:?}"
                    );
                }
            }
        }
        // Managers and service accounts may do everything (undelete after delete).
        for r in [Role::Manager, Role::ServiceAccount] {
            let mut c = role(s, "boss", r);
            for method in METHODS {
                call(&mut c, method, &lead.name)
                    .await
                    .unwrap_or_else(|e| panic!("{r:?} {method}: {e:?}"));
            }
        }
    })
    .await;
}

#[tokio::test]
async fn another_tenants_lead_reads_as_not_found() {
    each_backend(&services(), async |s| {
        let lead = create(&mut admin(s), new_lead("张伟", "13812345678")).await;
        let mut x = stranger(s);
        for method in METHODS {
            match method {
                // Creating and listing work in the stranger's own tenant.
                "CreateLead" | "ListLeads" => {}
                _ => {
                    let result = call(&mut x, method, &lead.name).await;
                    let status = result.expect_err(method);
                    assert_eq!(status.code(), Code::NotFound, "{method}: {status:?}");
                }
            }
        }
        // The deleted-lead path of UndeleteLead is no different.
        delete(&mut admin(s), &lead.name, "").await.expect("delete");
        assert_code(undelete(&mut x, &lead.name).await, Code::NotFound);
        undelete(&mut admin(s), &lead.name).await.expect("undelete");

        let theirs = create(&mut x, new_lead("李娜", "13900001111")).await;
        assert_eq!(listed(&mut x, "").await, ["李娜"]);
        assert_eq!(listed(&mut admin(s), "").await, ["张伟"]);
        assert_code(get(&mut admin(s), &theirs.name).await, Code::NotFound);
        let untouched = fetch(&mut admin(s), &lead.name).await;
        assert_eq!(untouched.region, "");
        assert_eq!(untouched.state, i32::from(pb::LeadState::New));
    })
    .await;
}

#[tokio::test]
async fn reps_see_the_public_pool_and_their_own_and_managers_their_team() {
    each_backend(&services(), async |s| {
        add_team(s, "north").await;
        add_team(s, "south").await;
        add_rep(s, "rep-1", "north", 0).await;
        add_rep(s, "rep-2", "north", 0).await;
        add_rep(s, "rep-3", "south", 0).await;
        let mut r1 = rep(s, "rep-1", "north");
        let mut r2 = rep(s, "rep-2", "north");
        let mut r3 = rep(s, "rep-3", "south");
        let pool = create(&mut admin(s), new_lead("公海", "13800000001")).await;
        let mine = create(&mut r1, new_lead("一号", "13800000002")).await;
        let peer = create(&mut r2, new_lead("二号", "13800000003")).await;
        let south = create(&mut r3, new_lead("三号", "13800000004")).await;

        fetch(&mut r1, &pool.name).await;
        fetch(&mut r1, &mine.name).await;
        assert_code(get(&mut r1, &peer.name).await, Code::NotFound);
        assert_code(get(&mut r1, &south.name).await, Code::NotFound);
        assert_eq!(sorted(listed(&mut r1, "").await), set(&["公海", "一号"]));
        // Nor may it work another rep's lead.
        assert_code(follow_up(&mut r1, &peer.name, None).await, Code::NotFound);
        assert_code(
            behave(&mut r1, &peer.name, pb::BehaviorKind::Visit).await,
            Code::NotFound,
        );
        assert_code(
            set_state(&mut r1, &peer.name, pb::LeadState::Contacting, "").await,
            Code::NotFound,
        );

        let mut north = manager(s, "mgr-n", "north");
        fetch(&mut north, &peer.name).await;
        assert_code(get(&mut north, &south.name).await, Code::NotFound);
        assert_eq!(
            sorted(listed(&mut north, "").await),
            set(&["公海", "一号", "二号"])
        );
        assert_code(delete(&mut north, &south.name, "").await, Code::NotFound);
        let mut south_mgr = manager(s, "mgr-s", "south");
        assert_eq!(
            sorted(listed(&mut south_mgr, "").await),
            set(&["公海", "三号"])
        );
        // A manager without a team claim sees only the public pool (and its own).
        let mut teamless = role(s, "mgr-x", Role::Manager);
        assert_eq!(listed(&mut teamless, "").await, ["公海"]);

        let everyone = set(&["公海", "一号", "二号", "三号"]);
        assert_eq!(sorted(listed(&mut admin(s), "").await), everyone);
        let mut marketer = role(s, "mkt-1", Role::Marketer);
        assert_eq!(sorted(listed(&mut marketer, "").await), everyone);
    })
    .await;
}

#[tokio::test]
async fn list_filters_by_state_owner_name_and_score() {
    each_backend(&services(), async |s| {
        add_team(s, "north").await;
        add_rep(s, "rep-1", "north", 0).await;
        let mut c = admin(s);
        create(&mut c, new_lead("张伟", "13800000001")).await; // score 5
        let rich = pb::Lead {
            email: "li@example.com".into(),
            region: "深圳".into(),
            ..new_lead("李伟", "13800000002")
        };
        create(&mut c, rich).await; // score 15
        let called = create(&mut c, new_lead("王芳", "13800000003")).await;
        follow_up(&mut c, &called.name, None)
            .await
            .expect("follow up"); // CONTACTING, 10
        create(
            &mut rep(s, "rep-1", "north"),
            new_lead("赵伟", "13800000004"),
        )
        .await;

        assert_eq!(
            sorted(listed(&mut c, r#"state = "NEW""#).await),
            set(&["张伟", "李伟", "赵伟"])
        );
        assert_eq!(listed(&mut c, r#"state = "CONTACTING""#).await, ["王芳"]);
        assert_eq!(
            sorted(listed(&mut c, r#"owner_id = """#).await),
            set(&["张伟", "李伟", "王芳"])
        );
        assert_eq!(listed(&mut c, r#"owner_id = "rep-1""#).await, ["赵伟"]);
        assert_eq!(
            sorted(listed(&mut c, r#"display_name:"伟""#).await),
            set(&["张伟", "李伟", "赵伟"])
        );
        assert_eq!(
            sorted(listed(&mut c, "score >= 10").await),
            set(&["李伟", "王芳"])
        );
        assert_eq!(
            listed(&mut c, r#"display_name:"伟" AND score >= 10"#).await,
            ["李伟"]
        );
        assert_eq!(
            sorted(listed(&mut c, r#"state = "NEW" AND owner_id = """#).await),
            set(&["张伟", "李伟"])
        );
        assert_eq!(
            listed(&mut c, r#"email = "li@example.com""#).await,
            ["李伟"]
        );
        assert_eq!(
            listed(&mut c, r#"phone = "+8613800000003""#).await,
            ["王芳"]
        );
        assert_eq!(listed(&mut c, r#"region = "深圳""#).await, ["李伟"]);
        assert_eq!(listed(&mut c, "recall = true").await.len(), 4);
        assert!(listed(&mut c, "call_flag = true").await.is_empty());
        assert!(listed(&mut c, r#"display_name:"不存在""#).await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn list_orders_and_pages_through_every_lead_once() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        // Created in this order; each has another score.
        let specs = [
            ("c-lead", 0),
            ("a-lead", 1),
            ("e-lead", 2),
            ("b-lead", 3),
            ("d-lead", 4),
        ];
        for (i, (name, inquiries)) in specs.iter().enumerate() {
            let lead = create(&mut c, new_lead(name, &format!("1380000000{i}"))).await;
            for _ in 0..*inquiries {
                behave(&mut c, &lead.name, pb::BehaviorKind::Inquiry)
                    .await
                    .expect("behaviour");
            }
        }
        assert_eq!(
            listed(&mut c, "").await,
            ["d-lead", "b-lead", "e-lead", "a-lead", "c-lead"],
            "newest first by default"
        );
        let ordered = |order: &'static str| list_req("", order, 0, "");
        let page = list(&mut c, ordered("display_name")).await.expect("list");
        assert_eq!(
            display_names(&page.leads),
            ["a-lead", "b-lead", "c-lead", "d-lead", "e-lead"]
        );
        let page = list(&mut c, ordered("display_name desc"))
            .await
            .expect("list");
        assert_eq!(
            display_names(&page.leads),
            ["e-lead", "d-lead", "c-lead", "b-lead", "a-lead"]
        );
        let page = list(&mut c, ordered("score desc")).await.expect("list");
        assert_eq!(
            display_names(&page.leads),
            ["d-lead", "b-lead", "e-lead", "a-lead", "c-lead"]
        );
        let page = list(&mut c, ordered("create_time")).await.expect("list");
        assert_eq!(
            display_names(&page.leads),
            ["c-lead", "a-lead", "e-lead", "b-lead", "d-lead"]
        );

        // Pages of two, in display_name order, with a filter that keeps all but one.
        let filter = "score >= 15";
        let mut seen = Vec::new();
        let mut token = String::new();
        let mut pages = 0;
        loop {
            let page = list(&mut c, list_req(filter, "display_name", 2, &token))
                .await
                .expect("page");
            pages += 1;
            assert!(page.leads.len() <= 2);
            seen.extend(display_names(&page.leads));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        assert_eq!(pages, 2);
        assert_eq!(seen, ["a-lead", "b-lead", "d-lead", "e-lead"]);

        // A token belongs to its filter, order and caller's visibility.
        let first = list(&mut c, list_req(filter, "display_name", 2, ""))
            .await
            .expect("first page");
        let token = first.next_page_token;
        for (f, order) in [("score >= 0", "display_name"), (filter, "score")] {
            let status = assert_code(
                list(&mut c, list_req(f, order, 2, &token)).await,
                Code::InvalidArgument,
            );
            assert_eq!(bad_fields(&status), ["page_token"]);
        }
        let mut r = rep(s, "rep-1", "north");
        let status = assert_code(
            list(&mut r, list_req(filter, "display_name", 2, &token)).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["page_token"]);

        let status = assert_code(
            list(&mut c, list_req("", "", -1, "")).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["page_size"]);
        let status = assert_code(
            list(&mut c, list_req("owner = 1", "phone", -5, "garbage")).await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&status),
            ["page_size", "order_by", "filter", "page_token"]
        );
        let status = assert_code(
            list(&mut c, list_req(r#"state = "LOST""#, "", 0, "")).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["filter"]);
        // Big pages are capped, not refused.
        let page = list(&mut c, list_req("", "", 5000, ""))
            .await
            .expect("list");
        assert_eq!(page.leads.len(), 5);
    })
    .await;
}

#[tokio::test]
async fn update_changes_only_the_masked_fields() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let created = create(&mut c, new_lead("张伟", "13812345678")).await;
        let changed = update(
            &mut c,
            pb::Lead {
                name: created.name.clone(),
                display_name: " 张伟伟 ".into(),
                email: "ZW@Example.com".into(),
                needs: Some(pb::Needs {
                    product_lines: vec!["Sofa".into()],
                    budget: money("CNY", 500_000),
                    ..Default::default()
                }),
                region: "深圳".into(),
                // Not in the mask: ignored, even when they would be bad.
                phone: "999".into(),
                state: pb::LeadState::Qualified.into(),
                pool: "nowhere".into(),
                etag: created.etag.clone(),
                ..Default::default()
            },
            &["display_name", "email", "needs", "region"],
        )
        .await
        .expect("update");
        assert_eq!(changed.display_name, "张伟伟");
        assert_eq!(changed.email, "zw@example.com");
        assert_eq!(changed.region, "深圳");
        let needs = changed.needs.clone().expect("needs");
        assert_eq!(needs.product_lines, ["sofa"]);
        assert_eq!(needs.budget, money("CNY", 500_000));
        assert_eq!(changed.phone, "+8613812345678");
        assert_eq!(changed.state, i32::from(pb::LeadState::New));
        assert_eq!(changed.pool, "");
        assert_eq!(
            changed.score, 25,
            "rescored: phone, email, region, products, budget"
        );
        assert_ne!(changed.etag, created.etag);
        assert!(micros(&changed.update_time) > micros(&created.update_time));
        assert_eq!(changed.create_time, created.create_time);
        assert_eq!(fetch(&mut c, &created.name).await, changed);

        // Changing nothing returns the lead as it is.
        let same = update(
            &mut c,
            pb::Lead {
                name: created.name.clone(),
                region: "深圳".into(),
                ..Default::default()
            },
            &["region"],
        )
        .await
        .expect("no-op update");
        assert_eq!(same, changed);

        // Clearing a masked field clears it.
        let cleared = update(
            &mut c,
            pb::Lead {
                name: created.name.clone(),
                ..Default::default()
            },
            &["email", "region"],
        )
        .await
        .expect("clear email and region");
        assert_eq!((cleared.email.as_str(), cleared.region.as_str()), ("", ""));
        assert_eq!(cleared.phone, "+8613812345678");
        assert_eq!(cleared.display_name, "张伟伟");
        assert_eq!(cleared.score, 15);

        // "*" replaces every updatable field.
        let star = update(
            &mut c,
            pb::Lead {
                name: created.name.clone(),
                display_name: "Wei".into(),
                email: "wei@example.com".into(),
                state: pb::LeadState::Contacting.into(),
                pool: "stores/s1".into(),
                language: "en".into(),
                ..Default::default()
            },
            &["*"],
        )
        .await
        .expect("update *");
        assert_eq!(star.display_name, "Wei");
        assert_eq!(
            (star.phone.as_str(), star.email.as_str()),
            ("", "wei@example.com")
        );
        assert_eq!(star.needs.clone().unwrap_or_default(), pb::Needs::default());
        assert_eq!(
            (star.pool.as_str(), star.language.as_str()),
            ("stores/s1", "en")
        );
        assert_eq!(star.state, i32::from(pb::LeadState::Contacting));
        assert_eq!(star.source, i32::from(pb::LeadSource::Form), "immutable");
    })
    .await;
}

#[tokio::test]
async fn update_names_every_bad_field_at_once() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let created = create(&mut c, new_lead("张伟", "13812345678")).await;
        let status = assert_code(
            update(
                &mut c,
                pb::Lead {
                    name: "leads/nope".into(),
                    display_name: String::new(),
                    email: "bad".into(),
                    needs: Some(pb::Needs {
                        budget: money("yuan", 1),
                        ..Default::default()
                    }),
                    unqualified_reason: "r".repeat(501),
                    state: 0,
                    ..Default::default()
                },
                &[
                    "display_name",
                    "source",
                    "score",
                    "bogus",
                    "email",
                    "needs",
                    "state",
                    "unqualified_reason",
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
                "lead.name",
                "lead.state",
                "lead.display_name",
                "lead.email",
                "lead.needs.budget.currency_code",
                "lead.unqualified_reason",
            ]
        );

        for (paths, fields) in [
            (&[][..], &["update_mask"][..]),
            (&["name"][..], &["update_mask"][..]),
            (&["attribution"][..], &["update_mask"][..]),
            (
                &["etag", "owner_id"][..],
                &["update_mask", "update_mask"][..],
            ),
        ] {
            let l = pb::Lead {
                name: created.name.clone(),
                ..Default::default()
            };
            let status = assert_code(update(&mut c, l, paths).await, Code::InvalidArgument);
            assert_eq!(bad_fields(&status), fields, "{paths:?}");
        }

        let status = assert_code(
            c.leads
                .update_lead(pb::UpdateLeadRequest {
                    lead: None,
                    update_mask: mask(&["bogus"]),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["update_mask", "lead"]);

        // A lead needs a phone or an email after the update too.
        let status = assert_code(
            update(
                &mut c,
                pb::Lead {
                    name: created.name.clone(),
                    ..Default::default()
                },
                &["phone", "email"],
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["lead.phone"]);
        let status = assert_code(
            update(
                &mut c,
                pb::Lead {
                    name: created.name.clone(),
                    ..Default::default()
                },
                &["phone"],
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["lead.phone"]);

        assert_eq!(fetch(&mut c, &created.name).await, created);
    })
    .await;
}

#[tokio::test]
async fn update_moves_the_state_forward_only() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let created = create(&mut c, new_lead("张伟", "13812345678")).await;
        let name = created.name.clone();
        let contacting = set_state(&mut c, &name, pb::LeadState::Contacting, "")
            .await
            .expect("to CONTACTING");
        assert_eq!(contacting.state, i32::from(pb::LeadState::Contacting));
        assert!(micros(&contacting.state_change_time) > micros(&created.state_change_time));

        let status = assert_code(
            set_state(&mut c, &name, pb::LeadState::New, "").await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&status), "LEAD_STATE");
        let status = assert_code(
            set_state(&mut c, &name, pb::LeadState::Converted, "").await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&status), "LEAD_STATE");

        let qualified = set_state(&mut c, &name, pb::LeadState::Qualified, "")
            .await
            .expect("to QUALIFIED");
        assert_eq!(qualified.state, i32::from(pb::LeadState::Qualified));

        // UNQUALIFIED needs a reason.
        let status = assert_code(
            set_state(&mut c, &name, pb::LeadState::Unqualified, "").await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["lead.unqualified_reason"]);
        let unqualified = set_state(&mut c, &name, pb::LeadState::Unqualified, " 预算不足 ")
            .await
            .expect("to UNQUALIFIED");
        assert_eq!(unqualified.state, i32::from(pb::LeadState::Unqualified));
        assert_eq!(unqualified.unqualified_reason, "预算不足");
        assert!(!unqualified.recall, "closed leads are not recalled");
        assert!(micros(&unqualified.state_change_time) > micros(&qualified.state_change_time));
        assert_eq!(listed(&mut c, r#"state = "UNQUALIFIED""#).await, ["张伟"]);

        // Asking for the state the lead is in changes nothing.
        let again = set_state(&mut c, &name, pb::LeadState::Unqualified, "预算不足")
            .await
            .expect("same state");
        assert_eq!(again, unqualified);
        // It can be requalified, never made NEW again.
        let status = assert_code(
            set_state(&mut c, &name, pb::LeadState::New, "").await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&status), "LEAD_STATE");
        let back = set_state(&mut c, &name, pb::LeadState::Qualified, "")
            .await
            .expect("requalify");
        assert_eq!(back.state, i32::from(pb::LeadState::Qualified));
    })
    .await;
}

#[tokio::test]
async fn update_refuses_a_stale_etag_and_deleted_leads() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let created = create(&mut c, new_lead("张伟", "13812345678")).await;
        let with_etag = |etag: &str| pb::Lead {
            name: created.name.clone(),
            region: "北京".into(),
            etag: etag.into(),
            ..Default::default()
        };
        let updated = update(&mut c, with_etag(&created.etag), &["region"])
            .await
            .expect("update with the current etag");
        let status = assert_code(
            update(&mut c, with_etag(&created.etag), &["region"]).await,
            Code::Aborted,
        );
        assert_eq!(reason(&status), "ETAG_MISMATCH");
        assert_code(
            update(&mut c, with_etag("garbage"), &["region"]).await,
            Code::Aborted,
        );
        assert_eq!(fetch(&mut c, &created.name).await, updated);

        delete(&mut c, &created.name, "").await.expect("delete");
        let status = assert_code(
            update(&mut c, with_etag(""), &["region"]).await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&status), "LEAD_DELETED");
    })
    .await;
}

#[tokio::test]
async fn delete_hides_the_lead_and_undelete_restores_it() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let kept = create(&mut c, new_lead("李娜", "13900001111")).await;
        let created = create(&mut c, new_lead("张伟", "13812345678")).await;
        let status = assert_code(
            delete(&mut c, &created.name, &kept.etag).await,
            Code::Aborted,
        );
        assert_eq!(reason(&status), "ETAG_MISMATCH");

        let deleted = delete(&mut c, &created.name, &created.etag)
            .await
            .expect("delete");
        assert!(deleted.delete_time.is_some());
        assert_ne!(deleted.etag, created.etag);
        // Still readable by name, gone from lists unless asked for.
        assert_eq!(fetch(&mut c, &created.name).await, deleted);
        assert_eq!(listed(&mut c, "").await, ["李娜"]);
        let all = list(
            &mut c,
            pb::ListLeadsRequest {
                show_deleted: true,
                ..list_req("", "display_name", 0, "")
            },
        )
        .await
        .expect("list deleted");
        assert_eq!(sorted(display_names(&all.leads)), set(&["张伟", "李娜"]));

        let status = assert_code(
            delete(&mut c, &created.name, "").await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&status), "LEAD_DELETED");
        assert_code(
            follow_up(&mut c, &created.name, None).await,
            Code::FailedPrecondition,
        );
        assert_code(
            behave(&mut c, &created.name, pb::BehaviorKind::Visit).await,
            Code::FailedPrecondition,
        );

        let restored = undelete(&mut c, &created.name).await.expect("undelete");
        assert!(restored.delete_time.is_none());
        assert_eq!(restored.display_name, "张伟");
        assert_eq!(restored.state, i32::from(pb::LeadState::New));
        assert_ne!(restored.etag, deleted.etag);
        assert_eq!(sorted(listed(&mut c, "").await), set(&["张伟", "李娜"]));
        let status = assert_code(
            undelete(&mut c, &created.name).await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&status), "LEAD_NOT_DELETED");

        for bad in [
            "",
            "leads/x",
            "customers/0190a5b2-7c3e-7d4f-8a1b-2c3d4e5f6a7b",
        ] {
            let status = assert_code(delete(&mut c, bad, "").await, Code::InvalidArgument);
            assert_eq!(bad_fields(&status), ["name"]);
            let status = assert_code(undelete(&mut c, bad).await, Code::InvalidArgument);
            assert_eq!(bad_fields(&status), ["name"]);
        }
        let unknown = "leads/0190a5b2-7c3e-7d4f-8a1b-2c3d4e5f6a7b";
        assert_code(delete(&mut c, unknown, "").await, Code::NotFound);
        assert_code(undelete(&mut c, unknown).await, Code::NotFound);
    })
    .await;
}

#[tokio::test]
async fn deleting_an_owned_lead_frees_the_reps_place_until_it_is_undeleted() {
    each_backend(&services(), async |s| {
        add_team(s, "north").await;
        add_rep(s, "rep-1", "north", 1).await;
        let mut r = rep(s, "rep-1", "north");
        let mut m = manager(s, "mgr-1", "north");
        let first = create(&mut r, new_lead("张伟", "13812345678")).await;
        assert_eq!(open_leads(s, "rep-1").await, 1);

        // Reps do not delete; their manager does.
        assert_code(
            delete(&mut r, &first.name, "").await,
            Code::PermissionDenied,
        );
        delete(&mut m, &first.name, "").await.expect("delete");
        assert_eq!(open_leads(s, "rep-1").await, 0);
        assert_code(undelete(&mut r, &first.name).await, Code::PermissionDenied);
        let back = undelete(&mut m, &first.name).await.expect("undelete");
        assert_eq!(back.owner_id, "rep-1", "back in the private pool");
        assert_eq!(open_leads(s, "rep-1").await, 1);

        // When the rep has filled its place meanwhile, the lead goes to the public pool.
        delete(&mut m, &first.name, "").await.expect("delete again");
        let second = create(&mut r, new_lead("李娜", "13900001111")).await;
        assert_eq!(second.owner_id, "rep-1");
        let pooled = undelete(&mut m, &first.name)
            .await
            .expect("undelete to pool");
        assert_eq!(pooled.owner_id, "");
        assert!(pooled.assign_time.is_none());
        assert_eq!(open_leads(s, "rep-1").await, 1);
        assert_eq!(
            sorted(listed(&mut admin(s), r#"owner_id = """#).await),
            set(&["张伟"])
        );
    })
    .await;
}

#[tokio::test]
async fn a_follow_up_starts_contacting_and_is_remembered() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let created = create(&mut c, new_lead("张伟", "13812345678")).await;
        let at = from_now(-3600);
        let first = follow_up(&mut c, &created.name, Some(at))
            .await
            .expect("follow up");
        assert_eq!(first.state, i32::from(pb::LeadState::Contacting));
        assert_eq!(first.last_follow_up_time, Some(at));
        assert_eq!(first.state_change_time, Some(at));
        assert_eq!(first.score, created.score + 5);
        assert_ne!(first.etag, created.etag);
        assert_eq!(fetch(&mut c, &created.name).await, first);

        // An older follow-up recorded late does not move the latest back.
        let older = follow_up(&mut c, &created.name, Some(from_now(-7200)))
            .await
            .expect("older follow-up");
        assert_eq!(older.last_follow_up_time, Some(at));
        assert_eq!(older.score, created.score + 10);
        // Without a time it happened now.
        let now = follow_up(&mut c, &created.name, None).await.expect("now");
        assert!(micros(&now.last_follow_up_time) > micros(&Some(at)));
        assert_eq!(now.state, i32::from(pb::LeadState::Contacting));

        // A qualified lead stays qualified.
        set_state(&mut c, &created.name, pb::LeadState::Qualified, "")
            .await
            .expect("qualify");
        let later = follow_up(&mut c, &created.name, None).await.expect("later");
        assert_eq!(later.state, i32::from(pb::LeadState::Qualified));
        // Follow-ups count up to 20 points.
        for _ in 0..3 {
            follow_up(&mut c, &created.name, None).await.expect("more");
        }
        assert_eq!(fetch(&mut c, &created.name).await.score, created.score + 20);

        let status = assert_code(
            c.leads
                .record_follow_up(pb::RecordFollowUpRequest {
                    name: "leads/x".into(),
                    follow_up_time: Some(from_now(86_400)),
                    note: "n".repeat(2001),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["name", "follow_up_time", "note"]);
        let status = assert_code(
            follow_up(
                &mut c,
                &created.name,
                Some(prost_types::Timestamp {
                    seconds: 0,
                    nanos: -1,
                }),
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["follow_up_time"]);
    })
    .await;
}

#[tokio::test]
async fn behaviour_raises_the_score_and_the_settings_grade_it() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let created = create(&mut c, new_lead("张伟", "13812345678")).await;
        assert_eq!(created.score, 5);
        let viewed = behave(&mut c, &created.name, pb::BehaviorKind::PageView)
            .await
            .expect("page view");
        assert_eq!(viewed.score, 7);
        assert_ne!(viewed.etag, created.etag);
        let asked = behave(&mut c, &created.name, pb::BehaviorKind::Inquiry)
            .await
            .expect("inquiry");
        assert_eq!(asked.score, 17);
        let visited = behave(&mut c, &created.name, pb::BehaviorKind::Visit)
            .await
            .expect("visit");
        assert_eq!(visited.score, 32);
        assert_eq!(
            visited.intent,
            i32::from(pb::IntentGrade::Medium),
            "30 ≤ 32 < 70"
        );
        assert!(!visited.recall && !visited.call_flag);
        assert_eq!(fetch(&mut c, &created.name).await, visited);

        // With the tenant's thresholds at 10 and 20, the same scores grade differently.
        c.leads
            .update_lead_settings(pb::UpdateLeadSettingsRequest {
                settings: Some(pb::LeadSettings {
                    low_intent_below: 10,
                    high_intent_from: 20,
                    ..Default::default()
                }),
                update_mask: mask(&["low_intent_below", "high_intent_from"]),
            })
            .await
            .expect("update thresholds");
        let other = create(&mut c, new_lead("李娜", "13900001111")).await;
        assert_eq!(
            (other.score, other.intent),
            (5, i32::from(pb::IntentGrade::Low))
        );
        assert!(other.recall);
        let medium = behave(&mut c, &other.name, pb::BehaviorKind::Download)
            .await
            .expect("download");
        assert_eq!(
            (medium.score, medium.intent),
            (10, i32::from(pb::IntentGrade::Medium))
        );
        assert!(!medium.recall && !medium.call_flag);
        let high = behave(&mut c, &other.name, pb::BehaviorKind::Inquiry)
            .await
            .expect("inquiry");
        assert_eq!(
            (high.score, high.intent),
            (20, i32::from(pb::IntentGrade::High))
        );
        assert!(high.call_flag && !high.recall);
        assert_eq!(
            sorted(listed(&mut c, "call_flag = true").await),
            set(&["李娜"])
        );
        let gone = behave(&mut c, &other.name, pb::BehaviorKind::Unsubscribe)
            .await
            .expect("unsubscribe");
        assert_eq!(
            (gone.score, gone.intent),
            (0, i32::from(pb::IntentGrade::Low))
        );
        assert!(gone.recall && !gone.call_flag);

        let status = assert_code(
            c.leads
                .record_lead_behavior(pb::RecordLeadBehaviorRequest {
                    name: "opportunities/x".into(),
                    kind: 0,
                    occur_time: Some(prost_types::Timestamp {
                        seconds: 0,
                        nanos: 2_000_000_000,
                    }),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["name", "kind", "occur_time"]);
        let status = assert_code(
            c.leads
                .record_lead_behavior(pb::RecordLeadBehaviorRequest {
                    name: created.name.clone(),
                    kind: 42,
                    occur_time: None,
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["kind"]);
    })
    .await;
}

/// The same phone twice (LE1): under the default FLAG policy the second lead is created, lists
/// the first among its possible duplicates and tells its creator who holds it, masked when the
/// creator may not see it; under REJECT it is refused naming the holder the same way; with the
/// disclosure HIDDEN the creator learns only that the phone is held. A phone changed into a held
/// one is judged the same, and concurrent creates with one phone never both miss each other.
#[tokio::test]
async fn a_lead_someone_already_holds_is_flagged_or_refused_naming_the_holder() {
    each_backend(&services(), async |s| {
        add_team(s, "north").await;
        add_team(s, "south").await;
        add_rep(s, "rep-1", "north", 0).await;
        add_rep(s, "rep-2", "south", 0).await;
        let mut r1 = rep(s, "rep-1", "north");
        let mut r2 = rep(s, "rep-2", "south");
        let first = create(&mut r1, new_lead("张伟", "13812345678")).await;
        assert!(first.possible_duplicates.is_empty());

        let second = create(&mut r2, new_lead("Zhang", "+86 138 1234 5678")).await;
        assert_eq!(second.owner_id, "rep-2");
        assert_eq!(
            second.possible_duplicates,
            std::slice::from_ref(&first.name)
        );
        let h = &second.duplicate_holders[0];
        assert_eq!(
            (
                h.name.as_str(),
                h.display_name.as_str(),
                h.owner_id.as_str(),
                h.visible
            ),
            (first.name.as_str(), "张*", "rep-1", false)
        );
        assert_eq!(h.matched_on, ["phone:+8613812345678"]);
        let stored = fetch(&mut admin(s), &second.name).await;
        assert_eq!(
            stored.possible_duplicates,
            std::slice::from_ref(&first.name)
        );
        assert!(
            stored.duplicate_holders.is_empty(),
            "told once, to the creator"
        );
        // The admin sees every holder in full.
        let third = create(&mut admin(s), new_lead("张伟 again", "13812345678")).await;
        assert_eq!(third.duplicate_holders[0].display_name, "张伟");
        assert!(third.duplicate_holders[0].visible);

        // REJECT: refused, naming the oldest holder, masked.
        let mut a = admin(s);
        a.leads
            .update_lead_settings(pb::UpdateLeadSettingsRequest {
                settings: Some(pb::LeadSettings {
                    duplicate_policy: pb::LeadDuplicatePolicy::Reject.into(),
                    ..Default::default()
                }),
                update_mask: mask(&["duplicate_policy"]),
            })
            .await
            .expect("reject duplicates");
        let status = assert_code(
            r2.leads
                .create_lead(create_req(new_lead("x", "13812345678"), ""))
                .await,
            Code::AlreadyExists,
        );
        assert_eq!(reason(&status), "DUPLICATE_LEAD");
        assert!(status.message().contains("张*"), "{}", status.message());
        assert!(status.message().contains("rep-1"), "{}", status.message());
        assert!(!format!("{status:?}").contains("张伟"), "{status:?}");
        // A phone changed into one the first lead holds is refused alike.
        let mine = create(&mut r2, new_lead("李娜", "13900000001")).await;
        let mut changed = pb::Lead {
            name: mine.name.clone(),
            phone: "13812345678".into(),
            ..Default::default()
        };
        let status = assert_code(
            update(&mut r2, changed.clone(), &["phone"]).await,
            Code::AlreadyExists,
        );
        assert_eq!(reason(&status), "DUPLICATE_LEAD");
        changed.phone = "13900000002".into();
        update(&mut r2, changed, &["phone"])
            .await
            .expect("a free phone is fine");

        // Concurrent creates of one new phone: exactly one lead.
        let racing = (0..6).map(|i| {
            let mut c = admin(s);
            async move {
                c.leads
                    .create_lead(create_req(new_lead(&format!("r{i}"), "13700000000"), ""))
                    .await
            }
        });
        let made = futures::future::join_all(racing).await;
        assert_eq!(made.iter().filter(|r| r.is_ok()).count(), 1, "{made:?}");
        for r in made.iter().filter_map(|r| r.as_ref().err()) {
            assert_eq!(r.code(), Code::AlreadyExists, "{r:?}");
        }

        // HIDDEN: only that the phone is held.
        a.leads
            .update_lead_settings(pb::UpdateLeadSettingsRequest {
                settings: Some(pb::LeadSettings {
                    duplicate_policy: pb::LeadDuplicatePolicy::Reject.into(),
                    duplicate_disclosure: pt::DuplicateDisclosure::Hidden.into(),
                    ..Default::default()
                }),
                update_mask: mask(&["duplicate_policy", "duplicate_disclosure"]),
            })
            .await
            .expect("hide holders");
        let status = assert_code(
            r2.leads
                .create_lead(create_req(new_lead("x", "13812345678"), ""))
                .await,
            Code::AlreadyExists,
        );
        let text = format!("{} {:?}", status.message(), status.details());
        for secret in ["张", "rep-1", "north", first.name.as_str()] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    })
    .await;
}
