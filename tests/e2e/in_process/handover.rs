//! A rep leaves (scenario S1 of the store chain): its manager hands its leads, customers, deals
//! and tasks over to the rep's teammates and deactivates it. Everything moves together, nothing is
//! moved before every permission is checked, and the departed rep's tokens stop working on its
//! next call in every service, on every backend.

use std::time::Duration;

use rapport_proto::{
    access::{self as apb, access_service_client::AccessServiceClient},
    customers as cpb,
};
use rapport_runtime::auth::{Claims, Role};
use rapport_testkit::{Backend, Bearer, TestServer, each_backend, values::unix_now};
use tonic::{Code, Status};

use super::{
    leads::pools::{assign, get, lead, open_leads, rep_in, setup},
    *,
};

/// A token of rep `subject` of `team`, issued at `iat`.
fn rep_token(s: &TestServer, subject: &str, team: &str, iat: u64) -> String {
    s.sign(&Claims {
        sub: subject.into(),
        tenant: "t1".into(),
        roles: vec!["rep".into()],
        team: Some(team.into()),
        exp: unix_now() + 3600,
        iat,
        nbf: None,
        iss: None,
    })
}

async fn add_rep(s: &TestServer, id: &str, team: &str) {
    add_rep_at(s, id, team, "", 10).await;
}

/// A customer of `owner` in `team`, created by the admin.
async fn customer_of(
    s: &TestServer,
    name: &str,
    phone: &str,
    owner: &str,
    team: &str,
) -> cpb::Customer {
    customers_as(s, s.admin())
        .create_customer(cpb::CreateCustomerRequest {
            customer: Some(cpb::Customer {
                kind: cpb::CustomerKind::Person.into(),
                display_name: name.into(),
                phones: vec![cpb::Phone {
                    number: phone.into(),
                    ..Default::default()
                }],
                owner_id: owner.into(),
                team_id: team.into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("create customer")
        .into_inner()
}

/// Lists leads as `c`: a call every signed-in rep may make, to tell whether its token works.
async fn call_as(c: &mut Clients) -> Result<tonic::Response<pb::ListLeadsResponse>, Status> {
    c.leads.list_leads(pb::ListLeadsRequest::default()).await
}

/// Whether `result` is the refusal of a revoked token.
fn revoked<T: std::fmt::Debug>(result: &Result<T, Status>) -> bool {
    matches!(result, Err(s) if s.code() == Code::Unauthenticated && s.message().contains("revoked"))
}

/// Waits until `call` is refused as revoked: at once where the bus is in-process; within moments
/// where the revocation travels through Redis to the other service's consumer.
async fn refused_soon<T: std::fmt::Debug, F, Fut>(s: &TestServer, what: &str, mut call: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Status>>,
{
    let patience = match s.backend {
        Backend::Sqlite => Duration::ZERO,
        Backend::Postgres => Duration::from_secs(2),
    };
    let start = std::time::Instant::now();
    loop {
        let r = call().await;
        if revoked(&r) {
            return;
        }
        assert!(start.elapsed() <= patience, "{what}: still served: {r:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_deactivated_rep_loses_access_on_its_next_call_everywhere() {
    each_backend(&services(), async |s| {
        add_team(s, "north").await;
        add_rep(s, "alice", "north").await;
        add_rep(s, "bob", "north").await;
        let book = customer_of(s, "王芳", "13800000001", "alice", "north").await;
        let token = rep_token(s, "alice", "north", unix_now() - 60);
        let mut alice = clients_with(s, Bearer::new(&token));
        let mut alice_customers = customers_as(s, Bearer::new(&token));
        let get = cpb::GetCustomerRequest {
            name: book.name.clone(),
        };
        alice_customers
            .get_customer(get.clone())
            .await
            .expect("alice reads her customer");
        call_as(&mut alice).await.expect("alice reads leads");

        manager(s, "mgr-north", "north")
            .leads
            .hand_over_rep_leads(pb::HandOverRepLeadsRequest {
                rep: "reps/alice".into(),
                to_reps: vec!["reps/bob".into()],
                deactivate: true,
                request_id: "alice-leaves".into(),
                ..Default::default()
            })
            .await
            .expect("hand over");

        // The service that deactivated her refuses her next call at once.
        let next = call_as(&mut alice).await;
        assert!(revoked(&next), "{next:?}");
        refused_soon(s, "customers", || {
            let mut c = alice_customers.clone();
            let get = get.clone();
            async move { c.get_customer(get).await }
        })
        .await;
        // Even a token issued after the deactivation is refused while she is inactive.
        let fresh = rep_token(s, "alice", "north", unix_now() + 2);
        let r = call_as(&mut clients_with(s, Bearer::new(&fresh))).await;
        assert!(revoked(&r), "{r:?}");

        // Back to work: tokens issued from now on work; the old one stays revoked.
        let mut a = admin(s);
        let current = a
            .org
            .get_rep(pb::GetRepRequest {
                name: "reps/alice".into(),
            })
            .await
            .expect("get rep")
            .into_inner();
        a.org
            .update_rep(pb::UpdateRepRequest {
                rep: Some(pb::Rep {
                    status: pb::RepStatus::Active.into(),
                    ..current
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["status".into()],
                }),
            })
            .await
            .expect("reactivate");
        let later = rep_token(s, "alice", "north", unix_now() + 2);
        call_as(&mut clients_with(s, Bearer::new(&later)))
            .await
            .expect("a token issued after the reactivation works");
        let r = call_as(&mut alice).await;
        assert!(revoked(&r), "{r:?}");
        // Other reps were never touched.
        call_as(&mut rep(s, "bob", "north"))
            .await
            .expect("bob works on");
    })
    .await;
}

#[tokio::test]
async fn an_admin_revokes_a_leaked_token_in_every_service() {
    each_backend(&services(), async |s| {
        let leaked = rep_token(s, "carol", "south", unix_now() - 60);
        let mut thief = customers_as(s, Bearer::new(&leaked));
        let list = cpb::ListCustomersRequest::default();
        thief
            .list_customers(list.clone())
            .await
            .expect("the token works");

        let access =
            |bearer: Bearer| AccessServiceClient::with_interceptor(s.channel.clone(), bearer);
        // Only admins revoke, and a revocation needs a subject.
        let request = apb::RevokeTokensRequest {
            subject: "carol".into(),
            reason: "token leaked".into(),
        };
        let st = assert_code(
            access(s.auth("t1", "mgr", &[Role::Manager]))
                .revoke_tokens(request.clone())
                .await,
            Code::PermissionDenied,
        );
        assert_eq!(reason(&st), "PERMISSION_DENIED");
        let st = assert_code(
            access(s.admin())
                .revoke_tokens(apb::RevokeTokensRequest {
                    subject: " ".into(),
                    reason: "x".repeat(501),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["subject", "reason"]);
        // Another tenant's admin revokes its own carol, not ours.
        access(s.stranger())
            .revoke_tokens(request.clone())
            .await
            .expect("their revocation");
        thief
            .list_customers(list.clone())
            .await
            .expect("ours still works");

        access(s.admin())
            .revoke_tokens(request)
            .await
            .expect("revoke");
        refused_soon(s, "customers", || {
            let mut c = thief.clone();
            let list = list.clone();
            async move { c.list_customers(list).await }
        })
        .await;
        refused_soon(s, "leads", || {
            let mut c = clients_with(s, Bearer::new(&leaked));
            async move { call_as(&mut c).await }
        })
        .await;
        // Signing in again gives a token that works.
        let fresh = rep_token(s, "carol", "south", unix_now() + 2);
        customers_as(s, Bearer::new(&fresh))
            .list_customers(list)
            .await
            .expect("a new token works");
    })
    .await;
}

/// Two stores of a chain: s01 (manager mgr-s01, reps rep-s01-a and rep-s01-b) and s04 (reps
/// rep-s04-a, who holds customers, leads, deals and tasks, and rep-s04-b).
struct Chain {
    customers: Vec<String>,
    leads: Vec<String>,
    /// The deal from the first lead, and one of its own.
    deals: Vec<String>,
    open_tasks: Vec<String>,
    done_task: String,
}

async fn chain(s: &TestServer) -> Chain {
    for team in ["s01", "s04"] {
        add_team(s, team).await;
    }
    for store in ["store-01", "store-04"] {
        add_store(s, store).await;
    }
    add_rep_at(s, "rep-s01-a", "s01", "store-01", 10).await;
    add_rep_at(s, "rep-s01-b", "s01", "store-01", 10).await;
    add_rep_at(s, "rep-s04-a", "s04", "store-04", 10).await;
    add_rep_at(s, "rep-s04-b", "s04", "store-04", 10).await;
    let mut customers = Vec::new();
    for i in 0..3 {
        let mut c = customers_as(s, s.admin());
        let made = c
            .create_customer(cpb::CreateCustomerRequest {
                customer: Some(cpb::Customer {
                    kind: cpb::CustomerKind::Person.into(),
                    display_name: format!("客户{i}"),
                    phones: vec![cpb::Phone {
                        number: format!("1350000000{i}"),
                        ..Default::default()
                    }],
                    owner_id: "rep-s04-a".into(),
                    team_id: "s04".into(),
                    store_id: "store-04".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("create customer")
            .into_inner();
        customers.push(made.name);
    }
    let mut a = admin(s);
    let mut leads = Vec::new();
    for i in 0..2 {
        let lead = a
            .leads
            .create_lead(pb::CreateLeadRequest {
                lead: Some(pb::Lead {
                    display_name: format!("线索{i}"),
                    phone: format!("1340000000{i}"),
                    source: pb::LeadSource::WalkIn.into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("create lead")
            .into_inner();
        a.leads
            .assign_lead(pb::AssignLeadRequest {
                name: lead.name.clone(),
                rep: "reps/rep-s04-a".into(),
                ..Default::default()
            })
            .await
            .expect("assign");
        leads.push(lead.name);
    }
    let mut departing = rep(s, "rep-s04-a", "s04");
    let mut deals = Vec::new();
    for (name, lead) in [("别墅", leads[0].as_str()), ("公寓", "")] {
        let deal = departing
            .pipelines
            .create_opportunity(pb::CreateOpportunityRequest {
                opportunity: Some(pb::Opportunity {
                    display_name: name.into(),
                    pipeline: "pipelines/real-estate".into(),
                    lead: lead.into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("create deal")
            .into_inner();
        deals.push(deal.name);
    }
    let mut tasks = Vec::new();
    for title in ["回访", "量房", "done"] {
        let t = departing
            .tasks
            .create_task(pb::CreateTaskRequest {
                task: Some(pb::Task {
                    kind: pb::TaskKind::Call.into(),
                    title: title.into(),
                    due_time: Some(prost_types::Timestamp {
                        seconds: 1_900_000_000,
                        nanos: 0,
                    }),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("create task")
            .into_inner();
        tasks.push(t.name);
    }
    let done_task = tasks.pop().expect("three tasks");
    departing
        .tasks
        .complete_task(pb::CompleteTaskRequest {
            name: done_task.clone(),
            etag: String::new(),
        })
        .await
        .expect("complete");
    Chain {
        customers,
        leads,
        deals,
        open_tasks: tasks,
        done_task,
    }
}

fn hand_over(rep: &str, to: &[&str], request_id: &str) -> pb::HandOverRepLeadsRequest {
    pb::HandOverRepLeadsRequest {
        rep: format!("reps/{rep}"),
        to_reps: to.iter().map(|r| format!("reps/{r}")).collect(),
        deactivate: true,
        request_id: request_id.into(),
        ..Default::default()
    }
}

/// Owner, team and store of every customer of the chain.
async fn customer_holders(s: &TestServer, names: &[String]) -> Vec<(String, String, String)> {
    let mut c = customers_as(s, s.admin());
    let mut out = Vec::new();
    for name in names {
        let got = c
            .get_customer(cpb::GetCustomerRequest { name: name.clone() })
            .await
            .expect("get customer")
            .into_inner();
        out.push((got.owner_id, got.team_id, got.store_id));
    }
    out
}

/// A manager of another store is refused before anything moves: the departing rep reads as not
/// found, a taker of another team is a bad field, and not one customer, lead, deal or task of
/// the rep changed hands; its tokens still work.
#[tokio::test]
async fn a_refused_hand_over_moves_nothing() {
    each_backend(&services(), async |s| {
        let c = chain(s).await;
        let before = customer_holders(s, &c.customers).await;
        let mut mgr = manager(s, "mgr-s01", "s01");
        let st = assert_code(
            mgr.leads
                .hand_over_rep_leads(hand_over("rep-s04-a", &["rep-s01-a"], "x-1"))
                .await,
            Code::NotFound,
        );
        assert_eq!(reason(&st), "NOT_FOUND");
        let st = assert_code(
            mgr.leads
                .hand_over_rep_leads(hand_over("rep-s01-a", &["rep-s04-b"], "x-2"))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["to_reps[0]"]);
        let st = assert_code(
            mgr.leads
                .hand_over_rep_leads(pb::HandOverRepLeadsRequest {
                    team: "teams/s04".into(),
                    ..hand_over("rep-s01-a", &["rep-s01-b"], "x-3")
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["team"]);

        assert_eq!(customer_holders(s, &c.customers).await, before);
        let mut a = admin(s);
        for lead in &c.leads {
            let got = a
                .leads
                .get_lead(pb::GetLeadRequest { name: lead.clone() })
                .await
                .expect("get lead")
                .into_inner();
            assert_eq!(got.owner_id, "rep-s04-a");
        }
        for deal in &c.deals {
            let got = a
                .pipelines
                .get_opportunity(pb::GetOpportunityRequest { name: deal.clone() })
                .await
                .expect("get deal")
                .into_inner();
            assert_eq!(got.owner_id, "rep-s04-a");
        }
        let st = a
            .org
            .get_rep(pb::GetRepRequest {
                name: "reps/rep-s04-a".into(),
            })
            .await
            .expect("get rep")
            .into_inner();
        assert_eq!(st.status(), pb::RepStatus::Active);
        call_as(&mut rep(s, "rep-s04-a", "s04"))
            .await
            .expect("its tokens still work");
    })
    .await;
}

/// The hand-over S1 asks for: everything rep-s04-a held goes to rep-s01-b, customers with the
/// new owner's team and store (so rep-s01-b's teammates see them and rep-s04-a's old team no
/// longer does), deals and open tasks with their transfers recorded; a retry answers the same
/// and moves nothing twice.
#[tokio::test]
async fn everything_a_leaving_rep_held_follows_its_new_owner() {
    each_backend(&services(), async |s| {
        let c = chain(s).await;
        let mut a = admin(s);
        let out = a
            .leads
            .hand_over_rep_leads(hand_over("rep-s04-a", &["rep-s01-b"], "s04-a-leaves"))
            .await
            .expect("hand over")
            .into_inner();
        assert_eq!(
            (
                out.reassigned_count,
                out.transferred_customer_count,
                out.transferred_opportunity_count,
                out.transferred_task_count
            ),
            (2, 3, 2, 2),
            "{out:?}"
        );
        let again = a
            .leads
            .hand_over_rep_leads(hand_over("rep-s04-a", &["rep-s01-b"], "s04-a-leaves"))
            .await
            .expect("retry")
            .into_inner();
        assert_eq!(again, out);

        for holder in customer_holders(s, &c.customers).await {
            assert_eq!(
                holder,
                ("rep-s01-b".into(), "s01".into(), "store-01".into())
            );
        }
        let teammate = customers_as(s, s.rep("rep-s01-a", "s01"));
        let old_team = customers_as(s, s.rep("rep-s04-b", "s04"));
        for name in &c.customers {
            let get = cpb::GetCustomerRequest { name: name.clone() };
            teammate
                .clone()
                .get_customer(get.clone())
                .await
                .expect("the new team sees it");
            assert_code(old_team.clone().get_customer(get).await, Code::NotFound);
        }

        for deal in &c.deals {
            let got = a
                .pipelines
                .get_opportunity(pb::GetOpportunityRequest { name: deal.clone() })
                .await
                .expect("get deal")
                .into_inner();
            assert_eq!(
                (got.owner_id.as_str(), got.team_id.as_str()),
                ("rep-s01-b", "s01")
            );
            let history = a
                .pipelines
                .list_opportunity_transfers(pb::ListOpportunityTransfersRequest {
                    parent: deal.clone(),
                    ..Default::default()
                })
                .await
                .expect("transfers")
                .into_inner()
                .transfers;
            assert_eq!(history.len(), 1);
            let t = &history[0];
            assert_eq!(
                (
                    t.previous_owner_id.as_str(),
                    t.owner_id.as_str(),
                    t.previous_team_id.as_str(),
                    t.actor.as_str()
                ),
                ("rep-s04-a", "rep-s01-b", "s04", "admin-1")
            );
        }
        let mut new_owner = rep(s, "rep-s01-b", "s01");
        for task in &c.open_tasks {
            let got = new_owner
                .tasks
                .get_task(pb::GetTaskRequest { name: task.clone() })
                .await
                .expect("the new assignee sees the task")
                .into_inner();
            assert_eq!(got.assignee_id, "rep-s01-b");
            let history = a
                .tasks
                .list_task_transfers(pb::ListTaskTransfersRequest {
                    parent: task.clone(),
                    ..Default::default()
                })
                .await
                .expect("transfers")
                .into_inner()
                .transfers;
            assert_eq!(history[0].previous_owner_id, "rep-s04-a");
        }
        let done = a
            .tasks
            .get_task(pb::GetTaskRequest {
                name: c.done_task.clone(),
            })
            .await
            .expect("get done task")
            .into_inner();
        assert_eq!(
            done.assignee_id, "rep-s04-a",
            "done work stays where it was done"
        );
    })
    .await;
}

/// TransferOpportunity and ReassignTask on their own: managers move their team's open deals and
/// tasks to their team's reps; every bad field is named at once; reps, other teams' managers
/// and other tenants are refused; closed deals and done tasks stay; a retry is answered the same.
#[tokio::test]
async fn deals_and_tasks_change_hands_one_at_a_time() {
    each_backend(&services(), async |s| {
        let c = chain(s).await;
        let mut mgr = manager(s, "mgr-s04", "s04");
        let deal = &c.deals[1];
        let transfer = |name: &str, to: &str, request_id: &str| pb::TransferOpportunityRequest {
            name: name.into(),
            new_owner: to.into(),
            reason: "rebalancing".into(),
            request_id: request_id.into(),
            ..Default::default()
        };
        let moved = mgr
            .pipelines
            .transfer_opportunity(transfer(deal, "reps/rep-s04-b", "t-1"))
            .await
            .expect("transfer")
            .into_inner();
        assert_eq!(moved.owner_id, "rep-s04-b");
        let again = mgr
            .pipelines
            .transfer_opportunity(transfer(deal, "reps/rep-s04-b", "t-1"))
            .await
            .expect("retry")
            .into_inner();
        assert_eq!(again, moved);

        let st = assert_code(
            mgr.pipelines
                .transfer_opportunity(pb::TransferOpportunityRequest {
                    name: "deals/1".into(),
                    new_owner: "rep".into(),
                    team: "squads/x".into(),
                    reason: "r".repeat(501),
                    request_id: "x".repeat(129),
                    ..Default::default()
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&st),
            ["request_id", "name", "new_owner", "team", "reason"]
        );
        // A rep of another team is no taker; a manager of another team sees no deal here.
        let st = assert_code(
            mgr.pipelines
                .transfer_opportunity(transfer(deal, "reps/rep-s01-a", ""))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["new_owner"]);
        assert_code(
            manager(s, "mgr-s01", "s01")
                .pipelines
                .transfer_opportunity(transfer(deal, "reps/rep-s01-a", ""))
                .await,
            Code::NotFound,
        );
        assert_code(
            rep(s, "rep-s04-b", "s04")
                .pipelines
                .transfer_opportunity(transfer(deal, "reps/rep-s04-a", ""))
                .await,
            Code::PermissionDenied,
        );
        assert_code(
            stranger(s)
                .pipelines
                .transfer_opportunity(transfer(deal, "reps/rep-s04-a", ""))
                .await,
            Code::InvalidArgument,
        );

        // Its history: bad parents are named, another tenant's reads as not found.
        let st = assert_code(
            mgr.pipelines
                .list_opportunity_transfers(pb::ListOpportunityTransfersRequest {
                    parent: "deals/1".into(),
                    page_size: -1,
                    ..Default::default()
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["parent", "page_size"]);
        assert_code(
            stranger(s)
                .pipelines
                .list_opportunity_transfers(pb::ListOpportunityTransfersRequest {
                    parent: deal.clone(),
                    ..Default::default()
                })
                .await,
            Code::NotFound,
        );

        let task = &c.open_tasks[0];
        let st = assert_code(
            mgr.tasks
                .reassign_task(pb::ReassignTaskRequest {
                    name: "jobs/1".into(),
                    new_assignee: String::new(),
                    reason: "r".repeat(501),
                    ..Default::default()
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["name", "new_assignee", "reason"]);
        let reassign = |name: &str, to: &str| pb::ReassignTaskRequest {
            name: name.into(),
            new_assignee: to.into(),
            ..Default::default()
        };
        let got = mgr
            .tasks
            .reassign_task(reassign(task, "reps/rep-s04-b"))
            .await
            .expect("reassign")
            .into_inner();
        assert_eq!(got.assignee_id, "rep-s04-b");
        let st = assert_code(
            mgr.tasks
                .reassign_task(reassign(&c.done_task, "reps/rep-s04-b"))
                .await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&st), "TASK_COMPLETED");
        let history = mgr
            .tasks
            .list_task_transfers(pb::ListTaskTransfersRequest {
                parent: task.clone(),
                ..Default::default()
            })
            .await
            .expect("transfers")
            .into_inner();
        assert_eq!(history.transfers.len(), 1);
        assert_code(
            stranger(s)
                .tasks
                .list_task_transfers(pb::ListTaskTransfersRequest {
                    parent: task.clone(),
                    ..Default::default()
                })
                .await,
            Code::NotFound,
        );
    })
    .await;
}

#[tokio::test]
async fn hand_over_a_departing_reps_leads() {
    each_backend(&services(), async |s| {
        let mut a = setup(s).await;
        rep_in(&mut a, "dave", "north", 1).await;
        let mut names = Vec::new();
        for i in 0..3 {
            let l = lead(&mut a, &format!("h{i}"), &format!("1380000040{i}")).await;
            a.leads
                .assign_lead(assign(
                    &l.name,
                    "reps/alice",
                    pb::AssignmentStrategy::Unspecified,
                ))
                .await
                .unwrap();
            names.push(l.name);
        }
        let mut customers = customers_as(s, s.admin());
        let mut book = Vec::new();
        for i in 0..2 {
            let c = customers
                .create_customer(cpb::CreateCustomerRequest {
                    customer: Some(cpb::Customer {
                        kind: cpb::CustomerKind::Person.into(),
                        display_name: format!("customer {i}"),
                        phones: vec![cpb::Phone {
                            number: format!("1360000000{i}"),
                            ..Default::default()
                        }],
                        owner_id: "alice".into(),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await
                .unwrap()
                .into_inner();
            book.push(c.name);
        }
        // Dave takes one lead (his capacity), the rest returns to the pool; the customers go
        // to dave.
        let out = a
            .leads
            .hand_over_rep_leads(pb::HandOverRepLeadsRequest {
                rep: "reps/alice".into(),
                to_reps: vec!["reps/dave".into()],
                deactivate: true,
                request_id: "leaving-1".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (
                out.reassigned_count,
                out.returned_count,
                out.transferred_customer_count
            ),
            (1, 2, 2)
        );
        for name in &book {
            let c = customers
                .get_customer(cpb::GetCustomerRequest { name: name.clone() })
                .await
                .unwrap()
                .into_inner();
            assert_eq!(c.owner_id, "dave");
        }
        let owners: Vec<String> = {
            let mut v = Vec::new();
            for n in &names {
                v.push(get(&mut a, n).await.owner_id);
            }
            v
        };
        assert_eq!(owners.iter().filter(|o| *o == "dave").count(), 1);
        assert_eq!(owners.iter().filter(|o| o.is_empty()).count(), 2);
        assert_eq!(open_leads(&mut a, "alice").await, 0);
        let alice = a
            .org
            .get_rep(pb::GetRepRequest {
                name: "reps/alice".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(alice.status(), pb::RepStatus::Inactive);
        // Nothing is lost: every lead is still there with its history.
        for n in &names {
            let h = a
                .leads
                .list_assignments(pb::ListAssignmentsRequest {
                    parent: n.clone(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            assert_eq!(h.assignments[0].kind(), pb::AssignmentKind::Handover);
        }
        let st = assert_code(
            a.leads
                .hand_over_rep_leads(pb::HandOverRepLeadsRequest {
                    rep: "people/x".into(),
                    to_reps: vec!["reps/dave".into(), "bad".into()],
                    ..Default::default()
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["rep", "to_reps[1]"]);
        assert_code(
            stranger(s)
                .leads
                .hand_over_rep_leads(pb::HandOverRepLeadsRequest {
                    rep: "reps/alice".into(),
                    ..Default::default()
                })
                .await,
            Code::NotFound,
        );
    })
    .await;
}
