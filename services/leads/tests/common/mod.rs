//! Shared helpers of the leads service tests: clients of each gRPC service for a caller.
#![allow(dead_code)]

use rapport_customers::Customers;
use rapport_leads::Leads;
use rapport_proto::leads::{
    lead_analytics_service_client::LeadAnalyticsServiceClient,
    lead_service_client::LeadServiceClient, pipeline_service_client::PipelineServiceClient,
    sales_org_service_client::SalesOrgServiceClient, task_service_client::TaskServiceClient,
};
use rapport_runtime::{auth::Role, context::ServiceEntry};
#[allow(unused_imports)]
pub use rapport_testkit::status::{assert_code, bad_fields, reason};
use rapport_testkit::{Bearer, TestServer};
use tonic::{codegen::InterceptedService, transport::Channel};

/// The services under test: leads, and customers (ConvertLead calls it).
pub fn services() -> Vec<ServiceEntry> {
    vec![ServiceEntry::of::<Customers>(), ServiceEntry::of::<Leads>()]
}

type Ch = InterceptedService<Channel, Bearer>;

/// Clients of every leads gRPC service, for one caller.
pub struct Clients {
    pub leads: LeadServiceClient<Ch>,
    pub org: SalesOrgServiceClient<Ch>,
    pub pipelines: PipelineServiceClient<Ch>,
    pub tasks: TaskServiceClient<Ch>,
    pub analytics: LeadAnalyticsServiceClient<Ch>,
}

/// Clients authenticated with `bearer`.
pub fn clients_with(s: &TestServer, bearer: Bearer) -> Clients {
    let ch = s.channel.clone();
    Clients {
        leads: LeadServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        org: SalesOrgServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        pipelines: PipelineServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        tasks: TaskServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        analytics: LeadAnalyticsServiceClient::with_interceptor(ch, bearer),
    }
}

/// Clients of `subject` in `tenant` with `roles` (no team).
pub fn as_user(s: &TestServer, tenant: &str, subject: &str, roles: &[Role]) -> Clients {
    clients_with(s, s.auth(tenant, subject, roles))
}

/// The admin of tenant `t1`.
pub fn admin(s: &TestServer) -> Clients {
    as_user(s, "t1", "admin-1", &[Role::Admin])
}

/// A manager of `team` in tenant `t1`.
pub fn manager(s: &TestServer, subject: &str, team: &str) -> Clients {
    clients_with(s, s.auth_in_team("t1", subject, &[Role::Manager], team))
}

/// A rep of `team` in tenant `t1`.
pub fn rep(s: &TestServer, subject: &str, team: &str) -> Clients {
    clients_with(s, s.auth_in_team("t1", subject, &[Role::Rep], team))
}

/// The admin of another tenant.
pub fn stranger(s: &TestServer) -> Clients {
    as_user(s, "t2", "admin-2", &[Role::Admin])
}

/// Clients sending no credential (None) or a garbled one.
pub fn anonymous(s: &TestServer, authorization: Option<&str>) -> Clients {
    clients_with(
        s,
        match authorization {
            None => Bearer::none(),
            Some(v) => Bearer::raw(v),
        },
    )
}

/// Adds the team `teams/{key}` to the sales organization (as the admin).
pub async fn add_team(s: &TestServer, key: &str) {
    admin(s)
        .org
        .create_team(rapport_proto::leads::CreateTeamRequest {
            team: Some(rapport_proto::leads::Team {
                name: format!("teams/{key}"),
                display_name: format!("Team {key}"),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("create team");
}

/// Adds the store `stores/{key}` to the sales organization (as the admin).
pub async fn add_store(s: &TestServer, key: &str) {
    admin(s)
        .org
        .create_store(rapport_proto::leads::CreateStoreRequest {
            store: Some(rapport_proto::leads::Store {
                name: format!("stores/{key}"),
                display_name: format!("Store {key}"),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("create store");
}

/// Adds the rep `reps/{subject}` of `teams/{team}`, at `stores/{store}` when `store` is not
/// empty; `capacity` 0 keeps the default.
pub async fn add_rep_at(s: &TestServer, subject: &str, team: &str, store: &str, capacity: i32) {
    admin(s)
        .org
        .create_rep(rapport_proto::leads::CreateRepRequest {
            rep: Some(rapport_proto::leads::Rep {
                name: format!("reps/{subject}"),
                display_name: format!("Rep {subject}"),
                team: format!("teams/{team}"),
                store: if store.is_empty() {
                    String::new()
                } else {
                    format!("stores/{store}")
                },
                capacity,
                ..Default::default()
            }),
        })
        .await
        .expect("create rep");
}
