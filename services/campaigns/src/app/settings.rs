//! The tenant's campaign settings.

use rapport_kit::settings;
use rapport_proto::campaigns as pb;
use rapport_runtime::{Result, auth::Principal, validation::Violations};

use super::App;
use crate::{
    convert::settings::settings_to_proto,
    domain::settings::{SETTINGS_NAME, Settings},
};

/// The tenant's settings as their resource.
pub async fn get(app: &App, p: &Principal) -> Result<pb::CampaignSettings> {
    Ok(settings_to_proto(&app.settings(&p.tenant_id).await?))
}

/// Changes the tenant's settings: `apply` reads the caller's fields.
pub async fn update(
    app: &App,
    p: &Principal,
    etag: &str,
    apply: impl FnOnce(&mut Settings, &mut Violations),
) -> Result<pb::CampaignSettings> {
    settings::update(app, p, (SETTINGS_NAME, etag), apply, settings_to_proto).await
}
