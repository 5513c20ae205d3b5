//! TierService: tiers, evaluation and tier changes.

use rapport_kit::{mask, validate};
use rapport_proto::partners as pb;
use rapport_runtime::{Error, Result, error::both, storage::Idempotency, validation::Violations};
use tonic::Request;

use super::support::{ADMINS, MANAGERS, READERS, authorize, page, parse_id};
use crate::{
    app::{App, tiers},
    convert::tier::{TIER_MASK, apply_tier, change_to_proto, parse_tier, tier_to_proto},
    domain::{partner::PARTNERS, tier::TIERS},
};

pub(super) async fn create(app: &App, req: Request<pb::CreateTierRequest>) -> Result<pb::Tier> {
    let p = authorize(&req, ADMINS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let t = parse_tier(msg.tier.as_ref(), &mut v);
    let (idem, t) = both(
        Idempotency::new(&p, "CreateTier", &msg.request_id, msg),
        v.finish(t).map_err(Error::from),
    )?;
    tiers::create(app, p, idem, t).await
}

pub(super) async fn get(app: &App, req: Request<pb::GetTierRequest>) -> Result<pb::Tier> {
    let p = authorize(&req, READERS)?;
    let id = parse_id("name", TIERS, &req.get_ref().name)?;
    Ok(tier_to_proto(&tiers::get(app, &p, id).await?))
}

pub(super) async fn list(
    app: &App,
    req: Request<pb::ListTiersRequest>,
) -> Result<pb::ListTiersResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let page = page(&p, &[TIERS], msg.page_size, &msg.page_token)?;
    let (rows, next_page_token) = tiers::list(app, &p, &page).await?;
    Ok(pb::ListTiersResponse {
        tiers: rows.iter().map(tier_to_proto).collect(),
        next_page_token,
    })
}

pub(super) async fn update(app: &App, req: Request<pb::UpdateTierRequest>) -> Result<pb::Tier> {
    let p = authorize(&req, ADMINS)?;
    let msg = req.into_inner();
    let Some(given) = msg.tier else {
        return Err(Error::invalid("tier", "is required"));
    };
    let mut v = Violations::new();
    let selected = mask::select(&TIER_MASK, &mask::paths(msg.update_mask), &mut v);
    let fields = mask::fields(&TIER_MASK, &selected);
    let id = validate::id_in(TIERS, &given.name, "tier.name", &mut v);
    let mut probe = parse_tier(None, &mut Violations::new());
    apply_tier(&given, &fields, &mut probe, &mut v);
    let id = v.finish(id)?.unwrap_or_default();
    tiers::update(app, &p, id, &given.etag, |t| {
        apply_tier(&given, &fields, t, &mut Violations::new())
    })
    .await
}

pub(super) async fn evaluate(
    app: &App,
    req: Request<pb::EvaluatePartnerTierRequest>,
) -> Result<pb::Partner> {
    let p = authorize(&req, MANAGERS)?;
    let id = parse_id("name", PARTNERS, &req.get_ref().name)?;
    tiers::evaluate(app, &p, id).await
}

pub(super) async fn changes(
    app: &App,
    req: Request<pb::ListTierChangesRequest>,
) -> Result<pb::ListTierChangesResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let (id, page) = both(
        parse_id("parent", PARTNERS, &msg.parent),
        page(
            &p,
            &["tierChanges", &msg.parent],
            msg.page_size,
            &msg.page_token,
        ),
    )?;
    let (rows, next_page_token) = tiers::changes(app, &p, id, &page).await?;
    Ok(pb::ListTierChangesResponse {
        changes: rows.iter().map(change_to_proto).collect(),
        next_page_token,
    })
}
