//! Shared helpers of the orders service tests: clients of each of its gRPC services (and of
//! the customers service) for each caller of the test kit, a small furniture catalog and
//! customers to order for.

use rapport_customers::Customers;
use rapport_orders::Orders;
use rapport_proto::{
    customers::{self as cpb, customer_service_client::CustomerServiceClient},
    orders::{
        self as pb, calculator_service_client::CalculatorServiceClient,
        catalog_service_client::CatalogServiceClient,
        delivery_service_client::DeliveryServiceClient, order_service_client::OrderServiceClient,
        return_service_client::ReturnServiceClient,
    },
};
use rapport_runtime::{auth::Role, context::ServiceEntry};
use rapport_testkit::{Bearer, TestServer};
pub use rapport_testkit::{
    status::{assert_code, bad_fields, reason, sorted_bad_fields},
    values::{mask, money},
};
use tonic::{codegen::InterceptedService, transport::Channel};

/// The services under test: orders, and customers, which it asks about customers.
pub fn services() -> Vec<ServiceEntry> {
    vec![
        ServiceEntry::of::<Customers>(),
        ServiceEntry::of::<Orders>(),
    ]
}

type Ch = InterceptedService<Channel, Bearer>;

/// Clients of every orders gRPC service and of customers, for one caller.
pub struct Clients {
    pub catalog: CatalogServiceClient<Ch>,
    pub orders: OrderServiceClient<Ch>,
    pub calculator: CalculatorServiceClient<Ch>,
    pub deliveries: DeliveryServiceClient<Ch>,
    pub returns: ReturnServiceClient<Ch>,
    pub customers: CustomerServiceClient<Ch>,
}

/// Clients authenticated with `bearer`.
pub fn clients_with(s: &TestServer, bearer: Bearer) -> Clients {
    let ch = s.channel.clone();
    Clients {
        catalog: CatalogServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        orders: OrderServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        calculator: CalculatorServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        deliveries: DeliveryServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        returns: ReturnServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        customers: CustomerServiceClient::with_interceptor(ch, bearer),
    }
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

/// `subject` of tenant `t1` with `roles` (no team).
pub fn as_user(s: &TestServer, subject: &str, roles: &[Role]) -> Clients {
    clients_with(s, s.auth("t1", subject, roles))
}

/// Clients sending no credential (None) or a garbled one.
pub fn anonymous(s: &TestServer, authorization: Option<&str>) -> Clients {
    clients_with(s, Bearer::anonymous(authorization))
}

/// Creates a category as `c`; its name.
pub async fn category(c: &mut Clients, display_name: &str, parent: &str) -> String {
    c.catalog
        .create_category(pb::CreateCategoryRequest {
            category: Some(pb::Category {
                display_name: display_name.into(),
                parent: parent.into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("create category")
        .into_inner()
        .name
}

/// A variant with a CNY list price and cost, in fen.
pub fn variant(sku: &str, price: i64, cost: i64) -> pb::Variant {
    pb::Variant {
        sku: sku.into(),
        list_prices: vec![money("CNY", price).expect("money")],
        costs: vec![money("CNY", cost).expect("money")],
        ..Default::default()
    }
}

/// A product of `category` with `variants`.
pub fn product(name: &str, category: &str, variants: Vec<pb::Variant>) -> pb::Product {
    pb::Product {
        display_name: name.into(),
        category: category.into(),
        variants,
        ..Default::default()
    }
}

/// Creates `p` as `c`.
pub async fn create_product(c: &mut Clients, p: pb::Product) -> pb::Product {
    c.catalog
        .create_product(pb::CreateProductRequest {
            product: Some(p),
            request_id: String::new(),
        })
        .await
        .expect("create product")
        .into_inner()
}

/// A furniture catalog as the admin: a sofa (SOFA-3S at 8,999.00 CNY, cost 5,000.00), a
/// dining table (TABLE-6 at 4,500.00, cost 2,000.00) and a lamp (LAMP at 300.00, cost
/// 100.00).
pub async fn furniture(s: &TestServer) {
    let mut a = admin(s);
    let living = category(&mut a, "Living room", "").await;
    let dining = category(&mut a, "Dining room", "").await;
    create_product(
        &mut a,
        product("Sofa", &living, vec![variant("SOFA-3S", 899_900, 500_000)]),
    )
    .await;
    create_product(
        &mut a,
        product(
            "Dining table",
            &dining,
            vec![variant("TABLE-6", 450_000, 200_000)],
        ),
    )
    .await;
    create_product(
        &mut a,
        product("Lamp", &living, vec![variant("LAMP", 30_000, 10_000)]),
    )
    .await;
}

/// A customer owned by `owner` in `team`, created by the admin; its name.
pub async fn customer(s: &TestServer, name: &str, phone: &str, owner: &str, team: &str) -> String {
    admin(s)
        .customers
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
        .name
}

/// A line of `quantity` of `sku`, with a discount in fen.
pub fn line(sku: &str, quantity: i32, discount: i64) -> pb::LineItem {
    pb::LineItem {
        sku: sku.into(),
        quantity,
        discount: if discount == 0 {
            None
        } else {
            money("CNY", discount)
        },
        ..Default::default()
    }
}

/// A CNY order for `customer` with `lines`.
pub fn order(customer: &str, lines: Vec<pb::LineItem>) -> pb::Order {
    pb::Order {
        customer: customer.into(),
        currency_code: "CNY".into(),
        lines,
        ..Default::default()
    }
}

/// Creates `o` as `c` with `request_id`.
pub async fn create_order(
    c: &mut Clients,
    o: pb::Order,
    request_id: &str,
) -> Result<pb::Order, tonic::Status> {
    create_order_redeeming(c, o, "", request_id).await
}

/// Creates `o` as `c` with `request_id`, redeeming `coupon_code` (none when empty).
pub async fn create_order_redeeming(
    c: &mut Clients,
    o: pb::Order,
    coupon_code: &str,
    request_id: &str,
) -> Result<pb::Order, tonic::Status> {
    c.orders
        .create_order(pb::CreateOrderRequest {
            order: Some(o),
            request_id: request_id.into(),
            coupon_code: coupon_code.into(),
        })
        .await
        .map(|r| r.into_inner())
}

/// Cancels order `name` as `c`, saying `reason`.
pub async fn cancel_order(
    c: &mut Clients,
    name: &str,
    reason: &str,
) -> Result<pb::Order, tonic::Status> {
    c.orders
        .cancel_order(pb::CancelOrderRequest {
            name: name.into(),
            reason: reason.into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

/// The first page of the orders `c` sees.
pub async fn list_orders(c: &mut Clients) -> Vec<pb::Order> {
    c.orders
        .list_orders(pb::ListOrdersRequest::default())
        .await
        .expect("list orders")
        .into_inner()
        .orders
}

/// Gets an order as `c`.
pub async fn get_order(c: &mut Clients, name: &str) -> Result<pb::Order, tonic::Status> {
    c.orders
        .get_order(pb::GetOrderRequest { name: name.into() })
        .await
        .map(|r| r.into_inner())
}

/// The minor units of an amount.
pub fn units(m: &Option<rapport_proto::types::Money>) -> i64 {
    m.as_ref().map(|m| m.minor_units).unwrap_or(0)
}

/// A confirmed order of one sofa (`discount` off) and two lamps for a customer of rep-1
/// (team north), on the furniture catalog.
pub async fn confirmed_order(s: &TestServer, discount: i64) -> pb::Order {
    furniture(s).await;
    let wang = customer(s, "Wang Fang", "+8613800000001", "rep-1", "north").await;
    let mut r1 = rep(s, "rep-1", "north");
    let o = create_order(
        &mut r1,
        order(
            &wang,
            vec![line("SOFA-3S", 1, discount), line("LAMP", 2, 0)],
        ),
        "",
    )
    .await
    .expect("create order");
    r1.orders
        .confirm_order(pb::ConfirmOrderRequest {
            name: o.name,
            ..Default::default()
        })
        .await
        .expect("confirm")
        .into_inner()
}

/// Delivers every line of `o` in one appointment as `c`, `now` being the server's time in
/// seconds (the window is the next hour but one).
pub async fn deliver(c: &mut Clients, o: &pb::Order, now: i64) {
    let d = c
        .deliveries
        .schedule_delivery(pb::ScheduleDeliveryRequest {
            parent: o.name.clone(),
            delivery: Some(pb::Delivery {
                lines: o
                    .lines
                    .iter()
                    .map(|l| pb::DeliveryLine {
                        line_id: l.id.clone(),
                        quantity: l.quantity,
                    })
                    .collect(),
                window_start: Some(prost_types::Timestamp {
                    seconds: now + 3600,
                    nanos: 0,
                }),
                window_end: Some(prost_types::Timestamp {
                    seconds: now + 7200,
                    nanos: 0,
                }),
                address: "12 Garden Road".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("schedule")
        .into_inner();
    c.deliveries
        .complete_delivery(pb::CompleteDeliveryRequest {
            name: d.name,
            proof: Some(pb::DeliveryProof {
                signed_by: "Wang Fang".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("deliver");
}
