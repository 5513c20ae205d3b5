//! Shared helpers of the campaigns service tests: clients of its gRPC services (and of its
//! peers) for each caller.

use rapport_campaigns::Campaigns;
use rapport_customers::Customers;
use rapport_proto::{
    campaigns::campaign_service_client::CampaignServiceClient,
    customers::customer_service_client::CustomerServiceClient,
};
use rapport_runtime::context::ServiceEntry;
use rapport_testkit::{Bearer, TestServer};
pub use rapport_testkit::{
    status::{assert_code, bad_fields, reason, sorted_bad_fields},
    values::mask,
};
use tonic::{codegen::InterceptedService, transport::Channel};

/// The services a run that sends needs: the audience comes from customers, the orders it
/// brings from orders.
pub fn sending_services() -> Vec<ServiceEntry> {
    vec![
        ServiceEntry::of::<Customers>(),
        ServiceEntry::of::<rapport_orders::Orders>(),
        ServiceEntry::of::<Campaigns>(),
    ]
}

/// The services under test.
pub fn services() -> Vec<ServiceEntry> {
    vec![
        ServiceEntry::of::<Customers>(),
        ServiceEntry::of::<Campaigns>(),
    ]
}

/// A channel with a caller's credential.
pub type Ch = InterceptedService<Channel, Bearer>;

/// Clients of every campaigns gRPC service and of its peers, for one caller.
pub struct Clients {
    pub campaigns: CampaignServiceClient<Ch>,
    pub customers: CustomerServiceClient<Ch>,
}

/// Clients authenticated with `bearer`.
pub fn clients_with(s: &TestServer, bearer: Bearer) -> Clients {
    let ch = s.channel.clone();
    Clients {
        campaigns: CampaignServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        customers: CustomerServiceClient::with_interceptor(ch, bearer),
    }
}

/// The admin of tenant `t1`.
pub fn admin(s: &TestServer) -> Clients {
    clients_with(s, s.admin())
}

/// A marketing manager (a manager) of tenant `t1`.
pub fn manager(s: &TestServer) -> Clients {
    clients_with(s, s.manager("mm-1", "marketing"))
}

/// A rep of tenant `t1`.
pub fn rep(s: &TestServer) -> Clients {
    clients_with(s, s.rep("rep-1", "north"))
}

/// The admin of another tenant.
pub fn stranger(s: &TestServer) -> Clients {
    clients_with(s, s.stranger())
}

/// Clients of the strategy service for `bearer`.
pub fn strategies_with(
    s: &TestServer,
    bearer: Bearer,
) -> rapport_proto::campaigns::strategy_service_client::StrategyServiceClient<Ch> {
    rapport_proto::campaigns::strategy_service_client::StrategyServiceClient::with_interceptor(
        s.channel.clone(),
        bearer,
    )
}
