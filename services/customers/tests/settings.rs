//! GetCustomerSettings, UpdateCustomerSettings and what the settings change (duplicate policy,
//! custom field types), and CheckContactPermission, on every backend.

use crate::common::*;
use prost_types::value::Kind;
use rapport_proto::customers as pb;
use rapport_runtime::auth::Role;
use rapport_testkit::each_backend;
use tonic::Code;

fn get_req(name: &str) -> pb::GetCustomerSettingsRequest {
    pb::GetCustomerSettingsRequest { name: name.into() }
}

async fn get_settings(c: &mut Client) -> pb::CustomerSettings {
    c.get_customer_settings(get_req("settings"))
        .await
        .expect("get settings")
        .into_inner()
}

fn def(key: &str, t: pb::CustomFieldType, options: &[&str]) -> pb::CustomFieldDefinition {
    pb::CustomFieldDefinition {
        key: key.into(),
        display_name: key.replace('_', " "),
        r#type: t.into(),
        required: false,
        options: options.iter().map(|o| (*o).to_owned()).collect(),
    }
}

fn value(kind: Kind) -> prost_types::Value {
    prost_types::Value { kind: Some(kind) }
}

fn text(s: &str) -> prost_types::Value {
    value(Kind::StringValue(s.into()))
}

fn number(n: f64) -> prost_types::Value {
    value(Kind::NumberValue(n))
}

fn boolean(b: bool) -> prost_types::Value {
    value(Kind::BoolValue(b))
}

fn null() -> prost_types::Value {
    value(Kind::NullValue(0))
}

fn custom(pairs: &[(&str, prost_types::Value)]) -> Option<prost_types::Struct> {
    Some(prost_types::Struct {
        fields: pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    })
}

fn create_req(c: pb::Customer) -> pb::CreateCustomerRequest {
    pb::CreateCustomerRequest {
        customer: Some(c),
        request_id: String::new(),
    }
}

fn update_req(c: pb::Customer, paths: &[&str]) -> pb::UpdateCustomerRequest {
    pb::UpdateCustomerRequest {
        customer: Some(c),
        update_mask: mask(paths),
    }
}

#[tokio::test]
async fn settings_start_with_defaults_and_every_reader_may_read_them() {
    each_backend(&services(), async |s| {
        let defaults = get_settings(&mut admin(s)).await;
        assert_eq!(defaults.name, "settings");
        assert_eq!(
            defaults.duplicate_policy,
            pb::DuplicatePolicy::Reject as i32
        );
        assert_eq!(defaults.default_region, "CN");
        assert!(defaults.custom_fields.is_empty());
        assert!(defaults.update_time.is_none());
        assert!(!defaults.etag.is_empty());

        for mut reader in [
            manager(s),
            rep(s, "rep-1", "north"),
            client(s, "t1", "mk-1", &[Role::Marketer]),
            client(s, "t1", "agent-1", &[Role::ServiceAgent]),
        ] {
            assert_eq!(get_settings(&mut reader).await, defaults);
        }

        let mut c = admin(s);
        for bad in [
            "",
            "setting",
            "Settings",
            "customers/settings",
            "settings/x",
        ] {
            let status = assert_code(
                c.get_customer_settings(get_req(bad)).await,
                Code::InvalidArgument,
            );
            assert_eq!(bad_fields(&status), ["name"], "{bad:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn only_admins_update_settings() {
    each_backend(&services(), async |s| {
        let before = get_settings(&mut admin(s)).await;
        let change = pb::CustomerSettings {
            duplicate_policy: pb::DuplicatePolicy::Flag.into(),
            ..Default::default()
        };
        for mut other in [
            manager(s),
            rep(s, "rep-1", "north"),
            client(s, "t1", "mk-1", &[Role::Marketer]),
            client(s, "t1", "svc-1", &[Role::ServiceAccount]),
        ] {
            let status = assert_code(
                update_settings(&mut other, change.clone(), &["duplicate_policy"]).await,
                Code::PermissionDenied,
            );
            assert_eq!(reason(&status), "PERMISSION_DENIED");
        }
        assert_eq!(get_settings(&mut admin(s)).await, before);
        let after = update_settings(&mut admin(s), change, &["duplicate_policy"])
            .await
            .expect("an admin updates");
        assert_eq!(after.duplicate_policy, pb::DuplicatePolicy::Flag as i32);
    })
    .await;
}

#[tokio::test]
async fn update_changes_only_the_masked_settings() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let before = get_settings(&mut c).await;
        let everything = pb::CustomerSettings {
            name: "ignored".into(),
            duplicate_policy: pb::DuplicatePolicy::Flag.into(),
            duplicate_disclosure: rapport_proto::types::DuplicateDisclosure::Hidden.into(),
            default_region: "US".into(),
            custom_fields: vec![def("house_size", pb::CustomFieldType::Number, &[])],
            value_rules: Some(pb::ValueRules {
                churn_days: 90,
                ..Default::default()
            }),
            update_time: Some(prost_types::Timestamp {
                seconds: 1,
                nanos: 0,
            }),
            etag: String::new(),
        };

        let region_only = update_settings(&mut c, everything.clone(), &["default_region"])
            .await
            .expect("update the region");
        assert_eq!(region_only.name, "settings");
        assert_eq!(region_only.default_region, "US");
        assert_eq!(
            region_only.duplicate_policy,
            pb::DuplicatePolicy::Reject as i32
        );
        assert!(region_only.custom_fields.is_empty());
        assert_eq!(region_only.value_rules, before.value_rules);
        assert_eq!(
            region_only.duplicate_disclosure,
            rapport_proto::types::DuplicateDisclosure::Masked as i32,
            "masked unless changed"
        );
        assert!(region_only.update_time.is_some());
        assert_ne!(region_only.update_time, everything.update_time);
        assert_ne!(region_only.etag, before.etag);
        assert_eq!(get_settings(&mut c).await, region_only);

        let two = update_settings(
            &mut c,
            pb::CustomerSettings {
                default_region: "HK".into(),
                ..everything.clone()
            },
            &["duplicate_policy", "custom_fields"],
        )
        .await
        .expect("update policy and fields");
        assert_eq!(two.default_region, "US");
        assert_eq!(two.duplicate_policy, pb::DuplicatePolicy::Flag as i32);
        assert_eq!(two.custom_fields, everything.custom_fields);
        assert_eq!(
            two.duplicate_disclosure,
            rapport_proto::types::DuplicateDisclosure::Masked as i32
        );
        assert_ne!(two.etag, region_only.etag);
        let hidden = update_settings(&mut c, everything.clone(), &["duplicate_disclosure"])
            .await
            .expect("update the disclosure");
        assert_eq!(
            hidden.duplicate_disclosure,
            rapport_proto::types::DuplicateDisclosure::Hidden as i32
        );
        assert_eq!(hidden.default_region, "US");

        // "*" replaces them all; an unspecified policy means REJECT, an unspecified
        // disclosure MASKED.
        let all = update_settings(
            &mut c,
            pb::CustomerSettings {
                default_region: "HK".into(),
                ..Default::default()
            },
            &["*"],
        )
        .await
        .expect("replace everything");
        assert_eq!(all.default_region, "HK");
        assert_eq!(all.duplicate_policy, pb::DuplicatePolicy::Reject as i32);
        assert_eq!(
            all.duplicate_disclosure,
            rapport_proto::types::DuplicateDisclosure::Masked as i32
        );
        assert!(all.custom_fields.is_empty());
        assert_eq!(all.value_rules, before.value_rules, "the default rules");
        assert_eq!(get_settings(&mut c).await, all);

        // Another tenant's settings are its own.
        let theirs = get_settings(&mut stranger(s)).await;
        assert_eq!(theirs.default_region, "CN");
        assert!(theirs.update_time.is_none());
    })
    .await;
}

#[tokio::test]
async fn bad_masks_and_bad_settings_are_all_named_at_once() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let before = get_settings(&mut c).await;
        let good = pb::CustomerSettings {
            default_region: "US".into(),
            ..Default::default()
        };
        for paths in [
            &[][..],
            &["name"],
            &["etag"],
            &["update_time"],
            &["custom_fields.key"],
        ] {
            let status = assert_code(
                update_settings(&mut c, good.clone(), paths).await,
                Code::InvalidArgument,
            );
            assert_eq!(bad_fields(&status), ["update_mask"], "{paths:?}");
        }
        let status = assert_code(
            c.update_customer_settings(pb::UpdateCustomerSettingsRequest {
                settings: Some(good.clone()),
                update_mask: None,
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["update_mask"]);
        let status = assert_code(
            c.update_customer_settings(pb::UpdateCustomerSettingsRequest {
                settings: None,
                update_mask: mask(&["default_region"]),
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["settings"]);

        for region in ["", "cn", "CHN", "XX"] {
            let status = assert_code(
                update_settings(
                    &mut c,
                    pb::CustomerSettings {
                        default_region: region.into(),
                        ..Default::default()
                    },
                    &["default_region"],
                )
                .await,
                Code::InvalidArgument,
            );
            assert_eq!(
                bad_fields(&status),
                ["settings.default_region"],
                "{region:?}"
            );
        }

        let mut no_type = def("no_type", pb::CustomFieldType::String, &[]);
        no_type.r#type = pb::CustomFieldType::Unspecified.into();
        let mut no_label = def("no_label", pb::CustomFieldType::String, &[]);
        no_label.display_name = "  ".into();
        let everything_wrong = pb::CustomerSettings {
            duplicate_policy: 99,
            default_region: "cn".into(),
            custom_fields: vec![
                def("Bad Key", pb::CustomFieldType::String, &[]),
                def("level", pb::CustomFieldType::Enum, &[]),
                def("level", pb::CustomFieldType::String, &[]),
                no_type,
                def("size", pb::CustomFieldType::Number, &["big"]),
                no_label,
                def("style", pb::CustomFieldType::Enum, &["nordic", "nordic"]),
                def("9lives", pb::CustomFieldType::Integer, &[]),
                pb::CustomFieldDefinition {
                    display_name: "No key".into(),
                    ..def("", pb::CustomFieldType::Integer, &[])
                },
            ],
            ..Default::default()
        };
        let status = assert_code(
            update_settings(
                &mut c,
                everything_wrong,
                &[
                    "duplicate_policy",
                    "default_region",
                    "custom_fields",
                    "bogus",
                ],
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&status),
            sorted([
                "update_mask",
                "settings.duplicate_policy",
                "settings.default_region",
                "settings.custom_fields[0].key",
                "settings.custom_fields[1].options",
                "settings.custom_fields[2].key",
                "settings.custom_fields[3].type",
                "settings.custom_fields[4].options",
                "settings.custom_fields[5].display_name",
                "settings.custom_fields[6].options[1]",
                "settings.custom_fields[7].key",
                "settings.custom_fields[8].key",
            ])
        );
        assert_eq!(get_settings(&mut c).await, before, "nothing changed");
    })
    .await;
}

#[tokio::test]
async fn a_stale_settings_etag_is_aborted() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let first = get_settings(&mut c).await;
        let with_etag = |etag: &str, region: &str| pb::CustomerSettings {
            default_region: region.into(),
            etag: etag.into(),
            ..Default::default()
        };
        let second = update_settings(&mut c, with_etag(&first.etag, "US"), &["default_region"])
            .await
            .expect("the current etag");
        assert_ne!(second.etag, first.etag);

        let status = assert_code(
            update_settings(&mut c, with_etag(&first.etag, "HK"), &["default_region"]).await,
            Code::Aborted,
        );
        assert_eq!(reason(&status), "ETAG_MISMATCH");
        assert_eq!(get_settings(&mut c).await, second);

        let third = update_settings(&mut c, with_etag(&second.etag, "HK"), &["default_region"])
            .await
            .expect("the fresh etag");
        assert_eq!(third.default_region, "HK");
        let fourth = update_settings(&mut c, with_etag("", "SG"), &["default_region"])
            .await
            .expect("no etag");
        assert_eq!(fourth.default_region, "SG");
        assert_ne!(fourth.etag, third.etag);
    })
    .await;
}

#[tokio::test]
async fn the_flag_policy_accepts_duplicates_and_names_them() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let mut a = person("张伟", "13812345678");
        a.emails.push(pb::Email {
            address: "zhang@example.com".into(),
            ..Default::default()
        });
        let a = create(&mut c, a).await;
        let status = assert_code(
            c.create_customer(create_req(person("张伟 2", "138 1234 5678")))
                .await,
            Code::AlreadyExists,
        );
        assert_eq!(reason(&status), "DUPLICATE_CUSTOMER");

        set_duplicate_policy(&mut c, pb::DuplicatePolicy::Flag).await;
        let b = create(&mut c, person("张伟 2", "138 1234 5678")).await;
        assert_eq!(b.possible_duplicates, [a.name.as_str()]);
        assert_eq!(
            fetch_customer(&mut c, &b.name).await.possible_duplicates,
            [a.name.as_str()]
        );
        // The first customer is not changed by the second's arrival.
        assert!(
            fetch_customer(&mut c, &a.name)
                .await
                .possible_duplicates
                .is_empty()
        );

        // Sharing with two customers names both, oldest first.
        let c3 = create(&mut c, person("张伟 3", "+8613812345678")).await;
        assert_eq!(c3.possible_duplicates, [a.name.clone(), b.name.clone()]);

        // An update that brings a shared contact is flagged too.
        let d = create(&mut c, person("赵磊", "13900000004")).await;
        assert!(d.possible_duplicates.is_empty());
        let mut patch = d.clone();
        patch.emails = vec![pb::Email {
            address: "Zhang@Example.com".into(),
            ..Default::default()
        }];
        let d = c
            .update_customer(update_req(patch, &["emails"]))
            .await
            .expect("update to a shared email")
            .into_inner();
        assert_eq!(d.possible_duplicates, [a.name.as_str()]);
        assert_eq!(list_all_customers(&mut c, "").await.len(), 4);

        // Back to REJECT: the oldest match is named.
        set_duplicate_policy(&mut c, pb::DuplicatePolicy::Reject).await;
        let status = assert_code(
            c.create_customer(create_req(person("又一个", "13812345678")))
                .await,
            Code::AlreadyExists,
        );
        assert_eq!(existing_resource(&status), a.name);
    })
    .await;
}

#[tokio::test]
async fn custom_field_values_are_type_checked_on_create_and_update() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let mut member_no = def("member_no", pb::CustomFieldType::String, &[]);
        member_no.required = true;
        update_settings(
            &mut c,
            pb::CustomerSettings {
                custom_fields: vec![
                    def("nickname", pb::CustomFieldType::String, &[]),
                    def("house_size", pb::CustomFieldType::Number, &[]),
                    def("rooms", pb::CustomFieldType::Integer, &[]),
                    def("has_pets", pb::CustomFieldType::Boolean, &[]),
                    def("move_in", pb::CustomFieldType::Date, &[]),
                    def("style", pb::CustomFieldType::Enum, &["nordic", "modern"]),
                    member_no,
                ],
                ..Default::default()
            },
            &["custom_fields"],
        )
        .await
        .expect("define custom fields");
        let settings = get_settings(&mut c).await;
        assert_eq!(settings.custom_fields.len(), 7);
        assert!(settings.custom_fields[6].required);
        assert_eq!(settings.custom_fields[5].options, ["nordic", "modern"]);

        let mut wrong = person("王芳", "13800000001");
        wrong.custom_fields = custom(&[
            ("nickname", number(5.0)),
            ("house_size", text("big")),
            ("rooms", number(2.5)),
            ("has_pets", text("yes")),
            ("move_in", text("2024-02-30")),
            ("style", text("baroque")),
            ("unknown_key", number(1.0)),
        ]);
        let status = assert_code(
            c.create_customer(create_req(wrong)).await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&status),
            sorted([
                "customer.custom_fields.nickname",
                "customer.custom_fields.house_size",
                "customer.custom_fields.rooms",
                "customer.custom_fields.has_pets",
                "customer.custom_fields.move_in",
                "customer.custom_fields.style",
                "customer.custom_fields.unknown_key",
                "customer.custom_fields.member_no",
            ])
        );

        // More wrong values of each type.
        for (key, bad) in [
            ("nickname", text(&"x".repeat(1001))),
            ("nickname", boolean(true)),
            ("house_size", boolean(false)),
            ("rooms", number(9_007_199_254_740_994.0)),
            ("rooms", text("3")),
            ("has_pets", number(1.0)),
            ("move_in", text("2024-5-1")),
            ("move_in", number(20240501.0)),
            ("style", text("Nordic")),
            ("member_no", null()),
        ] {
            let mut p = person("王芳", "13800000001");
            let mut values = vec![("member_no", text("M-1"))];
            values.retain(|(k, _)| *k != key);
            values.push((key, bad.clone()));
            p.custom_fields = custom(&values);
            let status = assert_code(
                c.create_customer(create_req(p)).await,
                Code::InvalidArgument,
            );
            assert_eq!(
                bad_fields(&status),
                [format!("customer.custom_fields.{key}")],
                "{key} = {bad:?}"
            );
        }
        assert!(list_all_customers(&mut c, "").await.is_empty());

        let mut right = person("王芳", "13800000001");
        right.custom_fields = custom(&[
            ("nickname", text("芳芳")),
            ("house_size", number(88.5)),
            ("rooms", number(3.0)),
            ("has_pets", boolean(true)),
            ("move_in", text("2024-02-29")),
            ("style", text("nordic")),
            ("member_no", text("M-1")),
        ]);
        let created = create(&mut c, right.clone()).await;
        assert_eq!(created.custom_fields, right.custom_fields);
        // An optional field may be left out.
        let mut minimal = person("李娜", "13800000002");
        minimal.custom_fields = custom(&[("member_no", text("M-2"))]);
        assert_eq!(
            create(&mut c, minimal.clone()).await.custom_fields,
            minimal.custom_fields
        );

        // Update checks values the same way.
        let mut patch = created.clone();
        patch.custom_fields = custom(&[("rooms", number(2.5))]);
        let status = assert_code(
            c.update_customer(update_req(patch.clone(), &["custom_fields.rooms"]))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["customer.custom_fields.rooms"]);
        // Removing a required field is refused.
        let status = assert_code(
            c.update_customer(update_req(patch.clone(), &["custom_fields.member_no"]))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["customer.custom_fields.member_no"]);
        // Replacing them all with an unknown key names it and the missing required one.
        patch.custom_fields = custom(&[("colour", text("red"))]);
        let status = assert_code(
            c.update_customer(update_req(patch.clone(), &["custom_fields"]))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&status),
            sorted([
                "customer.custom_fields.colour",
                "customer.custom_fields.member_no",
            ])
        );
        assert_eq!(fetch_customer(&mut c, &created.name).await, created);

        patch.custom_fields = custom(&[("rooms", number(4.0)), ("style", text("modern"))]);
        let updated = c
            .update_customer(update_req(
                patch,
                &["custom_fields.rooms", "custom_fields.style"],
            ))
            .await
            .expect("valid update")
            .into_inner();
        let values = updated.custom_fields.unwrap().fields;
        assert_eq!(values.get("rooms"), Some(&number(4.0)));
        assert_eq!(values.get("style"), Some(&text("modern")));
        assert_eq!(values.get("nickname"), Some(&text("芳芳")));
    })
    .await;
}

fn at(rfc3339: &str) -> prost_types::Timestamp {
    let t = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .expect("RFC 3339");
    prost_types::Timestamp {
        seconds: t.unix_timestamp(),
        nanos: t.nanosecond() as i32,
    }
}

fn consent(channels: &[(pb::Channel, pb::ConsentStatus)]) -> pb::Consent {
    pb::Consent {
        channels: channels
            .iter()
            .map(|(channel, status)| pb::ChannelConsent {
                channel: (*channel).into(),
                status: (*status).into(),
                source: "store_form".into(),
            })
            .collect(),
        ..Default::default()
    }
}

/// Asks whether `name` may get a message on `channel` at `send_time`.
async fn check(
    c: &mut Client,
    name: &str,
    channel: pb::Channel,
    send_time: Option<&str>,
    transactional: bool,
) -> pb::CheckContactPermissionResponse {
    c.check_contact_permission(pb::CheckContactPermissionRequest {
        name: name.into(),
        channel: channel.into(),
        send_time: send_time.map(at),
        transactional,
    })
    .await
    .unwrap_or_else(|e| panic!("check {name} on {channel:?}: {e:?}"))
    .into_inner()
}

fn denied(reason: &str) -> pb::CheckContactPermissionResponse {
    pb::CheckContactPermissionResponse {
        allowed: false,
        reason: reason.into(),
        next_allowed_time: None,
    }
}

fn allowed() -> pb::CheckContactPermissionResponse {
    pb::CheckContactPermissionResponse {
        allowed: true,
        reason: String::new(),
        next_allowed_time: None,
    }
}

#[tokio::test]
async fn contact_permission_follows_opt_out_consent_and_do_not_disturb() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        use pb::{Channel::*, ConsentStatus::*};

        let mut opted_out = person("退订", "13800000001");
        opted_out.consent = Some(consent(&[(Sms, OptedOut)]));
        let opted_out = create(&mut c, opted_out).await;
        for transactional in [false, true] {
            assert_eq!(
                check(&mut c, &opted_out.name, Sms, None, transactional).await,
                denied("OPTED_OUT"),
                "an opt-out holds even for transactional={transactional}"
            );
        }
        // Another channel without any decision: transactional only.
        assert_eq!(
            check(&mut c, &opted_out.name, Phone, None, false).await,
            denied("NO_CONSENT")
        );
        assert_eq!(
            check(&mut c, &opted_out.name, Phone, None, true).await,
            allowed()
        );

        let mut sms_only = person("短信", "13800000002");
        sms_only.emails.push(pb::Email {
            address: "sms@example.com".into(),
            ..Default::default()
        });
        sms_only.consent = Some(consent(&[(Sms, OptedIn)]));
        let sms_only = create(&mut c, sms_only).await;
        assert_eq!(
            check(&mut c, &sms_only.name, Sms, None, false).await,
            allowed()
        );
        assert_eq!(
            check(&mut c, &sms_only.name, Email, None, false).await,
            denied("NO_CONSENT")
        );
        assert_eq!(
            check(&mut c, &sms_only.name, Email, None, true).await,
            allowed()
        );

        let mut dnd = person("勿扰", "13800000003");
        let mut dnd_consent = consent(&[(Sms, OptedIn)]);
        dnd_consent.do_not_disturb = true;
        dnd.consent = Some(dnd_consent);
        let dnd = create(&mut c, dnd).await;
        assert_eq!(
            check(&mut c, &dnd.name, Sms, None, false).await,
            denied("DO_NOT_DISTURB")
        );
        assert_eq!(check(&mut c, &dnd.name, Sms, None, true).await, allowed());

        // No address for the channel.
        let mut no_im = person("无微信", "13800000004");
        no_im.consent = Some(consent(&[(Sms, OptedIn), (Im, OptedIn)]));
        let no_im = create(&mut c, no_im).await;
        assert_eq!(
            check(&mut c, &no_im.name, Im, None, false).await,
            denied("NO_ADDRESS")
        );
        assert_eq!(
            check(&mut c, &no_im.name, Email, None, true).await,
            denied("NO_ADDRESS")
        );
        let mut phoneless = person("无电话", "13800000005");
        phoneless.phones.clear();
        phoneless.emails.push(pb::Email {
            address: "nophone@example.com".into(),
            ..Default::default()
        });
        phoneless.consent = Some(consent(&[(Phone, OptedOut), (Email, OptedIn)]));
        let phoneless = create(&mut c, phoneless).await;
        assert_eq!(
            check(&mut c, &phoneless.name, Sms, None, true).await,
            denied("NO_ADDRESS")
        );
        // An opt-out is reported before a missing address.
        assert_eq!(
            check(&mut c, &phoneless.name, Phone, None, true).await,
            denied("OPTED_OUT")
        );
        assert_eq!(
            check(&mut c, &phoneless.name, Email, None, false).await,
            allowed()
        );

        // Consent changes take effect.
        let mut patch = opted_out.clone();
        patch.consent = Some(consent(&[(Sms, OptedIn)]));
        c.update_customer(update_req(patch, &["consent"]))
            .await
            .expect("opt in");
        assert_eq!(
            check(&mut c, &opted_out.name, Sms, None, false).await,
            allowed()
        );
    })
    .await;
}

#[tokio::test]
async fn quiet_hours_across_midnight_say_when_sending_is_allowed() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        use pb::{Channel::*, ConsentStatus::*};
        let mut quiet = person("夜猫", "13800000001");
        let mut q = consent(&[(Sms, OptedIn)]);
        // 22:00 to 08:00 in China (UTC+8): 14:00Z to 00:00Z.
        q.quiet_hours = Some(pb::QuietHours {
            start_minute: 22 * 60,
            end_minute: 8 * 60,
            utc_offset_minutes: 480,
        });
        quiet.consent = Some(q);
        let quiet = create(&mut c, quiet).await;
        let next_morning = Some(at("2024-03-02T00:00:00Z"));
        for send in [
            "2024-03-01T14:00:00Z", // 22:00 local, the window opens
            "2024-03-01T15:00:00Z", // 23:00 local
            "2024-03-01T16:00:00Z", // midnight local
            "2024-03-01T23:30:00Z", // 07:30 local, the next day
            "2024-03-01T23:59:59Z", // 07:59:59 local
        ] {
            assert_eq!(
                check(&mut c, &quiet.name, Sms, Some(send), false).await,
                pb::CheckContactPermissionResponse {
                    allowed: false,
                    reason: "QUIET_HOURS".into(),
                    next_allowed_time: next_morning,
                },
                "at {send}"
            );
            // Transactional messages ignore quiet hours.
            assert_eq!(
                check(&mut c, &quiet.name, Sms, Some(send), true).await,
                allowed(),
                "transactional at {send}"
            );
        }
        for send in [
            "2024-03-01T13:59:00Z", // 21:59 local
            "2024-03-02T00:00:00Z", // 08:00 local, the window has closed
            "2024-03-02T04:00:00Z", // noon local
        ] {
            assert_eq!(
                check(&mut c, &quiet.name, Sms, Some(send), false).await,
                allowed(),
                "at {send}"
            );
        }
        // Quiet hours do not make a missing consent look like a wait.
        assert_eq!(
            check(
                &mut c,
                &quiet.name,
                Phone,
                Some("2024-03-01T15:00:00Z"),
                false
            )
            .await,
            denied("NO_CONSENT")
        );
    })
    .await;
}

#[tokio::test]
async fn contact_permission_refuses_bad_requests_and_foreign_customers() {
    each_backend(&services(), async |s| {
        let mut c = admin(s);
        let mine = create(&mut c, person("张伟", "13800000001")).await;
        let req = |name: &str, channel: i32| pb::CheckContactPermissionRequest {
            name: name.into(),
            channel,
            send_time: None,
            transactional: false,
        };
        for channel in [pb::Channel::Unspecified as i32, 99, -1] {
            let status = assert_code(
                c.check_contact_permission(req(&mine.name, channel)).await,
                Code::InvalidArgument,
            );
            assert_eq!(bad_fields(&status), ["channel"], "channel {channel}");
        }
        let status = assert_code(
            c.check_contact_permission(pb::CheckContactPermissionRequest {
                name: "customers/nope".into(),
                channel: 0,
                send_time: Some(prost_types::Timestamp {
                    seconds: 0,
                    nanos: 2_000_000_000,
                }),
                transactional: false,
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&status),
            sorted(["name", "channel", "send_time"])
        );

        let sms = pb::Channel::Sms as i32;
        let status = assert_code(
            stranger(s)
                .check_contact_permission(req(&mine.name, sms))
                .await,
            Code::NotFound,
        );
        assert_eq!(reason(&status), "NOT_FOUND");
        assert_code(
            c.check_contact_permission(req("customers/0190a5b2-7c3e-7d4f-8a1b-2c3d4e5f6a7b", sms))
                .await,
            Code::NotFound,
        );
    })
    .await;
}
