//! RegistrationService: deal registration and its decisions.

use rapport_kit::validate;
use rapport_proto::partners as pb;
use rapport_runtime::{Error, Result, error::both, storage::Idempotency, validation::Violations};
use tonic::Request;

use super::{
    peers,
    support::{MANAGERS, REGISTRANTS, REGISTRATION_READERS, authorize, page, parse_id},
};
use crate::{
    app::{App, registrations},
    convert::{
        enums,
        registration::{parse_registration, registration_to_proto},
    },
    domain::{partner::PARTNERS, registration::REGISTRATIONS},
    store::registrations::Filter,
};

pub(super) async fn create(
    app: &App,
    req: Request<pb::CreateRegistrationRequest>,
) -> Result<pb::Registration> {
    let p = authorize(&req, REGISTRANTS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let named = msg.registration.as_ref().and_then(|r| {
        validate::optional_id_in(PARTNERS, &r.partner, "registration.partner", &mut v)
    });
    let r = parse_registration(msg.registration.as_ref(), &mut v);
    let (idem, (named, r)) = both(
        Idempotency::new(&p, "CreateRegistration", &msg.request_id, msg),
        v.finish((named, r)).map_err(Error::from),
    )?;
    let partner = registrations::registrant(&p, named)?;
    registrations::create(app, p, idem, partner, r).await
}

pub(super) async fn get(
    app: &App,
    req: Request<pb::GetRegistrationRequest>,
) -> Result<pb::Registration> {
    let p = authorize(&req, REGISTRATION_READERS)?;
    let id = parse_id("name", REGISTRATIONS, &req.get_ref().name)?;
    Ok(registration_to_proto(
        &registrations::get(app, &p, id).await?,
    ))
}

pub(super) async fn list(
    app: &App,
    req: Request<pb::ListRegistrationsRequest>,
) -> Result<pb::ListRegistrationsResponse> {
    let p = authorize(&req, REGISTRATION_READERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let partner = validate::optional_id_in(PARTNERS, &msg.partner, "partner", &mut v);
    let state = validate::optional_enum(
        &mut v,
        "state",
        msg.state,
        enums::registration_state,
        "RegistrationState",
    );
    let state_key = msg.state.to_string();
    let (filter, page) = both(
        v.finish(Filter { partner, state }).map_err(Error::from),
        page(
            &p,
            &[REGISTRATIONS, &msg.partner, &state_key],
            msg.page_size,
            &msg.page_token,
        ),
    )?;
    let (rows, next_page_token) = registrations::list(app, &p, filter, &page).await?;
    Ok(pb::ListRegistrationsResponse {
        registrations: rows.iter().map(registration_to_proto).collect(),
        next_page_token,
    })
}

pub(super) async fn check_conflicts(
    app: &App,
    req: Request<pb::CheckRegistrationConflictsRequest>,
) -> Result<pb::Registration> {
    let p = authorize(&req, MANAGERS)?;
    let id = parse_id("name", REGISTRATIONS, &req.get_ref().name)?;
    let r = registrations::get(app, &p, id).await?;
    let outside = peers::outside_conflicts(app, &req, &r).await?;
    registrations::record_conflicts(app, &p, id, outside).await
}

pub(super) async fn approve(
    app: &App,
    req: Request<pb::ApproveRegistrationRequest>,
) -> Result<pb::Registration> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.get_ref();
    let (idem, id) = both(
        Idempotency::new(&p, "ApproveRegistration", &msg.request_id, msg),
        parse_id("name", REGISTRATIONS, &msg.name),
    )?;
    registrations::approve(app, p, idem, id, &msg.etag, msg.override_conflicts).await
}

pub(super) async fn reject(
    app: &App,
    req: Request<pb::RejectRegistrationRequest>,
) -> Result<pb::Registration> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let id = validate::id_in(REGISTRATIONS, &msg.name, "name", &mut v);
    let reason = validate::required_text(&mut v, "reason", &msg.reason, 500);
    let (idem, id) = both(
        Idempotency::new(&p, "RejectRegistration", &msg.request_id, msg),
        v.finish(id).map_err(Error::from),
    )?;
    registrations::reject(app, p, idem, id.unwrap_or_default(), &msg.etag, &reason).await
}
