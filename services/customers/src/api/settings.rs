//! The tenant's settings and the contact-permission check.

use rapport_proto::customers as pb;
use rapport_runtime::{Error, Result, auth::authorize};
use tonic::Request;

use super::{
    convert::{
        consent::{decision_to_proto, parse_check_contact_permission},
        settings::{parse_get_settings, parse_update_settings, settings_to_proto},
    },
    support::{ADMINS, CustomersApi, READERS},
};
use crate::{
    domain::{consent, consent::Channel, profile::Customer},
    store,
};

pub(super) async fn get(
    api: &CustomersApi,
    req: Request<pb::GetCustomerSettingsRequest>,
) -> Result<pb::CustomerSettings> {
    let p = authorize(&req, READERS)?;
    parse_get_settings(req.get_ref())?;
    Ok(settings_to_proto(&api.settings(&p.tenant_id).await?))
}

pub(super) async fn update(
    api: &CustomersApi,
    req: Request<pb::UpdateCustomerSettingsRequest>,
) -> Result<pb::CustomerSettings> {
    let p = authorize(&req, ADMINS)?;
    let patch = parse_update_settings(req.get_ref())?;
    let mut w = api.write(&p).await?;
    let current = store::get_settings(w.tx(), &p.tenant_id).await?;
    if patch.is_stale(&current) {
        return Err(Error::stale_etag("settings"));
    }
    let next = patch.apply(&current, api.now());
    if !store::put_settings(w.tx(), &p.tenant_id, &next, current.version).await? {
        return Err(Error::stale_etag("settings"));
    }
    // Every replica reads the settings afresh once this commits.
    w.invalidate(rapport_runtime::cache::settings_key(
        super::support::EVENTS.stream,
        &p.tenant_id,
    ));
    w.commit(settings_to_proto(&next)).await
}

pub(super) async fn check_contact(
    api: &CustomersApi,
    req: Request<pb::CheckContactPermissionRequest>,
) -> Result<pb::CheckContactPermissionResponse> {
    let p = authorize(&req, READERS)?;
    let q = parse_check_contact_permission(req.get_ref(), api.now())?;
    let c = api.load_visible(&p, q.customer_id).await?;
    let decision = consent::check(
        &c.profile.consent,
        q.channel,
        has_address(&c, q.channel),
        q.send_time,
        q.transactional,
    );
    Ok(decision_to_proto(&decision))
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
