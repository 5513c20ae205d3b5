//! Services that call each other, run in this process through the test kit on every backend:
//! ConvertLead creating customers, a departing rep's hand-over moving them, revocations reaching
//! both services, a store's complaint and a return request through the tickets service, a dealer's
//! registration, sale, commission and webhooks through the partners service, and
//! malformed requests to every RPC of every service. Unlike the rest of this
//! suite, these do not start the binary.

mod convert;
mod handover;
mod malformed;
mod orders;
mod partner_story;
mod tickets;

// The leads tests' clients and fixtures, shared rather than written again; not every one is
// used here.
#[allow(dead_code, unused_imports)]
#[path = "../../../services/leads/tests/common/mod.rs"]
mod leads;

// The orders tests' clients and fixtures, shared the same way.
#[allow(dead_code, unused_imports)]
#[path = "../../../services/orders/tests/common/mod.rs"]
mod orders_common;

// The partners tests' clients and fixtures (tiers, active partners, registrations), shared the
// same way.
#[allow(dead_code, unused_imports)]
#[path = "../../../services/partners/tests/common/mod.rs"]
mod partners_common;

// The tickets tests' clients and fixtures (agents, queues, the Shanghai calendar, the survey
// inbox), shared the same way.
#[allow(dead_code, unused_imports)]
#[path = "../../../services/tickets/tests/common/mod.rs"]
mod tickets_common;

use rapport_customers::Customers as CustomersService;
use rapport_leads::Leads;
use rapport_proto::{customers::customer_service_client::CustomerServiceClient, leads as pb};
use rapport_runtime::context::ServiceEntry;
use rapport_testkit::{Bearer, TestServer};
use tonic::{codegen::InterceptedService, transport::Channel};

pub use leads::{
    Clients, add_rep_at, add_team, admin, anonymous, as_user, assert_code, bad_fields,
    clients_with, manager, mask, money, reason, rep, stranger,
};

/// Every service, in one server: each reaches the others at the server's own address.
pub fn services() -> Vec<ServiceEntry> {
    vec![
        ServiceEntry::of::<CustomersService>(),
        ServiceEntry::of::<Leads>(),
        ServiceEntry::of::<rapport_orders::Orders>(),
        ServiceEntry::of::<rapport_tickets::Tickets>(),
        ServiceEntry::of::<rapport_partners::Partners>(),
        ServiceEntry::of::<rapport_campaigns::Campaigns>(),
    ]
}

/// A client of the customers service.
pub type Customers = CustomerServiceClient<InterceptedService<Channel, Bearer>>;

/// A customers client sending `bearer`.
pub fn customers_as(s: &TestServer, bearer: Bearer) -> Customers {
    CustomerServiceClient::with_interceptor(s.channel.clone(), bearer)
}

/// Adds the store `stores/{key}` to the sales organization (as the admin).
pub async fn add_store(s: &TestServer, key: &str) {
    admin(s)
        .org
        .create_store(pb::CreateStoreRequest {
            store: Some(pb::Store {
                name: format!("stores/{key}"),
                display_name: format!("Store {key}"),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("create store");
}
