//! Create, Get, List, Update, Delete, Undelete through the gRPC API, on every backend.

mod common;

use common::*;
use rapport_proto::customers as pb;
use rapport_testkit::each_backend;
use tonic::Code;

#[tokio::test]
async fn create_then_get_normalizes_and_returns_the_customer() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let mut input = person("张伟", "138 1234 5678");
        input.emails.push(pb::Email { address: " Wei.Zhang@Example.COM ".into(), label: "work".into() });
        let created = create(&mut c, input).await;
        assert!(created.name.starts_with("customers/"));
        assert_eq!(created.phones[0].number, "+8613812345678");
        assert_eq!(created.emails[0].address, "Wei.Zhang@example.com");
        assert!(!created.etag.is_empty());
        let got = c.get_customer(pb::GetCustomerRequest { name: created.name.clone() }).await.unwrap().into_inner();
        assert_eq!(got, created);
    })
    .await;
}

#[tokio::test]
async fn bad_input_names_every_bad_field() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let input = pb::Customer {
            kind: pb::CustomerKind::Person.into(),
            display_name: String::new(),
            phones: vec![pb::Phone { number: "12".into(), ..Default::default() }],
            emails: vec![pb::Email { address: "not-an-email".into(), ..Default::default() }],
            ..Default::default()
        };
        let status = assert_code(
            c.create_customer(pb::CreateCustomerRequest { customer: Some(input), request_id: String::new() }).await,
            Code::InvalidArgument,
        );
        let fields = bad_fields(&status);
        for f in ["customer.display_name", "customer.phones[0].number", "customer.emails[0].address"] {
            assert!(fields.contains(&f.to_owned()), "{f} missing from {fields:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn another_tenants_customer_reads_as_not_found() {
    each_backend(&services(), async |s| {
        let created = create(&mut admin(s), person("李娜", "13900001111")).await;
        let status = assert_code(
            stranger(s).get_customer(pb::GetCustomerRequest { name: created.name.clone() }).await,
            Code::NotFound,
        );
        assert_eq!(reason(&status), "NOT_FOUND");
    })
    .await;
}

#[tokio::test]
async fn list_finds_chinese_names_by_any_part_and_latin_names_case_insensitively() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        create(&mut c, person("张伟", "13800000001")).await;
        create(&mut c, person("Wei ZHANG", "13800000002")).await;
        create(&mut c, person("王芳", "13800000003")).await;
        let names = |r: pb::ListCustomersResponse| -> Vec<String> { r.customers.into_iter().map(|c| c.display_name).collect() };
        let list = |filter: &str| pb::ListCustomersRequest { filter: filter.into(), ..Default::default() };
        let by_char = c.list_customers(list("display_name:\"伟\"")).await.unwrap().into_inner();
        assert_eq!(names(by_char), ["张伟"]);
        let latin = c.list_customers(list("display_name:\"zhang\"")).await.unwrap().into_inner();
        assert_eq!(names(latin), ["Wei ZHANG"]);
        let phone = c.list_customers(list("phone = \"+8613800000003\"")).await.unwrap().into_inner();
        assert_eq!(names(phone), ["王芳"]);
    })
    .await;
}
