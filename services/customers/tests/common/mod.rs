//! Shared helpers of the customers service tests.
#![allow(dead_code)]

use rapport_customers::Customers;
use rapport_proto::customers::{self as pb, customer_service_client::CustomerServiceClient};
use rapport_runtime::{auth::Role, context::ServiceEntry};
use rapport_testkit::{Bearer, TestServer};
use tonic::{Code, Status, codegen::InterceptedService, transport::Channel};
use tonic_types::StatusExt;

/// The services under test.
pub fn services() -> Vec<ServiceEntry> {
    vec![ServiceEntry::of::<Customers>()]
}

/// A client of the service.
pub type Client = CustomerServiceClient<InterceptedService<Channel, Bearer>>;

/// A client authenticated as `subject` of `tenant` with `roles`.
pub fn client(s: &TestServer, tenant: &str, subject: &str, roles: &[Role]) -> Client {
    CustomerServiceClient::with_interceptor(s.channel.clone(), s.auth(tenant, subject, roles))
}

/// An admin of tenant `t1`.
pub fn admin(s: &TestServer) -> Client {
    client(s, "t1", "admin-1", &[Role::Admin])
}

/// A rep of tenant `t1` in `team`.
pub fn rep(s: &TestServer, subject: &str, team: &str) -> Client {
    CustomerServiceClient::with_interceptor(s.channel.clone(), s.auth_in_team("t1", subject, &[Role::Rep], team))
}

/// An admin of another tenant.
pub fn stranger(s: &TestServer) -> Client {
    client(s, "t2", "admin-2", &[Role::Admin])
}

/// A client sending no credential, or a garbled one.
pub fn anonymous(s: &TestServer, authorization: Option<&str>) -> Client {
    let bearer = match authorization {
        None => Bearer::none(),
        Some(v) => Bearer::raw(v),
    };
    CustomerServiceClient::with_interceptor(s.channel.clone(), bearer)
}

/// A minimal valid person.
pub fn person(name: &str, phone: &str) -> pb::Customer {
    pb::Customer {
        kind: pb::CustomerKind::Person.into(),
        display_name: name.into(),
        phones: vec![pb::Phone { number: phone.into(), ..Default::default() }],
        ..Default::default()
    }
}

/// Creates `c` as the admin and returns it.
pub async fn create(client: &mut Client, c: pb::Customer) -> pb::Customer {
    client
        .create_customer(pb::CreateCustomerRequest { customer: Some(c), request_id: String::new() })
        .await
        .expect("create customer")
        .into_inner()
}

/// Asserts `result` failed with `code`.
pub fn assert_code<T: std::fmt::Debug>(result: Result<T, Status>, code: Code) -> Status {
    let status = result.expect_err("expected an error");
    assert_eq!(status.code(), code, "unexpected status: {status:?}");
    status
}

/// The fields a BadRequest names, in order.
pub fn bad_fields(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

/// The ErrorInfo reason.
pub fn reason(status: &Status) -> String {
    status.get_error_details().error_info().map(|i| i.reason.clone()).unwrap_or_default()
}
