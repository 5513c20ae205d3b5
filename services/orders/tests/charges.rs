//! Taxes and fees (OR5) through gRPC on every backend: a property agency's deed tax by home
//! size and first purchase, and a fixed registration fee, from the tenant's charge rules.

use crate::common::*;
use rapport_proto::orders as pb;
use rapport_testkit::{TestServer, each_backend};
use tonic::Code;

fn rule(key: &str, bp: i32, min: &str, max: &str, first: pb::FirstPurchase) -> pb::ChargeRule {
    pb::ChargeRule {
        key: key.into(),
        display_name: format!("Deed tax ({key})"),
        kind: pb::ChargeKind::Tax.into(),
        rate_basis_points: bp,
        min_area_m2: min.into(),
        max_area_m2: max.into(),
        first_purchase: first.into(),
        ..Default::default()
    }
}

async fn set_rules(
    c: &mut Clients,
    rules: Vec<pb::ChargeRule>,
) -> Result<pb::OrderSettings, tonic::Status> {
    c.orders
        .update_order_settings(pb::UpdateOrderSettingsRequest {
            settings: Some(pb::OrderSettings {
                charge_rules: rules,
                ..Default::default()
            }),
            update_mask: mask(&["charge_rules"]),
        })
        .await
        .map(|r| r.into_inner())
}

/// Homes: a flat of 88 m² at 3,000,000.00 and a villa of 144 m² at 5,000,000.00.
async fn homes(s: &TestServer) {
    let mut a = admin(s);
    let homes = category(&mut a, "Homes", "").await;
    let mut flat = product(
        "Flat, 2 rooms",
        &homes,
        vec![variant("FLAT-88", 300_000_000, 0)],
    );
    flat.attributes = [("area_m2".to_owned(), "88".to_owned())].into();
    create_product(&mut a, flat).await;
    let mut villa = product("Villa", &homes, vec![variant("VILLA-144", 500_000_000, 0)]);
    villa.attributes = [("area_m2".to_owned(), "144.5".to_owned())].into();
    create_product(&mut a, villa).await;
}

fn charge_of(o: &pb::Order, rule: &str) -> Option<i64> {
    o.charges
        .iter()
        .find(|c| c.rule == rule)
        .map(|c| units(&c.amount))
}

#[tokio::test]
async fn deed_taxes_follow_size_and_first_purchase_and_fees_are_fixed() {
    each_backend(&services(), async |s| {
        homes(s).await;
        let mut a = admin(s);
        let mut fee = rule("registration", 0, "", "", pb::FirstPurchase::Any);
        fee.kind = pb::ChargeKind::Fee.into();
        fee.display_name = "Registration".into();
        fee.fixed_amount = money("CNY", 50_000);
        let saved = set_rules(
            &mut a,
            vec![
                rule("first_small", 100, "", "90", pb::FirstPurchase::Only),
                rule("first_large", 150, "90", "", pb::FirstPurchase::Only),
                rule("repeat", 300, "", "", pb::FirstPurchase::Repeat),
                fee,
            ],
        )
        .await
        .expect("set rules");
        assert_eq!(saved.charge_rules.len(), 4);
        assert_eq!(saved.charge_rules[1].min_area_m2, "90");

        let li = customer(s, "Li Lei", "+8613800000002", "rep-1", "north").await;
        let mut r1 = rep(s, "rep-1", "north");
        let flat = create_order(&mut r1, order(&li, vec![line("FLAT-88", 1, 0)]), "")
            .await
            .unwrap();
        assert_eq!(charge_of(&flat, "first_small"), Some(3_000_000));
        assert_eq!(charge_of(&flat, "first_large"), None);
        assert_eq!(charge_of(&flat, "repeat"), None);
        assert_eq!(charge_of(&flat, "registration"), Some(50_000));
        assert_eq!(units(&flat.tax_total), 3_000_000);
        assert_eq!(units(&flat.fee_total), 50_000);
        assert_eq!(units(&flat.total), 300_000_000 + 3_000_000 + 50_000);
        r1.orders
            .confirm_order(pb::ConfirmOrderRequest {
                name: flat.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap();

        // The same customer's next home is a repeat purchase.
        let villa = create_order(&mut r1, order(&li, vec![line("VILLA-144", 1, 0)]), "")
            .await
            .unwrap();
        assert_eq!(charge_of(&villa, "repeat"), Some(15_000_000));
        assert_eq!(charge_of(&villa, "first_large"), None);
        // Another customer's first villa pays the large first-home rate.
        let han = customer(s, "Han Mei", "+8613800000003", "rep-1", "north").await;
        let first_villa = create_order(&mut r1, order(&han, vec![line("VILLA-144", 1, 0)]), "")
            .await
            .unwrap();
        assert_eq!(charge_of(&first_villa, "first_large"), Some(7_500_000));
        // A discount lowers the base of the taxes with it.
        let changed = r1
            .orders
            .update_order(pb::UpdateOrderRequest {
                order: Some(pb::Order {
                    name: first_villa.name.clone(),
                    order_discount: money("CNY", 10_000_000),
                    ..Default::default()
                }),
                update_mask: mask(&["order_discount"]),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            charge_of(&changed, "first_large"),
            Some(7_500_000),
            "lines' amounts"
        );
        assert_eq!(changed.revision, 2);
    })
    .await;
}

#[tokio::test]
async fn bad_charge_rules_name_every_bad_field() {
    each_backend(&services(), async |s| {
        let mut a = admin(s);
        let st = assert_code(
            set_rules(
                &mut a,
                vec![
                    pb::ChargeRule {
                        key: "Bad Key".into(),
                        rate_basis_points: 10_001,
                        min_area_m2: "ninety".into(),
                        category: "category/1".into(),
                        kind: 7,
                        ..Default::default()
                    },
                    rule("dup", 100, "100", "90", pb::FirstPurchase::Any),
                    rule("dup", 100, "", "", pb::FirstPurchase::Any),
                ],
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&st),
            [
                "settings.charge_rules[0].category",
                "settings.charge_rules[0].display_name",
                "settings.charge_rules[0].key",
                "settings.charge_rules[0].kind",
                "settings.charge_rules[0].min_area_m2",
                "settings.charge_rules[0].rate_basis_points",
                "settings.charge_rules[1].max_area_m2",
                "settings.charge_rules[2].key",
            ]
        );
        let mut r = rep(s, "rep-1", "north");
        assert_code(set_rules(&mut r, Vec::new()).await, Code::PermissionDenied);
    })
    .await;
}
