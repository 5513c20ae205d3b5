//! The tenant's settings and the contact-permission check.

use rapport_proto::customers as pb;
use rapport_runtime::{Error, Result, auth::Principal};

use super::state::{App, settings_key};
use crate::{
    convert::{consent::ContactPermissionQuery, settings::settings_to_proto},
    domain::{
        consent::{self, Channel, Decision},
        profile::Customer,
        settings::SettingsPatch,
    },
    store,
};

/// Applies `patch` to the tenant's settings, unless they changed since the caller read them.
pub async fn update(
    app: &App,
    p: &Principal,
    patch: SettingsPatch,
) -> Result<pb::CustomerSettings> {
    let mut w = app.write(p).await?;
    let current = store::get_settings(w.tx(), &p.tenant_id).await?;
    if patch.is_stale(&current) {
        return Err(Error::stale_etag("settings"));
    }
    let next = patch.apply(&current, app.now());
    if !store::put_settings(w.tx(), &p.tenant_id, &next, current.version).await? {
        return Err(Error::stale_etag("settings"));
    }
    // Every replica reads the settings afresh once this commits.
    w.invalidate(settings_key(&p.tenant_id));
    w.commit(settings_to_proto(&next)).await
}

/// Whether a customer the caller may see can be contacted as `q` asks.
pub async fn check_contact(
    app: &App,
    p: &Principal,
    q: &ContactPermissionQuery,
) -> Result<Decision> {
    let c = app.load_visible(p, q.customer_id).await?;
    Ok(consent::check(
        &c.profile.consent,
        q.channel,
        has_address(&c, q.channel),
        q.send_time,
        q.transactional,
    ))
}

/// Whether the customer can be reached on `channel` at all.
fn has_address(c: &Customer, channel: Channel) -> bool {
    let p = &c.profile;
    match channel {
        Channel::Sms | Channel::Phone => !p.phones.is_empty(),
        Channel::Email => !p.emails.is_empty(),
        Channel::Im => !p.im_handles.is_empty(),
    }
}
