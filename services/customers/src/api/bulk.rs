//! Bulk work: atomic batch updates and streaming export (import has its own module).

use rapport_kit::query::OrderBy;
use rapport_proto::customers as pb;
use rapport_runtime::storage::Idempotency;
use rapport_runtime::{Error, Result, validation::Violations};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Status};
use uuid::Uuid;

use super::{
    ServerStream,
    convert::{customer::customer_to_proto, json::struct_to_json},
    crud::parse_list,
    ownership::{holder, record_transfer},
    support::begin,
    support::{self, CustomersApi, MANAGERS, authorize, require_live},
};
use crate::{
    domain::{
        custom_fields, names,
        profile::{self, Customer, LifecycleStage, Profile},
        settings::Settings,
        transfer,
    },
    store,
};

/// Most customers one BatchUpdateCustomers call changes.
const MAX_BATCH: usize = 10_000;
/// Customers per message of the export stream.
const EXPORT_BATCH: u32 = 500;

/// A validated CustomerChange.
#[derive(Debug, Default)]
struct Change {
    owner_id: Option<String>,
    team_id: Option<String>,
    store_id: Option<String>,
    lifecycle_stage: Option<LifecycleStage>,
    grade: Option<String>,
    add_tags: Vec<String>,
    remove_tags: Vec<String>,
    custom_fields: serde_json::Map<String, serde_json::Value>,
}

fn parse_change(c: &pb::CustomerChange, settings: &Settings, v: &mut Violations) -> Change {
    let mut out = Change::default();
    let id = |v: &mut Violations, field: &str, value: &str| -> Option<String> {
        if value.is_empty() {
            return None;
        }
        transfer::check_id(value)
            .map_err(|e| v.add(field, e))
            .ok()?;
        Some(value.to_owned())
    };
    out.owner_id = id(v, "owner_id", &c.owner_id);
    out.team_id = id(v, "team_id", &c.team_id);
    out.store_id = id(v, "store_id", &c.store_id);
    out.lifecycle_stage = match pb::LifecycleStage::try_from(c.lifecycle_stage) {
        Ok(pb::LifecycleStage::Unspecified) => None,
        Ok(pb::LifecycleStage::Prospect) => Some(LifecycleStage::Prospect),
        Ok(pb::LifecycleStage::Customer) => Some(LifecycleStage::Customer),
        Ok(pb::LifecycleStage::RepeatCustomer) => Some(LifecycleStage::RepeatCustomer),
        Ok(pb::LifecycleStage::Churned) => Some(LifecycleStage::Churned),
        Err(_) => {
            v.add(
                "lifecycle_stage",
                format!("{} is not a LifecycleStage", c.lifecycle_stage),
            );
            None
        }
    };
    if !c.grade.is_empty() {
        if c.grade.chars().count() > profile::MAX_GRADE {
            v.add(
                "grade",
                format!("is longer than {} characters", profile::MAX_GRADE),
            );
        } else {
            out.grade = Some(c.grade.trim().to_owned());
        }
    }
    for (field, list, into) in [
        ("add_tags", &c.add_tags, &mut out.add_tags),
        ("remove_tags", &c.remove_tags, &mut out.remove_tags),
    ] {
        for (i, raw) in list.iter().enumerate() {
            match profile::normalize_tag(raw) {
                Ok(t) => into.push(t),
                Err(e) => v.add(format!("{field}[{i}]"), e),
            }
        }
    }
    if let Some(fields) = &c.custom_fields {
        let values = v.nested("custom_fields", |v| struct_to_json(fields, v));
        for (key, value) in values {
            let path = format!("custom_fields.{key}");
            match settings.custom_fields.iter().find(|d| d.key == key) {
                None => v.add(path, "is not a custom field of this tenant"),
                Some(_) if value.is_null() => {
                    out.custom_fields.insert(key, value);
                }
                Some(def) => match custom_fields::check_value(def, &value) {
                    Ok(value) => {
                        out.custom_fields.insert(key, value);
                    }
                    Err(e) => v.add(path, e),
                },
            }
        }
    }
    let empty = out.owner_id.is_none()
        && out.team_id.is_none()
        && out.store_id.is_none()
        && out.lifecycle_stage.is_none()
        && out.grade.is_none()
        && out.add_tags.is_empty()
        && out.remove_tags.is_empty()
        && out.custom_fields.is_empty();
    if empty && v.is_empty() {
        v.add("", "changes nothing: set at least one field");
    }
    out
}

/// Applies `change` to `profile`; an error names why this customer cannot take it.
fn apply_change(
    change: &Change,
    profile: &mut Profile,
    settings: &Settings,
) -> std::result::Result<(), String> {
    if let Some(o) = &change.owner_id {
        profile.owner_id = o.clone();
    }
    if let Some(t) = &change.team_id {
        profile.team_id = t.clone();
    }
    if let Some(s) = &change.store_id {
        profile.store_id = s.clone();
    }
    if let Some(stage) = change.lifecycle_stage {
        profile.lifecycle_stage = stage;
    }
    if let Some(g) = &change.grade {
        profile.grade = g.clone();
    }
    profile.remove_tags(&change.remove_tags);
    if !profile.add_tags(change.add_tags.iter().cloned()) {
        return Err(format!("would have more than {} tags", profile::MAX_TAGS));
    }
    for (key, value) in &change.custom_fields {
        if value.is_null() {
            profile.custom_fields.remove(key);
        } else {
            profile.custom_fields.insert(key.clone(), value.clone());
        }
    }
    let mut v = Violations::new();
    let values: serde_json::Map<_, _> = profile.custom_fields.clone().into_iter().collect();
    custom_fields::check_values(&settings.custom_fields, &values, &mut v);
    match v.into_vec().first() {
        Some(problem) => Err(problem.to_string()),
        None => Ok(()),
    }
}

pub(super) async fn batch_update(
    api: &CustomersApi,
    req: Request<pb::BatchUpdateCustomersRequest>,
) -> Result<pb::BatchUpdateCustomersResponse> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.get_ref();
    let idem = Idempotency::new(&p, "BatchUpdateCustomers", &msg.request_id, msg)?;
    let settings = api.settings(&p.tenant_id).await?;
    let mut v = Violations::new();
    match (msg.names.is_empty(), msg.filter.trim().is_empty()) {
        (true, true) => v.add("names", "give names or a filter"),
        (false, false) => v.add("filter", "give names or a filter, not both"),
        _ => {}
    }
    if msg.names.len() > MAX_BATCH {
        v.add(
            "names",
            format!(
                "names {} customers; at most {MAX_BATCH} change at once",
                msg.names.len()
            ),
        );
    }
    let mut ids: Vec<Uuid> = Vec::new();
    for (i, name) in msg.names.iter().enumerate() {
        match names::parse_customer_name(name) {
            Ok(id) if !ids.contains(&id) => ids.push(id),
            Ok(_) => {}
            Err(e) => v.add(format!("names[{i}]"), e),
        }
    }
    let change = match &msg.change {
        None => {
            v.add("change", "is required");
            Change::default()
        }
        Some(c) => v.nested("change", |v| parse_change(c, &settings, v)),
    };
    let query = if msg.filter.trim().is_empty() {
        None
    } else {
        match parse_list(api, &p, &msg.filter, "create_time", 0, "", false) {
            Ok((q, _)) => Some(q),
            Err(Error::InvalidArgument(errors)) => {
                errors
                    .into_iter()
                    .for_each(|e| v.add(e.field, e.description));
                None
            }
            Err(e) => return Err(e),
        }
    };
    v.finish(())?;

    let mut w = begin!(api, p, idem);
    if let Some(mut q) = query {
        q.order = OrderBy::asc("create_time");
        q.limit = MAX_BATCH as u32 + 1;
        ids = store::list_customers(w.tx(), &p.tenant_id, &q)
            .await?
            .iter()
            .map(|c| c.id)
            .collect();
        if ids.len() > MAX_BATCH {
            return Err(Error::precondition(
                "TOO_MANY_MATCHES",
                format!("the filter matches more than {MAX_BATCH} customers; narrow it"),
            ));
        }
    }
    // Lock in id order so concurrent batches cannot deadlock.
    let mut order = ids.clone();
    order.sort();
    let now = api.now();
    let mut changed = Vec::with_capacity(order.len());
    for id in order {
        let current = api.lock_visible(w.tx(), &p, id).await?;
        require_live(&current)?;
        let mut profile = current.profile.clone();
        apply_change(&change, &mut profile, &settings).map_err(|m| {
            Error::precondition(
                "CHANGE_NOT_APPLICABLE",
                format!("{}: {m}", current.resource_name()),
            )
        })?;
        let updated = Customer {
            profile,
            update_time: now,
            version: current.version + 1,
            ..current.clone()
        };
        if !store::update_customer(w.tx(), &p.tenant_id, &updated, current.version).await? {
            return Err(Error::stale_etag(&updated.resource_name()));
        }
        // Owner, team and store moves are hand-overs: kept in the history like a transfer.
        let request = transfer::TransferRequest {
            customer_id: id,
            new_owner_id: updated.profile.owner_id.clone(),
            new_team_id: Some(updated.profile.team_id.clone()),
            new_store_id: Some(updated.profile.store_id.clone()),
            reason: "batch update".into(),
        };
        if let Ok(record) =
            transfer::transfer(&request, holder(&current), Uuid::now_v7(), &p.subject, now)
        {
            record_transfer(&mut w, &p.tenant_id, &updated, &record).await?;
        }
        let event = pb::CustomerUpdated {
            customer: Some(customer_to_proto(&updated)),
            changed_fields: change_fields(&change),
        };
        w.emit("customer.updated", updated.resource_name(), &event);
        changed.push(id);
    }
    let names = ids.iter().map(|id| names::customer_name(*id)).collect();
    support::invalidate(&mut w, &p.tenant_id, &changed);
    w.commit(pb::BatchUpdateCustomersResponse { names }).await
}

fn change_fields(c: &Change) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |set: bool, name: &str| {
        if set {
            out.push(name.to_owned());
        }
    };
    add(c.owner_id.is_some(), "owner_id");
    add(c.team_id.is_some(), "team_id");
    add(c.store_id.is_some(), "store_id");
    add(c.lifecycle_stage.is_some(), "lifecycle_stage");
    add(c.grade.is_some(), "grade");
    add(!c.add_tags.is_empty() || !c.remove_tags.is_empty(), "tags");
    add(!c.custom_fields.is_empty(), "custom_fields");
    out
}

pub(super) async fn export(
    api: &CustomersApi,
    req: Request<pb::ExportCustomersRequest>,
) -> Result<ServerStream<pb::ExportCustomersResponse>> {
    let p = authorize(&req, MANAGERS)?;
    let (mut query, _) = parse_list(
        api,
        &p,
        &req.get_ref().filter,
        "create_time",
        EXPORT_BATCH as i32,
        "",
        false,
    )?;
    let (tx, rx) = mpsc::channel::<std::result::Result<pb::ExportCustomersResponse, Status>>(4);
    let api = api.clone();
    tokio::spawn(async move {
        loop {
            let page = async {
                let mut conn = api.db().pool().acquire().await?;
                store::list_customers(&mut conn, &p.tenant_id, &query).await
            }
            .await;
            let rows = match page {
                Ok(rows) => rows,
                Err(e) => {
                    let _ = tx.send(Err(e.into())).await;
                    return;
                }
            };
            let last = rows.len() < EXPORT_BATCH as usize;
            if let Some(c) = rows.last() {
                query.after = store::cursor_of(c, &query.order);
            }
            let batch = pb::ExportCustomersResponse {
                customers: rows.iter().map(customer_to_proto).collect(),
            };
            if (!batch.customers.is_empty() && tx.send(Ok(batch)).await.is_err()) || last {
                return;
            }
        }
    });
    Ok(Box::pin(ReceiverStream::new(rx)))
}
