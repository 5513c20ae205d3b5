//! Settings: Get and UpdateCustomerSettings, and CheckContactPermission.

use rapport_proto::customers as pb;
use rapport_runtime::Result;
use tonic::Request;

use super::support::{ADMINS, READERS, authorize};
use crate::{
    app::{App, settings},
    convert::{
        consent::{decision_to_proto, parse_check_contact_permission},
        settings::{parse_get_settings, parse_update_settings, settings_to_proto},
    },
};

pub(super) async fn get(
    app: &App,
    req: Request<pb::GetCustomerSettingsRequest>,
) -> Result<pb::CustomerSettings> {
    let p = authorize(&req, READERS)?;
    parse_get_settings(req.get_ref())?;
    Ok(settings_to_proto(&app.settings(&p.tenant_id).await?))
}

pub(super) async fn update(
    app: &App,
    req: Request<pb::UpdateCustomerSettingsRequest>,
) -> Result<pb::CustomerSettings> {
    let p = authorize(&req, ADMINS)?;
    let patch = parse_update_settings(req.get_ref())?;
    settings::update(app, &p, patch).await
}

pub(super) async fn check_contact(
    app: &App,
    req: Request<pb::CheckContactPermissionRequest>,
) -> Result<pb::CheckContactPermissionResponse> {
    let p = authorize(&req, READERS)?;
    let q = parse_check_contact_permission(req.get_ref(), app.now())?;
    let decision = settings::check_contact(app, &p, &q).await?;
    Ok(decision_to_proto(&decision))
}
