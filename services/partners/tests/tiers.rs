//! Tiers (PA2) through gRPC on every backend: tiers defined with their bad input named, a
//! partner evaluated on demand from the orders it brought (learned from the orders service's
//! events), the daily evaluation by the sweep, the history of changes with their reasons, and
//! a partner that sees only its own tier.

use crate::{common::*, orders_common as oc};
use rapport_proto::{orders as opb, partners as pb, types::Money};
use rapport_runtime::clock::{DAY, HOUR};
use rapport_testkit::{each_backend, each_backend_at, wait::eventually};
use tonic::Code;

fn cny(minor_units: i64) -> Option<Money> {
    Some(Money {
        currency_code: "CNY".into(),
        minor_units,
    })
}

async fn create_tier(c: &mut Clients, t: pb::Tier) -> Result<pb::Tier, tonic::Status> {
    c.tiers
        .create_tier(pb::CreateTierRequest {
            tier: Some(t),
            request_id: String::new(),
        })
        .await
        .map(|r| r.into_inner())
}

/// Silver (anyone) and Gold (1,000,000 fen of sales); their names.
async fn silver_and_gold(s: &rapport_testkit::TestServer) -> (String, String) {
    let mut a = admin(s);
    let silver = create_tier(
        &mut a,
        pb::Tier {
            display_name: "Silver".into(),
            rank: 1,
            benefits: Some(pb::TierBenefits {
                default_commission_bps: 300,
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let gold = create_tier(
        &mut a,
        pb::Tier {
            display_name: "Gold".into(),
            rank: 2,
            criteria: Some(pb::TierCriteria {
                min_sales: cny(1_000_000),
                ..Default::default()
            }),
            benefits: Some(pb::TierBenefits {
                default_commission_bps: 500,
                lead_weight: 3,
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    (silver.name, gold.name)
}

async fn get_partner(c: &mut Clients, name: &str) -> pb::Partner {
    c.partners
        .get_partner(pb::GetPartnerRequest { name: name.into() })
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tiers_are_defined_with_unique_ranks_and_every_bad_field_named() {
    each_backend(&services(), async |s| {
        let (silver, gold) = silver_and_gold(s).await;
        let mut a = admin(s);
        let taken = assert_code(
            create_tier(
                &mut a,
                pb::Tier {
                    display_name: "Bronze".into(),
                    rank: 1,
                    ..Default::default()
                },
            )
            .await,
            Code::AlreadyExists,
        );
        assert!(taken.message().contains(&silver), "{taken:?}");
        let bad = assert_code(
            create_tier(
                &mut a,
                pb::Tier {
                    display_name: String::new(),
                    rank: 0,
                    criteria: Some(pb::TierCriteria {
                        min_sales: Some(Money {
                            currency_code: "yuan".into(),
                            minor_units: -1,
                        }),
                        min_registrations: -1,
                        min_conversion_percent: 150,
                    }),
                    benefits: Some(pb::TierBenefits {
                        commission_rates: vec![pb::CategoryRate {
                            category: "sofas".into(),
                            bps: 20_000,
                        }],
                        default_commission_bps: -5,
                        lead_weight: 101,
                    }),
                    ..Default::default()
                },
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&bad),
            [
                "tier.benefits.commission_rates[0].bps",
                "tier.benefits.commission_rates[0].category",
                "tier.benefits.default_commission_bps",
                "tier.benefits.lead_weight",
                "tier.criteria.min_conversion_percent",
                "tier.criteria.min_registrations",
                "tier.criteria.min_sales.currency_code",
                "tier.criteria.min_sales.minor_units",
                "tier.display_name",
                "tier.rank",
            ]
        );
        let listed = a
            .tiers
            .list_tiers(pb::ListTiersRequest::default())
            .await
            .unwrap()
            .into_inner();
        let names: Vec<&str> = listed.tiers.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [gold.as_str(), silver.as_str()],
            "highest rank first"
        );
        // Only admins define tiers; another tenant sees none of them.
        assert_code(
            create_tier(
                &mut manager(s),
                pb::Tier {
                    display_name: "Bronze".into(),
                    rank: 5,
                    ..Default::default()
                },
            )
            .await,
            Code::PermissionDenied,
        );
        assert_code(
            stranger(s)
                .tiers
                .get_tier(pb::GetTierRequest { name: gold.clone() })
                .await,
            Code::NotFound,
        );
        // A rank moved onto a taken one is refused; a stale etag too.
        let g = listed.tiers[0].clone();
        assert_code(
            a.tiers
                .update_tier(pb::UpdateTierRequest {
                    tier: Some(pb::Tier {
                        name: gold.clone(),
                        rank: 1,
                        ..Default::default()
                    }),
                    update_mask: mask(&["rank"]),
                })
                .await,
            Code::AlreadyExists,
        );
        a.tiers
            .update_tier(pb::UpdateTierRequest {
                tier: Some(pb::Tier {
                    name: gold.clone(),
                    rank: 10,
                    etag: g.etag.clone(),
                    ..Default::default()
                }),
                update_mask: mask(&["rank"]),
            })
            .await
            .unwrap();
        assert_code(
            a.tiers
                .update_tier(pb::UpdateTierRequest {
                    tier: Some(pb::Tier {
                        name: gold.clone(),
                        rank: 11,
                        etag: g.etag,
                        ..Default::default()
                    }),
                    update_mask: mask(&["rank"]),
                })
                .await,
            Code::Aborted,
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_orders_a_partner_brings_earn_it_a_better_tier_with_the_reason() {
    each_backend(&services(), async |s| {
        let (silver, gold) = silver_and_gold(s).await;
        let dealer = active_partner(s, "Lanting Furniture").await;
        let mut m = manager(s);
        let first = m
            .tiers
            .evaluate_partner_tier(pb::EvaluatePartnerTierRequest {
                name: dealer.name.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(first.tier, silver);

        // Two sofas sold through the dealer: 1,799,800 fen.
        oc::furniture(s).await;
        let wang = oc::customer(s, "Wang Fang", "+8613800000001", "rep-1", "north").await;
        let mut r1 = oc::rep(s, "rep-1", "north");
        let mut o = oc::order(&wang, vec![oc::line("SOFA-3S", 2, 0)]);
        o.partner = dealer.name.clone();
        let o = oc::create_order(&mut r1, o, "").await.unwrap();
        r1.orders
            .confirm_order(opb::ConfirmOrderRequest {
                name: o.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        eventually("the order is attributed to the dealer", async || {
            let listed = m
                .partners
                .list_attributions(pb::ListAttributionsRequest {
                    parent: dealer.name.clone(),
                    kind: pb::AttributionKind::Order.into(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            listed.attributions.len() == 1
                && listed.attributions[0].amount == cny(1_799_800)
                && listed.attributions[0].resource == o.name
                && listed.attributions[0].state == "ORDER_STATE_CONFIRMED"
        })
        .await;
        let after = m
            .tiers
            .evaluate_partner_tier(pb::EvaluatePartnerTierRequest {
                name: dealer.name.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(after.tier, gold);
        let changes = m
            .tiers
            .list_tier_changes(pb::ListTierChangesRequest {
                parent: dealer.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .changes;
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].from_tier, silver);
        assert_eq!(changes[0].to_tier, gold);
        assert_eq!(changes[0].reason, "Gold: sales 1,799,800 CNY ≥ 1,000,000");
        assert_eq!(changes[0].actor, "cm-1");
        assert_eq!(changes[1].to_tier, silver);
        // Evaluated again with nothing new: no change.
        m.tiers
            .evaluate_partner_tier(pb::EvaluatePartnerTierRequest {
                name: dealer.name.clone(),
            })
            .await
            .unwrap();

        // The dealer sees its own tier and none other.
        let mut me = as_partner(s, &dealer.name);
        me.tiers
            .get_tier(pb::GetTierRequest { name: gold.clone() })
            .await
            .unwrap();
        assert_code(
            me.tiers
                .get_tier(pb::GetTierRequest {
                    name: silver.clone(),
                })
                .await,
            Code::NotFound,
        );
        let visible = me
            .tiers
            .list_tiers(pb::ListTiersRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(visible.tiers.len(), 1);
        assert_code(
            me.tiers
                .evaluate_partner_tier(pb::EvaluatePartnerTierRequest {
                    name: dealer.name.clone(),
                })
                .await,
            Code::PermissionDenied,
        );

        // A cancelled order no longer counts.
        r1.orders
            .cancel_order(opb::CancelOrderRequest {
                name: o.name.clone(),
                reason: "changed their mind".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        eventually("the cancelled order counts nothing", async || {
            let listed = m
                .partners
                .list_attributions(pb::ListAttributionsRequest {
                    parent: dealer.name.clone(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            listed.attributions[0].amount == cny(0)
                && listed.attributions[0].state == "ORDER_STATE_CANCELLED"
        })
        .await;
        let back = m
            .tiers
            .evaluate_partner_tier(pb::EvaluatePartnerTierRequest {
                name: dealer.name.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(back.tier, silver);
        assert_eq!(get_partner(&mut m, &dealer.name).await.tier, silver);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_daily_evaluation_gives_every_active_partner_its_tier_once() {
    let start = 1_780_000_000_000_000;
    each_backend_at(&services(), start, async |s, clock| {
        let dealer = active_partner(s, "Dealer").await;
        let prospect = create_partner(s, "Prospect", pb::PartnerKind::Agent).await;
        let (silver, _) = silver_and_gold(s).await;
        // A tenant's first evaluation is due at once.
        let mut m = manager(s);
        eventually("the sweep evaluates the active dealer", async || {
            get_partner(&mut m, &dealer.name).await.tier == silver
        })
        .await;
        assert_eq!(get_partner(&mut m, &prospect.name).await.tier, "");
        let changes = m
            .tiers
            .list_tier_changes(pb::ListTierChangesRequest {
                parent: dealer.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .changes;
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].actor, "system");

        // Silver goes; the next evaluation is a day later, and then the dealer has none.
        let mut a = admin(s);
        a.tiers
            .update_tier(pb::UpdateTierRequest {
                tier: Some(pb::Tier {
                    name: silver.clone(),
                    criteria: Some(pb::TierCriteria {
                        min_registrations: 5,
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                update_mask: mask(&["criteria"]),
            })
            .await
            .unwrap();
        clock.advance(HOUR);
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        assert_eq!(get_partner(&mut m, &dealer.name).await.tier, silver);
        clock.advance(DAY);
        eventually("the next day's evaluation drops the tier", async || {
            get_partner(&mut m, &dealer.name).await.tier.is_empty()
        })
        .await;
        let changes = m
            .tiers
            .list_tier_changes(pb::ListTierChangesRequest {
                parent: dealer.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .changes;
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].reason, "not Silver: 0 registrations < 5");
    })
    .await;
}
