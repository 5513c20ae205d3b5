//! Messages the conversions' tests share.

use prost_types::Struct;
use prost_types::value::Kind;
use rapport_proto::customers as pb;
use rapport_proto::types as pt;
use uuid::Uuid;

/// A person called `display_name`, nothing else set.
pub(crate) fn person(display_name: &str) -> pb::Customer {
    pb::Customer {
        kind: pb::CustomerKind::Person.into(),
        display_name: display_name.into(),
        ..pb::Customer::default()
    }
}

/// A proto date.
pub(crate) fn pdate(year: i32, month: i32, day: i32) -> Option<pt::Date> {
    Some(pt::Date { year, month, day })
}

/// A proto amount.
pub(crate) fn money(currency: &str, minor_units: i64) -> Option<pt::Money> {
    Some(pt::Money {
        currency_code: currency.into(),
        minor_units,
    })
}

/// A JSON number as a protobuf `Value`.
pub(crate) fn number(n: f64) -> prost_types::Value {
    prost_types::Value {
        kind: Some(Kind::NumberValue(n)),
    }
}

/// A JSON string as a protobuf `Value`.
pub(crate) fn string(s: &str) -> prost_types::Value {
    prost_types::Value {
        kind: Some(Kind::StringValue(s.into())),
    }
}

/// A protobuf `Struct` of `entries`.
pub(crate) fn fields(entries: &[(&str, prost_types::Value)]) -> Option<Struct> {
    Some(Struct {
        fields: entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    })
}

/// A customer with every field a client may set.
pub(crate) fn full_customer() -> pb::Customer {
    pb::Customer {
        family_name: "张".into(),
        given_name: "伟".into(),
        organization_name: "深圳家居".into(),
        phones: vec![pb::Phone {
            number: "+8613812345678".into(),
            kind: pb::PhoneKind::Mobile.into(),
            label: "私人".into(),
        }],
        emails: vec![pb::Email {
            address: "wei@example.com".into(),
            label: "work".into(),
        }],
        im_handles: vec![pb::ImHandle {
            platform: pb::ImPlatform::Qq.into(),
            handle: "10001".into(),
        }],
        addresses: vec![pb::Address {
            label: "home".into(),
            country_code: "CN".into(),
            province: "广东省".into(),
            city: "深圳市".into(),
            district: "南山区".into(),
            street: "科技园路 1 号\n2 栋".into(),
            postal_code: "518057".into(),
        }],
        demographics: Some(pb::Demographics {
            gender: pb::Gender::Male.into(),
            birth_date: pdate(1988, 5, 4),
            occupation: "engineer".into(),
            title: "lead".into(),
            income_band: pb::IncomeBand::UpperMiddle.into(),
            education: pb::Education::Master.into(),
            marital_status: pb::MaritalStatus::Married.into(),
        }),
        traits: Some(pb::SocialTraits {
            hobbies: vec!["tea".into()],
            habits: vec!["early riser".into()],
            risk_tolerance: pb::RiskTolerance::Low.into(),
        }),
        needs: vec![pb::Need {
            category: "sofa".into(),
            products: vec!["L-shaped sofa".into()],
            style: "nordic".into(),
            budget_min: money("CNY", 500_000),
            budget_max: None,
            desired_date: pdate(2025, 10, 1),
            attributes: [("rooms".to_owned(), "living".to_owned())].into(),
            notes: "prefers grey".into(),
        }],
        source_channel: "store_walk_in".into(),
        referrer: format!("customers/{}", Uuid::now_v7()),
        owner_id: "rep-1".into(),
        team_id: "team-1".into(),
        store_id: "store-1".into(),
        lifecycle_stage: pb::LifecycleStage::RepeatCustomer.into(),
        grade: "A".into(),
        tags: vec!["vip".into()],
        custom_fields: fields(&[("size", string("M")), ("rooms", number(3.0))]),
        important_dates: vec![pb::ImportantDate {
            kind: pb::ImportantDateKind::Custom.into(),
            label: "乔迁".into(),
            date: pdate(0, 12, 24),
        }],
        consent: Some(pb::Consent {
            channels: vec![pb::ChannelConsent {
                channel: pb::Channel::Email.into(),
                status: pb::ConsentStatus::OptedOut.into(),
                source: "web".into(),
            }],
            do_not_disturb: true,
            quiet_hours: Some(pb::QuietHours {
                start_minute: 1320,
                end_minute: 480,
                utc_offset_minutes: 480,
            }),
        }),
        shared_team_ids: vec!["team-2".into()],
        ..person("张伟")
    }
}
