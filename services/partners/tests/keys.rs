//! Partners' API keys (PA5) through gRPC on every backend: a key acts as its partner alone on
//! every service's port, within its scopes; expired, revoked, rotated and wrong secrets are
//! refused; last use is recorded; bad input, other tenants, wrong roles, stale etags and
//! retried request ids.

use crate::common::*;
use rapport_proto::{
    leads as lpb,
    partners::{self as pb, key_service_client::KeyServiceClient},
};
use rapport_runtime::clock::{DAY, HOUR, to_timestamp};
use rapport_testkit::{
    Bearer, TestServer, each_backend, each_backend_at, values::unix_now, wait::eventually,
};
use tonic::{Code, Status, codegen::InterceptedService, transport::Channel};

type Keys = KeyServiceClient<InterceptedService<Channel, Bearer>>;

fn keys_as(s: &TestServer, bearer: Bearer) -> Keys {
    KeyServiceClient::with_interceptor(s.channel.clone(), bearer)
}

fn keys_admin(s: &TestServer) -> Keys {
    keys_as(s, s.admin())
}

/// The clients of a system holding `secret`.
fn with_key(s: &TestServer, secret: &str) -> Clients {
    clients_with(s, Bearer::new(secret))
}

fn scopes(s: &[&str]) -> Vec<String> {
    s.iter().map(|x| (*x).to_owned()).collect()
}

fn new_key(parent: &str, scopes_: &[&str]) -> pb::CreateApiKeyRequest {
    pb::CreateApiKeyRequest {
        parent: parent.into(),
        api_key: Some(pb::ApiKey {
            display_name: "ERP".into(),
            scopes: scopes(scopes_),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

/// A key of `partner` with `scopes_`, made by the admin.
async fn create_key(s: &TestServer, partner: &str, scopes_: &[&str]) -> pb::CreateApiKeyResponse {
    keys_admin(s)
        .create_api_key(new_key(partner, scopes_))
        .await
        .expect("create key")
        .into_inner()
}

async fn get_key(k: &mut Keys, name: &str) -> Result<pb::ApiKey, Status> {
    k.get_api_key(pb::GetApiKeyRequest { name: name.into() })
        .await
        .map(|r| r.into_inner())
}

async fn get_partner(c: &mut Clients, name: &str) -> Result<pb::Partner, Status> {
    c.partners
        .get_partner(pb::GetPartnerRequest { name: name.into() })
        .await
        .map(|r| r.into_inner())
}

/// Calls GetPartner on `partner` with `secret`.
async fn call_with(s: &TestServer, secret: &str, partner: &str) -> Result<pb::Partner, Status> {
    get_partner(&mut with_key(s, secret), partner).await
}

fn rotate(
    name: &str,
    overlap_end: Option<i64>,
    etag: &str,
    request_id: &str,
) -> pb::RotateApiKeyRequest {
    pb::RotateApiKeyRequest {
        name: name.into(),
        overlap_end_time: overlap_end.map(to_timestamp),
        etag: etag.into(),
        request_id: request_id.into(),
    }
}

fn revoke(name: &str, etag: &str, request_id: &str) -> pb::RevokeApiKeyRequest {
    pb::RevokeApiKeyRequest {
        name: name.into(),
        etag: etag.into(),
        request_id: request_id.into(),
    }
}

/// An active dealer with a key for every method.
async fn dealer_with_key(s: &TestServer) -> (pb::Partner, pb::CreateApiKeyResponse) {
    let mine = active_partner(s, "Dealer").await;
    let made = create_key(s, &mine.name, &["*"]).await;
    (mine, made)
}

/// Asserts that the admin may not rotate key `name`, for `why`.
async fn assert_not_rotated(s: &TestServer, name: &str, why: &str) {
    let refused = assert_code(
        keys_admin(s)
            .rotate_api_key(rotate(name, None, "", ""))
            .await,
        Code::FailedPrecondition,
    );
    assert_eq!(reason(&refused), why);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_acts_as_its_partner_and_sees_nothing_of_another() {
    each_backend(&services(), async |s| {
        let sofas = category(s, "Sofas").await;
        let mine = active_partner(s, "Lanting Furniture").await;
        let other = active_partner(s, "Other Dealer").await;
        let made = create_key(s, &mine.name, &["*"]).await;
        let key = made.api_key.clone().unwrap();
        assert!(made.secret.starts_with("rpk_"), "{}", made.secret);
        assert!(made.secret.starts_with(&key.prefix));
        // Only four characters of the random part are shown.
        assert_eq!(made.secret.len() - key.prefix.len(), 39);
        assert!(key.name.starts_with(&format!("{}/apiKeys/", mine.name)));
        assert_eq!(key.state, pb::ApiKeyState::Active as i32);
        assert_eq!(key.scopes, ["*"]);
        // A year by default.
        let made_at = key.create_time.unwrap().seconds;
        assert_eq!(key.expire_time.unwrap().seconds, made_at + 365 * 86_400);
        // The secret is shown once: GetApiKey has none to show.
        let read = get_key(&mut keys_admin(s), &key.name).await.unwrap();
        assert_eq!(read, key);
        assert!(!format!("{read:?}").contains(&made.secret[key.prefix.len()..]));

        let other_key = create_key(s, &other.name, &["*"]).await.api_key.unwrap();
        let theirs = register(
            &mut as_partner(s, &other.name),
            registration("", "139 0013 9000", &[&sofas]),
            "",
        )
        .await
        .unwrap();

        let mut me = with_key(s, &made.secret);
        // Its own partner, its registrations.
        assert_eq!(
            get_partner(&mut me, &mine.name).await.unwrap().name,
            mine.name
        );
        let listed = me
            .partners
            .list_partners(pb::ListPartnersRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.partners.len(), 1);
        assert_eq!(listed.partners[0].name, mine.name);
        let r = register(&mut me, registration("", "138 0013 8000", &[&sofas]), "")
            .await
            .unwrap();
        assert_eq!(r.partner, mine.name);
        let regs = me
            .registrations
            .list_registrations(pb::ListRegistrationsRequest::default())
            .await
            .unwrap()
            .into_inner()
            .registrations;
        assert_eq!(regs.iter().map(|x| &x.name).collect::<Vec<_>>(), [&r.name]);

        // Everything of the other partner reads as not found.
        assert_code(get_partner(&mut me, &other.name).await, Code::NotFound);
        assert_code(
            me.registrations
                .get_registration(pb::GetRegistrationRequest {
                    name: theirs.name.clone(),
                })
                .await,
            Code::NotFound,
        );
        let none = me
            .registrations
            .list_registrations(pb::ListRegistrationsRequest {
                partner: other.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(none.registrations.is_empty());
        let refused = assert_code(
            register(
                &mut me,
                registration(&other.name, "137 0013 7000", &[&sofas]),
                "",
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&refused), ["registration.partner"]);
        assert_code(
            me.partners
                .list_attributions(pb::ListAttributionsRequest {
                    parent: other.name.clone(),
                    ..Default::default()
                })
                .await,
            Code::NotFound,
        );
        let mut my_keys = keys_as(s, Bearer::new(&made.secret));
        assert_code(get_key(&mut my_keys, &other_key.name).await, Code::NotFound);
        // Another partner's key under this partner's name is not found either.
        let disguised = other_key.name.replace(&other.name, &mine.name);
        assert_code(get_key(&mut my_keys, &disguised).await, Code::NotFound);
        assert_code(
            my_keys
                .list_api_keys(pb::ListApiKeysRequest {
                    parent: other.name.clone(),
                    ..Default::default()
                })
                .await,
            Code::NotFound,
        );
        assert_code(
            my_keys
                .rotate_api_key(rotate(&other_key.name, None, "", ""))
                .await,
            Code::NotFound,
        );
        assert_code(
            my_keys
                .revoke_api_key(revoke(&other_key.name, "", ""))
                .await,
            Code::NotFound,
        );
        // Its own keys it reads, but makes none.
        let own = my_keys
            .list_api_keys(pb::ListApiKeysRequest {
                parent: mine.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(own.api_keys.len(), 1);
        assert_eq!(own.api_keys[0].name, key.name);
        assert_code(
            my_keys.create_api_key(new_key(&mine.name, &["*"])).await,
            Code::PermissionDenied,
        );
        // Nor may it do what a partner may not.
        assert_code(
            set_state(&mut me, &mine.name, pb::PartnerState::Terminated, "x").await,
            Code::PermissionDenied,
        );
        // The other partner's key still works for the other partner.
        assert_eq!(
            get_key(&mut keys_admin(s), &other_key.name)
                .await
                .unwrap()
                .state,
            pb::ApiKeyState::Active as i32
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_calls_only_the_methods_its_scopes_name() {
    each_backend(&services(), async |s| {
        let mine = active_partner(s, "Dealer").await;
        let regs = create_key(
            s,
            &mine.name,
            &["rapport.partners.v1.RegistrationService/*"],
        )
        .await;
        let mut c = with_key(s, &regs.secret);
        c.registrations
            .list_registrations(pb::ListRegistrationsRequest::default())
            .await
            .expect("in scope");
        let denied = assert_code(
            get_partner(&mut c, &mine.name).await,
            Code::PermissionDenied,
        );
        assert!(
            denied
                .message()
                .contains("rapport.partners.v1.PartnerService/GetPartner"),
            "{}",
            denied.message()
        );

        let one = create_key(
            s,
            &mine.name,
            &["rapport.partners.v1.PartnerService/GetPartner"],
        )
        .await;
        let mut c = with_key(s, &one.secret);
        get_partner(&mut c, &mine.name).await.expect("in scope");
        assert_code(
            c.partners
                .list_partners(pb::ListPartnersRequest::default())
                .await,
            Code::PermissionDenied,
        );
        // Scopes are checked before anything is read: a key out of scope learns nothing of
        // what exists.
        assert_code(
            c.registrations
                .get_registration(pb::GetRegistrationRequest {
                    name: "registrations/0190b0f0-0000-7000-8000-000000000000".into(),
                })
                .await,
            Code::PermissionDenied,
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wrong_secret_is_refused_without_saying_what_was_wrong() {
    each_backend(&services(), async |s| {
        let (mine, made) = dealer_with_key(s).await;
        // The right key id with another random part.
        let (head, tail) = made.secret.split_at(made.secret.len() - 4);
        let flipped = if tail == "AAAA" { "BBBB" } else { "AAAA" };
        let wrong = format!("{head}{flipped}");
        // A key id no key has, with a well-formed random part.
        let id = made.secret[4..36].to_owned();
        let unknown = made.secret.replace(&id, "0190b0f0000070008000000000000000");
        let wrong_status = assert_code(
            call_with(s, &wrong, &mine.name).await,
            Code::Unauthenticated,
        );
        let unknown_status = assert_code(
            call_with(s, &unknown, &mine.name).await,
            Code::Unauthenticated,
        );
        assert_eq!(wrong_status.message(), unknown_status.message());
        for garbled in ["rpk_", "rpk_zz_zz", &made.secret[..made.secret.len() - 1]] {
            let status = assert_code(
                call_with(s, garbled, &mine.name).await,
                Code::Unauthenticated,
            );
            assert_eq!(status.message(), wrong_status.message(), "{garbled}");
        }
        // The right secret still works.
        call_with(s, &made.secret, &mine.name)
            .await
            .expect("the key works");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_key_is_refused() {
    let start = i64::try_from(unix_now()).unwrap() * 1_000_000;
    each_backend_at(&services(), start, async |s, clock| {
        let mine = active_partner(s, "Dealer").await;
        let mut req = new_key(&mine.name, &["*"]);
        req.api_key.as_mut().unwrap().expire_time = Some(to_timestamp(start + HOUR));
        let made = keys_admin(s)
            .create_api_key(req)
            .await
            .unwrap()
            .into_inner();
        let key = made.api_key.unwrap();
        assert_eq!(key.expire_time.unwrap().seconds, (start + HOUR) / 1_000_000);
        call_with(s, &made.secret, &mine.name)
            .await
            .expect("works until it expires");
        clock.advance(HOUR);
        let status = assert_code(
            call_with(s, &made.secret, &mine.name).await,
            Code::Unauthenticated,
        );
        assert!(status.message().contains("expired"), "{}", status.message());
        let read = get_key(&mut keys_admin(s), &key.name).await.unwrap();
        assert_eq!(read.state, pb::ApiKeyState::Expired as i32);
        assert_not_rotated(s, &key.name, "API_KEY_EXPIRED").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revoked_key_stops_on_every_service() {
    each_backend(&services(), async |s| {
        let (mine, made) = dealer_with_key(s).await;
        let key = made.api_key.clone().unwrap();
        let mut c = with_key(s, &made.secret);
        get_partner(&mut c, &mine.name)
            .await
            .expect("works on partners");
        // The leads service knows the key from its own copy: the caller is authenticated, as a
        // partner, and a partner reads no leads there.
        eventually("the leads service knows the key", async || {
            c.leads
                .list_leads(lpb::ListLeadsRequest::default())
                .await
                .is_err_and(|e| e.code() == Code::PermissionDenied)
        })
        .await;

        let revoked = keys_admin(s)
            .revoke_api_key(revoke(&key.name, &key.etag, ""))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(revoked.state, pb::ApiKeyState::Revoked as i32);
        assert!(revoked.revoke_time.is_some());
        // Refused at once where it was revoked.
        let status = assert_code(get_partner(&mut c, &mine.name).await, Code::Unauthenticated);
        assert!(status.message().contains("revoked"), "{}", status.message());
        eventually("the leads service refuses it", async || {
            c.leads
                .list_leads(lpb::ListLeadsRequest::default())
                .await
                .is_err_and(|e| e.code() == Code::Unauthenticated)
        })
        .await;
        // Revoking again changes nothing.
        let again = keys_admin(s)
            .revoke_api_key(revoke(&key.name, "", ""))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (again.etag, again.revoke_time, again.update_time),
            (
                revoked.etag.clone(),
                revoked.revoke_time,
                revoked.update_time
            )
        );
        assert_not_rotated(s, &key.name, "API_KEY_REVOKED").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rotated_secret_works_until_the_overlap_ends() {
    let start = i64::try_from(unix_now()).unwrap() * 1_000_000;
    each_backend_at(&services(), start, async |s, clock| {
        let (mine, made) = dealer_with_key(s).await;
        let key = made.api_key.clone().unwrap();
        // The partner rotates its own key, with the key itself.
        let mut own = keys_as(s, Bearer::new(&made.secret));
        let rotated = own
            .rotate_api_key(rotate(&key.name, Some(start + HOUR), &key.etag, ""))
            .await
            .unwrap()
            .into_inner();
        let after = rotated.api_key.clone().unwrap();
        assert_ne!(rotated.secret, made.secret);
        assert!(rotated.secret.starts_with(&after.prefix));
        assert_ne!(after.prefix, key.prefix);
        assert_ne!(after.etag, key.etag);
        assert_eq!(
            after.previous_secret_expire_time.unwrap().seconds,
            (start + HOUR) / 1_000_000
        );
        call_with(s, &made.secret, &mine.name)
            .await
            .expect("old works in the overlap");
        call_with(s, &rotated.secret, &mine.name)
            .await
            .expect("new works");
        // A stale etag is refused.
        assert_code(
            own.rotate_api_key(rotate(&key.name, None, &key.etag, ""))
                .await,
            Code::Aborted,
        );
        clock.advance(HOUR);
        assert_code(
            call_with(s, &made.secret, &mine.name).await,
            Code::Unauthenticated,
        );
        call_with(s, &rotated.secret, &mine.name)
            .await
            .expect("new works on");
        let read = get_key(&mut keys_admin(s), &key.name).await.unwrap();
        assert_eq!(read.previous_secret_expire_time, None);

        // A rotation ending the overlap now stops the secret before at once.
        let third = keys_admin(s)
            .rotate_api_key(rotate(&key.name, Some(clock_now(clock)), "", ""))
            .await
            .unwrap()
            .into_inner();
        assert_code(
            call_with(s, &rotated.secret, &mine.name).await,
            Code::Unauthenticated,
        );
        call_with(s, &third.secret, &mine.name)
            .await
            .expect("the newest works");
        // Too long an overlap is refused.
        let too_long = assert_code(
            keys_admin(s)
                .rotate_api_key(rotate(&key.name, Some(clock_now(clock) + 8 * DAY), "", ""))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&too_long), ["overlap_end_time"]);
    })
    .await;
}

fn clock_now(clock: &rapport_runtime::clock::ManualClock) -> i64 {
    use rapport_runtime::clock::Clock;
    clock.now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_last_use_of_a_key_is_recorded() {
    each_backend(&services(), async |s| {
        let (mine, made) = dealer_with_key(s).await;
        let key = made.api_key.clone().unwrap();
        assert_eq!(key.last_use_time, None);
        call_with(s, &made.secret, &mine.name).await.unwrap();
        eventually("the use is recorded", async || {
            get_key(&mut keys_admin(s), &key.name)
                .await
                .unwrap()
                .last_use_time
                .is_some()
        })
        .await;
        // Recording a use is no change of the key: its etag stays.
        let read = get_key(&mut keys_admin(s), &key.name).await.unwrap();
        assert_eq!(read.etag, key.etag);
        assert!(read.last_use_time.unwrap().seconds >= key.create_time.unwrap().seconds);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn terminating_a_partner_revokes_its_keys() {
    each_backend(&services(), async |s| {
        let (mine, made) = dealer_with_key(s).await;
        let key = made.api_key.clone().unwrap();
        set_state(
            &mut admin(s),
            &mine.name,
            pb::PartnerState::Terminated,
            "contract ended",
        )
        .await
        .unwrap();
        assert_code(
            call_with(s, &made.secret, &mine.name).await,
            Code::Unauthenticated,
        );
        let read = get_key(&mut keys_admin(s), &key.name).await.unwrap();
        assert_eq!(read.state, pb::ApiKeyState::Revoked as i32);
        let refused = assert_code(
            keys_admin(s)
                .create_api_key(new_key(&mine.name, &["*"]))
                .await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&refused), "PARTNER_TERMINATED");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_input_is_named_field_by_field() {
    each_backend(&services(), async |s| {
        let mine = active_partner(s, "Dealer").await;
        let mut k = keys_admin(s);
        let status = assert_code(
            k.create_api_key(pb::CreateApiKeyRequest::default()).await,
            Code::InvalidArgument,
        );
        assert_eq!(sorted_bad_fields(&status), ["api_key", "parent"]);

        let mut req = new_key("partners/x", &[]);
        let key = req.api_key.as_mut().unwrap();
        key.display_name = " ".into();
        key.expire_time = Some(prost_types::Timestamp {
            seconds: 1 << 40,
            nanos: 0,
        });
        req.request_id = "r".repeat(129);
        let status = assert_code(k.create_api_key(req).await, Code::InvalidArgument);
        assert_eq!(
            sorted_bad_fields(&status),
            [
                "api_key.display_name",
                "api_key.expire_time",
                "api_key.scopes",
                "parent",
                "request_id"
            ]
        );

        let req = new_key(
            &mine.name,
            &[
                "rapport.partners.v1.RegistrationService/*",
                "rapport.partners.v1.RegistrationService/Nope",
                "rapport.nope.v1.Thing/*",
            ],
        );
        let status = assert_code(k.create_api_key(req).await, Code::InvalidArgument);
        assert_eq!(
            sorted_bad_fields(&status),
            ["api_key.scopes[1]", "api_key.scopes[2]"]
        );
        let many: Vec<&str> = vec!["*"; 51];
        let status = assert_code(
            k.create_api_key(new_key(&mine.name, &many)).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["api_key.scopes"]);

        // Expiry: in the future, at most two years ahead.
        for expire in [unix_now() as i64 - 60, unix_now() as i64 + 3 * 365 * 86_400] {
            let mut req = new_key(&mine.name, &["*"]);
            req.api_key.as_mut().unwrap().expire_time = Some(prost_types::Timestamp {
                seconds: expire,
                nanos: 0,
            });
            let status = assert_code(k.create_api_key(req).await, Code::InvalidArgument);
            assert_eq!(bad_fields(&status), ["api_key.expire_time"]);
        }
        // A partner that does not exist.
        assert_code(
            k.create_api_key(new_key(
                "partners/0190b0f0-0000-7000-8000-000000000000",
                &["*"],
            ))
            .await,
            Code::NotFound,
        );

        for name in ["", "partners/x/apiKeys/y", &mine.name, "apiKeys/x"] {
            let status = assert_code(get_key(&mut k, name).await, Code::InvalidArgument);
            assert_eq!(bad_fields(&status), ["name"], "{name}");
        }
        let status = assert_code(
            k.list_api_keys(pb::ListApiKeysRequest {
                parent: String::new(),
                page_size: -1,
                page_token: "nope".into(),
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&status),
            ["page_size", "page_token", "parent"]
        );
        let status = assert_code(
            k.rotate_api_key(pb::RotateApiKeyRequest {
                name: "x".into(),
                overlap_end_time: Some(prost_types::Timestamp {
                    seconds: 1 << 40,
                    nanos: 0,
                }),
                etag: String::new(),
                request_id: "r".repeat(129),
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&status),
            ["name", "overlap_end_time", "request_id"]
        );
        let made = create_key(s, &mine.name, &["*"]).await.api_key.unwrap();
        let status = assert_code(
            k.rotate_api_key(rotate(
                &made.name,
                Some(unix_now() as i64 * 1_000_000 - HOUR),
                "",
                "",
            ))
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["overlap_end_time"]);
        let status = assert_code(
            k.revoke_api_key(revoke("x", "", "")).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["name"]);
        // A key that does not exist.
        let missing = format!("{}/apiKeys/0190b0f0-0000-7000-8000-000000000000", mine.name);
        assert_code(get_key(&mut k, &missing).await, Code::NotFound);
        assert_code(
            k.revoke_api_key(revoke(&missing, "", "")).await,
            Code::NotFound,
        );
        assert_code(
            k.rotate_api_key(rotate(&missing, None, "", "")).await,
            Code::NotFound,
        );
        // Stale etags.
        assert_code(
            k.revoke_api_key(revoke(&made.name, "\"stale\"", "")).await,
            Code::Aborted,
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn other_tenants_and_roles_learn_nothing() {
    each_backend(&services(), async |s| {
        let (mine, made) = dealer_with_key(s).await;
        let key = made.api_key.clone().unwrap();
        for (who, code) in [
            (s.stranger(), Code::NotFound),
            (s.rep("rep-1", "north"), Code::PermissionDenied),
        ] {
            let mut k = keys_as(s, who);
            assert_code(k.create_api_key(new_key(&mine.name, &["*"])).await, code);
            assert_code(get_key(&mut k, &key.name).await, code);
            assert_code(
                k.list_api_keys(pb::ListApiKeysRequest {
                    parent: mine.name.clone(),
                    ..Default::default()
                })
                .await,
                code,
            );
            assert_code(
                k.rotate_api_key(rotate(&key.name, None, "", "")).await,
                code,
            );
            assert_code(k.revoke_api_key(revoke(&key.name, "", "")).await, code);
        }
        // A partner's own credential makes no keys.
        let mut partner = keys_as(
            s,
            s.auth("t1", &mine.name, &[rapport_runtime::auth::Role::Partner]),
        );
        assert_code(
            partner.create_api_key(new_key(&mine.name, &["*"])).await,
            Code::PermissionDenied,
        );
        // The key is untouched.
        let read = get_key(&mut keys_admin(s), &key.name).await.unwrap();
        assert_eq!(read, key);
        call_with(s, &made.secret, &mine.name)
            .await
            .expect("still works");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retried_request_answers_the_key_without_a_second_secret() {
    each_backend(&services(), async |s| {
        let mine = active_partner(s, "Dealer").await;
        let mut k = keys_admin(s);
        let mut req = new_key(&mine.name, &["*"]);
        req.request_id = "key-1".into();
        let first = k.create_api_key(req.clone()).await.unwrap().into_inner();
        let again = k.create_api_key(req.clone()).await.unwrap().into_inner();
        assert!(!first.secret.is_empty());
        assert_eq!(again.secret, "");
        assert_eq!(again.api_key, first.api_key);
        let listed = k
            .list_api_keys(pb::ListApiKeysRequest {
                parent: mine.name.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.api_keys.len(), 1, "one key made");
        // The same id with another request is refused.
        req.api_key.as_mut().unwrap().display_name = "Other".into();
        let reused = assert_code(k.create_api_key(req).await, Code::InvalidArgument);
        assert_eq!(reason(&reused), "REQUEST_ID_REUSED");

        let key = first.api_key.clone().unwrap();
        let rotation = rotate(&key.name, None, &key.etag, "rot-1");
        let rotated = k
            .rotate_api_key(rotation.clone())
            .await
            .unwrap()
            .into_inner();
        let replayed = k.rotate_api_key(rotation).await.unwrap().into_inner();
        assert!(!rotated.secret.is_empty());
        assert_eq!(replayed.secret, "");
        assert_eq!(replayed.api_key, rotated.api_key);
        // It rotated once: the first secret and the rotated one work, and the key is as the
        // rotation left it.
        call_with(s, &first.secret, &mine.name)
            .await
            .expect("first secret, in the overlap");
        call_with(s, &rotated.secret, &mine.name)
            .await
            .expect("rotated secret");
        let read = get_key(&mut k, &key.name).await.unwrap();
        let after = rotated.api_key.unwrap();
        assert_eq!((&read.etag, &read.prefix), (&after.etag, &after.prefix));

        let revocation = revoke(&key.name, &read.etag, "rev-1");
        let revoked = k
            .revoke_api_key(revocation.clone())
            .await
            .unwrap()
            .into_inner();
        let replayed = k.revoke_api_key(revocation).await.unwrap().into_inner();
        assert_eq!(replayed, revoked);
    })
    .await;
}
