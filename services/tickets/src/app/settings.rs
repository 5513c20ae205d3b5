//! The tenant's ticket settings: read through the cache, changed by admins with every queue
//! they name checked.

use rapport_kit::settings;
use rapport_proto::tickets as pb;
use rapport_runtime::{Error, Result, auth::Principal, validation::Violations};

use super::{App, EVENTS};
use crate::{
    convert::settings::settings_to_proto,
    domain::settings::{Action, SETTINGS_NAME, Settings},
    store::queues,
};

/// Every queue the settings name, with the field naming it.
fn named_queues(s: &Settings) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if !s.default_queue.is_empty() {
        out.push(("settings.default_queue".to_owned(), s.default_queue.clone()));
    }
    for (i, r) in s.routing_rules.iter().enumerate() {
        out.push((
            format!("settings.routing_rules[{i}].queue"),
            r.queue_id.clone(),
        ));
    }
    for (i, r) in s.escalation_rules.iter().enumerate() {
        for (j, a) in r.actions.iter().enumerate() {
            if let Action::Reassign(q) = a {
                out.push((
                    format!("settings.escalation_rules[{i}].actions[{j}].queue"),
                    q.clone(),
                ));
            }
        }
    }
    out.retain(|(_, q)| !q.is_empty());
    out
}

/// Changes the tenant's settings: `apply` reads the caller's fields over the current ones.
pub async fn update(
    app: &App,
    p: &Principal,
    etag: &str,
    apply: impl FnOnce(&mut Settings, &mut Violations),
) -> Result<pb::TicketSettings> {
    let mut w = app.write(p).await?;
    let mut v = Violations::new();
    let (current, next) = settings::change::<Settings>(&mut w, &mut v, apply).await?;
    for (field, queue) in named_queues(&next) {
        if !queues::exists(w.tx(), &p.tenant_id, &queue).await? {
            v.add(field, format!("queues/{queue} does not exist"));
        }
    }
    v.finish(()).map_err(Error::from)?;
    settings::save_changed(
        w,
        EVENTS,
        SETTINGS_NAME,
        etag,
        &current,
        next,
        settings_to_proto,
    )
    .await
}
