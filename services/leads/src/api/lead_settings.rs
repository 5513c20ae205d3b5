//! GetLeadSettings and UpdateLeadSettings.

use rapport_kit::{mask::Rules, settings};
use rapport_proto::leads as pb;
use rapport_runtime::{Error, Result, validation::Violations};
use tonic::Request;

use super::support::{ADMINS, READERS, authorize};
use crate::app::App;
use crate::convert::{
    lead_settings::{apply, settings_to_proto},
    mask::selected,
};
use crate::{
    app::EVENTS,
    domain::settings::{SETTINGS_NAME, Settings},
};

const MASK: Rules = Rules {
    updatable: &[
        "default_strategy",
        "assignment_rules",
        "follow_up_rules",
        "claim_cooldown",
        "low_intent_below",
        "high_intent_from",
        "duplicate_policy",
        "duplicate_disclosure",
    ],
    immutable: &["name"],
    output_only: &["update_time", "etag"],
    ..Rules::new("LeadSettings")
};

fn check_name(name: &str, field: &str, v: &mut Violations) {
    settings::check_name(name, SETTINGS_NAME, field, v);
}

pub(super) async fn get(
    api: &App,
    req: Request<pb::GetLeadSettingsRequest>,
) -> Result<pb::LeadSettings> {
    let p = authorize(&req, READERS)?;
    let mut v = Violations::new();
    check_name(&req.get_ref().name, "name", &mut v);
    v.finish(())?;
    Ok(settings_to_proto(&api.settings(&p.tenant_id).await?))
}

pub(super) async fn update(
    api: &App,
    req: Request<pb::UpdateLeadSettingsRequest>,
) -> Result<pb::LeadSettings> {
    let p = authorize(&req, ADMINS)?;
    let msg = req.into_inner();
    let mut v = Violations::new();
    let paths = msg.update_mask.map(|m| m.paths).unwrap_or_default();
    let fields = selected(&MASK, &paths, &mut v);
    let Some(given) = msg.settings else {
        v.add("settings", "is required");
        return Err(v.finish(()).map_err(Error::from).unwrap_err());
    };
    check_name(&given.name, "settings.name", &mut v);
    let mut w = api.write(&p).await?;
    let (current, next) =
        settings::change::<Settings>(&mut w, &mut v, |next, v| apply(&given, &fields, next, v))
            .await?;
    v.finish(())?;
    settings::save_changed(
        w,
        EVENTS,
        SETTINGS_NAME,
        &given.etag,
        &current,
        next,
        settings_to_proto,
    )
    .await
}
