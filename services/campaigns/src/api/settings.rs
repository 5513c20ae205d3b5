//! The campaign settings' handlers.

use rapport_proto::campaigns as pb;
use rapport_runtime::Result;
use tonic::Request;

use super::support::{ADMINS, STAFF, authorize};
use crate::{
    app::{App, settings},
    convert::settings::{SETTINGS_MASK, apply},
    domain::settings::SETTINGS_NAME,
};

pub(super) async fn get(
    app: &App,
    req: Request<pb::GetCampaignSettingsRequest>,
) -> Result<pb::CampaignSettings> {
    let p = authorize(&req, STAFF)?;
    rapport_kit::settings::parse_get(&req.get_ref().name, SETTINGS_NAME)?;
    settings::get(app, &p).await
}

pub(super) async fn update(
    app: &App,
    req: Request<pb::UpdateCampaignSettingsRequest>,
) -> Result<pb::CampaignSettings> {
    let p = authorize(&req, ADMINS)?;
    let msg = req.into_inner();
    let (fields, given) = rapport_kit::settings::parse_update(
        &SETTINGS_MASK,
        msg.update_mask,
        msg.settings,
        SETTINGS_NAME,
        |s| &s.name,
    )?;
    settings::update(app, &p, &given.etag, |s, v| apply(&given, &fields, s, v)).await
}
