//! Deal registration (PA3) through gRPC on every backend: a dealer registers with its own
//! credential, a manager approves, the leads service makes the attributed lead, and its
//! conversion converts the registration; conflicts with other registrations, leads and
//! customers; lapsing at expiry; bad input; and other partners, tenants and roles, which
//! learn nothing.

use crate::{common::*, orders_common as oc};
use rapport_proto::{leads as lpb, partners as pb};
use rapport_runtime::clock::{DAY, HOUR};
use rapport_testkit::{each_backend, each_backend_at, wait::eventually};
use tonic::Code;

async fn get_registration(c: &mut Clients, name: &str) -> Result<pb::Registration, tonic::Status> {
    c.registrations
        .get_registration(pb::GetRegistrationRequest { name: name.into() })
        .await
        .map(|r| r.into_inner())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_approved_registration_becomes_the_partners_lead_and_converts_with_it() {
    each_backend(&services(), async |s| {
        let sofas = category(s, "Sofas").await;
        let dealer = active_partner(s, "Lanting Furniture").await;
        let mut me = as_partner(s, &dealer.name);
        let r = register(
            &mut me,
            registration("", "138 0013 8000", &[&sofas]),
            "reg-1",
        )
        .await
        .unwrap();
        assert_eq!(r.state, pb::RegistrationState::Submitted as i32);
        assert_eq!(r.partner, dealer.name);
        assert_eq!(r.phone, "+8613800138000");
        assert!(r.conflicts.is_empty());
        let created = r.create_time.unwrap().seconds;
        assert_eq!(r.approve_by.unwrap().seconds, created + 48 * 3600);
        // A retry answers alike.
        let again = register(
            &mut me,
            registration("", "138 0013 8000", &[&sofas]),
            "reg-1",
        )
        .await
        .unwrap();
        assert_eq!(again, r);

        let mut m = manager(s);
        let checked = m
            .registrations
            .check_registration_conflicts(pb::CheckRegistrationConflictsRequest {
                name: r.name.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(checked.conflicts.is_empty(), "{:?}", checked.conflicts);
        let approved = approve(&mut m, &r.name, false).await.unwrap();
        assert_eq!(approved.state, pb::RegistrationState::Approved as i32);
        assert_eq!(approved.decided_by, "cm-1");
        assert_eq!(
            approved.expire_time.unwrap().seconds,
            approved.decide_time.unwrap().seconds + 90 * 86_400
        );
        let lead_name = approved.lead.clone();
        assert!(lead_name.starts_with("leads/"));

        // The leads service makes the lead the registration named, attributed to the dealer.
        let mut a = admin(s);
        let mut lead = None;
        eventually("the leads service makes the lead", async || {
            lead = a
                .leads
                .get_lead(lpb::GetLeadRequest {
                    name: lead_name.clone(),
                })
                .await
                .ok()
                .map(|r| r.into_inner());
            lead.is_some()
        })
        .await;
        let lead = lead.unwrap();
        assert_eq!(lead.source, lpb::LeadSource::Partner as i32);
        assert_eq!(lead.attribution.unwrap().partner_id, dealer.name);
        assert_eq!(lead.phone, "+8613800138000");
        assert_eq!(lead.display_name, "Zhao Lei (Lanting Homes Co., Ltd.)");
        eventually("the dealer is credited with the lead", async || {
            let listed = me
                .partners
                .list_attributions(pb::ListAttributionsRequest {
                    parent: dealer.name.clone(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            listed.attributions.iter().any(|x| x.resource == lead_name)
        })
        .await;

        // Converting the lead converts the registration and credits the dealer with the customer.
        crate::leads_common::org_rep(s, "rep-1", "north").await;
        a.leads
            .assign_lead(lpb::AssignLeadRequest {
                name: lead_name.clone(),
                rep: "reps/rep-1".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        let converted = a
            .leads
            .convert_lead(lpb::ConvertLeadRequest {
                name: lead_name.clone(),
                request_id: "convert-1".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        eventually("the registration converts with its lead", async || {
            get_registration(&mut me, &r.name).await.unwrap().state
                == pb::RegistrationState::Converted as i32
        })
        .await;
        let listed = me
            .partners
            .list_attributions(pb::ListAttributionsRequest {
                parent: dealer.name.clone(),
                kind: pb::AttributionKind::Customer.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.attributions.len(), 1);
        assert_eq!(listed.attributions[0].resource, converted.customer);
        let leads = me
            .partners
            .list_attributions(pb::ListAttributionsRequest {
                parent: dealer.name.clone(),
                kind: pb::AttributionKind::Lead.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(leads.attributions[0].converted);
        assert_eq!(leads.attributions[0].state, "LEAD_STATE_CONVERTED");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conflicts_with_registrations_leads_and_customers_are_shown_to_the_approver() {
    each_backend(&services(), async |s| {
        let sofas = category(s, "Sofas").await;
        let tables = category(s, "Tables").await;
        let first = active_partner(s, "First").await;
        let second = active_partner(s, "Second").await;
        let mut one = as_partner(s, &first.name);
        let mut two = as_partner(s, &second.name);
        let held = register(&mut one, registration("", "13800000001", &[&sofas]), "")
            .await
            .unwrap();
        // The same prospect after another category collides with nothing.
        let mut apart = registration("", "13800000001", &[&tables]);
        apart.organization = String::new();
        let apart = register(&mut two, apart, "").await.unwrap();
        assert!(apart.conflicts.is_empty());
        let mut clash = registration("", "13900000009", &[&tables, &sofas]);
        clash.organization = "LANTING HOMES co ltd".into();
        let clash = register(&mut two, clash, "").await.unwrap();
        assert_eq!(clash.conflicts.len(), 1);
        let c = &clash.conflicts[0];
        assert_eq!(c.resource, held.name);
        assert_eq!(c.partner, first.name);
        assert_eq!(c.matched_on, ["organization:lantinghomes"]);
        assert_eq!(c.categories, std::slice::from_ref(&sofas));
        // The partner that registered second learns of the conflict, not the other's data.
        assert_code(get_registration(&mut two, &held.name).await, Code::NotFound);

        let mut m = manager(s);
        let refused = assert_code(
            approve(&mut m, &clash.name, false).await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&refused), "REGISTRATION_CONFLICTS");
        let approved = approve(&mut m, &clash.name, true).await.unwrap();
        assert_eq!(approved.state, pb::RegistrationState::Approved as i32);

        // A prospect who is already a customer, or already an open lead, shows up on a check.
        oc::customer(s, "Sun Li", "+8613700000007", "rep-1", "north").await;
        admin(s)
            .leads
            .create_lead(lpb::CreateLeadRequest {
                lead: Some(lpb::Lead {
                    display_name: "Sun Li".into(),
                    email: "sun.li@example.com".into(),
                    source: lpb::LeadSource::WalkIn.into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap();
        let mut known = registration("", "13700000007", &[&sofas]);
        known.email = "Sun.Li@example.com".into();
        known.organization = String::new();
        let known = register(&mut one, known, "").await.unwrap();
        let checked = m
            .registrations
            .check_registration_conflicts(pb::CheckRegistrationConflictsRequest {
                name: known.name.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        let mut seen: Vec<(String, Vec<String>)> = checked
            .conflicts
            .iter()
            .map(|c| {
                (
                    c.resource.split('/').next().unwrap().to_owned(),
                    c.matched_on.clone(),
                )
            })
            .collect();
        seen.sort();
        assert_eq!(
            seen,
            [
                (
                    "customers".to_owned(),
                    vec!["phone:+8613700000007".to_owned()]
                ),
                (
                    "leads".to_owned(),
                    vec!["email:sun.li@example.com".to_owned()]
                ),
            ]
        );
        assert_code(
            approve(&mut m, &known.name, false).await,
            Code::FailedPrecondition,
        );
        // The stored conflicts are what the partner sees on its registration too.
        assert_eq!(
            get_registration(&mut one, &known.name)
                .await
                .unwrap()
                .conflicts
                .len(),
            2
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_input_wrong_callers_and_second_decisions_are_refused() {
    each_backend(&services(), async |s| {
        let sofas = category(s, "Sofas").await;
        let dealer = active_partner(s, "Dealer").await;
        let other = active_partner(s, "Other").await;
        let mut me = as_partner(s, &dealer.name);
        let bad = assert_code(
            register(
                &mut me,
                pb::Registration {
                    contact_name: String::new(),
                    phone: String::new(),
                    email: String::new(),
                    categories: vec!["sofas".into()],
                    notes: "n".repeat(2001),
                    ..Default::default()
                },
                "",
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&bad),
            [
                "registration.categories[0]",
                "registration.contact_name",
                "registration.notes",
                "registration.phone",
            ]
        );
        let none = assert_code(
            register(&mut me, registration("", "13800000001", &[]), "").await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&none), ["registration.categories"]);
        // A partner registers for itself only; another partner reads as not there.
        let foreign = assert_code(
            register(
                &mut me,
                registration(&other.name, "13800000001", &[&sofas]),
                "",
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&foreign), ["registration.partner"]);
        assert!(
            foreign
                .message()
                .contains("does not exist or you may not see it")
        );
        // Staff name the partner they register for.
        let mut m = manager(s);
        let unnamed = assert_code(
            register(&mut m, registration("", "13800000001", &[&sofas]), "").await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&unnamed), ["registration.partner"]);
        let theirs = register(
            &mut m,
            registration(&other.name, "13800000002", &[&sofas]),
            "",
        )
        .await
        .unwrap();
        assert_code(
            get_registration(&mut me, &theirs.name).await,
            Code::NotFound,
        );
        let listed = me
            .registrations
            .list_registrations(pb::ListRegistrationsRequest {
                partner: other.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(listed.registrations.is_empty());
        assert_code(
            approve(&mut me, &theirs.name, false).await,
            Code::PermissionDenied,
        );
        assert_code(
            get_registration(&mut stranger(s), &theirs.name).await,
            Code::NotFound,
        );
        assert_code(
            approve(&mut stranger(s), &theirs.name, false).await,
            Code::NotFound,
        );
        // A partner's request id is its own: another's id replays nothing across callers.
        let mine = register(
            &mut me,
            registration("", "13800000003", &[&sofas]),
            "shared-id",
        )
        .await
        .unwrap();
        let mut them = as_partner(s, &other.name);
        let own = register(
            &mut them,
            registration("", "13800000003", &[&sofas]),
            "shared-id",
        )
        .await
        .unwrap();
        assert_ne!(own.name, mine.name);
        assert_eq!(own.partner, other.name);

        // Rejection needs a reason; a decided registration is not decided again.
        let no_reason = assert_code(
            m.registrations
                .reject_registration(pb::RejectRegistrationRequest {
                    name: mine.name.clone(),
                    ..Default::default()
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&no_reason), ["reason"]);
        let rejected = m
            .registrations
            .reject_registration(pb::RejectRegistrationRequest {
                name: mine.name.clone(),
                reason: "already our customer".into(),
                etag: mine.etag.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(rejected.rejection_reason, "already our customer");
        let twice = assert_code(
            approve(&mut m, &mine.name, false).await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&twice), "REGISTRATION_DECIDED");
        let stale = m
            .registrations
            .approve_registration(pb::ApproveRegistrationRequest {
                name: theirs.name.clone(),
                etag: mine.etag.clone(),
                ..Default::default()
            })
            .await;
        assert_code(stale, Code::Aborted);

        // A suspended partner registers nothing.
        set_state(&mut m, &dealer.name, pb::PartnerState::Suspended, "audit")
            .await
            .unwrap();
        let paused = assert_code(
            register(&mut me, registration("", "13800000004", &[&sofas]), "").await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&paused), "PARTNER_NOT_ACTIVE");
        // A partner credential naming no partner sees nothing and registers nothing.
        let mut nobody = clients_with(
            s,
            s.auth("t1", "someone", &[rapport_runtime::auth::Role::Partner]),
        );
        assert_code(
            register(&mut nobody, registration("", "13800000005", &[&sofas]), "").await,
            Code::PermissionDenied,
        );
        let empty = nobody
            .registrations
            .list_registrations(pb::ListRegistrationsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert!(empty.registrations.is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_approved_registration_lapses_when_it_expires_unconverted() {
    let start = 1_780_000_000_000_000;
    each_backend_at(&services(), start, async |s, clock| {
        let sofas = category(s, "Sofas").await;
        let dealer = active_partner(s, "Dealer").await;
        let mut me = as_partner(s, &dealer.name);
        let r = register(&mut me, registration("", "13800000001", &[&sofas]), "")
            .await
            .unwrap();
        let mut m = manager(s);
        approve(&mut m, &r.name, false).await.unwrap();
        clock.advance(89 * DAY);
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        assert_eq!(
            get_registration(&mut me, &r.name).await.unwrap().state,
            pb::RegistrationState::Approved as i32
        );
        clock.advance(DAY + HOUR);
        eventually("the registration lapses", async || {
            get_registration(&mut me, &r.name).await.unwrap().state
                == pb::RegistrationState::Lapsed as i32
        })
        .await;
        // Lapsed, it no longer holds the prospect: a new registration collides with nothing.
        let again = register(&mut me, registration("", "13800000001", &[&sofas]), "")
            .await
            .unwrap();
        assert!(again.conflicts.is_empty());
    })
    .await;
}
