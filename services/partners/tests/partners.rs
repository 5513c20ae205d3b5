//! Partners (PA1) through gRPC on every backend: the lifecycle with its onboarding checklist,
//! bad input named field by field, stale etags, retried request ids, and other tenants' and
//! other partners' credentials, which see nothing.

use crate::common::*;
use rapport_proto::partners as pb;
use rapport_testkit::each_backend;
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_partner_walks_from_prospect_through_onboarding_to_termination() {
    each_backend(&services(), async |s| {
        let mut m = manager(s);
        let p = create_partner(s, "Lanting Furniture", pb::PartnerKind::Dealer).await;
        assert_eq!(p.state, pb::PartnerState::Prospect as i32);
        assert_eq!(p.phone, "+862155550000");
        assert!(p.onboarding.is_empty());

        // Activation skips nothing.
        let skip = assert_code(
            set_state(&mut m, &p.name, pb::PartnerState::Active, "").await,
            Code::FailedPrecondition,
        );
        assert!(skip.message().contains("PROSPECT to ACTIVE"), "{skip:?}");

        let p = set_state(&mut m, &p.name, pb::PartnerState::Onboarding, "")
            .await
            .unwrap();
        let keys: Vec<&str> = p.onboarding.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["contract", "training"], "the default checklist");
        let early = assert_code(
            set_state(&mut m, &p.name, pb::PartnerState::Active, "").await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&early), "ONBOARDING_NOT_DONE");
        assert!(early.message().contains("contract, training"), "{early:?}");

        let unknown = assert_code(
            m.partners
                .complete_onboarding_item(pb::CompleteOnboardingItemRequest {
                    name: p.name.clone(),
                    key: "nope".into(),
                    etag: String::new(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&unknown), ["key"]);
        let mut etag = p.etag.clone();
        for key in ["contract", "training"] {
            let after = m
                .partners
                .complete_onboarding_item(pb::CompleteOnboardingItemRequest {
                    name: p.name.clone(),
                    key: key.into(),
                    etag: etag.clone(),
                })
                .await
                .unwrap()
                .into_inner();
            let item = after.onboarding.iter().find(|i| i.key == key).unwrap();
            assert!(item.done && item.done_time.is_some());
            assert_eq!(item.done_by, "cm-1");
            etag = after.etag;
        }
        // A stale etag is refused.
        let stale = assert_code(
            m.partners
                .complete_onboarding_item(pb::CompleteOnboardingItemRequest {
                    name: p.name.clone(),
                    key: "contract".into(),
                    etag: p.etag.clone(),
                })
                .await,
            Code::Aborted,
        );
        assert!(stale.message().contains(&p.name));

        let p = set_state(&mut m, &p.name, pb::PartnerState::Active, "")
            .await
            .unwrap();
        assert_eq!(p.state, pb::PartnerState::Active as i32);
        let no_reason = assert_code(
            set_state(&mut m, &p.name, pb::PartnerState::Suspended, " ").await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&no_reason), ["reason"]);
        let p = set_state(
            &mut m,
            &p.name,
            pb::PartnerState::Suspended,
            "unpaid invoices",
        )
        .await
        .unwrap();
        assert_eq!(p.state_reason, "unpaid invoices");
        set_state(&mut m, &p.name, pb::PartnerState::Active, "")
            .await
            .unwrap();
        set_state(
            &mut m,
            &p.name,
            pb::PartnerState::Terminated,
            "contract ended",
        )
        .await
        .unwrap();
        assert_code(
            set_state(&mut m, &p.name, pb::PartnerState::Active, "").await,
            Code::FailedPrecondition,
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_input_is_named_field_by_field() {
    each_backend(&services(), async |s| {
        let mut a = admin(s);
        let bad = assert_code(
            a.partners
                .create_partner(pb::CreatePartnerRequest {
                    partner: Some(pb::Partner {
                        display_name: " ".into(),
                        kind: 0,
                        phone: "not a phone".into(),
                        email: "nobody@".into(),
                        contacts: vec![
                            pb::PartnerContact {
                                display_name: "Li".into(),
                                primary: true,
                                ..Default::default()
                            },
                            pb::PartnerContact {
                                display_name: String::new(),
                                primary: true,
                                ..Default::default()
                            },
                        ],
                        ..Default::default()
                    }),
                    request_id: "x".repeat(300),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&bad),
            [
                "partner.contacts",
                "partner.contacts[1].display_name",
                "partner.display_name",
                "partner.email",
                "partner.kind",
                "partner.phone",
                "request_id",
            ]
        );
        assert_eq!(
            bad_fields(&assert_code(
                a.partners
                    .create_partner(pb::CreatePartnerRequest::default())
                    .await,
                Code::InvalidArgument,
            )),
            ["partner"]
        );
        let p = create_partner(s, "Acme", pb::PartnerKind::Agent).await;
        // The lifecycle and the tier change through their own methods.
        let immutable = assert_code(
            a.partners
                .update_partner(pb::UpdatePartnerRequest {
                    partner: Some(pb::Partner {
                        name: p.name.clone(),
                        state: pb::PartnerState::Active.into(),
                        ..Default::default()
                    }),
                    update_mask: mask(&["state", "tier", "nickname"]),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&immutable),
            ["update_mask", "update_mask", "update_mask"]
        );
        assert!(immutable.message().contains("ChangePartnerState"));
        let bad_state = assert_code(
            a.partners
                .change_partner_state(pb::ChangePartnerStateRequest {
                    name: "partners/nope".into(),
                    state: 42,
                    reason: "r".repeat(501),
                    ..Default::default()
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(sorted_bad_fields(&bad_state), ["name", "reason", "state"]);
        let bad_list = assert_code(
            a.partners
                .list_partners(pb::ListPartnersRequest {
                    page_size: -1,
                    state: 9,
                    kind: 9,
                    tier: "gold".into(),
                    page_token: "garbage".into(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&bad_list),
            ["kind", "page_size", "page_token", "state", "tier"]
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn updates_take_the_mask_and_refuse_a_stale_etag() {
    each_backend(&services(), async |s| {
        let mut m = manager(s);
        let p = create_partner(s, "Acme", pb::PartnerKind::Agent).await;
        let updated = m
            .partners
            .update_partner(pb::UpdatePartnerRequest {
                partner: Some(pb::Partner {
                    name: p.name.clone(),
                    display_name: "Acme Homes".into(),
                    region: "Hangzhou".into(),
                    contacts: vec![pb::PartnerContact {
                        display_name: "Chen Jie".into(),
                        email: "Chen.Jie@Acme.example".into(),
                        primary: true,
                        ..Default::default()
                    }],
                    etag: p.etag.clone(),
                    ..Default::default()
                }),
                update_mask: mask(&["display_name", "contacts"]),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(updated.display_name, "Acme Homes");
        assert_eq!(updated.region, "", "region was not in the mask");
        assert_eq!(updated.contacts[0].email, "chen.jie@acme.example");
        assert_ne!(updated.etag, p.etag);
        let stale = m
            .partners
            .update_partner(pb::UpdatePartnerRequest {
                partner: Some(pb::Partner {
                    name: p.name.clone(),
                    display_name: "Late".into(),
                    etag: p.etag.clone(),
                    ..Default::default()
                }),
                update_mask: mask(&["display_name"]),
            })
            .await;
        assert_code(stale, Code::Aborted);
        let listed = m
            .partners
            .list_partners(pb::ListPartnersRequest {
                kind: pb::PartnerKind::Agent.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.partners.len(), 1);
        assert_eq!(listed.partners[0].display_name, "Acme Homes");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retries_answer_alike_and_a_reused_request_id_is_refused() {
    each_backend(&services(), async |s| {
        let req = |name: &str| pb::CreatePartnerRequest {
            partner: Some(pb::Partner {
                display_name: name.into(),
                kind: pb::PartnerKind::Referrer.into(),
                ..Default::default()
            }),
            request_id: "create-1".into(),
        };
        let mut a = admin(s);
        let first = a
            .partners
            .create_partner(req("Ref"))
            .await
            .unwrap()
            .into_inner();
        let again = a
            .partners
            .create_partner(req("Ref"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(first, again);
        let reused = assert_code(
            a.partners.create_partner(req("Other")).await,
            Code::InvalidArgument,
        );
        assert_eq!(reason(&reused), "REQUEST_ID_REUSED");
        // Another caller's request id is its own: the same id creates another partner.
        let mut m = manager(s);
        let theirs = m
            .partners
            .create_partner(req("Ref"))
            .await
            .unwrap()
            .into_inner();
        assert_ne!(theirs.name, first.name);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn other_tenants_roles_and_partners_see_nothing_of_a_partner() {
    each_backend(&services(), async |s| {
        let mine = active_partner(s, "Mine").await;
        let other = active_partner(s, "Other").await;
        let mut x = stranger(s);
        assert_code(
            x.partners
                .get_partner(pb::GetPartnerRequest {
                    name: mine.name.clone(),
                })
                .await,
            Code::NotFound,
        );
        assert_code(
            set_state(&mut x, &mine.name, pb::PartnerState::Suspended, "x").await,
            Code::NotFound,
        );
        let theirs = x
            .partners
            .list_partners(pb::ListPartnersRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert!(theirs.partners.is_empty());

        // A rep reads partners but does not manage them.
        let mut r = rep(s);
        r.partners
            .get_partner(pb::GetPartnerRequest {
                name: mine.name.clone(),
            })
            .await
            .unwrap();
        assert_code(
            set_state(&mut r, &mine.name, pb::PartnerState::Suspended, "x").await,
            Code::PermissionDenied,
        );

        // A partner's credential reads its own partner, and nothing of another's.
        let mut me = as_partner(s, &mine.name);
        let own = me
            .partners
            .get_partner(pb::GetPartnerRequest {
                name: mine.name.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(own.name, mine.name);
        let hidden = assert_code(
            me.partners
                .get_partner(pb::GetPartnerRequest {
                    name: other.name.clone(),
                })
                .await,
            Code::NotFound,
        );
        assert!(!hidden.message().contains("Other"));
        let listed = me
            .partners
            .list_partners(pb::ListPartnersRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.partners.len(), 1);
        assert_eq!(listed.partners[0].name, mine.name);
        assert_code(
            me.partners
                .list_attributions(pb::ListAttributionsRequest {
                    parent: other.name.clone(),
                    ..Default::default()
                })
                .await,
            Code::NotFound,
        );
        assert_code(
            set_state(&mut me, &mine.name, pb::PartnerState::Terminated, "x").await,
            Code::PermissionDenied,
        );
        assert_code(
            me.partners
                .get_partner_settings(pb::GetPartnerSettingsRequest::default())
                .await,
            Code::PermissionDenied,
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_settings_shape_onboarding_and_name_every_bad_value() {
    each_backend(&services(), async |s| {
        let mut a = admin(s);
        let current = a
            .partners
            .get_partner_settings(pb::GetPartnerSettingsRequest {
                name: "partnerSettings".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(current.approval_hours, 48);
        let bad = assert_code(
            a.partners
                .update_partner_settings(pb::UpdatePartnerSettingsRequest {
                    settings: Some(pb::PartnerSettings {
                        name: "partnerSettings".into(),
                        approval_hours: 0,
                        registration_days: 1000,
                        onboarding_checklist: vec![
                            pb::OnboardingStep {
                                key: "Bad Key".into(),
                                title: "x".into(),
                            },
                            pb::OnboardingStep {
                                key: "kyc".into(),
                                title: String::new(),
                            },
                        ],
                        ..Default::default()
                    }),
                    update_mask: mask(&[
                        "approval_hours",
                        "registration_days",
                        "onboarding_checklist",
                    ]),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&bad),
            [
                "settings.approval_hours",
                "settings.onboarding_checklist[0].key",
                "settings.onboarding_checklist[1].title",
                "settings.registration_days",
            ]
        );
        a.partners
            .update_partner_settings(pb::UpdatePartnerSettingsRequest {
                settings: Some(pb::PartnerSettings {
                    onboarding_checklist: vec![pb::OnboardingStep {
                        key: "kyc".into(),
                        title: "Identity checked".into(),
                    }],
                    etag: current.etag.clone(),
                    ..Default::default()
                }),
                update_mask: mask(&["onboarding_checklist"]),
            })
            .await
            .unwrap();
        let p = create_partner(s, "Acme", pb::PartnerKind::Agent).await;
        let p = set_state(&mut a, &p.name, pb::PartnerState::Onboarding, "")
            .await
            .unwrap();
        assert_eq!(p.onboarding.len(), 1);
        assert_eq!(p.onboarding[0].title, "Identity checked");
        // Only admins change the settings.
        assert_code(
            manager(s)
                .partners
                .update_partner_settings(pb::UpdatePartnerSettingsRequest {
                    settings: Some(pb::PartnerSettings::default()),
                    update_mask: mask(&["approval_hours"]),
                })
                .await,
            Code::PermissionDenied,
        );
    })
    .await;
}
