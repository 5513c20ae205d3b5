//! Shared helpers of the partners service tests: clients of its gRPC services (and of the
//! customers, leads and orders services) for each caller, and partners in each state.

use rapport_customers::Customers;
use rapport_leads::Leads;
use rapport_orders::Orders;
use rapport_partners::Partners;
use rapport_proto::{
    customers::customer_service_client::CustomerServiceClient,
    leads::lead_service_client::LeadServiceClient,
    orders::{
        self as opb, catalog_service_client::CatalogServiceClient,
        order_service_client::OrderServiceClient,
    },
    partners::{
        self as pb, commission_service_client::CommissionServiceClient,
        key_service_client::KeyServiceClient,
        partner_analytics_service_client::PartnerAnalyticsServiceClient,
        partner_service_client::PartnerServiceClient,
        registration_service_client::RegistrationServiceClient,
        tier_service_client::TierServiceClient,
    },
};
use rapport_runtime::{auth::Role, context::ServiceEntry};
use rapport_testkit::{Bearer, TestServer};
pub use rapport_testkit::{
    status::{assert_code, bad_fields, reason, sorted_bad_fields},
    values::mask,
};
use tonic::{codegen::InterceptedService, transport::Channel};

/// The services under test.
pub fn services() -> Vec<ServiceEntry> {
    vec![
        ServiceEntry::of::<Customers>(),
        ServiceEntry::of::<Leads>(),
        ServiceEntry::of::<Orders>(),
        ServiceEntry::of::<Partners>(),
    ]
}

type Ch = InterceptedService<Channel, Bearer>;

/// Clients of every partners gRPC service and of its peers, for one caller.
pub struct Clients {
    pub partners: PartnerServiceClient<Ch>,
    pub tiers: TierServiceClient<Ch>,
    pub registrations: RegistrationServiceClient<Ch>,
    pub commissions: CommissionServiceClient<Ch>,
    pub analytics: PartnerAnalyticsServiceClient<Ch>,
    pub keys: KeyServiceClient<Ch>,
    pub customers: CustomerServiceClient<Ch>,
    pub leads: LeadServiceClient<Ch>,
    pub catalog: CatalogServiceClient<Ch>,
    pub orders: OrderServiceClient<Ch>,
}

/// Clients authenticated with `bearer`.
pub fn clients_with(s: &TestServer, bearer: Bearer) -> Clients {
    let ch = s.channel.clone();
    Clients {
        partners: PartnerServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        tiers: TierServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        registrations: RegistrationServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        commissions: CommissionServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        analytics: PartnerAnalyticsServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        keys: KeyServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        customers: CustomerServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        leads: LeadServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        catalog: CatalogServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        orders: OrderServiceClient::with_interceptor(ch, bearer),
    }
}

/// The admin of tenant `t1`.
pub fn admin(s: &TestServer) -> Clients {
    clients_with(s, s.admin())
}

/// A channel manager (a manager) of tenant `t1`.
pub fn manager(s: &TestServer) -> Clients {
    clients_with(s, s.manager("cm-1", "channel"))
}

/// A rep of tenant `t1`.
pub fn rep(s: &TestServer) -> Clients {
    clients_with(s, s.rep("rep-1", "north"))
}

/// The admin of another tenant.
pub fn stranger(s: &TestServer) -> Clients {
    clients_with(s, s.stranger())
}

/// The credential of `partner` ("partners/{id}") in tenant `t1`.
pub fn as_partner(s: &TestServer, partner: &str) -> Clients {
    clients_with(s, s.auth("t1", partner, &[Role::Partner]))
}

/// A new partner of `kind` named `name`, as the admin.
pub async fn create_partner(s: &TestServer, name: &str, kind: pb::PartnerKind) -> pb::Partner {
    admin(s)
        .partners
        .create_partner(pb::CreatePartnerRequest {
            partner: Some(pb::Partner {
                display_name: name.into(),
                kind: kind.into(),
                phone: "021-5555 0000".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("create partner")
        .into_inner()
}

/// Moves `name` to `state` as `c`.
pub async fn set_state(
    c: &mut Clients,
    name: &str,
    state: pb::PartnerState,
    reason: &str,
) -> Result<pb::Partner, tonic::Status> {
    c.partners
        .change_partner_state(pb::ChangePartnerStateRequest {
            name: name.into(),
            state: state.into(),
            reason: reason.into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

/// A partner taken through onboarding to ACTIVE, as the admin.
pub async fn active_partner(s: &TestServer, name: &str) -> pb::Partner {
    let p = create_partner(s, name, pb::PartnerKind::Dealer).await;
    let mut a = admin(s);
    let p = set_state(&mut a, &p.name, pb::PartnerState::Onboarding, "")
        .await
        .expect("onboarding");
    for item in &p.onboarding {
        a.partners
            .complete_onboarding_item(pb::CompleteOnboardingItemRequest {
                name: p.name.clone(),
                key: item.key.clone(),
                etag: String::new(),
            })
            .await
            .expect("tick off");
    }
    set_state(&mut a, &p.name, pb::PartnerState::Active, "")
        .await
        .expect("activate")
}

/// A catalog category named `name`, as the admin; its name.
pub async fn category(s: &TestServer, name: &str) -> String {
    admin(s)
        .catalog
        .create_category(opb::CreateCategoryRequest {
            category: Some(opb::Category {
                display_name: name.into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("create category")
        .into_inner()
        .name
}

/// A registration of a prospect with `phone` after `categories`, for `partner` (empty when
/// the caller is the partner itself).
pub fn registration(partner: &str, phone: &str, categories: &[&str]) -> pb::Registration {
    pb::Registration {
        partner: partner.into(),
        contact_name: "Zhao Lei".into(),
        organization: "Lanting Homes Co., Ltd.".into(),
        phone: phone.into(),
        categories: categories.iter().map(|c| (*c).to_owned()).collect(),
        notes: "Furnishing a 3-room flat".into(),
        region: "Shanghai".into(),
        ..Default::default()
    }
}

/// Registers `r` as `c`.
pub async fn register(
    c: &mut Clients,
    r: pb::Registration,
    request_id: &str,
) -> Result<pb::Registration, tonic::Status> {
    c.registrations
        .create_registration(pb::CreateRegistrationRequest {
            registration: Some(r),
            request_id: request_id.into(),
        })
        .await
        .map(|r| r.into_inner())
}

/// Approves `name` as `c`.
pub async fn approve(
    c: &mut Clients,
    name: &str,
    override_conflicts: bool,
) -> Result<pb::Registration, tonic::Status> {
    c.registrations
        .approve_registration(pb::ApproveRegistrationRequest {
            name: name.into(),
            override_conflicts,
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

/// On the orders service's furniture catalog (made first): a Gold tier paying 800 bps on the
/// living room and 500 elsewhere, a 30-day hold, a 100 bps rebate from 1,000,000 fen a month,
/// and an active Gold dealer; the dealer's name.
pub async fn gold_dealer(s: &TestServer) -> String {
    let mut a = admin(s);
    let living = a
        .catalog
        .list_categories(opb::ListCategoriesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .categories
        .into_iter()
        .find(|c| c.display_name == "Living room")
        .unwrap()
        .name;
    a.tiers
        .create_tier(pb::CreateTierRequest {
            tier: Some(pb::Tier {
                display_name: "Gold".into(),
                rank: 1,
                benefits: Some(pb::TierBenefits {
                    commission_rates: vec![pb::CategoryRate {
                        category: living,
                        bps: 800,
                    }],
                    default_commission_bps: 500,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
    a.partners
        .update_partner_settings(pb::UpdatePartnerSettingsRequest {
            settings: Some(pb::PartnerSettings {
                holding_days: 30,
                rebate_brackets: vec![pb::RebateBracket {
                    min_sales: Some(rapport_proto::types::Money {
                        currency_code: "CNY".into(),
                        minor_units: 1_000_000,
                    }),
                    bps: 100,
                }],
                ..Default::default()
            }),
            update_mask: mask(&["holding_days", "rebate_brackets"]),
        })
        .await
        .unwrap();
    let dealer = active_partner(s, "Lanting Furniture").await;
    let evaluated = a
        .tiers
        .evaluate_partner_tier(pb::EvaluatePartnerTierRequest {
            name: dealer.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!evaluated.tier.is_empty());
    dealer.name
}
