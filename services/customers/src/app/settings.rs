//! The tenant's settings and the contact-permission check.

use rapport_kit::settings;
use rapport_proto::customers as pb;
use rapport_runtime::{Error, Result, auth::Principal};

use super::{events::EVENTS, state::App, value};
use crate::{
    convert::{consent::ContactPermissionQuery, settings::settings_to_proto},
    domain::{
        consent::Decision,
        names::SETTINGS_NAME,
        settings::{Settings, SettingsPatch},
    },
};

/// Applies `patch` to the tenant's settings, unless they changed since the caller read them.
pub async fn update(
    app: &App,
    p: &Principal,
    patch: SettingsPatch,
) -> Result<pb::CustomerSettings> {
    let mut w = app.write(p).await?;
    let current: Settings = settings::read(w.tx(), &p.tenant_id).await?;
    if patch.is_stale(&current) {
        return Err(Error::stale_etag(SETTINGS_NAME));
    }
    let mut next = patch.apply(&current, app.now());
    value::rules_changed(
        &mut w,
        &p.tenant_id,
        &current.value_rules,
        &next.value_rules,
        app.now(),
    )
    .await?;
    // Every replica reads the settings afresh once this commits, and consumers hear of it.
    settings::save(
        w,
        EVENTS,
        SETTINGS_NAME,
        &current,
        &mut next,
        settings_to_proto,
    )
    .await
}

/// Whether a customer the caller may see can be contacted as `q` asks.
pub async fn check_contact(
    app: &App,
    p: &Principal,
    q: &ContactPermissionQuery,
) -> Result<Decision> {
    let c = app.load_visible(p, q.customer_id).await?;
    Ok(c.profile.contact_decision(&q.message))
}

#[cfg(test)]
mod tests {
    use rapport_runtime::{auth::Role, clock::ManualClock};
    use rapport_testkit::{Backend, TestStores, outbox_events};

    use super::*;

    #[tokio::test]
    async fn a_settings_change_is_an_event_and_a_stale_one_changes_nothing() {
        for backend in Backend::all() {
            let stores = TestStores::new(backend).await;
            let app = App::new(
                stores
                    .context::<crate::Customers>(&ManualClock::at(1_714_521_600_000_000))
                    .await,
            );
            let admin = Principal {
                tenant_id: "t1".into(),
                subject: "admin-1".into(),
                roles: vec![Role::Admin],
                team_id: None,
            };
            let before = app.settings("t1").await.expect("defaults");
            let changed = update(
                &app,
                &admin,
                SettingsPatch {
                    default_region: Some("HK".into()),
                    ..SettingsPatch::default()
                },
            )
            .await
            .expect("update");
            assert_eq!(changed.default_region, "HK");
            let events = outbox_events(&app.ctx.db).await;
            let event = events.last().expect("an event");
            assert_eq!(event.r#type, "rapport.customers.v1.settings.updated");
            assert_eq!(
                (event.tenant.as_str(), event.subject.as_str()),
                ("t1", "settings")
            );
            assert_eq!(app.settings("t1").await.expect("read").default_region, "HK");

            let stale = update(
                &app,
                &admin,
                SettingsPatch {
                    default_region: Some("US".into()),
                    etag: Some(before.etag()),
                    ..SettingsPatch::default()
                },
            )
            .await;
            assert_eq!(stale.expect_err("stale").code(), tonic::Code::Aborted);
            assert_eq!(outbox_events(&app.ctx.db).await.len(), events.len());
        }
    }
}
