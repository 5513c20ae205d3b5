//! Alerts the service raises for reps: reclaim warnings, dwell alerts, reminders, high intent.

use rapport_proto::leads as pb;
use rapport_runtime::{Result, write::Write};
use uuid::Uuid;

use crate::{
    convert::task::alert_to_proto,
    domain::alert::{Alert, NewAlert},
    store,
};

/// Raises `alert` in `w`, whose tenant is `tenant`: stores it and emits `alert.raised`, unless
/// an alert with its dedupe key exists (then nothing happens and `None` comes back). Runs
/// inside the caller's transaction, so the alert commits with the change that caused it.
pub(crate) async fn raise_alert(
    w: &mut Write,
    tenant: &str,
    alert: &NewAlert,
) -> Result<Option<Alert>> {
    let raised = alert.raised(Uuid::now_v7(), w.now());
    if !store::alerts::insert_alert(w.tx(), tenant, &raised).await? {
        return Ok(None);
    }
    let event = pb::AlertRaised {
        alert: Some(alert_to_proto(&raised)),
    };
    w.emit("alert.raised", raised.name(), &event);
    Ok(Some(raised))
}

/// Raises `alert`, whose dedupe key is new by construction (it names a fresh row), in `w`: its
/// insert is deferred to the commit and its event emitted.
pub(crate) async fn raise_fresh_alert(w: &mut Write, tenant: &str, alert: &NewAlert) -> Result<()> {
    let raised = alert.raised(Uuid::now_v7(), w.now());
    w.defer(store::alerts::fresh_alert_statement(tenant, &raised))
        .await?;
    w.emit(
        "alert.raised",
        raised.name(),
        &pb::AlertRaised {
            alert: Some(alert_to_proto(&raised)),
        },
    );
    Ok(())
}
