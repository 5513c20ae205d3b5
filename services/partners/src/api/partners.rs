//! PartnerService: partners, their lifecycle and onboarding, attributions, settings.

use rapport_kit::{mask, validate};
use rapport_proto::partners as pb;
use rapport_runtime::{Error, Result, error::both, storage::Idempotency, validation::Violations};
use tonic::Request;

use super::support::{ADMINS, MANAGERS, READERS, STAFF, authorize, page, parse_id};
use crate::{
    app::{App, partners},
    convert::{
        enums,
        partner::{
            PARTNER_MASK, apply_partner, attribution_to_proto, parse_partner, partner_to_proto,
        },
        settings::{SETTINGS_MASK, apply},
    },
    domain::{partner::PARTNERS, settings::SETTINGS_NAME},
    store::partners::Filter,
};

pub(super) async fn create(
    app: &App,
    req: Request<pb::CreatePartnerRequest>,
) -> Result<pb::Partner> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let partner = parse_partner(msg.partner.as_ref(), &mut v);
    let (idem, partner) = both(
        Idempotency::new(&p, "CreatePartner", &msg.request_id, msg),
        v.finish(partner).map_err(Error::from),
    )?;
    partners::create(app, p, idem, partner).await
}

pub(super) async fn get(app: &App, req: Request<pb::GetPartnerRequest>) -> Result<pb::Partner> {
    let p = authorize(&req, READERS)?;
    let id = parse_id("name", PARTNERS, &req.get_ref().name)?;
    Ok(partner_to_proto(&partners::get(app, &p, id).await?))
}

pub(super) async fn list(
    app: &App,
    req: Request<pb::ListPartnersRequest>,
) -> Result<pb::ListPartnersResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let state = validate::optional_enum(
        &mut v,
        "state",
        msg.state,
        enums::partner_state,
        "PartnerState",
    );
    let kind = validate::optional_enum(&mut v, "kind", msg.kind, enums::kind, "PartnerKind");
    let tier = validate::optional_id_in(crate::domain::tier::TIERS, &msg.tier, "tier", &mut v);
    let filter = v.finish(Filter {
        state,
        kind,
        tier_id: tier.map(|t| t.to_string()),
    });
    let state_key = msg.state.to_string();
    let kind_key = msg.kind.to_string();
    let (filter, page) = both(
        filter.map_err(Error::from),
        page(
            &p,
            &[PARTNERS, &state_key, &kind_key, &msg.tier],
            msg.page_size,
            &msg.page_token,
        ),
    )?;
    let (rows, next_page_token) = partners::list(app, &p, &filter, &page).await?;
    Ok(pb::ListPartnersResponse {
        partners: rows.iter().map(partner_to_proto).collect(),
        next_page_token,
    })
}

pub(super) async fn update(
    app: &App,
    req: Request<pb::UpdatePartnerRequest>,
) -> Result<pb::Partner> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.into_inner();
    let Some(given) = msg.partner else {
        return Err(Error::invalid("partner", "is required"));
    };
    let mut v = Violations::new();
    let selected = mask::select(&PARTNER_MASK, &mask::paths(msg.update_mask), &mut v);
    let fields = mask::fields(&PARTNER_MASK, &selected);
    let id = validate::id_in(PARTNERS, &given.name, "partner.name", &mut v);
    let mut probe = parse_partner(None, &mut Violations::new());
    apply_partner(&given, &fields, &mut probe, &mut v);
    let id = v.finish(id)?.unwrap_or_default();
    partners::update(app, &p, id, &given.etag, |x| {
        apply_partner(&given, &fields, x, &mut Violations::new())
    })
    .await
}

pub(super) async fn change_state(
    app: &App,
    req: Request<pb::ChangePartnerStateRequest>,
) -> Result<pb::Partner> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let id = validate::id_in(PARTNERS, &msg.name, "name", &mut v);
    let to = validate::required_enum(
        &mut v,
        "state",
        msg.state,
        enums::partner_state,
        "PartnerState",
    );
    let reason = validate::text(&mut v, "reason", &msg.reason, 500);
    let (idem, (id, to)) = both(
        Idempotency::new(&p, "ChangePartnerState", &msg.request_id, msg),
        v.finish((id, to)).map_err(Error::from),
    )?;
    let (Some(id), Some(to)) = (id, to) else {
        return Err(Error::invalid("name", "is required"));
    };
    let etag = msg.etag.clone();
    partners::change_state(app, p, idem, id, &etag, to, &reason).await
}

pub(super) async fn complete_item(
    app: &App,
    req: Request<pb::CompleteOnboardingItemRequest>,
) -> Result<pb::Partner> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let id = validate::id_in(PARTNERS, &msg.name, "name", &mut v);
    if msg.key.trim().is_empty() {
        v.add("key", "is required");
    }
    let id = v.finish(id)?.unwrap_or_default();
    partners::complete_item(app, &p, id, &msg.etag, msg.key.trim()).await
}

pub(super) async fn attributions(
    app: &App,
    req: Request<pb::ListAttributionsRequest>,
) -> Result<pb::ListAttributionsResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let id = validate::id_in(PARTNERS, &msg.parent, "parent", &mut v);
    let kind = validate::optional_enum(
        &mut v,
        "kind",
        msg.kind,
        enums::attribution_kind,
        "AttributionKind",
    );
    let kind_key = msg.kind.to_string();
    let ((id, kind), page) = both(
        v.finish((id, kind)).map_err(Error::from),
        page(
            &p,
            &["attributions", &msg.parent, &kind_key],
            msg.page_size,
            &msg.page_token,
        ),
    )?;
    let (rows, next_page_token) =
        partners::attributions(app, &p, id.unwrap_or_default(), kind, &page).await?;
    Ok(pb::ListAttributionsResponse {
        attributions: rows.iter().map(attribution_to_proto).collect(),
        next_page_token,
    })
}

pub(super) async fn get_settings(
    app: &App,
    req: Request<pb::GetPartnerSettingsRequest>,
) -> Result<pb::PartnerSettings> {
    let p = authorize(&req, STAFF)?;
    rapport_kit::settings::parse_get(&req.get_ref().name, SETTINGS_NAME)?;
    partners::get_settings(app, &p).await
}

pub(super) async fn update_settings(
    app: &App,
    req: Request<pb::UpdatePartnerSettingsRequest>,
) -> Result<pb::PartnerSettings> {
    let p = authorize(&req, ADMINS)?;
    let msg = req.into_inner();
    let (fields, given) = rapport_kit::settings::parse_update(
        &SETTINGS_MASK,
        msg.update_mask,
        msg.settings,
        SETTINGS_NAME,
        |s| &s.name,
    )?;
    partners::update_settings(app, &p, &given.etag, |s, v| apply(&given, &fields, s, v)).await
}
