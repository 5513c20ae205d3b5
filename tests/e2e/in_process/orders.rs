//! The orders service with its peers, in one process on every backend: a confirmed order wins
//! the opportunity it closes in the leads service (once, however often the event comes), and
//! merging customers moves their orders to the survivor.

use rapport_proto::{customers as cpb, leads as pb, orders as opb};
use rapport_testkit::{each_backend, wait::eventually};

use super::orders_common::{self as o, confirmed_order};
use super::*;

async fn opportunity_state(c: &mut Clients, name: &str) -> pb::OpportunityState {
    c.pipelines
        .get_opportunity(pb::GetOpportunityRequest { name: name.into() })
        .await
        .expect("get opportunity")
        .into_inner()
        .state()
}

#[tokio::test]
async fn a_confirmed_order_wins_its_opportunity_once() {
    each_backend(&services(), async |s| {
        let mut a = admin(s);
        let opportunity = a
            .pipelines
            .create_opportunity(pb::CreateOpportunityRequest {
                opportunity: Some(pb::Opportunity {
                    display_name: "Wang Fang's living room".into(),
                    pipeline: "pipelines/real-estate".into(),
                    owner_id: "rep-1".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("create opportunity")
            .into_inner();
        assert_eq!(opportunity.state(), pb::OpportunityState::Open);

        o::furniture(s).await;
        let wang = o::customer(s, "Wang Fang", "+8613800000001", "rep-1", "north").await;
        let mut r1 = o::rep(s, "rep-1", "north");
        let mut draft = o::order(&wang, vec![o::line("LAMP", 1, 0)]);
        draft.opportunity = opportunity.name.clone();
        let made = o::create_order(&mut r1, draft, "")
            .await
            .expect("create order");
        // A draft does not close the deal.
        assert_eq!(
            opportunity_state(&mut a, &opportunity.name).await,
            pb::OpportunityState::Open
        );
        r1.orders
            .confirm_order(opb::ConfirmOrderRequest {
                name: made.name.clone(),
                ..Default::default()
            })
            .await
            .expect("confirm");
        eventually("the opportunity is won", async || {
            opportunity_state(&mut a, &opportunity.name).await == pb::OpportunityState::Won
        })
        .await;
        // Later events of the order (a payment) leave it won, with one move into the won stage.
        r1.orders
            .add_payment(opb::AddPaymentRequest {
                order: made.name.clone(),
                payment: Some(opb::Payment {
                    method: opb::PaymentMethod::Cash.into(),
                    amount: o::money("CNY", 100),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .expect("pay");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let changes = a
            .pipelines
            .list_stage_changes(pb::ListStageChangesRequest {
                parent: opportunity.name.clone(),
                ..Default::default()
            })
            .await
            .expect("stage changes")
            .into_inner()
            .stage_changes;
        let by_orders = changes
            .iter()
            .filter(|c| c.actor == "rapport-leads/orders")
            .count();
        assert_eq!(by_orders, 1, "{changes:?}");
    })
    .await;
}

#[tokio::test]
async fn merged_customers_orders_move_to_the_survivor() {
    each_backend(&services(), async |s| {
        let o1 = confirmed_order(s, 0).await;
        let survivor = o::customer(
            s,
            "Wang Fang (store card)",
            "+8613800000009",
            "rep-1",
            "north",
        )
        .await;
        let mut customers = customers_as(s, s.admin());
        customers
            .merge_customers(cpb::MergeCustomersRequest {
                survivor: survivor.clone(),
                merged: vec![o1.customer.clone()],
                request_id: String::new(),
            })
            .await
            .expect("merge");
        let mut r1 = o::rep(s, "rep-1", "north");
        eventually("the order follows its customer", async || {
            o::get_order(&mut r1, &o1.name).await.unwrap().customer == survivor
        })
        .await;
        let history = r1
            .orders
            .list_order_revisions(opb::ListOrderRevisionsRequest {
                parent: o1.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .revisions;
        assert_eq!(history[0].actor, "rapport-orders/customers");
        assert!(history[0].changes.iter().any(|c| c.field == "customer"));
        let listed = r1
            .orders
            .list_orders(opb::ListOrdersRequest {
                filter: format!("customer = \"{survivor}\""),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .orders;
        assert_eq!(listed.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_leads_needs_bring_recommendations_from_the_catalog() {
    each_backend(&services(), async |s| {
        o::furniture(s).await;
        let mut a = admin(s);
        let mut lead = leads::new_lead("Sun Li", "+8613800000011");
        lead.needs = Some(pb::Needs {
            product_lines: vec!["living room".into()],
            description: "Wants a sofa for a small flat".into(),
            budget: o::money("CNY", 900_000),
            ..Default::default()
        });
        let lead = a
            .leads
            .create_lead(pb::CreateLeadRequest {
                lead: Some(lead),
                ..Default::default()
            })
            .await
            .expect("create lead")
            .into_inner();
        let mut r1 = o::rep(s, "rep-1", "north");
        let got = r1
            .catalog
            .recommend_products(opb::RecommendProductsRequest {
                lead: lead.name.clone(),
                ..Default::default()
            })
            .await
            .expect("recommend")
            .into_inner();
        let names: Vec<String> = got
            .recommendations
            .iter()
            .map(|r| r.product.as_ref().unwrap().display_name.clone())
            .collect();
        // The sofa is in the living room and named in the description, the lamp only in the
        // living room; the table merely fits the budget.
        assert_eq!(names, ["Sofa", "Lamp", "Dining table"]);
        assert_eq!(got.recommendations[2].reasons.len(), 1);
        assert!(
            got.recommendations[0]
                .reasons
                .iter()
                .any(|r| r.contains("sofa"))
        );
        let missing = r1
            .catalog
            .recommend_products(opb::RecommendProductsRequest {
                lead: "leads/0190a0a0-0000-7000-8000-000000000000".into(),
                ..Default::default()
            })
            .await;
        assert_eq!(bad_fields(&missing.unwrap_err()), ["lead"]);
    })
    .await;
}
