//! Shared helpers of the customers service tests: the service's client for each caller of the
//! test kit, and customers to work on.

use rapport_customers::Customers;
use rapport_proto::customers::{
    self as pb, customer_service_client::CustomerServiceClient,
    segment_service_client::SegmentServiceClient,
};
use rapport_runtime::{auth::Role, context::ServiceEntry};
use rapport_testkit::{Bearer, TestServer};
pub use rapport_testkit::{
    status::{assert_code, bad_fields, reason, sorted_bad_fields},
    values::{date, mask, micros, money, sorted, unix_now},
    wait::answered_alike,
};
use tonic::{Code, Status, codegen::InterceptedService, transport::Channel};
use tonic_types::StatusExt;

/// The services under test.
pub fn services() -> Vec<ServiceEntry> {
    vec![ServiceEntry::of::<Customers>()]
}

/// A client of the service.
pub type Client = CustomerServiceClient<InterceptedService<Channel, Bearer>>;

/// A client sending `bearer`.
pub fn client_with(s: &TestServer, bearer: Bearer) -> Client {
    CustomerServiceClient::with_interceptor(s.channel.clone(), bearer)
}

/// A client of the segments (CU13).
pub type Segments = SegmentServiceClient<InterceptedService<Channel, Bearer>>;

/// A client of the segments sending `bearer`.
pub fn segments_with(s: &TestServer, bearer: Bearer) -> Segments {
    SegmentServiceClient::with_interceptor(s.channel.clone(), bearer)
}

/// A client authenticated as `subject` of `tenant` with `roles`.
pub fn client(s: &TestServer, tenant: &str, subject: &str, roles: &[Role]) -> Client {
    client_with(s, s.auth(tenant, subject, roles))
}

/// The admin of tenant `t1`.
pub fn admin(s: &TestServer) -> Client {
    client_with(s, s.admin())
}

/// A manager of tenant `t1`, in no team.
pub fn manager(s: &TestServer) -> Client {
    client(s, "t1", "manager-1", &[Role::Manager])
}

/// A rep of tenant `t1` in `team`.
pub fn rep(s: &TestServer, subject: &str, team: &str) -> Client {
    client_with(s, s.rep(subject, team))
}

/// The admin of another tenant.
pub fn stranger(s: &TestServer) -> Client {
    client_with(s, s.stranger())
}

/// A client sending no credential, or a garbled one.
pub fn anonymous(s: &TestServer, authorization: Option<&str>) -> Client {
    client_with(s, Bearer::anonymous(authorization))
}

/// A minimal valid person.
pub fn person(name: &str, phone: &str) -> pb::Customer {
    pb::Customer {
        kind: pb::CustomerKind::Person.into(),
        display_name: name.into(),
        phones: vec![pb::Phone {
            number: phone.into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// A CreateCustomer request for `c`, without a request id.
pub fn create_request(c: pb::Customer) -> pb::CreateCustomerRequest {
    pb::CreateCustomerRequest {
        customer: Some(c),
        request_id: String::new(),
    }
}

/// Creates `c` as `client` and returns it.
pub async fn create(client: &mut Client, c: pb::Customer) -> pb::Customer {
    client
        .create_customer(create_request(c))
        .await
        .expect("create customer")
        .into_inner()
}

/// Sets the tenant's duplicate policy, as `admin`.
pub async fn set_duplicate_policy(admin: &mut Client, policy: pb::DuplicatePolicy) {
    admin
        .update_customer_settings(pb::UpdateCustomerSettingsRequest {
            settings: Some(pb::CustomerSettings {
                duplicate_policy: policy.into(),
                ..Default::default()
            }),
            update_mask: mask(&["duplicate_policy"]),
        })
        .await
        .expect("set the duplicate policy");
}

/// The customer named `name`, as `client` sees it.
pub async fn fetch_customer(client: &mut Client, name: &str) -> pb::Customer {
    client
        .get_customer(pb::GetCustomerRequest { name: name.into() })
        .await
        .unwrap_or_else(|e| panic!("get {name}: {e:?}"))
        .into_inner()
}

/// Every live customer matching `filter` that `client` sees, oldest first, over all pages.
pub async fn list_all_customers(client: &mut Client, filter: &str) -> Vec<pb::Customer> {
    let mut out = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_customers(pb::ListCustomersRequest {
                page_size: 1000,
                page_token,
                filter: filter.into(),
                order_by: "create_time".into(),
                show_deleted: false,
            })
            .await
            .expect("list customers")
            .into_inner();
        out.extend(page.customers);
        if page.next_page_token.is_empty() {
            return out;
        }
        page_token = page.next_page_token;
    }
}

/// The resource an ALREADY_EXISTS status names as the existing one.
pub fn existing_resource(status: &Status) -> String {
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    status
        .get_error_details()
        .error_info()
        .and_then(|i| i.metadata.get("existing").cloned())
        .unwrap_or_default()
}

/// Every customer `req` lists, page after page, and the number of pages it took.
pub async fn list_pages(
    client: &mut Client,
    mut req: pb::ListCustomersRequest,
) -> (Vec<pb::Customer>, usize) {
    let mut out = Vec::new();
    let mut pages = 0;
    loop {
        let page = client
            .list_customers(req.clone())
            .await
            .unwrap_or_else(|e| panic!("list {req:?}: {e:?}"))
            .into_inner();
        pages += 1;
        out.extend(page.customers);
        if page.next_page_token.is_empty() {
            return (out, pages);
        }
        req.page_token = page.next_page_token;
    }
}

/// UpdateCustomerSettings with `settings` and a mask of `paths`, as `client`.
pub async fn update_settings(
    client: &mut Client,
    settings: pb::CustomerSettings,
    paths: &[&str],
) -> Result<pb::CustomerSettings, Status> {
    client
        .update_customer_settings(pb::UpdateCustomerSettingsRequest {
            settings: Some(settings),
            update_mask: mask(paths),
        })
        .await
        .map(tonic::Response::into_inner)
}
