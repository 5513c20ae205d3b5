//! Alerts (X6): raising one inside any write, and ListAlerts. A rep lists its own; a manager
//! also its team's; admins, marketers and service accounts anyone's.

use rapport_kit::query::{CursorValue, Page};
use rapport_proto::leads as pb;
use rapport_runtime::{Error, Result, error::both, validation::Violations};
use tonic::Request;

use super::support::due_cursor;
use super::support::only_own_for_reps;
use super::support::whose;
use super::support::{READERS, authorize};
use crate::app::App;
use crate::app::scope;
use crate::convert::task::{alert_to_proto, parse_alert_kind};
use crate::store::{self, alerts::AlertQuery};

pub(super) async fn list(
    api: &App,
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
