//! Alerts (X6): raising one inside any write, and ListAlerts. A rep lists its own; a manager
//! also its team's; admins, marketers and service accounts anyone's.

use rapport_kit::query::{CursorValue, Page};
use rapport_proto::leads as pb;
use rapport_runtime::{Error, Result, error::both, validation::Violations, write::Write};
use tonic::Request;
use uuid::Uuid;

use super::{
    convert::task::{alert_to_proto, parse_alert_kind},
    support::{LeadsApi, READERS, authorize, scope},
    tasks::{due_cursor, only_own_for_reps, whose},
};
use crate::{
    domain::alert::{Alert, NewAlert},
    store::{self, alerts::AlertQuery},
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

pub(super) async fn list(
    api: &LeadsApi,
    req: Request<pb::ListAlertsRequest>,
) -> Result<pb::ListAlertsResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let recipient = whose(&p, &msg.recipient_id, "recipient_id", &mut v);
    let kind = parse_alert_kind(msg.kind, "kind", &mut v);
    let page = Page::parse(
        &[&p.tenant_id, "alerts", &recipient, &msg.kind.to_string()],
        msg.page_size,
        &msg.page_token,
        due_cursor,
    );
    let page = both(v.finish(()).map_err(Error::from), page.map_err(Error::from))?.1;
    only_own_for_reps(&p, &recipient, "alerts")?;
    let scope = scope(&p);
    let q = AlertQuery {
        recipient: &recipient,
        kind,
        scope: &scope,
        after: &page.after,
        limit: page.fetch(),
    };
    let mut conn = api.db().pool().acquire().await?;
    let mut rows = store::alerts::list_alerts(&mut conn, &p.tenant_id, &q).await?;
    let next_page_token = page.next_token(&mut rows, |a| {
        vec![
            CursorValue::Int(a.create_time),
            CursorValue::Text(a.id.to_string()),
        ]
    });
    Ok(pb::ListAlertsResponse {
        alerts: rows.iter().map(alert_to_proto).collect(),
        next_page_token,
    })
}
