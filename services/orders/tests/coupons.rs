//! CreateOrder's coupon_code from the orders side, on every backend: a coupon needs a request
//! id, and while no campaigns service answers, an order with a coupon is refused as
//! UNAVAILABLE and nothing is written. Redeeming against a running campaigns service is tested
//! with it, in the campaigns service's tests.

use crate::common::*;
use rapport_testkit::each_backend;
use tonic::Code;

#[tokio::test]
async fn a_coupon_needs_a_request_id_and_an_answering_campaigns_service() {
    each_backend(&services(), async |s| {
        furniture(s).await;
        let wang = customer(s, "Wang Fang", "+8613800000001", "rep-1", "north").await;
        let mut r1 = rep(s, "rep-1", "north");
        let lamp = || order(&wang, vec![line("LAMP", 1, 0)]);

        let bad = assert_code(
            create_order_redeeming(&mut r1, lamp(), "ABCD EFGH", "").await,
            Code::InvalidArgument,
        );
        assert_eq!(sorted_bad_fields(&bad), ["coupon_code", "request_id"]);
        let no_id = assert_code(
            create_order_redeeming(&mut r1, lamp(), "ABCDEFGH23", "").await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&no_id), ["request_id"]);
        assert!(no_id.message().contains("retry"), "{no_id:?}");

        // This server runs no campaigns service: nothing is redeemed, so nothing is written.
        let down = assert_code(
            create_order_redeeming(&mut r1, lamp(), "ABCDEFGH23", "order-1").await,
            Code::Unavailable,
        );
        assert!(
            down.message().contains("retry with the same request_id"),
            "{down:?}"
        );
        assert!(list_orders(&mut r1).await.is_empty());
        // Without a coupon the same order goes through, and records none.
        let plain = create_order_redeeming(&mut r1, lamp(), " ", "order-2")
            .await
            .unwrap();
        assert!(plain.coupon_code.is_empty() && plain.campaign.is_empty());
    })
    .await;
}
