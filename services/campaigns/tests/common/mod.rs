//! Shared helpers of the campaigns service tests: clients of its gRPC services (and of its
//! peers) for each caller, campaigns in each state and coupons.

use rapport_campaigns::Campaigns;
use rapport_customers::Customers;
use rapport_orders::Orders;
use rapport_proto::{
    campaigns::{
        self as pb, campaign_service_client::CampaignServiceClient,
        coupon_service_client::CouponServiceClient,
    },
    customers::customer_service_client::CustomerServiceClient,
};
use rapport_runtime::{auth::Role, context::ServiceEntry};
use rapport_testkit::{Bearer, TestServer};
pub use rapport_testkit::{
    status::{assert_code, bad_fields, reason, sorted_bad_fields},
    values::{mask, money, unix_now},
};
use tonic::{codegen::InterceptedService, transport::Channel};

/// The services under test: campaigns, customers (whom campaigns invite and bind coupons to)
/// and orders (which redeem coupons).
pub fn services() -> Vec<ServiceEntry> {
    vec![
        ServiceEntry::of::<Customers>(),
        ServiceEntry::of::<Orders>(),
        ServiceEntry::of::<Campaigns>(),
    ]
}

/// A channel with a caller's credential.
pub type Ch = InterceptedService<Channel, Bearer>;

/// Clients of every campaigns gRPC service and of its peers, for one caller.
pub struct Clients {
    pub campaigns: CampaignServiceClient<Ch>,
    pub coupons: CouponServiceClient<Ch>,
    pub customers: CustomerServiceClient<Ch>,
}

/// Clients authenticated with `bearer`.
pub fn clients_with(s: &TestServer, bearer: Bearer) -> Clients {
    let ch = s.channel.clone();
    Clients {
        campaigns: CampaignServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        coupons: CouponServiceClient::with_interceptor(ch.clone(), bearer.clone()),
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

/// Another manager of tenant `t1`, who approves what `manager` plans.
pub fn other_manager(s: &TestServer) -> Clients {
    clients_with(s, s.manager("mm-2", "marketing"))
}

/// A marketer of tenant `t1`.
pub fn marketer(s: &TestServer) -> Clients {
    clients_with(s, s.auth("t1", "mk-1", &[Role::Marketer]))
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

/// Seconds from now, as a timestamp.
pub fn in_secs(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: i64::try_from(unix_now()).unwrap_or_default() + seconds,
        nanos: 0,
    })
}

/// One day in seconds.
pub const DAY_SECS: i64 = 86_400;

/// A holiday promotion named `name`, tomorrow for a week, with a budget of 10,000.00 CNY.
pub fn plan(name: &str) -> pb::Campaign {
    pb::Campaign {
        display_name: name.into(),
        r#type: pb::CampaignType::HolidayPromotion.into(),
        description: "Lanterns and discounts".into(),
        start_time: in_secs(DAY_SECS),
        end_time: in_secs(8 * DAY_SECS),
        budget: money("CNY", 1_000_000),
        ..Default::default()
    }
}

/// An UpdateCampaign of `fields` of `c`.
pub fn update_request(
    c: pb::Campaign,
    fields: &[&str],
    request_id: &str,
) -> pb::UpdateCampaignRequest {
    pb::UpdateCampaignRequest {
        campaign: Some(c),
        update_mask: mask(fields),
        request_id: request_id.into(),
    }
}

/// Creates `c` as `by` with `request_id`.
pub async fn create(
    by: &mut Clients,
    c: pb::Campaign,
    request_id: &str,
) -> Result<pb::Campaign, tonic::Status> {
    by.campaigns
        .create_campaign(pb::CreateCampaignRequest {
            campaign: Some(c),
            request_id: request_id.into(),
        })
        .await
        .map(|r| r.into_inner())
}

/// Submits `name` as `by`.
pub async fn submit(by: &mut Clients, name: &str) -> Result<pb::Campaign, tonic::Status> {
    by.campaigns
        .submit_campaign(pb::SubmitCampaignRequest {
            name: name.into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

/// Approves `name` as `by`.
pub async fn approve(by: &mut Clients, name: &str) -> Result<pb::Campaign, tonic::Status> {
    by.campaigns
        .approve_campaign(pb::ApproveCampaignRequest {
            name: name.into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

/// Starts `name` as `by`.
pub async fn start(by: &mut Clients, name: &str) -> Result<pb::Campaign, tonic::Status> {
    by.campaigns
        .start_campaign(pb::StartCampaignRequest {
            name: name.into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

/// Cancels `name` as `by` with `reason`.
pub async fn cancel(
    by: &mut Clients,
    name: &str,
    reason: &str,
) -> Result<pb::Campaign, tonic::Status> {
    by.campaigns
        .cancel_campaign(pb::CancelCampaignRequest {
            name: name.into(),
            reason: reason.into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

/// Gets `name` as `by`.
pub async fn get(by: &mut Clients, name: &str) -> Result<pb::Campaign, tonic::Status> {
    by.campaigns
        .get_campaign(pb::GetCampaignRequest { name: name.into() })
        .await
        .map(|r| r.into_inner())
}

/// A request to record a venue cost of `amount` minor units of `currency` against `parent`.
pub fn cost(
    parent: &str,
    amount: i64,
    currency: &str,
    request_id: &str,
) -> pb::RecordCampaignCostRequest {
    pb::RecordCampaignCostRequest {
        parent: parent.into(),
        cost: Some(pb::CampaignCost {
            amount: money(currency, amount),
            category: "venue".into(),
            note: "Hall B, two days".into(),
            ..Default::default()
        }),
        request_id: request_id.into(),
    }
}

/// A campaign planned by the marketer and approved by a manager.
pub async fn approved(s: &TestServer, name: &str) -> pb::Campaign {
    let mut mk = marketer(s);
    let c = create(&mut mk, plan(name), "").await.expect("create");
    submit(&mut mk, &c.name).await.expect("submit");
    approve(&mut manager(s), &c.name).await.expect("approve")
}

/// Issues coupons of `campaign` as the marketer: `count` unbound ones, `amount_off` fen off
/// an order of at least `minimum` fen, expiring in a week.
pub async fn issue(
    s: &TestServer,
    campaign: &str,
    count: i32,
    amount_off: i64,
    minimum: i64,
) -> Vec<pb::Coupon> {
    marketer(s)
        .coupons
        .issue_coupons(pb::IssueCouponsRequest {
            parent: campaign.into(),
            count,
            amount_off: money("CNY", amount_off),
            min_order_amount: (minimum > 0).then(|| money("CNY", minimum)).flatten(),
            expire_time: in_secs(7 * DAY_SECS),
            ..Default::default()
        })
        .await
        .expect("issue coupons")
        .into_inner()
        .coupons
}

/// A new customer's name, created by the admin.
pub async fn customer(s: &TestServer, name: &str, phone: &str) -> String {
    crate::orders_common::customer(s, name, phone, "rep-1", "north").await
}

/// An order name that was never written.
pub fn some_order() -> String {
    format!("orders/{}", uuid::Uuid::now_v7())
}

/// Redeems `code` for `order` of `customer` at `amount` fen as `by`.
pub async fn redeem(
    by: &mut Clients,
    code: &str,
    order: &str,
    customer: &str,
    amount: i64,
) -> Result<pb::Coupon, tonic::Status> {
    by.coupons
        .redeem_coupon(pb::RedeemCouponRequest {
            code: code.into(),
            order: order.into(),
            customer: customer.into(),
            order_amount: money("CNY", amount),
            request_id: String::new(),
        })
        .await
        .map(|r| r.into_inner())
}

/// Gets coupon `name` as the admin.
pub async fn coupon(s: &TestServer, name: &str) -> pb::Coupon {
    admin(s)
        .coupons
        .get_coupon(pb::GetCouponRequest { name: name.into() })
        .await
        .expect("get coupon")
        .into_inner()
}

/// Sends `$request` with `$client.$method` twice at once, as a client retrying under one
/// request id does; the one answer both got.
macro_rules! retried {
    ($client:expr, $method:ident, $request:expr) => {{
        let request = $request;
        let (mut a, mut b) = ($client.clone(), $client.clone());
        let calls = [&mut a, &mut b].map(|client| {
            let request = request.clone();
            async move { $crate::common::answer(client.$method(request).await) }
        });
        rapport_testkit::wait::answered_alike(calls).await.remove(0)
    }};
}
pub(crate) use retried;

/// The message of a gRPC answer.
pub fn answer<T>(r: Result<tonic::Response<T>, tonic::Status>) -> Result<T, tonic::Status> {
    r.map(tonic::Response::into_inner)
}
