//! SalesOrgService (LE4) through gRPC on every backend: stores, teams and reps.

use crate::common::*;
use rapport_proto::leads as pb;
use rapport_runtime::auth::Role;
use rapport_testkit::{TestServer, each_backend};
use tonic::Code;
use tonic_types::StatusExt;

fn store(key: &str, display_name: &str) -> pb::Store {
    pb::Store {
        name: format!("stores/{key}"),
        display_name: display_name.into(),
        ..Default::default()
    }
}

fn team(key: &str, store: &str) -> pb::Team {
    pb::Team {
        name: format!("teams/{key}"),
        display_name: format!("Team {key}"),
        store: store.into(),
        ..Default::default()
    }
}

fn rep_input(subject: &str, team: &str) -> pb::Rep {
    pb::Rep {
        name: format!("reps/{subject}"),
        display_name: format!("Rep {subject}"),
        team: team.into(),
        ..Default::default()
    }
}

async fn create_store(c: &mut Clients, s: pb::Store, request_id: &str) -> pb::Store {
    c.org
        .create_store(pb::CreateStoreRequest {
            store: Some(s),
            request_id: request_id.into(),
        })
        .await
        .expect("create store")
        .into_inner()
}

async fn create_team(c: &mut Clients, t: pb::Team) -> pb::Team {
    c.org
        .create_team(pb::CreateTeamRequest {
            team: Some(t),
            request_id: String::new(),
        })
        .await
        .expect("create team")
        .into_inner()
}

async fn create_rep(c: &mut Clients, r: pb::Rep) -> pb::Rep {
    c.org
        .create_rep(pb::CreateRepRequest { rep: Some(r) })
        .await
        .expect("create rep")
        .into_inner()
}

/// A rep to create: id, display name, team, skills, regions, languages, product lines.
type RepSpec = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
);

/// A partner may read nothing of the organization.
fn partner(s: &TestServer) -> Clients {
    as_user(s, "t1", "partner-1", &[Role::Partner])
}

fn existing(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .resource_info()
        .map(|r| r.resource_name.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn stores_are_created_read_listed_and_updated() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let mut input = store("s1", "  深圳南山店 ");
        input.region = " 深圳 ".into();
        let created = create_store(&mut c, input, "").await;
        assert_eq!(created.name, "stores/s1");
        assert_eq!(created.display_name, "深圳南山店");
        assert_eq!(created.region, "深圳");
        assert!(!created.etag.is_empty());
        assert!(created.create_time.is_some());

        // Everyone of the tenant reads the organization.
        let mut r = rep(s, "rep-1", "north");
        let got = r
            .org
            .get_store(pb::GetStoreRequest {
                name: "stores/s1".into(),
            })
            .await
            .expect("get store")
            .into_inner();
        assert_eq!(got, created);

        let updated = c
            .org
            .update_store(pb::UpdateStoreRequest {
                store: Some(pb::Store {
                    name: "stores/s1".into(),
                    display_name: "南山旗舰店".into(),
                    region: "ignored: not in the mask".into(),
                    etag: created.etag.clone(),
                    ..Default::default()
                }),
                update_mask: mask(&["display_name"]),
            })
            .await
            .expect("update store")
            .into_inner();
        assert_eq!(updated.display_name, "南山旗舰店");
        assert_eq!(updated.region, "深圳");
        assert_ne!(updated.etag, created.etag);

        let star = c
            .org
            .update_store(pb::UpdateStoreRequest {
                store: Some(pb::Store {
                    name: "stores/s1".into(),
                    display_name: "南山店".into(),
                    ..Default::default()
                }),
                update_mask: mask(&["*"]),
            })
            .await
            .expect("update store with *")
            .into_inner();
        assert_eq!(
            (star.display_name.as_str(), star.region.as_str()),
            ("南山店", "")
        );

        // A stale etag is refused.
        let status = assert_code(
            c.org
                .update_store(pb::UpdateStoreRequest {
                    store: Some(pb::Store {
                        name: "stores/s1".into(),
                        display_name: "x".into(),
                        etag: created.etag.clone(),
                        ..Default::default()
                    }),
                    update_mask: mask(&["display_name"]),
                })
                .await,
            Code::Aborted,
        );
        assert_eq!(reason(&status), "ETAG_MISMATCH");
    })
    .await;
}

#[tokio::test]
async fn store_requests_name_every_bad_field() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let status = assert_code(
            c.org
                .create_store(pb::CreateStoreRequest {
                    store: Some(pb::Store {
                        name: "stores/Bad Key".into(),
                        display_name: " ".into(),
                        region: "r".repeat(101),
                        ..Default::default()
                    }),
                    request_id: "x".repeat(129),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&status),
            [
                "request_id",
                "store.name",
                "store.display_name",
                "store.region"
            ]
        );
        let status = assert_code(
            c.org.create_store(pb::CreateStoreRequest::default()).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["store"]);

        let status = assert_code(
            c.org
                .get_store(pb::GetStoreRequest {
                    name: "teams/s1".into(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["name"]);

        let status = assert_code(
            c.org
                .list_stores(pb::ListStoresRequest {
                    page_size: -1,
                    page_token: "garbage".into(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["page_size", "page_token"]);

        let status = assert_code(
            c.org
                .update_store(pb::UpdateStoreRequest {
                    store: Some(pb::Store {
                        name: "stores/".into(),
                        display_name: String::new(),
                        ..Default::default()
                    }),
                    update_mask: mask(&["display_name", "name", "etag", "colour"]),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&status),
            [
                "update_mask",
                "update_mask",
                "update_mask",
                "store.name",
                "store.display_name"
            ]
        );
        let status = assert_code(
            c.org
                .update_store(pb::UpdateStoreRequest {
                    store: Some(store("s1", "x")),
                    update_mask: None,
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["update_mask"]);
    })
    .await;
}

#[tokio::test]
async fn a_store_id_is_taken_once_and_a_retried_create_returns_the_first_answer() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let first = create_store(&mut c, store("s1", "One"), "req-1").await;
        let again = create_store(&mut c, store("s1", "One"), "req-1").await;
        assert_eq!(again, first);
        // The same id with another request is refused, not answered with the first store.
        let status = assert_code(
            c.org
                .create_store(pb::CreateStoreRequest {
                    store: Some(store("s1", "One, again")),
                    request_id: "req-1".into(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(reason(&status), "REQUEST_ID_REUSED");
        let status = assert_code(
            c.org
                .create_store(pb::CreateStoreRequest {
                    store: Some(store("s1", "Other")),
                    request_id: "req-2".into(),
                })
                .await,
            Code::AlreadyExists,
        );
        assert_eq!(reason(&status), "STORE_EXISTS");
        assert_eq!(existing(&status), "stores/s1");
        let all = c
            .org
            .list_stores(pb::ListStoresRequest::default())
            .await
            .expect("list")
            .into_inner();
        assert_eq!(all.stores, [first]);
    })
    .await;
}

#[tokio::test]
async fn stores_list_in_pages_by_name() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        for key in ["s3", "s1", "s5", "s2", "s4"] {
            create_store(&mut c, store(key, key), "").await;
        }
        let mut names = Vec::new();
        let mut token = String::new();
        let mut pages = 0;
        loop {
            let page = c
                .org
                .list_stores(pb::ListStoresRequest {
                    page_size: 2,
                    page_token: token.clone(),
                })
                .await
                .expect("page")
                .into_inner();
            pages += 1;
            names.extend(page.stores.iter().map(|s| s.name.clone()));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        assert_eq!(pages, 3);
        assert_eq!(
            names,
            [
                "stores/s1",
                "stores/s2",
                "stores/s3",
                "stores/s4",
                "stores/s5"
            ]
        );
        // Another tenant has none of them.
        let theirs = stranger(s)
            .org
            .list_stores(pb::ListStoresRequest::default())
            .await
            .expect("stranger list")
            .into_inner();
        assert!(theirs.stores.is_empty());
    })
    .await;
}

#[tokio::test]
async fn another_tenants_organization_is_not_found() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let st = create_store(&mut c, store("s1", "One"), "").await;
        let tm = create_team(&mut c, team("north", "stores/s1")).await;
        let rp = create_rep(&mut c, rep_input("rep-1", "teams/north")).await;
        let mut x = stranger(s);
        assert_code(
            x.org
                .get_store(pb::GetStoreRequest {
                    name: st.name.clone(),
                })
                .await,
            Code::NotFound,
        );
        assert_code(
            x.org
                .get_team(pb::GetTeamRequest {
                    name: tm.name.clone(),
                })
                .await,
            Code::NotFound,
        );
        assert_code(
            x.org
                .get_rep(pb::GetRepRequest {
                    name: rp.name.clone(),
                })
                .await,
            Code::NotFound,
        );
        assert_code(
            x.org
                .update_store(pb::UpdateStoreRequest {
                    store: Some(store("s1", "Mine now")),
                    update_mask: mask(&["display_name"]),
                })
                .await,
            Code::NotFound,
        );
        assert_code(
            x.org
                .update_team(pb::UpdateTeamRequest {
                    team: Some(team("north", "")),
                    update_mask: mask(&["display_name"]),
                })
                .await,
            Code::NotFound,
        );
        assert_code(
            x.org
                .update_rep(pb::UpdateRepRequest {
                    rep: Some(rep_input("rep-1", "")),
                    update_mask: mask(&["display_name"]),
                })
                .await,
            Code::NotFound,
        );
        // Their teams and reps cannot point at this tenant's store or team.
        let status = assert_code(
            x.org
                .create_team(pb::CreateTeamRequest {
                    team: Some(team("south", "stores/s1")),
                    request_id: String::new(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["team.store"]);
        let status = assert_code(
            x.org
                .create_rep(pb::CreateRepRequest {
                    rep: Some(rep_input("rep-9", "teams/north")),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["rep.team"]);
        let teams = x
            .org
            .list_teams(pb::ListTeamsRequest::default())
            .await
            .expect("teams")
            .into_inner();
        assert!(teams.teams.is_empty());
        let reps = x
            .org
            .list_reps(pb::ListRepsRequest::default())
            .await
            .expect("reps")
            .into_inner();
        assert!(reps.reps.is_empty());
        // The same ids are free in the other tenant.
        create_store(&mut x, store("s1", "Theirs"), "").await;
    })
    .await;
}

#[tokio::test]
async fn only_managers_change_the_organization_and_partners_read_nothing() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let st = create_store(&mut c, store("s1", "One"), "").await;
        let tm = create_team(&mut c, team("north", "")).await;
        let rp = create_rep(&mut c, rep_input("rep-1", "teams/north")).await;

        let mut r = rep(s, "rep-1", "north");
        assert_code(
            r.org
                .create_store(pb::CreateStoreRequest {
                    store: Some(store("s2", "Two")),
                    request_id: String::new(),
                })
                .await,
            Code::PermissionDenied,
        );
        assert_code(
            r.org
                .update_store(pb::UpdateStoreRequest {
                    store: Some(store("s1", "x")),
                    update_mask: mask(&["display_name"]),
                })
                .await,
            Code::PermissionDenied,
        );
        assert_code(
            r.org
                .create_team(pb::CreateTeamRequest {
                    team: Some(team("south", "")),
                    request_id: String::new(),
                })
                .await,
            Code::PermissionDenied,
        );
        assert_code(
            r.org
                .update_team(pb::UpdateTeamRequest {
                    team: Some(team("north", "")),
                    update_mask: mask(&["display_name"]),
                })
                .await,
            Code::PermissionDenied,
        );
        assert_code(
            r.org
                .create_rep(pb::CreateRepRequest {
                    rep: Some(rep_input("rep-2", "")),
                })
                .await,
            Code::PermissionDenied,
        );
        // Not even its own capacity.
        assert_code(
            r.org
                .update_rep(pb::UpdateRepRequest {
                    rep: Some(pb::Rep {
                        name: rp.name.clone(),
                        capacity: 1000,
                        ..Default::default()
                    }),
                    update_mask: mask(&["capacity"]),
                })
                .await,
            Code::PermissionDenied,
        );
        // Managers do.
        let mut m = manager(s, "mgr-1", "north");
        m.org
            .update_team(pb::UpdateTeamRequest {
                team: Some(pb::Team {
                    name: tm.name.clone(),
                    manager_id: "mgr-1".into(),
                    ..Default::default()
                }),
                update_mask: mask(&["manager_id"]),
            })
            .await
            .expect("a manager updates a team");

        let mut p = partner(s);
        assert_code(
            p.org
                .get_store(pb::GetStoreRequest {
                    name: st.name.clone(),
                })
                .await,
            Code::PermissionDenied,
        );
        assert_code(
            p.org.list_stores(pb::ListStoresRequest::default()).await,
            Code::PermissionDenied,
        );
        assert_code(
            p.org
                .get_team(pb::GetTeamRequest {
                    name: tm.name.clone(),
                })
                .await,
            Code::PermissionDenied,
        );
        assert_code(
            p.org.list_teams(pb::ListTeamsRequest::default()).await,
            Code::PermissionDenied,
        );
        assert_code(
            p.org
                .get_rep(pb::GetRepRequest {
                    name: rp.name.clone(),
                })
                .await,
            Code::PermissionDenied,
        );
        assert_code(
            p.org.list_reps(pb::ListRepsRequest::default()).await,
            Code::PermissionDenied,
        );
    })
    .await;
}

#[tokio::test]
async fn every_rpc_needs_a_valid_credential() {
    each_backend(&services(), async |s| {
        for mut a in [anonymous(s, None), anonymous(s, Some("Bearer not-a-jwt"))] {
            let codes = [
                a.org
                    .create_store(pb::CreateStoreRequest::default())
                    .await
                    .map(drop),
                a.org
                    .get_store(pb::GetStoreRequest::default())
                    .await
                    .map(drop),
                a.org
                    .list_stores(pb::ListStoresRequest::default())
                    .await
                    .map(drop),
                a.org
                    .update_store(pb::UpdateStoreRequest::default())
                    .await
                    .map(drop),
                a.org
                    .create_team(pb::CreateTeamRequest::default())
                    .await
                    .map(drop),
                a.org
                    .get_team(pb::GetTeamRequest::default())
                    .await
                    .map(drop),
                a.org
                    .list_teams(pb::ListTeamsRequest::default())
                    .await
                    .map(drop),
                a.org
                    .update_team(pb::UpdateTeamRequest::default())
                    .await
                    .map(drop),
                a.org
                    .create_rep(pb::CreateRepRequest::default())
                    .await
                    .map(drop),
                a.org.get_rep(pb::GetRepRequest::default()).await.map(drop),
                a.org
                    .list_reps(pb::ListRepsRequest::default())
                    .await
                    .map(drop),
                a.org
                    .update_rep(pb::UpdateRepRequest::default())
                    .await
                    .map(drop),
            ];
            for (i, result) in codes.into_iter().enumerate() {
                let status = result.expect_err("unauthenticated call succeeded");
                assert_eq!(status.code(), Code::Unauthenticated, "rpc #{i}: {status:?}");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn teams_belong_to_existing_stores_and_list_by_store() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        create_store(&mut c, store("s1", "One"), "").await;
        create_store(&mut c, store("s2", "Two"), "").await;
        let mut input = team("north", "stores/s1");
        input.manager_id = " mgr-1 ".into();
        let north = create_team(&mut c, input).await;
        assert_eq!(north.store, "stores/s1");
        assert_eq!(north.manager_id, "mgr-1");
        create_team(&mut c, team("east", "stores/s1")).await;
        create_team(&mut c, team("west", "stores/s2")).await;
        create_team(&mut c, team("roaming", "")).await;

        let got = c
            .org
            .get_team(pb::GetTeamRequest {
                name: "teams/north".into(),
            })
            .await
            .expect("get team")
            .into_inner();
        assert_eq!(got, north);

        let of_s1 = c
            .org
            .list_teams(pb::ListTeamsRequest {
                store: "stores/s1".into(),
                page_size: 1,
                ..Default::default()
            })
            .await
            .expect("teams of s1")
            .into_inner();
        assert_eq!(of_s1.teams.len(), 1);
        assert_eq!(of_s1.teams[0].name, "teams/east");
        let rest = c
            .org
            .list_teams(pb::ListTeamsRequest {
                store: "stores/s1".into(),
                page_size: 1,
                page_token: of_s1.next_page_token.clone(),
            })
            .await
            .expect("next page")
            .into_inner();
        assert_eq!(rest.teams.len(), 1);
        assert_eq!(rest.teams[0].name, "teams/north");
        assert!(rest.next_page_token.is_empty());
        // A token of one store's teams is no good for another's.
        let status = assert_code(
            c.org
                .list_teams(pb::ListTeamsRequest {
                    store: "stores/s2".into(),
                    page_size: 1,
                    page_token: of_s1.next_page_token.clone(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["page_token"]);
        let all = c
            .org
            .list_teams(pb::ListTeamsRequest::default())
            .await
            .expect("all teams")
            .into_inner();
        let names: Vec<_> = all.teams.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["teams/east", "teams/north", "teams/roaming", "teams/west"]
        );

        // Moving a team to another store; a stale etag is refused.
        let moved = c
            .org
            .update_team(pb::UpdateTeamRequest {
                team: Some(pb::Team {
                    name: "teams/north".into(),
                    store: "stores/s2".into(),
                    etag: north.etag.clone(),
                    ..Default::default()
                }),
                update_mask: mask(&["store"]),
            })
            .await
            .expect("move team")
            .into_inner();
        assert_eq!(moved.store, "stores/s2");
        assert_eq!(moved.display_name, north.display_name);
        assert_code(
            c.org
                .update_team(pb::UpdateTeamRequest {
                    team: Some(pb::Team {
                        name: "teams/north".into(),
                        store: String::new(),
                        etag: north.etag.clone(),
                        ..Default::default()
                    }),
                    update_mask: mask(&["store"]),
                })
                .await,
            Code::Aborted,
        );
    })
    .await;
}

#[tokio::test]
async fn team_requests_name_every_bad_field() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let status = assert_code(
            c.org
                .create_team(pb::CreateTeamRequest {
                    team: Some(pb::Team {
                        name: "north".into(),
                        display_name: String::new(),
                        store: "stores/nowhere".into(),
                        manager_id: "a/b".into(),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&status),
            [
                "team.name",
                "team.display_name",
                "team.manager_id",
                "team.store"
            ]
        );
        let status = assert_code(
            c.org
                .create_team(pb::CreateTeamRequest {
                    team: Some(team("north", "shops/x")),
                    request_id: String::new(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["team.store"]);
        let status = assert_code(
            c.org
                .get_team(pb::GetTeamRequest {
                    name: String::new(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["name"]);
        let status = assert_code(
            c.org
                .list_teams(pb::ListTeamsRequest {
                    store: "s1".into(),
                    page_size: -5,
                    page_token: String::new(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["store", "page_size"]);
        create_team(&mut c, team("north", "")).await;
        let status = assert_code(
            c.org
                .update_team(pb::UpdateTeamRequest {
                    team: Some(pb::Team {
                        name: "teams/north".into(),
                        store: "stores/nowhere".into(),
                        ..Default::default()
                    }),
                    update_mask: mask(&["store", "display_name", "create_time"]),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&status),
            ["update_mask", "team.display_name", "team.store"]
        );
    })
    .await;
}

#[tokio::test]
async fn a_team_id_is_taken_once_and_a_retried_create_returns_the_first_answer() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let req = pb::CreateTeamRequest {
            team: Some(team("north", "")),
            request_id: "req-1".into(),
        };
        let first = c
            .org
            .create_team(req.clone())
            .await
            .expect("first")
            .into_inner();
        let again = c.org.create_team(req).await.expect("retry").into_inner();
        assert_eq!(again, first);
        let status = assert_code(
            c.org
                .create_team(pb::CreateTeamRequest {
                    team: Some(team("north", "")),
                    request_id: String::new(),
                })
                .await,
            Code::AlreadyExists,
        );
        assert_eq!(reason(&status), "TEAM_EXISTS");
        assert_eq!(existing(&status), "teams/north");
        let all = c
            .org
            .list_teams(pb::ListTeamsRequest::default())
            .await
            .expect("list")
            .into_inner();
        assert_eq!(all.teams, [first]);
    })
    .await;
}

#[tokio::test]
async fn reps_are_created_with_defaults_and_normalized_attributes() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        create_store(&mut c, store("s1", "One"), "").await;
        create_team(&mut c, team("north", "stores/s1")).await;
        let mut input = rep_input("张伟", "teams/north");
        input.store = "stores/s1".into();
        input.skills = vec![" Villa ".into(), "villa".into(), "Commercial".into()];
        input.regions = vec![" 深圳 ".into(), "深圳".into()];
        input.languages = vec!["zh-CN".into(), "en".into()];
        input.product_lines = vec!["Sofa".into()];
        input.open_leads = 99;
        let created = create_rep(&mut c, input).await;
        assert_eq!(created.name, "reps/张伟");
        assert_eq!(created.team, "teams/north");
        assert_eq!(created.store, "stores/s1");
        assert_eq!(created.skills, ["villa", "commercial"]);
        assert_eq!(created.regions, ["深圳"]);
        assert_eq!(created.languages, ["zh-CN", "en"]);
        assert_eq!(created.product_lines, ["sofa"]);
        assert_eq!(created.capacity, 100);
        assert_eq!(created.daily_claim_limit, 20);
        assert_eq!(created.weight, 1);
        assert_eq!(created.status(), pb::RepStatus::Active);
        assert_eq!(created.open_leads, 0, "open_leads is output only");

        let got = rep(s, "张伟", "north")
            .org
            .get_rep(pb::GetRepRequest {
                name: "reps/张伟".into(),
            })
            .await
            .expect("get rep")
            .into_inner();
        assert_eq!(got, created);

        let status = assert_code(
            c.org
                .create_rep(pb::CreateRepRequest {
                    rep: Some(rep_input("张伟", "")),
                })
                .await,
            Code::AlreadyExists,
        );
        assert_eq!(reason(&status), "REP_EXISTS");
        assert_eq!(existing(&status), "reps/张伟");
    })
    .await;
}

#[tokio::test]
async fn rep_requests_name_every_bad_field() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let status = assert_code(
            c.org
                .create_rep(pb::CreateRepRequest {
                    rep: Some(pb::Rep {
                        name: "reps/a/b".into(),
                        display_name: " ".into(),
                        team: "teams/nowhere".into(),
                        store: "stores/nowhere".into(),
                        skills: vec!["ok".into(), "  ".into()],
                        regions: vec!["r".repeat(101)],
                        languages: (0..51).map(|i| format!("l{i}")).collect(),
                        capacity: 100_001,
                        daily_claim_limit: -1,
                        weight: 101,
                        status: 7,
                        ..Default::default()
                    }),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&status),
            [
                "rep.name",
                "rep.display_name",
                "rep.skills[1]",
                "rep.regions[0]",
                "rep.languages",
                "rep.capacity",
                "rep.daily_claim_limit",
                "rep.weight",
                "rep.status",
                "rep.team",
                "rep.store",
            ]
        );
        let status = assert_code(
            c.org.create_rep(pb::CreateRepRequest { rep: None }).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["rep"]);
        let status = assert_code(
            c.org
                .get_rep(pb::GetRepRequest {
                    name: "rep-1".into(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["name"]);
        let status = assert_code(
            c.org
                .list_reps(pb::ListRepsRequest {
                    filter: "colour = red AND status = busy".into(),
                    page_size: -1,
                    page_token: "nope".into(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&status),
            ["filter", "filter", "page_size", "page_token"]
        );
        create_rep(&mut c, rep_input("rep-1", "")).await;
        let status = assert_code(
            c.org
                .update_rep(pb::UpdateRepRequest {
                    rep: Some(pb::Rep {
                        name: "reps/rep-1".into(),
                        weight: 0,
                        status: 0,
                        team: "teams/nowhere".into(),
                        ..Default::default()
                    }),
                    update_mask: mask(&["weight", "status", "team", "open_leads", "name"]),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&status),
            [
                "update_mask",
                "update_mask",
                "rep.weight",
                "rep.status",
                "rep.team"
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn updating_a_rep_changes_only_the_masked_fields() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        create_team(&mut c, team("north", "")).await;
        create_team(&mut c, team("south", "")).await;
        let mut input = rep_input("rep-1", "teams/north");
        input.skills = vec!["villa".into()];
        input.capacity = 30;
        let created = create_rep(&mut c, input).await;

        let updated = c
            .org
            .update_rep(pb::UpdateRepRequest {
                rep: Some(pb::Rep {
                    name: created.name.clone(),
                    capacity: 0,
                    daily_claim_limit: 0,
                    status: pb::RepStatus::Absent.into(),
                    skills: vec!["Commercial".into()],
                    display_name: "not in the mask".into(),
                    etag: created.etag.clone(),
                    ..Default::default()
                }),
                update_mask: mask(&["capacity", "daily_claim_limit", "status", "skills"]),
            })
            .await
            .expect("update rep")
            .into_inner();
        assert_eq!(updated.capacity, 0);
        assert_eq!(updated.daily_claim_limit, 0);
        assert_eq!(updated.status(), pb::RepStatus::Absent);
        assert_eq!(updated.skills, ["commercial"]);
        assert_eq!(updated.display_name, created.display_name);
        assert_eq!(updated.team, "teams/north");
        assert_eq!(updated.create_time, created.create_time);
        assert_ne!(updated.etag, created.etag);

        let status = assert_code(
            c.org
                .update_rep(pb::UpdateRepRequest {
                    rep: Some(pb::Rep {
                        name: created.name.clone(),
                        weight: 5,
                        etag: created.etag.clone(),
                        ..Default::default()
                    }),
                    update_mask: mask(&["weight"]),
                })
                .await,
            Code::Aborted,
        );
        assert_eq!(reason(&status), "ETAG_MISMATCH");

        // "*" replaces every updatable field; a zero weight is not allowed then.
        let all = c
            .org
            .update_rep(pb::UpdateRepRequest {
                rep: Some(pb::Rep {
                    name: created.name.clone(),
                    display_name: "Rep One".into(),
                    team: "teams/south".into(),
                    weight: 3,
                    capacity: 10,
                    status: pb::RepStatus::Inactive.into(),
                    ..Default::default()
                }),
                update_mask: mask(&["*"]),
            })
            .await
            .expect("update rep with *")
            .into_inner();
        assert_eq!(all.display_name, "Rep One");
        assert_eq!(all.team, "teams/south");
        assert!(all.skills.is_empty());
        assert_eq!((all.weight, all.capacity), (3, 10));
        assert_eq!(all.status(), pb::RepStatus::Inactive);
        assert_eq!(all.open_leads, 0);
    })
    .await;
}

#[tokio::test]
async fn reps_filter_by_organization_status_name_and_attributes() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        create_store(&mut c, store("s1", "One"), "").await;
        create_team(&mut c, team("north", "stores/s1")).await;
        create_team(&mut c, team("south", "")).await;
        let specs: [RepSpec; 4] = [
            (
                "a",
                "王芳",
                "teams/north",
                &["villa"],
                &["深圳"],
                &["zh-CN"],
                &["sofa"],
            ),
            (
                "b",
                "李娜",
                "teams/north",
                &["commercial"],
                &["广州"],
                &["en"],
                &["bed"],
            ),
            (
                "c",
                "Wang Wei",
                "teams/south",
                &["villa", "commercial"],
                &["深圳", "广州"],
                &["zh-CN", "en"],
                &[],
            ),
            ("d", "Zhao", "", &[], &[], &[], &["sofa"]),
        ];
        for (id, name, tm, skills, regions, languages, lines) in specs {
            let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
            let mut r = rep_input(id, tm);
            r.display_name = name.into();
            r.store = if tm == "teams/north" {
                "stores/s1".into()
            } else {
                String::new()
            };
            r.skills = strings(skills);
            r.regions = strings(regions);
            r.languages = strings(languages);
            r.product_lines = strings(lines);
            if id == "b" {
                r.status = pb::RepStatus::Absent.into();
            }
            create_rep(&mut c, r).await;
        }
        let cases: &[(&str, &[&str])] = &[
            ("", &["a", "b", "c", "d"]),
            ("team = \"teams/north\"", &["a", "b"]),
            ("team = south", &["c"]),
            ("team = \"\"", &["d"]),
            ("store = \"stores/s1\"", &["a", "b"]),
            ("status = ACTIVE", &["a", "c", "d"]),
            ("status != active", &["b"]),
            ("display_name:\"wang\"", &["c"]),
            ("display_name:\"王\"", &["a"]),
            ("skills:\"Villa\"", &["a", "c"]),
            ("skills:villa AND skills:commercial", &["c"]),
            ("regions:\"深圳\"", &["a", "c"]),
            ("languages:en", &["b", "c"]),
            ("product_lines:sofa", &["a", "d"]),
            ("-skills:villa", &["b", "d"]),
            ("skills:villa OR product_lines:sofa", &["a", "c", "d"]),
            (
                "team = \"teams/north\" AND status = ACTIVE AND regions:深圳",
                &["a"],
            ),
        ];
        for (filter, expected) in cases {
            let got = c
                .org
                .list_reps(pb::ListRepsRequest {
                    filter: (*filter).into(),
                    ..Default::default()
                })
                .await
                .unwrap_or_else(|e| panic!("{filter}: {e:?}"))
                .into_inner();
            let ids: Vec<String> = got
                .reps
                .iter()
                .map(|r| r.name.replace("reps/", ""))
                .collect();
            assert_eq!(ids, *expected, "filter {filter}");
        }

        // Pages by id, under one filter; a token of another filter is refused.
        let first = c
            .org
            .list_reps(pb::ListRepsRequest {
                filter: "status = ACTIVE".into(),
                page_size: 2,
                ..Default::default()
            })
            .await
            .expect("first page")
            .into_inner();
        assert_eq!(first.reps.len(), 2);
        let second = c
            .org
            .list_reps(pb::ListRepsRequest {
                filter: "status = ACTIVE".into(),
                page_size: 2,
                page_token: first.next_page_token.clone(),
            })
            .await
            .expect("second page")
            .into_inner();
        assert_eq!(second.reps.len(), 1);
        assert_eq!(second.reps[0].name, "reps/d");
        assert!(second.next_page_token.is_empty());
        let status = assert_code(
            c.org
                .list_reps(pb::ListRepsRequest {
                    filter: "status = ABSENT".into(),
                    page_size: 2,
                    page_token: first.next_page_token,
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["page_token"]);
        let status = assert_code(
            c.org
                .list_reps(pb::ListRepsRequest {
                    filter: "team = \"teams/No Such\"".into(),
                    ..Default::default()
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["filter"]);
    })
    .await;
}
