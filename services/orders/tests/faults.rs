//! The orders service with its customers service cut off, on every backend: the customers
//! service runs as a server of its own behind a TCP proxy, as in a distributed deployment.
//! While it is unreachable, CreateOrder answers UNAVAILABLE and writes nothing, reading orders
//! goes on, and a retry with the same request id after it is back creates the order once.

use crate::common::*;
use rapport_customers::Customers;
use rapport_orders::Orders;
use rapport_runtime::context::ServiceEntry;
use rapport_testkit::{Backend, TestServer, proxy::Proxy, wait::past_unavailable};
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cut_customers_service_makes_orders_wait_not_half_written() {
    for backend in Backend::all() {
        eprintln!("-- on {backend:?}");
        let people = TestServer::start(backend, &[ServiceEntry::of::<Customers>()]).await;
        let proxy = Proxy::start(people.addr).await;
        let shop = TestServer::builder()
            .peer("customers", &format!("http://{}", proxy.addr))
            .start(backend, &[ServiceEntry::of::<Orders>()])
            .await;
        furniture(&shop).await;
        let wang = customer(&people, "Wang Fang", "+8613800000001", "rep-1", "north").await;
        let mut r1 = rep(&shop, "rep-1", "north");
        let first = create_order(&mut r1, order(&wang, vec![line("LAMP", 1, 0)]), "")
            .await
            .expect("the customers service answers");

        proxy.cut();
        let cut = create_order(&mut r1, order(&wang, vec![line("SOFA-3S", 1, 0)]), "sofa-1").await;
        let st = assert_code(cut, Code::Unavailable);
        assert!(st.message().contains("retry"), "{}", st.message());
        // What exists is still read.
        assert_eq!(
            get_order(&mut r1, &first.name).await.unwrap().name,
            first.name
        );
        assert_eq!(
            list_orders(&mut r1).await.len(),
            1,
            "nothing was half-written"
        );

        proxy.restore();
        let sofa = || order(&wang, vec![line("SOFA-3S", 1, 0)]);
        let made = past_unavailable(async || create_order(&mut r1, sofa(), "sofa-1").await)
            .await
            .expect("the order once the customers service is back");
        let again = create_order(&mut r1, sofa(), "sofa-1").await.unwrap();
        assert_eq!(again.name, made.name, "the retry created it once");
        assert_eq!(list_orders(&mut r1).await.len(), 2);
        shop.stop().await;
        people.stop().await;
    }
}
