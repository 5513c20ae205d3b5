use time::macros::date;
use uuid::Uuid;

use super::*;
use crate::convert::fixtures::{fields, full_customer, money, number, pdate, person, string};
use crate::domain::consent::{Channel, ConsentStatus};
use crate::domain::custom_fields::CustomFieldType;
use crate::domain::profile::{CustomerKind, Date, Gender, ImPlatform, LifecycleStage, PhoneKind};

fn defs() -> Vec<CustomFieldDef> {
    vec![
        CustomFieldDef {
            key: "size".into(),
            display_name: "Size".into(),
            field_type: CustomFieldType::Enum,
            required: false,
            options: vec!["S".into(), "M".into(), "L".into()],
        },
        CustomFieldDef {
            key: "rooms".into(),
            display_name: "Rooms".into(),
            field_type: CustomFieldType::Integer,
            required: false,
            options: vec![],
        },
    ]
}

fn parse_with(msg: &pb::Customer, defs: &[CustomFieldDef]) -> (Profile, Vec<(String, String)>) {
    let ctx = ProfileContext {
        default_region: "CN",
        custom_fields: defs,
        today: date!(2025 - 06 - 01),
    };
    let mut v = Violations::new();
    let profile = parse_profile(msg, &ctx, &mut v);
    (
        profile,
        v.into_vec()
            .into_iter()
            .map(|f| (f.field, f.description))
            .collect(),
    )
}

fn parse(msg: &pb::Customer) -> (Profile, Vec<(String, String)>) {
    parse_with(msg, &defs())
}

/// The bad fields of `msg`, in report order.
fn bad_fields(msg: &pb::Customer) -> Vec<String> {
    parse(msg).1.into_iter().map(|(f, _)| f).collect()
}

#[test]
fn a_chinese_customer_parses_normalized() {
    let msg = pb::Customer {
        family_name: " 张 ".into(),
        given_name: "伟".into(),
        phones: vec![
            pb::Phone {
                number: "138 1234 5678".into(),
                kind: pb::PhoneKind::Mobile.into(),
                label: "私人".into(),
            },
            pb::Phone {
                number: "+86 13812345678".into(),
                ..Default::default()
            },
        ],
        emails: vec![pb::Email {
            address: " Wei.Zhang@Example.COM ".into(),
            label: String::new(),
        }],
        im_handles: vec![pb::ImHandle {
            platform: pb::ImPlatform::Wechat.into(),
            handle: "zhangwei88".into(),
        }],
        addresses: vec![pb::Address {
            province: "广东省".into(),
            city: "深圳市".into(),
            district: "南山区".into(),
            ..Default::default()
        }],
        demographics: Some(pb::Demographics {
            gender: pb::Gender::Male.into(),
            birth_date: pdate(0, 2, 29),
            ..Default::default()
        }),
        tags: vec![" vip ".into(), "vip".into(), "新客".into()],
        custom_fields: fields(&[("size", string("M")), ("rooms", number(3.0))]),
        consent: Some(pb::Consent {
            channels: vec![pb::ChannelConsent {
                channel: pb::Channel::Sms.into(),
                status: pb::ConsentStatus::OptedIn.into(),
                source: "store_form".into(),
            }],
            ..Default::default()
        }),
        // Output-only fields are ignored.
        name: "customers/whatever".into(),
        etag: "nonsense".into(),
        ..person("张伟")
    };
    let (p, found) = parse(&msg);
    assert!(found.is_empty(), "{found:?}");
    assert_eq!(p.kind, CustomerKind::Person);
    assert_eq!(p.display_name, "张伟");
    assert_eq!(p.family_name, "张");
    assert!(p.search_text().contains("张伟"));
    assert_eq!(p.phones.len(), 1);
    assert_eq!(p.phones[0].number.as_str(), "+8613812345678");
    assert_eq!(p.phones[0].kind, Some(PhoneKind::Mobile));
    assert_eq!(p.phones[0].label, "私人");
    assert_eq!(p.emails[0].address.as_str(), "Wei.Zhang@example.com");
    assert_eq!(p.im_handles[0].platform(), ImPlatform::Wechat);
    assert_eq!(p.addresses[0].country_code, "CN");
    assert_eq!(p.demographics.gender, Some(Gender::Male));
    assert_eq!(
        p.demographics.birth_date,
        Some(Date::new(0, 2, 29).unwrap())
    );
    assert_eq!(p.tags, ["vip", "新客"]);
    assert_eq!(p.custom_fields["rooms"], serde_json::json!(3));
    assert_eq!(p.lifecycle_stage, LifecycleStage::Prospect);
    assert_eq!(p.consent.status(Channel::Sms), Some(ConsentStatus::OptedIn));
    let keys: Vec<String> = p.contact_keys().iter().map(ToString::to_string).collect();
    assert_eq!(
        keys,
        [
            "phone:+8613812345678",
            "email:wei.zhang@example.com",
            "im:wechat:zhangwei88"
        ]
    );
}

#[test]
fn every_bad_field_is_reported_in_one_pass() {
    let msg = pb::Customer {
        display_name: "  ".into(),
        phones: vec![
            pb::Phone {
                number: "13812345678".into(),
                ..Default::default()
            },
            pb::Phone {
                number: "12345".into(),
                ..Default::default()
            },
        ],
        emails: vec![pb::Email {
            address: "wei.example.com".into(),
            label: String::new(),
        }],
        ..person("")
    };
    assert_eq!(
        bad_fields(&msg),
        ["display_name", "phones[1].number", "emails[0].address"]
    );
}

#[test]
fn contact_keys_are_read_from_contact_data_only() {
    let msg = pb::Customer {
        phones: vec![pb::Phone {
            number: "138 1234 5678".into(),
            ..Default::default()
        }],
        emails: vec![pb::Email {
            address: "Wei@Example.com".into(),
            label: String::new(),
        }],
        im_handles: vec![pb::ImHandle {
            platform: pb::ImPlatform::Wechat.into(),
            handle: "ZhangWei".into(),
        }],
        ..pb::Customer::default()
    };
    let defs = defs();
    let ctx = ProfileContext {
        default_region: "CN",
        custom_fields: &defs,
        today: date!(2025 - 06 - 01),
    };
    let mut v = Violations::with_prefix("contacts");
    let keys: Vec<String> = parse_contact_keys(&msg, &ctx, &mut v)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(v.is_empty(), "{v:?}");
    assert_eq!(
        keys,
        [
            "phone:+8613812345678",
            "email:wei@example.com",
            "im:wechat:zhangwei"
        ]
    );
    let bad = pb::Customer {
        phones: vec![pb::Phone {
            number: "12".into(),
            ..Default::default()
        }],
        ..pb::Customer::default()
    };
    assert!(parse_contact_keys(&bad, &ctx, &mut v).is_empty());
    assert_eq!(v.items()[0].field, "contacts.phones[0].number");
}

#[test]
fn kind_is_required_and_must_be_known() {
    let unset = pb::Customer {
        kind: 0,
        ..person("Acme")
    };
    assert_eq!(bad_fields(&unset), ["kind"]);
    let unknown = pb::Customer {
        kind: 9,
        ..person("Acme")
    };
    let (_, found) = parse(&unknown);
    assert_eq!(found[0].1, "9 is not a valid CustomerKind");
    let org = pb::Customer {
        kind: pb::CustomerKind::Organization.into(),
        ..person("Acme")
    };
    assert_eq!(parse(&org).0.kind, CustomerKind::Organization);
}

#[test]
fn lengths_are_checked() {
    let msg = pb::Customer {
        family_name: "x".repeat(101),
        given_name: "x".repeat(100),
        organization_name: "x".repeat(201),
        grade: "x".repeat(33),
        source_channel: "x".repeat(65),
        owner_id: "x".repeat(129),
        team_id: "team 1".into(),
        phones: vec![pb::Phone {
            number: "13812345678".into(),
            label: "x".repeat(65),
            ..Default::default()
        }],
        ..person(&"名".repeat(201))
    };
    assert_eq!(
        bad_fields(&msg),
        [
            "owner_id",
            "team_id",
            "display_name",
            "family_name",
            "organization_name",
            "phones[0].label",
            "source_channel",
            "grade",
        ]
    );
    assert!(bad_fields(&person(&"名".repeat(200))).is_empty());
    assert_eq!(bad_fields(&person("a\u{0007}b")), ["display_name"]);
}

#[test]
fn enum_numbers_must_be_defined() {
    let msg = pb::Customer {
        phones: vec![pb::Phone {
            number: "13812345678".into(),
            kind: 99,
            ..Default::default()
        }],
        im_handles: vec![pb::ImHandle {
            platform: 0,
            handle: "zw".into(),
        }],
        demographics: Some(pb::Demographics {
            gender: 42,
            income_band: 6,
            education: -1,
            marital_status: 5,
            ..Default::default()
        }),
        traits: Some(pb::SocialTraits {
            risk_tolerance: 4,
            ..Default::default()
        }),
        lifecycle_stage: 9,
        ..person("张伟")
    };
    assert_eq!(
        bad_fields(&msg),
        [
            "lifecycle_stage",
            "phones[0].kind",
            "im_handles[0].platform",
            "demographics.gender",
            "demographics.income_band",
            "demographics.education",
            "demographics.marital_status",
            "traits.risk_tolerance",
        ]
    );
}

#[test]
fn birth_dates_are_real_and_not_in_the_future() {
    let with_birth = |date| pb::Customer {
        demographics: Some(pb::Demographics {
            birth_date: date,
            ..Default::default()
        }),
        ..person("张伟")
    };
    assert!(bad_fields(&with_birth(pdate(1990, 5, 4))).is_empty());
    assert!(bad_fields(&with_birth(pdate(2025, 6, 1))).is_empty());
    assert!(bad_fields(&with_birth(pdate(0, 0, 0))).is_empty());
    assert_eq!(
        bad_fields(&with_birth(pdate(2025, 6, 2))),
        ["demographics.birth_date"]
    );
    assert_eq!(
        bad_fields(&with_birth(pdate(2023, 2, 29))),
        ["demographics.birth_date"]
    );
    assert_eq!(
        bad_fields(&with_birth(pdate(1990, 300, 1))),
        ["demographics.birth_date"]
    );
}

#[test]
fn budgets_are_one_currency_and_ordered() {
    let need = |min, max| pb::Customer {
        needs: vec![pb::Need {
            category: "sofa".into(),
            budget_min: min,
            budget_max: max,
            ..Default::default()
        }],
        ..person("张伟")
    };
    let (p, found) = parse(&need(money("CNY", 500_000), money("CNY", 1_000_000)));
    assert!(found.is_empty(), "{found:?}");
    let budget = p.needs[0].budget.as_ref().unwrap();
    assert_eq!(
        (budget.min_minor_units, budget.max_minor_units),
        (Some(500_000), Some(1_000_000))
    );
    assert!(bad_fields(&need(None, money("CNY", 0))).is_empty());
    assert!(bad_fields(&need(Some(pt::Money::default()), None)).is_empty());
    assert_eq!(
        bad_fields(&need(money("CNY", 2), money("CNY", 1))),
        ["needs[0].budget_max"]
    );
    assert_eq!(
        bad_fields(&need(money("CNY", 1), money("USD", 2))),
        ["needs[0].budget_max"]
    );
    assert_eq!(
        bad_fields(&need(money("cny", 1), None)),
        ["needs[0].budget_min.currency_code"]
    );
    assert_eq!(
        bad_fields(&need(money("", 1), None)),
        ["needs[0].budget_min.currency_code"]
    );
    assert_eq!(
        bad_fields(&need(None, money("CNY", -1))),
        ["needs[0].budget_max.minor_units"]
    );
}

#[test]
fn needs_are_checked_field_by_field() {
    let msg = pb::Customer {
        needs: vec![pb::Need {
            category: " ".into(),
            products: vec!["".into(), "x".repeat(129)],
            style: "x".repeat(65),
            desired_date: pdate(2025, 2, 30),
            attributes: [("rooms".to_owned(), "x".repeat(257))].into(),
            notes: "line one\nline two".into(),
            ..Default::default()
        }],
        ..person("张伟")
    };
    assert_eq!(
        bad_fields(&msg),
        [
            "needs[0].category",
            "needs[0].products[0]",
            "needs[0].products[1]",
            "needs[0].attributes.rooms",
            "needs[0].style",
            "needs[0].desired_date",
        ]
    );
}

#[test]
fn consent_rules_apply() {
    let msg = pb::Customer {
        consent: Some(pb::Consent {
            channels: vec![
                pb::ChannelConsent {
                    channel: pb::Channel::Sms.into(),
                    status: pb::ConsentStatus::OptedIn.into(),
                    source: String::new(),
                },
                pb::ChannelConsent {
                    channel: pb::Channel::Sms.into(),
                    status: pb::ConsentStatus::OptedOut.into(),
                    source: String::new(),
                },
            ],
            do_not_disturb: true,
            quiet_hours: Some(pb::QuietHours {
                start_minute: 1440,
                end_minute: 480,
                utc_offset_minutes: 480,
            }),
        }),
        ..person("张伟")
    };
    assert_eq!(
        bad_fields(&msg),
        [
            "consent.channels[1].channel",
            "consent.quiet_hours.start_minute"
        ]
    );
}

#[test]
fn referrer_must_name_a_customer() {
    let id = Uuid::now_v7();
    let good = pb::Customer {
        referrer: format!("customers/{id}"),
        ..person("张伟")
    };
    assert_eq!(parse(&good).0.referrer, Some(id));
    for bad in [
        "customers/42",
        id.to_string().as_str(),
        "leads/0190b5a0-0000-7000-8000-000000000000",
    ] {
        let msg = pb::Customer {
            referrer: bad.into(),
            ..person("张伟")
        };
        assert_eq!(bad_fields(&msg), ["referrer"], "{bad}");
    }
}

#[test]
fn tags_are_checked_and_capped() {
    let msg = pb::Customer {
        tags: vec!["ok".into(), " ".into(), "x".repeat(65)],
        ..person("张伟")
    };
    assert_eq!(bad_fields(&msg), ["tags[1]", "tags[2]"]);
    let many = pb::Customer {
        tags: (0..101).map(|i| format!("t{i}")).collect(),
        ..person("张伟")
    };
    let (p, found) = parse(&many);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, "tags");
    assert_eq!(p.tags.len(), MAX_TAGS);
}

#[test]
fn contact_lists_are_capped() {
    let msg = pb::Customer {
        phones: (0..21)
            .map(|i| pb::Phone {
                number: format!("1381234{i:04}"),
                ..Default::default()
            })
            .collect(),
        ..person("张伟")
    };
    let (p, found) = parse(&msg);
    assert_eq!(
        found.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
        ["phones"]
    );
    assert_eq!(p.phones.len(), MAX_CONTACTS);
}

#[test]
fn addresses_need_a_place() {
    let msg = pb::Customer {
        addresses: vec![
            pb::Address {
                label: "home".into(),
                ..Default::default()
            },
            pb::Address {
                country_code: "CHN".into(),
                city: "深圳市".into(),
                ..Default::default()
            },
            pb::Address {
                country_code: "us".into(),
                city: "Springfield".into(),
                ..Default::default()
            },
        ],
        ..person("张伟")
    };
    let (p, found) = parse(&msg);
    let got: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(got, ["addresses[0]", "addresses[1].country_code"]);
    assert_eq!(p.addresses.last().unwrap().country_code, "US");
}

#[test]
fn important_dates_are_checked() {
    let date = |kind: pb::ImportantDateKind, label: &str, date| pb::ImportantDate {
        kind: kind.into(),
        label: label.into(),
        date,
    };
    let msg = pb::Customer {
        important_dates: vec![
            date(pb::ImportantDateKind::Anniversary, "", pdate(2015, 10, 1)),
            date(pb::ImportantDateKind::Custom, "", pdate(0, 12, 24)),
            date(pb::ImportantDateKind::Unspecified, "x", pdate(0, 1, 1)),
            date(pb::ImportantDateKind::CustomerAnniversary, "", None),
            date(pb::ImportantDateKind::Custom, "乔迁", pdate(2024, 2, 30)),
        ],
        ..person("张伟")
    };
    assert_eq!(
        bad_fields(&msg),
        [
            "important_dates[1].label",
            "important_dates[2].kind",
            "important_dates[3].date",
            "important_dates[4].date",
        ]
    );
}

#[test]
fn custom_fields_are_type_checked() {
    let msg = pb::Customer {
        custom_fields: fields(&[
            ("size", string("XL")),
            ("rooms", number(2.5)),
            ("colour", string("red")),
        ]),
        ..person("张伟")
    };
    let mut got = bad_fields(&msg);
    got.sort();
    assert_eq!(
        got,
        [
            "custom_fields.colour",
            "custom_fields.rooms",
            "custom_fields.size"
        ]
    );
}

#[test]
fn a_non_finite_number_is_reported_once() {
    let mut defs = defs();
    defs[1].required = true;
    let msg = pb::Customer {
        custom_fields: fields(&[("rooms", number(f64::NAN))]),
        ..person("张伟")
    };
    let (_, found) = parse_with(&msg, &defs);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "custom_fields.rooms");
    assert!(found[0].1.contains("finite"));
    // Absent, it is reported as missing.
    assert_eq!(parse_with(&person("张伟"), &defs).1[0].1, "is required");
}

#[test]
fn shared_teams_are_unique_ids() {
    let msg = pb::Customer {
        shared_team_ids: vec!["t1".into(), "t1".into(), "".into(), "t 2".into()],
        ..person("张伟")
    };
    let (p, found) = parse(&msg);
    let got: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(got, ["shared_team_ids[2]", "shared_team_ids[3]"]);
    assert_eq!(p.shared_team_ids[0], "t1");
}

#[test]
fn profiles_round_trip_through_proto() {
    let msg = full_customer();
    let (p, found) = parse(&msg);
    assert!(found.is_empty(), "{found:?}");
    assert_eq!(profile_to_proto(&p), msg);
    let (again, found) = parse(&profile_to_proto(&p));
    assert!(found.is_empty());
    assert_eq!(again, p);
}

#[test]
fn customers_carry_their_output_fields() {
    let id = Uuid::now_v7();
    let other = Uuid::now_v7();
    let customer = Customer {
        id,
        profile: parse(&person("张伟")).0,
        possible_duplicates: vec![other],
        merged_into: Some(other),
        create_time: 1_700_000_000_000_000,
        update_time: 1_700_000_000_500_000,
        delete_time: Some(1_700_000_001_000_000),
        version: 3,
        value: None,
    };
    let msg = customer_to_proto(&customer);
    assert_eq!(msg.name, format!("customers/{id}"));
    assert_eq!(msg.possible_duplicates, [format!("customers/{other}")]);
    assert_eq!(msg.merged_into, format!("customers/{other}"));
    assert_eq!(msg.create_time, Some(to_timestamp(1_700_000_000_000_000)));
    assert_eq!(msg.update_time.unwrap().nanos, 500_000_000);
    assert!(msg.delete_time.is_some());
    assert_eq!(msg.etag, customer.etag());
    assert_eq!(msg.display_name, "张伟");
    assert_eq!(msg.lifecycle_stage, pb::LifecycleStage::Prospect as i32);
    assert!(msg.demographics.is_none() && msg.consent.is_none() && msg.custom_fields.is_none());
}
