//! Create, Get, List, Update, Delete, Undelete through the gRPC API, on every backend.

use std::collections::{BTreeMap, BTreeSet};

use crate::common::*;
use rapport_proto::{customers as pb, types as pt};
use rapport_testkit::each_backend;
use tonic::Code;
use tonic_types::StatusExt;

fn string_value(s: &str) -> prost_types::Value {
    prost_types::Value {
        kind: Some(prost_types::value::Kind::StringValue(s.into())),
    }
}

fn number_value(n: f64) -> prost_types::Value {
    prost_types::Value {
        kind: Some(prost_types::value::Kind::NumberValue(n)),
    }
}

fn fields(pairs: &[(&str, prost_types::Value)]) -> Option<prost_types::Struct> {
    Some(prost_types::Struct {
        fields: pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    })
}

fn create_req(c: pb::Customer, request_id: &str) -> pb::CreateCustomerRequest {
    pb::CreateCustomerRequest {
        customer: Some(c),
        request_id: request_id.into(),
    }
}

fn get_req(name: &str) -> pb::GetCustomerRequest {
    pb::GetCustomerRequest { name: name.into() }
}

fn list_req(filter: &str) -> pb::ListCustomersRequest {
    pb::ListCustomersRequest {
        filter: filter.into(),
        ..Default::default()
    }
}

fn update_req(c: pb::Customer, paths: &[&str]) -> pb::UpdateCustomerRequest {
    pb::UpdateCustomerRequest {
        customer: Some(c),
        update_mask: mask(paths),
    }
}

fn delete_req(name: &str, etag: &str) -> pb::DeleteCustomerRequest {
    pb::DeleteCustomerRequest {
        name: name.into(),
        etag: etag.into(),
    }
}

fn undelete_req(name: &str) -> pb::UndeleteCustomerRequest {
    pb::UndeleteCustomerRequest { name: name.into() }
}

/// The customer as a client would have written it: output-only fields cleared.
fn without_output_only(c: &pb::Customer) -> pb::Customer {
    pb::Customer {
        name: String::new(),
        possible_duplicates: Vec::new(),
        merged_into: String::new(),
        create_time: None,
        update_time: None,
        delete_time: None,
        etag: String::new(),
        ..c.clone()
    }
}

/// Display names, in the order given.
fn display_names(customers: &[pb::Customer]) -> Vec<String> {
    customers.iter().map(|c| c.display_name.clone()).collect()
}

/// Resource names, sorted.
fn name_set(customers: &[pb::Customer]) -> BTreeSet<String> {
    customers.iter().map(|c| c.name.clone()).collect()
}

/// A timestamp in RFC 3339, as filters take it.
fn rfc3339(ts: &prost_types::Timestamp) -> String {
    let nanos = i128::from(ts.seconds) * 1_000_000_000 + i128::from(ts.nanos);
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .expect("timestamp in range")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format RFC 3339")
}

#[tokio::test]
async fn create_then_get_normalizes_and_returns_the_customer() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let mut input = person("张伟", "138 1234 5678");
        input.emails.push(pb::Email {
            address: " Wei.Zhang@Example.COM ".into(),
            label: "work".into(),
        });
        let created = create(&mut c, input).await;
        assert!(created.name.starts_with("customers/"));
        assert_eq!(created.phones[0].number, "+8613812345678");
        assert_eq!(created.emails[0].address, "Wei.Zhang@example.com");
        assert!(!created.etag.is_empty());
        let got = c
            .get_customer(pb::GetCustomerRequest {
                name: created.name.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(got, created);
    })
    .await;
}

#[tokio::test]
async fn create_keeps_every_part_of_the_profile_normalized() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let referrer = create(&mut c, person("李娜", "13900001111")).await;
        let input = pb::Customer {
            kind: pb::CustomerKind::Person.into(),
            display_name: "  张伟 ".into(),
            family_name: "张".into(),
            given_name: "伟".into(),
            organization_name: "深圳家居有限公司".into(),
            phones: vec![
                pb::Phone {
                    number: "138 1234 5678".into(),
                    kind: pb::PhoneKind::Mobile.into(),
                    label: "personal".into(),
                },
                pb::Phone {
                    number: "137-0000-2222".into(),
                    kind: pb::PhoneKind::Mobile.into(),
                    label: String::new(),
                },
                pb::Phone {
                    number: "+86 136 0000 3333".into(),
                    kind: pb::PhoneKind::Work.into(),
                    label: "office".into(),
                },
                // The first number again, written another way: kept once.
                pb::Phone {
                    number: "+8613812345678".into(),
                    kind: pb::PhoneKind::Home.into(),
                    label: "again".into(),
                },
            ],
            emails: vec![
                pb::Email {
                    address: " Wei.Zhang@Example.COM ".into(),
                    label: "work".into(),
                },
                pb::Email {
                    address: "zw@example.cn".into(),
                    label: String::new(),
                },
                pb::Email {
                    address: "Wei.Zhang@EXAMPLE.com".into(),
                    label: "dup".into(),
                },
            ],
            im_handles: vec![
                pb::ImHandle {
                    platform: pb::ImPlatform::Wechat.into(),
                    handle: " zhangwei_88 ".into(),
                },
                pb::ImHandle {
                    platform: pb::ImPlatform::Qq.into(),
                    handle: "12345678".into(),
                },
            ],
            addresses: vec![
                pb::Address {
                    label: "home".into(),
                    country_code: String::new(),
                    province: "广东省".into(),
                    city: "深圳市".into(),
                    district: "南山区".into(),
                    street: "科技园路1号".into(),
                    postal_code: "518000".into(),
                },
                pb::Address {
                    label: "office".into(),
                    country_code: "hk".into(),
                    city: "Hong Kong".into(),
                    street: "1 Queen's Road Central".into(),
                    ..Default::default()
                },
            ],
            demographics: Some(pb::Demographics {
                gender: pb::Gender::Male.into(),
                birth_date: date(1988, 6, 15),
                occupation: "Engineer".into(),
                title: "CTO".into(),
                income_band: pb::IncomeBand::High.into(),
                education: pb::Education::Master.into(),
                marital_status: pb::MaritalStatus::Married.into(),
            }),
            traits: Some(pb::SocialTraits {
                hobbies: vec!["golf".into(), " golf ".into(), "tea".into()],
                habits: vec!["early riser".into()],
                risk_tolerance: pb::RiskTolerance::Medium.into(),
            }),
            needs: vec![
                pb::Need {
                    category: "sofa".into(),
                    products: vec!["L-shaped sofa".into(), "recliner".into()],
                    style: "nordic".into(),
                    budget_min: money("CNY", 800_000),
                    budget_max: money("CNY", 1_500_000),
                    desired_date: date(2030, 10, 1),
                    attributes: BTreeMap::from([("rooms".into(), "living,bedroom".into())]),
                    notes: "wants grey fabric\nno leather".into(),
                },
                pb::Need {
                    category: "bed".into(),
                    budget_max: money("CNY", 500_000),
                    ..Default::default()
                },
            ],
            source_channel: "store_walk_in".into(),
            referrer: referrer.name.clone(),
            owner_id: "rep-1".into(),
            team_id: "north".into(),
            store_id: "store-1".into(),
            lifecycle_stage: pb::LifecycleStage::Customer.into(),
            grade: "A".into(),
            tags: vec!["vip".into(), " vip ".into(), "sofa".into(), "vip".into()],
            important_dates: vec![
                pb::ImportantDate {
                    kind: pb::ImportantDateKind::Anniversary.into(),
                    label: String::new(),
                    date: date(2015, 5, 20),
                },
                pb::ImportantDate {
                    kind: pb::ImportantDateKind::Custom.into(),
                    label: "first visit".into(),
                    date: date(0, 3, 8),
                },
            ],
            consent: Some(pb::Consent {
                channels: vec![
                    pb::ChannelConsent {
                        channel: pb::Channel::Sms.into(),
                        status: pb::ConsentStatus::OptedIn.into(),
                        source: "store_form".into(),
                    },
                    pb::ChannelConsent {
                        channel: pb::Channel::Email.into(),
                        status: pb::ConsentStatus::OptedOut.into(),
                        source: String::new(),
                    },
                ],
                do_not_disturb: false,
                quiet_hours: Some(pb::QuietHours {
                    start_minute: 22 * 60,
                    end_minute: 8 * 60,
                    utc_offset_minutes: 480,
                }),
            }),
            shared_team_ids: vec!["south".into(), "south".into()],
            // Output-only fields a client sends are ignored.
            name: "customers/0190a5b2-7c3e-7d4f-8a1b-2c3d4e5f6a7b".into(),
            etag: "made-up".into(),
            merged_into: referrer.name.clone(),
            possible_duplicates: vec![referrer.name.clone()],
            ..Default::default()
        };
        let created = c
            .create_customer(create_req(input.clone(), ""))
            .await
            .expect("create the full profile")
            .into_inner();

        let mut expected = input;
        expected.display_name = "张伟".into();
        expected.phones = vec![
            pb::Phone {
                number: "+8613812345678".into(),
                kind: pb::PhoneKind::Mobile.into(),
                label: "personal".into(),
            },
            pb::Phone {
                number: "+8613700002222".into(),
                kind: pb::PhoneKind::Mobile.into(),
                label: String::new(),
            },
            pb::Phone {
                number: "+8613600003333".into(),
                kind: pb::PhoneKind::Work.into(),
                label: "office".into(),
            },
        ];
        expected.emails = vec![
            pb::Email {
                address: "Wei.Zhang@example.com".into(),
                label: "work".into(),
            },
            pb::Email {
                address: "zw@example.cn".into(),
                label: String::new(),
            },
        ];
        expected.im_handles[0].handle = "zhangwei_88".into();
        expected.addresses[0].country_code = "CN".into();
        expected.addresses[1].country_code = "HK".into();
        expected.traits.as_mut().unwrap().hobbies = vec!["golf".into(), "tea".into()];
        expected.tags = vec!["vip".into(), "sofa".into()];
        expected.shared_team_ids = vec!["south".into()];
        assert_eq!(
            without_output_only(&created),
            without_output_only(&expected)
        );

        assert_ne!(
            created.name,
            "customers/0190a5b2-7c3e-7d4f-8a1b-2c3d4e5f6a7b"
        );
        assert_ne!(created.etag, "made-up");
        assert_eq!(created.merged_into, "");
        assert!(created.possible_duplicates.is_empty());
        assert!(created.delete_time.is_none());
        assert!(created.create_time.is_some());
        assert_eq!(created.create_time, created.update_time);
        assert_eq!(fetch_customer(&mut c, &created.name).await, created);
    })
    .await;
}

#[tokio::test]
async fn chinese_mobiles_need_no_country_code_and_the_default_region_reads_local_numbers() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        for (raw, e164) in [
            ("13812345678", "+8613812345678"),
            ("139 0000 1111", "+8613900001111"),
            ("150-1234-5678", "+8615012345678"),
            ("+86 186 0000 2222", "+8618600002222"),
            ("0086 177 0000 3333", "+8617700003333"),
        ] {
            let created = create(&mut c, person("客户", raw)).await;
            assert_eq!(created.phones[0].number, e164, "{raw}");
        }

        // Read in the default region CN, a US number written locally is not the US number.
        let local_us = "(415) 555-2671";
        let in_cn = c
            .create_customer(create_req(person("Ann", local_us), ""))
            .await;
        if let Ok(r) = &in_cn {
            assert_ne!(r.get_ref().phones[0].number, "+14155552671");
        }

        let settings = update_settings(
            &mut c,
            pb::CustomerSettings {
                default_region: "US".into(),
                ..Default::default()
            },
            &["default_region"],
        )
        .await
        .expect("set the default region");
        assert_eq!(settings.default_region, "US");

        let mut ann = person("Ann Lee", local_us);
        ann.addresses.push(pb::Address {
            city: "San Francisco".into(),
            ..Default::default()
        });
        let ann = create(&mut c, ann).await;
        assert_eq!(ann.phones[0].number, "+14155552671");
        // Addresses without a country take the tenant's region too.
        assert_eq!(ann.addresses[0].country_code, "US");
        // A number with its country code is still read as written.
        let wei = create(&mut c, person("Wei", "+86 135 0000 4444")).await;
        assert_eq!(wei.phones[0].number, "+8613500004444");
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
            phones: vec![pb::Phone {
                number: "12".into(),
                ..Default::default()
            }],
            emails: vec![pb::Email {
                address: "not-an-email".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let status = assert_code(
            c.create_customer(pb::CreateCustomerRequest {
                customer: Some(input),
                request_id: String::new(),
            })
            .await,
            Code::InvalidArgument,
        );
        let fields = bad_fields(&status);
        for f in [
            "customer.display_name",
            "customer.phones[0].number",
            "customer.emails[0].address",
        ] {
            assert!(
                fields.contains(&f.to_owned()),
                "{f} missing from {fields:?}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn one_error_names_every_bad_part_of_the_profile() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let next_year = time::OffsetDateTime::now_utc().year() + 1;
        let input = pb::Customer {
            kind: pb::CustomerKind::Unspecified.into(),
            display_name: "x".repeat(201),
            phones: vec![pb::Phone {
                number: "+86 12".into(),
                kind: 42,
                ..Default::default()
            }],
            emails: vec![pb::Email {
                address: "a@@b.com".into(),
                ..Default::default()
            }],
            im_handles: vec![pb::ImHandle {
                platform: pb::ImPlatform::Unspecified.into(),
                handle: "has space".into(),
            }],
            addresses: vec![
                pb::Address {
                    label: "empty".into(),
                    ..Default::default()
                },
                pb::Address {
                    country_code: "CHN".into(),
                    city: "深圳市".into(),
                    ..Default::default()
                },
            ],
            demographics: Some(pb::Demographics {
                birth_date: date(next_year, 1, 1),
                gender: 9,
                ..Default::default()
            }),
            traits: Some(pb::SocialTraits {
                hobbies: vec!["  ".into()],
                ..Default::default()
            }),
            needs: vec![
                pb::Need {
                    category: "sofa".into(),
                    budget_min: money("CNY", 900_000),
                    budget_max: money("CNY", 100_000),
                    ..Default::default()
                },
                pb::Need {
                    category: "bed".into(),
                    budget_min: money("CNY", 100_000),
                    budget_max: money("USD", 900_000),
                    ..Default::default()
                },
                pb::Need {
                    category: String::new(),
                    budget_min: money("cny", -1),
                    ..Default::default()
                },
            ],
            referrer: "leads/123".into(),
            owner_id: "rep 1".into(),
            lifecycle_stage: 99,
            grade: "G".repeat(33),
            tags: vec!["ok".into(), String::new()],
            custom_fields: fields(&[("undefined_key", string_value("x"))]),
            important_dates: vec![
                pb::ImportantDate {
                    kind: pb::ImportantDateKind::Custom.into(),
                    label: String::new(),
                    date: date(2020, 2, 30),
                },
                pb::ImportantDate {
                    kind: pb::ImportantDateKind::Unspecified.into(),
                    label: String::new(),
                    date: None,
                },
            ],
            consent: Some(pb::Consent {
                channels: vec![
                    pb::ChannelConsent {
                        channel: pb::Channel::Sms.into(),
                        status: pb::ConsentStatus::OptedIn.into(),
                        source: String::new(),
                    },
                    pb::ChannelConsent {
                        channel: pb::Channel::Sms.into(),
                        status: pb::ConsentStatus::Unspecified.into(),
                        source: String::new(),
                    },
                ],
                do_not_disturb: false,
                quiet_hours: Some(pb::QuietHours {
                    start_minute: 1440,
                    end_minute: 60,
                    utc_offset_minutes: 900,
                }),
            }),
            shared_team_ids: vec![String::new()],
            ..Default::default()
        };
        let status = assert_code(
            c.create_customer(create_req(input, "")).await,
            Code::InvalidArgument,
        );
        assert_eq!(reason(&status), "INVALID_ARGUMENT");
        let expected = [
            "customer.kind",
            "customer.display_name",
            "customer.phones[0].number",
            "customer.phones[0].kind",
            "customer.emails[0].address",
            "customer.im_handles[0].platform",
            "customer.im_handles[0].handle",
            "customer.addresses[0]",
            "customer.addresses[1].country_code",
            "customer.demographics.birth_date",
            "customer.demographics.gender",
            "customer.traits.hobbies[0]",
            "customer.needs[0].budget_max",
            "customer.needs[1].budget_max",
            "customer.needs[2].category",
            "customer.needs[2].budget_min.currency_code",
            "customer.needs[2].budget_min.minor_units",
            "customer.referrer",
            "customer.owner_id",
            "customer.lifecycle_stage",
            "customer.grade",
            "customer.tags[1]",
            "customer.custom_fields.undefined_key",
            "customer.important_dates[0].label",
            "customer.important_dates[0].date",
            "customer.important_dates[1].kind",
            "customer.important_dates[1].date",
            "customer.consent.channels[1].channel",
            "customer.consent.channels[1].status",
            "customer.consent.quiet_hours.start_minute",
            "customer.consent.quiet_hours.utc_offset_minutes",
            "customer.shared_team_ids[0]",
        ];
        assert_eq!(sorted_bad_fields(&status), sorted(expected));
        // Nothing was stored.
        assert!(list_all_customers(&mut c, "").await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn birth_dates_in_the_future_are_refused_and_dates_without_a_year_are_kept() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let next_year = time::OffsetDateTime::now_utc().year() + 1;
        let mut future = person("未来", "13800000001");
        future.demographics = Some(pb::Demographics {
            birth_date: date(next_year, 6, 1),
            ..Default::default()
        });
        let status = assert_code(
            c.create_customer(create_req(future, "")).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["customer.demographics.birth_date"]);

        let mut no_year = person("无年份", "13800000001");
        no_year.demographics = Some(pb::Demographics {
            birth_date: date(0, 2, 29),
            ..Default::default()
        });
        let created = create(&mut c, no_year).await;
        assert_eq!(
            created.demographics.unwrap().birth_date,
            date(0, 2, 29),
            "a month and day without a year is a valid birth date"
        );
    })
    .await;
}

#[tokio::test]
async fn a_missing_customer_or_an_overlong_request_id_is_invalid() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let status = assert_code(
            c.create_customer(pb::CreateCustomerRequest::default())
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["customer"]);

        let mut bad = person("", "13800000001");
        bad.kind = 0;
        let status = assert_code(
            c.create_customer(create_req(bad, &"r".repeat(129))).await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&status),
            sorted(["request_id", "customer.kind", "customer.display_name"])
        );
        // 128 characters are fine.
        create_ok(&mut c, person("刘洋", "13800000002"), &"r".repeat(128)).await;
    })
    .await;
}

async fn create_ok(c: &mut Client, customer: pb::Customer, request_id: &str) -> pb::Customer {
    c.create_customer(create_req(customer, request_id))
        .await
        .unwrap_or_else(|e| panic!("create: {e:?}"))
        .into_inner()
}

#[tokio::test]
async fn a_retried_request_id_returns_the_first_customer_and_creates_one() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let first = create_ok(&mut c, person("张伟", "13800000001"), "req-1").await;
        let again = create_ok(&mut c, person("张伟", "13800000001"), "req-1").await;
        assert_eq!(again, first);
        // A changed body is another request: the reused id is refused, nothing is created.
        let status = assert_code(
            c.create_customer(create_req(person("别人", "13800000009"), "req-1"))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(reason(&status), "REQUEST_ID_REUSED");
        assert_eq!(bad_fields(&status), ["request_id"]);
        let all = list_all_customers(&mut c, "").await;
        assert_eq!(name_set(&all), BTreeSet::from([first.name.clone()]));

        // Another request id is another customer.
        let second = create_ok(&mut c, person("李娜", "13800000002"), "req-2").await;
        assert_ne!(second.name, first.name);
        assert_eq!(list_all_customers(&mut c, "").await.len(), 2);

        // Request ids are per tenant: another tenant's same id creates its own customer.
        let theirs = create_ok(&mut stranger(s), person("张伟", "13800000001"), "req-1").await;
        assert_ne!(theirs.name, first.name);
        assert_eq!(list_all_customers(&mut c, "").await.len(), 2);
        assert_eq!(
            name_set(&list_all_customers(&mut stranger(s), "").await),
            BTreeSet::from([theirs.name])
        );
    })
    .await;
}

#[tokio::test]
async fn concurrent_retries_of_one_request_id_create_one_customer() {
    each_backend(&services(), async |s| {
        let attempts = (0..6).map(|_| async {
            let mut c = admin(s);
            c.create_customer(create_req(person("张伟", "13800000001"), "req-race"))
                .await
                .map(tonic::Response::into_inner)
        });
        let results = futures::future::join_all(attempts).await;
        let first = results[0].clone().expect("the first attempt");
        for r in results {
            assert_eq!(r.expect("every retry gets the customer"), first);
        }
        let all = list_all_customers(&mut admin(s), "").await;
        assert_eq!(name_set(&all), BTreeSet::from([first.name]));
    })
    .await;
}

#[tokio::test]
async fn a_rep_owns_the_customers_it_creates() {
    each_backend(&services(), async |s| {
        let mut r = rep(s, "rep-1", "north");
        let mine = create(&mut r, person("王芳", "13800000001")).await;
        assert_eq!(mine.owner_id, "rep-1");
        assert_eq!(mine.team_id, "north");

        let mut for_self = person("赵磊", "13800000002");
        for_self.owner_id = "rep-1".into();
        assert_eq!(create(&mut r, for_self).await.owner_id, "rep-1");

        let mut for_other = person("孙丽", "13800000003");
        for_other.owner_id = "rep-2".into();
        let status = assert_code(
            r.create_customer(create_req(for_other.clone(), "")).await,
            Code::PermissionDenied,
        );
        assert_eq!(reason(&status), "PERMISSION_DENIED");
        let mut a = admin(s);
        assert_eq!(list_all_customers(&mut a, "").await.len(), 2);

        // A manager may name any owner.
        let made = create(&mut manager(s), for_other).await;
        assert_eq!(made.owner_id, "rep-2");
        assert_eq!(made.team_id, "");
    })
    .await;
}

#[tokio::test]
async fn a_duplicate_is_refused_naming_the_existing_customer() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let mut existing = person("张伟", "13812345678");
        existing.emails.push(pb::Email {
            address: "zhang@example.com".into(),
            ..Default::default()
        });
        existing.im_handles.push(pb::ImHandle {
            platform: pb::ImPlatform::Wechat.into(),
            handle: "zhangwei".into(),
        });
        let existing = create(&mut c, existing).await;

        let by_phone = person("张伟2", "+86 138-1234-5678");
        let mut by_email = person("张伟3", "13800000003");
        by_email.emails.push(pb::Email {
            address: "zhang@EXAMPLE.COM".into(),
            ..Default::default()
        });
        let mut by_im = person("张伟4", "13800000004");
        by_im.im_handles.push(pb::ImHandle {
            platform: pb::ImPlatform::Wechat.into(),
            handle: "zhangwei".into(),
        });
        for dup in [by_phone.clone(), by_email, by_im] {
            let status = assert_code(
                c.create_customer(create_req(dup, "")).await,
                Code::AlreadyExists,
            );
            assert_eq!(reason(&status), "DUPLICATE_CUSTOMER");
            assert_eq!(existing_resource(&status), existing.name);
            let info = status.get_error_details();
            assert_eq!(
                info.resource_info().map(|r| r.resource_name.clone()),
                Some(existing.name.clone())
            );
            assert!(status.message().contains(&existing.name), "{status:?}");
        }
        // The same handle on another platform is someone else.
        let mut other_platform = person("张伟5", "13800000005");
        other_platform.im_handles.push(pb::ImHandle {
            platform: pb::ImPlatform::Qq.into(),
            handle: "zhangwei".into(),
        });
        create(&mut c, other_platform).await;
        assert_eq!(list_all_customers(&mut c, "").await.len(), 2);

        // Another tenant may have a customer with the same phone.
        create(&mut stranger(s), by_phone.clone()).await;

        // Only live customers count: once the first is deleted its phone is free again.
        c.delete_customer(delete_req(&existing.name, ""))
            .await
            .expect("delete");
        let replacement = create(&mut c, by_phone).await;
        // And the deleted one cannot come back while the replacement has its phone.
        let status = assert_code(
            c.undelete_customer(undelete_req(&existing.name)).await,
            Code::AlreadyExists,
        );
        assert_eq!(existing_resource(&status), replacement.name);
    })
    .await;
}

#[tokio::test]
async fn another_tenants_customer_reads_as_not_found() {
    each_backend(&services(), async |s| {
        let created = create(&mut admin(s), person("李娜", "13900001111")).await;
        let status = assert_code(
            stranger(s)
                .get_customer(pb::GetCustomerRequest {
                    name: created.name.clone(),
                })
                .await,
            Code::NotFound,
        );
        assert_eq!(reason(&status), "NOT_FOUND");
    })
    .await;
}

#[tokio::test]
async fn get_refuses_bad_names_and_reports_unknown_customers() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        create(&mut c, person("李娜", "13900001111")).await;
        for bad in [
            "",
            "customers/",
            "customers/not-a-uuid",
            "leads/0190a5b2-7c3e-7d4f-8a1b-2c3d4e5f6a7b",
            "customers/0190a5b2-7c3e-7d4f-8a1b-2c3d4e5f6a7b/extra",
        ] {
            let status = assert_code(c.get_customer(get_req(bad)).await, Code::InvalidArgument);
            assert_eq!(bad_fields(&status), ["name"], "{bad:?}");
        }
        let unknown = "customers/0190a5b2-7c3e-7d4f-8a1b-2c3d4e5f6a7b";
        let status = assert_code(c.get_customer(get_req(unknown)).await, Code::NotFound);
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
        let names = |r: pb::ListCustomersResponse| -> Vec<String> {
            r.customers.into_iter().map(|c| c.display_name).collect()
        };
        let list = |filter: &str| pb::ListCustomersRequest {
            filter: filter.into(),
            ..Default::default()
        };
        let by_char = c
            .list_customers(list("display_name:\"伟\""))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(names(by_char), ["张伟"]);
        let latin = c
            .list_customers(list("display_name:\"zhang\""))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(names(latin), ["Wei ZHANG"]);
        let phone = c
            .list_customers(list("phone = \"+8613800000003\""))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(names(phone), ["王芳"]);
    })
    .await;
}

#[tokio::test]
async fn page_sizes_default_to_50_cap_at_1000_and_must_not_be_negative() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let rows: Vec<pb::Customer> = (0..1001)
            .map(|i| pb::Customer {
                kind: pb::CustomerKind::Person.into(),
                display_name: format!("Bulk {i:04}"),
                ..Default::default()
            })
            .collect();
        let mut replies = c
            .import_customers(tokio_stream::iter(vec![pb::ImportCustomersRequest {
                customers: rows,
            }]))
            .await
            .expect("import")
            .into_inner();
        let mut created = 0;
        while let Some(reply) = replies.message().await.expect("import reply") {
            created += reply
                .results
                .iter()
                .filter(|r| r.status == pb::ImportRowStatus::Created as i32)
                .count();
        }
        assert_eq!(created, 1001);

        let page = |size: i32| pb::ListCustomersRequest {
            page_size: size,
            ..Default::default()
        };
        let default = c.list_customers(page(0)).await.unwrap().into_inner();
        assert_eq!(default.customers.len(), 50);
        assert!(!default.next_page_token.is_empty());

        let capped = c.list_customers(page(5000)).await.unwrap().into_inner();
        assert_eq!(capped.customers.len(), 1000);
        assert!(!capped.next_page_token.is_empty());
        let rest = c
            .list_customers(pb::ListCustomersRequest {
                page_size: 5000,
                page_token: capped.next_page_token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(rest.customers.len(), 1);
        assert!(rest.next_page_token.is_empty());
        let mut seen = name_set(&capped.customers);
        seen.extend(name_set(&rest.customers));
        assert_eq!(seen.len(), 1001);

        for negative in [-1, i32::MIN] {
            let status = assert_code(
                c.list_customers(page(negative)).await,
                Code::InvalidArgument,
            );
            assert_eq!(bad_fields(&status), ["page_size"]);
        }
        // Every bad list parameter is named at once.
        let status = assert_code(
            c.list_customers(pb::ListCustomersRequest {
                page_size: -5,
                page_token: "garbage".into(),
                filter: "nope = 1".into(),
                order_by: "phone".into(),
                show_deleted: false,
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&status),
            sorted(["filter", "order_by", "page_size", "page_token"])
        );
    })
    .await;
}

#[tokio::test]
async fn every_order_pages_through_every_customer_exactly_once() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let mut made = Vec::new();
        for (i, name) in [
            "Delta", "Alpha", "Charlie", "Bravo", "Alpha", "Echo", "Foxtrot",
        ]
        .iter()
        .enumerate()
        {
            made.push(create(&mut c, person(name, &format!("1380000000{i}"))).await);
        }
        // Touch two older customers so update order differs from create order.
        for i in [3, 0] {
            let mut patch = made[i].clone();
            patch.grade = "B".into();
            c.update_customer(update_req(patch, &["grade"]))
                .await
                .expect("update");
        }
        // A deleted customer is not listed.
        let gone = create(&mut c, person("Golf", "13800000099")).await;
        c.delete_customer(delete_req(&gone.name, ""))
            .await
            .expect("delete");

        let all: BTreeSet<String> = name_set(&made);
        let mut default_order = None;
        for order_by in [
            "",
            "create_time",
            "create_time desc",
            "update_time",
            "update_time desc",
            "display_name",
            "display_name desc",
        ] {
            for page_size in [1, 2, 3, 7] {
                let (rows, pages) = list_pages(
                    &mut c,
                    pb::ListCustomersRequest {
                        page_size,
                        order_by: order_by.into(),
                        ..Default::default()
                    },
                )
                .await;
                let names: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
                assert_eq!(names.len(), 7, "{order_by:?} by {page_size}: {names:?}");
                assert_eq!(name_set(&rows), all, "{order_by:?} by {page_size}");
                assert_eq!(pages, 7usize.div_ceil(page_size as usize).max(1));
                let desc = order_by.ends_with("desc") || order_by.is_empty();
                let key = |r: &pb::Customer| -> (String, i64, String) {
                    match order_by.split(' ').next().unwrap() {
                        "display_name" => (r.display_name.clone(), 0, r.name.clone()),
                        "update_time" => (String::new(), micros(&r.update_time), r.name.clone()),
                        _ => (String::new(), micros(&r.create_time), r.name.clone()),
                    }
                };
                for pair in rows.windows(2) {
                    let (a, b) = (key(&pair[0]), key(&pair[1]));
                    if desc {
                        assert!(a > b, "{order_by:?}: {a:?} before {b:?}");
                    } else {
                        assert!(a < b, "{order_by:?}: {a:?} before {b:?}");
                    }
                }
                if order_by.is_empty() {
                    default_order = Some(names.clone());
                }
                if order_by == "create_time desc" {
                    assert_eq!(Some(names.clone()), default_order);
                }
                if order_by == "update_time" {
                    // The two touched customers come last, in the order they were touched.
                    assert_eq!(names[5..], [made[3].name.clone(), made[0].name.clone()]);
                }
                if order_by == "display_name" {
                    assert_eq!(
                        display_names(&rows),
                        [
                            "Alpha", "Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"
                        ]
                    );
                }
            }
        }
        for bad in ["name", "display_name sideways", "create_time, update_time"] {
            let status = assert_code(
                c.list_customers(pb::ListCustomersRequest {
                    order_by: bad.into(),
                    ..Default::default()
                })
                .await,
                Code::InvalidArgument,
            );
            assert_eq!(bad_fields(&status), ["order_by"], "{bad:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_page_token_only_fits_the_query_that_made_it() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        for i in 0..4 {
            let mut p = person(&format!("VIP {i}"), &format!("1380000000{i}"));
            p.tags = vec!["vip".into()];
            create(&mut c, p).await;
        }
        let first = c
            .list_customers(pb::ListCustomersRequest {
                page_size: 2,
                filter: "tags:vip".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let token = first.next_page_token;
        assert!(!token.is_empty());

        let base = pb::ListCustomersRequest {
            page_size: 2,
            page_token: token.clone(),
            filter: "tags:vip".into(),
            ..Default::default()
        };
        // The same query continues.
        let second = c.list_customers(base.clone()).await.unwrap().into_inner();
        assert_eq!(second.customers.len(), 2);
        assert!(name_set(&second.customers).is_disjoint(&name_set(&first.customers)));

        let other_filter = pb::ListCustomersRequest {
            filter: "tags:new".into(),
            ..base.clone()
        };
        let other_order = pb::ListCustomersRequest {
            order_by: "display_name".into(),
            ..base.clone()
        };
        let other_deleted = pb::ListCustomersRequest {
            show_deleted: true,
            ..base.clone()
        };
        let garbage = pb::ListCustomersRequest {
            page_token: "not-a-token".into(),
            ..base.clone()
        };
        let mut tampered_token = token.clone();
        let last = tampered_token.pop().unwrap();
        tampered_token.push(if last == 'A' { 'B' } else { 'A' });
        let tampered = pb::ListCustomersRequest {
            page_token: tampered_token,
            ..base.clone()
        };
        for req in [other_filter, other_order, other_deleted, garbage, tampered] {
            let status = assert_code(c.list_customers(req.clone()).await, Code::InvalidArgument);
            assert_eq!(bad_fields(&status), ["page_token"], "{req:?}");
        }
        // Another tenant cannot use it either.
        let status = assert_code(
            stranger(s).list_customers(base.clone()).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["page_token"]);
        // A different page size is the same query.
        let bigger = c
            .list_customers(pb::ListCustomersRequest {
                page_size: 10,
                ..base
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(bigger.customers.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn filters_select_by_every_documented_field() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        update_settings(
            &mut c,
            pb::CustomerSettings {
                custom_fields: vec![
                    pb::CustomFieldDefinition {
                        key: "house_size".into(),
                        display_name: "House size (m²)".into(),
                        r#type: pb::CustomFieldType::Number.into(),
                        ..Default::default()
                    },
                    pb::CustomFieldDefinition {
                        key: "style".into(),
                        display_name: "Style".into(),
                        r#type: pb::CustomFieldType::String.into(),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            },
            &["custom_fields"],
        )
        .await
        .expect("define custom fields");

        let make = |name: &str,
                    phone: &str,
                    tags: &[&str],
                    owner: &str,
                    team: &str,
                    city: &str,
                    stage: pb::LifecycleStage,
                    grade: &str,
                    birth: Option<pt::Date>,
                    custom: Option<prost_types::Struct>| {
            let mut p = person(name, phone);
            p.tags = tags.iter().map(|t| (*t).to_owned()).collect();
            p.owner_id = owner.into();
            p.team_id = team.into();
            p.addresses = vec![pb::Address {
                city: city.into(),
                ..Default::default()
            }];
            p.lifecycle_stage = stage.into();
            p.grade = grade.into();
            p.demographics = birth.map(|b| pb::Demographics {
                birth_date: Some(b),
                ..Default::default()
            });
            p.custom_fields = custom;
            p
        };
        let a = create(
            &mut c,
            make(
                "张伟",
                "13800000001",
                &["vip", "sofa"],
                "rep-1",
                "north",
                "深圳市",
                pb::LifecycleStage::Customer,
                "A",
                date(1990, 1, 15),
                fields(&[
                    ("house_size", number_value(120.0)),
                    ("style", string_value("nordic")),
                ]),
            ),
        )
        .await;
        let b = create(
            &mut c,
            make(
                "李娜",
                "13800000002",
                &["vip"],
                "rep-2",
                "north",
                "广州市",
                pb::LifecycleStage::Prospect,
                "B",
                date(1985, 7, 1),
                fields(&[("house_size", number_value(80.5))]),
            ),
        )
        .await;
        let cc = create(
            &mut c,
            make(
                "王芳",
                "13800000003",
                &["bed"],
                "rep-3",
                "south",
                "深圳市",
                pb::LifecycleStage::Churned,
                "A",
                None,
                fields(&[
                    ("house_size", number_value(200.0)),
                    ("style", string_value("modern")),
                ]),
            ),
        )
        .await;
        let d = create(
            &mut c,
            make(
                "赵磊",
                "13800000004",
                &[],
                "rep-1",
                "south",
                "北京市",
                pb::LifecycleStage::RepeatCustomer,
                "C",
                date(2000, 12, 31),
                None,
            ),
        )
        .await;
        // Only month and day known; lives in a city without a province-level twin.
        let e = create(
            &mut c,
            make(
                "孙丽",
                "13800000005",
                &[],
                "rep-9",
                "east",
                "上海市",
                pb::LifecycleStage::Prospect,
                "",
                date(0, 3, 8),
                None,
            ),
        )
        .await;
        let names = |cs: &[&pb::Customer]| -> BTreeSet<String> {
            cs.iter().map(|c| c.display_name.clone()).collect()
        };
        let b_created = rfc3339(b.create_time.as_ref().unwrap());
        let d_created = rfc3339(d.create_time.as_ref().unwrap());
        let cases: Vec<(String, BTreeSet<String>)> = vec![
            ("tags:vip".into(), names(&[&a, &b])),
            ("tags = \"sofa\"".into(), names(&[&a])),
            ("owner_id = \"rep-1\"".into(), names(&[&a, &d])),
            ("owner_id != rep-1".into(), names(&[&b, &cc, &e])),
            ("team_id = south".into(), names(&[&cc, &d])),
            ("city = \"深圳市\"".into(), names(&[&a, &cc])),
            ("lifecycle_stage = CUSTOMER".into(), names(&[&a])),
            ("lifecycle_stage = churned".into(), names(&[&cc])),
            ("lifecycle_stage != PROSPECT".into(), names(&[&a, &cc, &d])),
            ("grade = A".into(), names(&[&a, &cc])),
            (
                format!("create_time >= {b_created}"),
                names(&[&b, &cc, &d, &e]),
            ),
            (
                format!("create_time >= {b_created} AND create_time < {d_created}"),
                names(&[&b, &cc]),
            ),
            (format!("create_time > {d_created}"), names(&[&e])),
            ("birth_date < 1990-01-01".into(), names(&[&b])),
            ("birth_date >= 1990-01-15".into(), names(&[&a, &d])),
            ("birth_date > 0001-01-01".into(), names(&[&a, &b, &d])),
            ("team_id = east".into(), names(&[&e])),
            ("birth_date = 2000-12-31".into(), names(&[&d])),
            ("custom_fields.house_size > 100".into(), names(&[&a, &cc])),
            ("custom_fields.house_size < 100".into(), names(&[&b])),
            ("custom_fields.style = \"nordic\"".into(), names(&[&a])),
            ("custom_fields.style:modern".into(), names(&[&cc])),
            ("tags:vip AND city = \"深圳市\"".into(), names(&[&a])),
            ("tags:vip team_id = north".into(), names(&[&a, &b])),
            ("grade = C OR tags:bed".into(), names(&[&cc, &d])),
            ("NOT tags:vip".into(), names(&[&cc, &d, &e])),
            ("-tags:vip".into(), names(&[&cc, &d, &e])),
            (
                "(grade = A OR grade = B) AND NOT team_id = north".into(),
                names(&[&cc]),
            ),
            (
                "NOT (owner_id = rep-1 OR owner_id = rep-2)".into(),
                names(&[&cc, &e]),
            ),
        ];
        for (filter, expected) in cases {
            let got: BTreeSet<String> = list_all_customers(&mut c, &filter)
                .await
                .into_iter()
                .map(|c| c.display_name)
                .collect();
            assert_eq!(got, expected, "filter {filter:?}");
        }

        for bad in [
            "bogus = 1",
            "tags:",
            "(grade = A",
            "grade = A AND",
            "create_time > yesterday",
            "birth_date < 1990-13-01",
            "lifecycle_stage = NOPE",
            "custom_fields.Bad-Key = 1",
            "display_name ~ x",
        ] {
            let status = assert_code(c.list_customers(list_req(bad)).await, Code::InvalidArgument);
            let fields = bad_fields(&status);
            assert!(
                !fields.is_empty() && fields.iter().all(|f| f == "filter"),
                "{bad:?}: {fields:?}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn update_changes_only_the_masked_fields() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        update_settings(
            &mut c,
            pb::CustomerSettings {
                custom_fields: vec![
                    pb::CustomFieldDefinition {
                        key: "house_size".into(),
                        display_name: "House size".into(),
                        r#type: pb::CustomFieldType::Number.into(),
                        ..Default::default()
                    },
                    pb::CustomFieldDefinition {
                        key: "style".into(),
                        display_name: "Style".into(),
                        r#type: pb::CustomFieldType::String.into(),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            },
            &["custom_fields"],
        )
        .await
        .expect("define custom fields");
        let mut input = person("王芳", "13800000001");
        input.owner_id = "rep-1".into();
        input.team_id = "north".into();
        input.grade = "A".into();
        input.tags = vec!["old".into()];
        input.demographics = Some(pb::Demographics {
            gender: pb::Gender::Female.into(),
            birth_date: date(1990, 1, 1),
            occupation: "Teacher".into(),
            ..Default::default()
        });
        input.consent = Some(pb::Consent {
            channels: vec![pb::ChannelConsent {
                channel: pb::Channel::Sms.into(),
                status: pb::ConsentStatus::OptedIn.into(),
                source: "store_form".into(),
            }],
            ..Default::default()
        });
        input.custom_fields = fields(&[
            ("house_size", number_value(100.0)),
            ("style", string_value("nordic")),
        ]);
        let original = create(&mut c, input).await;

        // Top-level fields: only the masked ones change.
        let mut patch = original.clone();
        patch.display_name = "王芳芳".into();
        patch.tags = vec!["new".into(), "vip".into()];
        patch.grade = "Z".into();
        patch.phones.clear();
        let updated = c
            .update_customer(update_req(patch, &["display_name", "tags"]))
            .await
            .expect("update")
            .into_inner();
        assert_eq!(updated.display_name, "王芳芳");
        assert_eq!(updated.tags, ["new", "vip"]);
        assert_eq!(updated.grade, "A");
        assert_eq!(updated.phones, original.phones);
        assert_ne!(updated.etag, original.etag);
        assert!(micros(&updated.update_time) > micros(&original.update_time));
        assert_eq!(updated.create_time, original.create_time);
        assert_eq!(fetch_customer(&mut c, &original.name).await, updated);

        // Nested fields: siblings stay.
        let patch = pb::Customer {
            name: original.name.clone(),
            demographics: Some(pb::Demographics {
                birth_date: date(1991, 2, 3),
                ..Default::default()
            }),
            consent: Some(pb::Consent {
                do_not_disturb: true,
                ..Default::default()
            }),
            custom_fields: fields(&[("style", string_value("modern"))]),
            ..Default::default()
        };
        let updated = c
            .update_customer(update_req(
                patch,
                &[
                    "demographics.birth_date",
                    "consent.do_not_disturb",
                    "custom_fields.style",
                ],
            ))
            .await
            .expect("nested update")
            .into_inner();
        let demo = updated.demographics.clone().unwrap();
        assert_eq!(demo.birth_date, date(1991, 2, 3));
        assert_eq!(demo.occupation, "Teacher");
        assert_eq!(demo.gender, pb::Gender::Female as i32);
        let consent = updated.consent.clone().unwrap();
        assert!(consent.do_not_disturb);
        assert_eq!(consent.channels.len(), 1);
        let custom = updated.custom_fields.clone().unwrap().fields;
        assert_eq!(custom.get("style"), Some(&string_value("modern")));
        assert_eq!(custom.get("house_size"), Some(&number_value(100.0)));
        assert_eq!(updated.display_name, "王芳芳");

        // A masked custom field without a value is removed.
        let patch = pb::Customer {
            name: original.name.clone(),
            ..Default::default()
        };
        let updated = c
            .update_customer(update_req(patch, &["custom_fields.style"]))
            .await
            .expect("remove a custom field")
            .into_inner();
        let custom = updated.custom_fields.unwrap().fields;
        assert_eq!(custom.keys().collect::<Vec<_>>(), ["house_size"]);

        // "*" replaces every updatable field; ownership and kind stay.
        let patch = pb::Customer {
            name: original.name.clone(),
            kind: pb::CustomerKind::Organization.into(),
            display_name: "Star Furniture".into(),
            phones: vec![pb::Phone {
                number: "13900000009".into(),
                ..Default::default()
            }],
            owner_id: "someone-else".into(),
            ..Default::default()
        };
        let star = c
            .update_customer(update_req(patch, &["*"]))
            .await
            .expect("replace")
            .into_inner();
        assert_eq!(star.display_name, "Star Furniture");
        assert_eq!(star.phones[0].number, "+8613900000009");
        assert_eq!(star.kind, pb::CustomerKind::Person as i32);
        assert_eq!(star.owner_id, "rep-1");
        assert_eq!(star.team_id, "north");
        assert!(star.tags.is_empty());
        assert_eq!(star.grade, "");
        assert!(star.demographics.is_none());
        assert!(star.consent.is_none());
        assert!(star.custom_fields.is_none());
        // The old phone is free again: it was replaced.
        create(&mut c, person("新客户", "13800000001")).await;
    })
    .await;
}

#[tokio::test]
async fn update_refuses_bad_masks_and_bad_values_in_one_error() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let original = create(&mut c, person("王芳", "13800000001")).await;
        let named = |paths: &[&str]| update_req(original.clone(), paths);

        for paths in [
            &[][..],
            &["nickname"],
            &["create_time"],
            &["etag"],
            &["name"],
            &["possible_duplicates"],
            &["owner_id"],
            &["team_id"],
            &["store_id"],
            &["kind"],
            &["demographics.shoe_size"],
            &["custom_fields."],
        ] {
            let status = assert_code(c.update_customer(named(paths)).await, Code::InvalidArgument);
            assert_eq!(bad_fields(&status), ["update_mask"], "{paths:?}");
        }
        let no_mask = pb::UpdateCustomerRequest {
            customer: Some(original.clone()),
            update_mask: None,
        };
        let status = assert_code(c.update_customer(no_mask).await, Code::InvalidArgument);
        assert_eq!(bad_fields(&status), ["update_mask"]);

        // Several bad paths and bad values, one error.
        let mut patch = original.clone();
        patch.display_name = String::new();
        patch.emails = vec![pb::Email {
            address: "nope".into(),
            ..Default::default()
        }];
        let status = assert_code(
            c.update_customer(update_req(
                patch,
                &["display_name", "emails", "owner_id", "bogus"],
            ))
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&status),
            sorted([
                "customer.display_name",
                "customer.emails[0].address",
                "update_mask",
                "update_mask",
            ])
        );
        // A bad name and a missing mask are both named.
        let bad_name = pb::UpdateCustomerRequest {
            customer: Some(pb::Customer {
                name: "customers/nope".into(),
                ..Default::default()
            }),
            update_mask: None,
        };
        let status = assert_code(c.update_customer(bad_name).await, Code::InvalidArgument);
        assert_eq!(
            sorted_bad_fields(&status),
            sorted(["customer.name", "update_mask"])
        );
        let status = assert_code(
            c.update_customer(pb::UpdateCustomerRequest {
                customer: None,
                update_mask: mask(&["display_name"]),
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["customer"]);
        // Nothing changed.
        assert_eq!(fetch_customer(&mut c, &original.name).await, original);
    })
    .await;
}

#[tokio::test]
async fn update_checks_the_etag_and_changes_it() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let original = create(&mut c, person("王芳", "13800000001")).await;
        let mut patch = original.clone();
        patch.grade = "A".into();
        let first = c
            .update_customer(update_req(patch.clone(), &["grade"]))
            .await
            .expect("update with the current etag")
            .into_inner();
        assert_ne!(first.etag, original.etag);

        // The old etag is stale now.
        patch.grade = "B".into();
        let status = assert_code(
            c.update_customer(update_req(patch.clone(), &["grade"]))
                .await,
            Code::Aborted,
        );
        assert_eq!(reason(&status), "ETAG_MISMATCH");
        assert_eq!(fetch_customer(&mut c, &original.name).await.grade, "A");

        // The fresh etag works, and so does none at all.
        patch.etag = first.etag.clone();
        let second = c
            .update_customer(update_req(patch.clone(), &["grade"]))
            .await
            .expect("update with the fresh etag")
            .into_inner();
        assert_eq!(second.grade, "B");
        assert_ne!(second.etag, first.etag);
        patch.etag = String::new();
        patch.grade = "C".into();
        let third = c
            .update_customer(update_req(patch, &["grade"]))
            .await
            .expect("update without an etag")
            .into_inner();
        assert_eq!(third.grade, "C");
        assert_ne!(third.etag, second.etag);
        assert_ne!(third.etag, original.etag);
    })
    .await;
}

#[tokio::test]
async fn update_refuses_a_phone_another_customer_has() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let other = create(&mut c, person("李娜", "13900001111")).await;
        let me = create(&mut c, person("王芳", "13800000001")).await;

        // The same number written differently is no change of contacts.
        let mut patch = me.clone();
        patch.phones = vec![pb::Phone {
            number: "+86 138 0000 0001".into(),
            label: "mobile".into(),
            ..Default::default()
        }];
        let relabeled = c
            .update_customer(update_req(patch.clone(), &["phones"]))
            .await
            .expect("same number, new label")
            .into_inner();
        assert_eq!(relabeled.phones[0].label, "mobile");

        patch.etag = relabeled.etag.clone();
        patch.phones.push(pb::Phone {
            number: "139 0000 1111".into(),
            ..Default::default()
        });
        let status = assert_code(
            c.update_customer(update_req(patch, &["phones"])).await,
            Code::AlreadyExists,
        );
        assert_eq!(reason(&status), "DUPLICATE_CUSTOMER");
        assert_eq!(existing_resource(&status), other.name);
        assert_eq!(fetch_customer(&mut c, &me.name).await, relabeled);
    })
    .await;
}

#[tokio::test]
async fn update_of_unknown_foreign_or_deleted_customers_is_refused() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let mine = create(&mut c, person("王芳", "13800000001")).await;
        let mut patch = mine.clone();
        patch.grade = "A".into();

        let status = assert_code(
            stranger(s)
                .update_customer(update_req(patch.clone(), &["grade"]))
                .await,
            Code::NotFound,
        );
        assert_eq!(reason(&status), "NOT_FOUND");
        let mut unknown = patch.clone();
        unknown.name = "customers/0190a5b2-7c3e-7d4f-8a1b-2c3d4e5f6a7b".into();
        assert_code(
            c.update_customer(update_req(unknown, &["grade"])).await,
            Code::NotFound,
        );
        let mut bad = patch.clone();
        bad.name = "customer/123".into();
        let status = assert_code(
            c.update_customer(update_req(bad, &["grade"])).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["customer.name"]);

        let deleted = c
            .delete_customer(delete_req(&mine.name, ""))
            .await
            .unwrap()
            .into_inner();
        patch.etag = deleted.etag;
        let status = assert_code(
            c.update_customer(update_req(patch, &["grade"])).await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&status), "CUSTOMER_DELETED");
        assert_eq!(fetch_customer(&mut c, &mine.name).await.grade, "");
    })
    .await;
}

#[tokio::test]
async fn delete_is_soft_checks_the_etag_and_happens_once() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let keep = create(&mut c, person("李娜", "13900001111")).await;
        let doomed = create(&mut c, person("王芳", "13800000001")).await;

        let status = assert_code(
            c.delete_customer(delete_req(&doomed.name, "0000000000000000"))
                .await,
            Code::Aborted,
        );
        assert_eq!(reason(&status), "ETAG_MISMATCH");
        assert!(
            fetch_customer(&mut c, &doomed.name)
                .await
                .delete_time
                .is_none()
        );

        let deleted = c
            .delete_customer(delete_req(&doomed.name, &doomed.etag))
            .await
            .expect("delete")
            .into_inner();
        assert!(deleted.delete_time.is_some());
        assert_ne!(deleted.etag, doomed.etag);
        assert_eq!(deleted.display_name, "王芳");

        // Get still shows it, deleted.
        assert_eq!(fetch_customer(&mut c, &doomed.name).await, deleted);
        // List hides it unless asked.
        assert_eq!(
            name_set(&list_all_customers(&mut c, "").await),
            BTreeSet::from([keep.name.clone()])
        );
        let (with_deleted, _) = list_pages(
            &mut c,
            pb::ListCustomersRequest {
                show_deleted: true,
                ..Default::default()
            },
        )
        .await;
        assert_eq!(
            name_set(&with_deleted),
            BTreeSet::from([keep.name.clone(), doomed.name.clone()])
        );
        let shown = with_deleted.iter().find(|x| x.name == doomed.name).unwrap();
        assert!(shown.delete_time.is_some());

        // Deleting twice is a wrong state, not a success.
        let status = assert_code(
            c.delete_customer(delete_req(&doomed.name, "")).await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&status), "CUSTOMER_DELETED");

        // Other tenants, unknown ids and bad names.
        assert_code(
            stranger(s)
                .delete_customer(delete_req(&keep.name, ""))
                .await,
            Code::NotFound,
        );
        assert_code(
            c.delete_customer(delete_req(
                "customers/0190a5b2-7c3e-7d4f-8a1b-2c3d4e5f6a7b",
                "",
            ))
            .await,
            Code::NotFound,
        );
        let status = assert_code(
            c.delete_customer(delete_req("customers/x", "")).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["name"]);
        assert!(
            fetch_customer(&mut c, &keep.name)
                .await
                .delete_time
                .is_none()
        );
    })
    .await;
}

#[tokio::test]
async fn undelete_restores_a_deleted_customer_only() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let live = create(&mut c, person("李娜", "13900001111")).await;
        let status = assert_code(
            c.undelete_customer(undelete_req(&live.name)).await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&status), "CUSTOMER_NOT_DELETED");

        let deleted = c
            .delete_customer(delete_req(&live.name, ""))
            .await
            .unwrap()
            .into_inner();
        assert_code(
            stranger(s)
                .undelete_customer(undelete_req(&live.name))
                .await,
            Code::NotFound,
        );
        let status = assert_code(
            c.undelete_customer(undelete_req("")).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["name"]);

        let restored = c
            .undelete_customer(undelete_req(&live.name))
            .await
            .expect("undelete")
            .into_inner();
        assert!(restored.delete_time.is_none());
        assert_ne!(restored.etag, deleted.etag);
        assert_eq!(
            without_output_only(&restored),
            without_output_only(&live),
            "the profile comes back as it was"
        );
        assert_eq!(fetch_customer(&mut c, &live.name).await, restored);
        assert_eq!(
            name_set(&list_all_customers(&mut c, "").await),
            BTreeSet::from([live.name.clone()])
        );
        // Its phone counts as taken again.
        let status = assert_code(
            c.create_customer(create_req(person("又一个", "13900001111"), ""))
                .await,
            Code::AlreadyExists,
        );
        assert_eq!(existing_resource(&status), live.name);
        // And once restored, it is live: undeleting again is a wrong state.
        assert_code(
            c.undelete_customer(undelete_req(&live.name)).await,
            Code::FailedPrecondition,
        );
    })
    .await;
}
