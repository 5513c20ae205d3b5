//! Shared helpers of the leads service tests: clients of each of its gRPC services for each
//! caller of the test kit, and the sales organization, leads and pools to work on. The
//! cross-service tests in `tests/e2e/in_process` use them too.

pub mod pools;

use rapport_leads::Leads;
use rapport_proto::leads::{
    self as pb, lead_analytics_service_client::LeadAnalyticsServiceClient,
    lead_service_client::LeadServiceClient, pipeline_service_client::PipelineServiceClient,
    sales_org_service_client::SalesOrgServiceClient, task_service_client::TaskServiceClient,
};
use rapport_runtime::{auth::Role, context::ServiceEntry};
use rapport_testkit::{Bearer, TestServer};
pub use rapport_testkit::{
    status::{assert_code, bad_fields, reason, sorted_bad_fields},
    values::{date, mask, micros, money, secs, sorted},
    wait::eventually,
};
use tonic::{Code, codegen::InterceptedService, transport::Channel};

/// The service under test: leads alone. What needs the customers service too (ConvertLead, a
/// rep's hand-over) is tested in `tests/e2e`.
pub fn services() -> Vec<ServiceEntry> {
    vec![ServiceEntry::of::<Leads>()]
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
    clients_with(s, s.admin())
}

/// A manager of `team` in tenant `t1`.
pub fn manager(s: &TestServer, subject: &str, team: &str) -> Clients {
    clients_with(s, s.manager(subject, team))
}

/// A rep of `team` in tenant `t1`.
pub fn rep(s: &TestServer, subject: &str, team: &str) -> Clients {
    clients_with(s, s.rep(subject, team))
}

/// The admin of another tenant.
pub fn stranger(s: &TestServer) -> Clients {
    clients_with(s, s.stranger())
}

/// Clients sending no credential (None) or a garbled one.
pub fn anonymous(s: &TestServer, authorization: Option<&str>) -> Clients {
    clients_with(s, Bearer::anonymous(authorization))
}

/// Adds the team `teams/{key}` to the sales organization (as the admin).
pub async fn add_team(s: &TestServer, key: &str) {
    admin(s)
        .org
        .create_team(pb::CreateTeamRequest {
            team: Some(pb::Team {
                name: format!("teams/{key}"),
                display_name: format!("Team {key}"),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("create team");
}

/// Adds the rep `reps/{subject}` of `teams/{team}`, at `stores/{store}` when `store` is not
/// empty; `capacity` 0 keeps the default.
pub async fn add_rep_at(s: &TestServer, subject: &str, team: &str, store: &str, capacity: i32) {
    admin(s)
        .org
        .create_rep(pb::CreateRepRequest {
            rep: Some(pb::Rep {
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

/// Puts rep `subject` into team `team` of tenant t1 (creating the team when needed).
pub async fn org_rep(s: &TestServer, subject: &str, team: &str) {
    let mut c = admin(s);
    let made = c
        .org
        .create_team(pb::CreateTeamRequest {
            team: Some(pb::Team {
                name: format!("teams/{team}"),
                display_name: format!("Team {team}"),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await;
    if let Err(st) = made {
        assert_eq!(st.code(), Code::AlreadyExists, "{st:?}");
    }
    c.org
        .create_rep(pb::CreateRepRequest {
            rep: Some(pb::Rep {
                name: format!("reps/{subject}"),
                display_name: format!("Rep {subject}"),
                team: format!("teams/{team}"),
                ..Default::default()
            }),
        })
        .await
        .expect("create rep");
}

/// A lead as a client writes it: a name, a phone, from a form.
pub fn new_lead(name: &str, phone: &str) -> pb::Lead {
    pb::Lead {
        display_name: name.into(),
        phone: phone.into(),
        source: pb::LeadSource::Form.into(),
        ..Default::default()
    }
}
