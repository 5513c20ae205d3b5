//! RecommendProducts (LE11) through gRPC on every backend: products for needs given directly
//! or read from a customer of the customers service, best first with their reasons.

use crate::common::*;
use rapport_proto::{customers as cpb, orders as pb};
use rapport_testkit::{TestServer, each_backend};
use tonic::Code;

/// A living room and a bedroom range.
async fn range(s: &TestServer) {
    let mut a = admin(s);
    let sofas = category(&mut a, "Sofas", "").await;
    let beds = category(&mut a, "Beds", "").await;
    let with = |mut p: pb::Product, attrs: &[(&str, &str)]| {
        p.attributes = attrs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        p
    };
    for p in [
        with(
            product(
                "Nordic sofa",
                &sofas,
                vec![variant("NS-2", 899_900, 1), variant("NS-3", 1_299_900, 1)],
            ),
            &[("style", "nordic"), ("room", "living room")],
        ),
        with(
            product(
                "Chesterfield sofa",
                &sofas,
                vec![variant("CH-3", 2_500_000, 1)],
            ),
            &[("style", "classic"), ("room", "living room")],
        ),
        with(
            product("Modern sofa", &sofas, vec![variant("MS-2", 599_900, 1)]),
            &[("style", "modern"), ("room", "living room")],
        ),
        with(
            product("Nordic bed", &beds, vec![variant("NB-1", 499_900, 1)]),
            &[("style", "nordic"), ("room", "bedroom")],
        ),
    ] {
        create_product(&mut a, p).await;
    }
}

fn names(r: &pb::RecommendProductsResponse) -> Vec<String> {
    r.recommendations
        .iter()
        .map(|x| x.product.as_ref().unwrap().display_name.clone())
        .collect()
}

#[tokio::test]
async fn needs_given_directly_rank_the_catalog_with_reasons() {
    each_backend(&services(), async |s| {
        range(s).await;
        let mut r1 = rep(s, "rep-1", "north");
        let needs = pb::ProductNeeds {
            categories: vec!["sofa".into()],
            style: "Nordic".into(),
            rooms: vec!["living".into()],
            budget_max: money("CNY", 1_000_000),
            ..Default::default()
        };
        let got = r1
            .catalog
            .recommend_products(pb::RecommendProductsRequest {
                needs: Some(needs),
                ..Default::default()
            })
            .await
            .expect("recommend")
            .into_inner();
        assert_eq!(names(&got), ["Nordic sofa", "Modern sofa", "Nordic bed"]);
        let best = &got.recommendations[0];
        assert_eq!(best.sku, "NS-2", "the three-seater is over budget");
        assert_eq!(units(&best.price), 899_900);
        assert_eq!(best.reasons.len(), 4, "{:?}", best.reasons);
        assert!(best.score > got.recommendations[1].score);
        assert_eq!(got.needs.unwrap().style, "nordic");

        let bad = r1
            .catalog
            .recommend_products(pb::RecommendProductsRequest {
                needs: Some(pb::ProductNeeds {
                    min_area_m2: "big".into(),
                    budget_min: money("CNY", 10),
                    budget_max: money("CNY", 5),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await;
        let st = assert_code(bad, Code::InvalidArgument);
        assert_eq!(
            sorted_bad_fields(&st),
            ["needs.budget_max", "needs.min_area_m2"]
        );
        let both = r1
            .catalog
            .recommend_products(pb::RecommendProductsRequest {
                needs: Some(pb::ProductNeeds::default()),
                customer: "customers/0190a0a0-0000-7000-8000-000000000000".into(),
                limit: 99,
                ..Default::default()
            })
            .await;
        let st = assert_code(both, Code::InvalidArgument);
        assert_eq!(sorted_bad_fields(&st), ["limit", "needs"]);
        // Another tenant's catalog recommends nothing here.
        let theirs = stranger(s)
            .catalog
            .recommend_products(pb::RecommendProductsRequest {
                needs: Some(pb::ProductNeeds {
                    categories: vec!["sofa".into()],
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(theirs.recommendations.is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_customers_needs_are_read_on_the_callers_behalf() {
    each_backend(&services(), async |s| {
        range(s).await;
        let mut a = admin(s);
        let made = a
            .customers
            .create_customer(cpb::CreateCustomerRequest {
                customer: Some(cpb::Customer {
                    kind: cpb::CustomerKind::Person.into(),
                    display_name: "Zhou Xun".into(),
                    phones: vec![cpb::Phone {
                        number: "+8613800000007".into(),
                        ..Default::default()
                    }],
                    owner_id: "rep-1".into(),
                    team_id: "north".into(),
                    needs: vec![cpb::Need {
                        category: "bed".into(),
                        style: "nordic".into(),
                        budget_max: money("CNY", 600_000),
                        attributes: [("rooms".to_owned(), "bedroom".to_owned())].into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("create customer")
            .into_inner();
        let ask = |customer: &str| pb::RecommendProductsRequest {
            customer: customer.into(),
            ..Default::default()
        };
        let mut r1 = rep(s, "rep-1", "north");
        let got = r1
            .catalog
            .recommend_products(ask(&made.name))
            .await
            .expect("recommend")
            .into_inner();
        assert_eq!(names(&got)[0], "Nordic bed");
        assert_eq!(got.recommendations[0].reasons.len(), 4);
        // A rep of another team may not see the customer: it reads as not there.
        let mut r3 = rep(s, "rep-3", "south");
        let st = assert_code(
            r3.catalog.recommend_products(ask(&made.name)).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&st), ["customer"]);
    })
    .await;
}
