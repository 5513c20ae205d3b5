//! Create, Get, List, Update, Delete and Undelete.

use rapport_kit::{
    duplicates::{Disclosure, DuplicatePolicy},
    query::{self, CursorValue, OrderBy},
};
use rapport_proto::customers as pb;
use rapport_runtime::{Error, Result, auth::Principal, storage::Tx, validation::Violations};
use tonic::Request;
use uuid::Uuid;

use super::{
    convert::{
        customer::{customer_to_proto, parse_profile},
        customer_mask::apply_update_mask,
    },
    support::{
        self, CustomersApi, MANAGERS, READERS, WRITERS, authorize, check_etag, customer_id,
        require_live,
    },
};
use crate::{
    domain::{
        contact::ContactKey, duplicates::DuplicateHit, names, profile::Customer, settings::Settings,
    },
    store::{self, CustomerQuery, FILTER_FIELDS},
};

/// Orders ListCustomers accepts.
const ORDER_FIELDS: &[&str] = &["create_time", "update_time", "display_name"];
const DEFAULT_ORDER: OrderBy = OrderBy::desc("create_time");

/// Applies the tenant's duplicate policy to a customer with `keys`: ALREADY_EXISTS naming the
/// oldest live duplicate (as far as `p` may learn of it) under REJECT, or the duplicates to flag
/// under FLAG. Locks the keys first so two writers with the same phone cannot both miss each
/// other.
pub(super) async fn check_duplicates(
    api: &CustomersApi,
    tx: &mut Tx,
    p: &Principal,
    settings: &Settings,
    keys: &[ContactKey],
    exclude: &[Uuid],
) -> Result<Vec<Uuid>> {
    let tenant = &p.tenant_id;
    store::lock_contact_keys(tx, tenant, keys).await?;
    let hits = store::find_by_contacts(tx, api.db().dialect(), tenant, keys, exclude).await?;
    match (settings.duplicate_policy, hits.first()) {
        (_, None) => Ok(Vec::new()),
        (DuplicatePolicy::Reject, Some(hit)) => {
            Err(duplicate_error(tx, p, settings.duplicate_disclosure, hit).await)
        }
        (DuplicatePolicy::Flag, Some(_)) => Ok(hits.iter().map(|h| h.customer_id).collect()),
    }
}

/// ALREADY_EXISTS naming the existing customer, who serves it and what matched, as far as `p`
/// may learn of it (see `rapport_kit::duplicates`).
pub(super) async fn duplicate_error(
    conn: &mut sqlx::AnyConnection,
    p: &Principal,
    disclosure: Disclosure,
    hit: &DuplicateHit,
) -> Error {
    let told = match support::disclose(conn, p, disclosure, std::slice::from_ref(hit)).await {
        Ok(mut told) => told.pop(),
        Err(e) => return e,
    };
    let Some(d) = told else {
        return Error::internal("a duplicate went undisclosed");
    };
    d.already_exists(
        "DUPLICATE_CUSTOMER",
        "a customer you may not see",
        &hit.matched_on(),
    )
}

pub(super) async fn get(
    api: &CustomersApi,
    req: Request<pb::GetCustomerRequest>,
) -> Result<pb::Customer> {
    let p = authorize(&req, READERS)?;
    let id = customer_id("name", &req.get_ref().name)?;
    api.get_visible(&p, id).await
}

pub(super) async fn list(
    api: &CustomersApi,
    req: Request<pb::ListCustomersRequest>,
) -> Result<pb::ListCustomersResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.into_inner();
    let (query, fingerprint) = parse_list(
        api,
        &p,
        &msg.filter,
        &msg.order_by,
        msg.page_size,
        &msg.page_token,
        msg.show_deleted,
    )?;
    let limit = query.limit;
    let mut q = query;
    q.limit = limit + 1;
    let mut conn = api.db().pool().acquire().await?;
    let mut rows = store::list_customers(&mut conn, &p.tenant_id, &q).await?;
    let next_page_token = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last()
            .map(|c| query::encode_token(&fingerprint, &store::cursor_of(c, &q.order)))
            .unwrap_or_default()
    } else {
        String::new()
    };
    Ok(pb::ListCustomersResponse {
        customers: rows.iter().map(customer_to_proto).collect(),
        next_page_token,
    })
}

/// Parses the list parameters shared by ListCustomers, ExportCustomers and BatchUpdate by
/// filter, collecting every bad one. Returns the query and the page-token fingerprint.
pub(super) fn parse_list(
    api: &CustomersApi,
    p: &Principal,
    filter: &str,
    order_by: &str,
    page_size: i32,
    page_token: &str,
    show_deleted: bool,
) -> Result<(CustomerQuery, String)> {
    let mut v = Violations::new();
    let limit = query::page_size(page_size)
        .map_err(|e| v.add(&e.field, e.description))
        .unwrap_or(0);
    let order = query::parse_order_by(order_by, ORDER_FIELDS, DEFAULT_ORDER)
        .map_err(|e| v.add(&e.field, e.description))
        .unwrap_or(DEFAULT_ORDER);
    let filter_sql = match query::parse(filter) {
        Err(e) => {
            v.add(&e.field, e.description);
            None
        }
        Ok(None) => None,
        Ok(Some(expr)) => match query::to_sql(&expr, FILTER_FIELDS, api.db().dialect(), 2) {
            Ok(f) => Some(f),
            Err(errors) => {
                for e in errors {
                    v.add(&e.field, e.description);
                }
                None
            }
        },
    };
    let scope = support::scope(p);
    let scope_key = scope
        .as_ref()
        .map(|s| format!("{}|{}", s.subject, s.team.as_deref().unwrap_or("")))
        .unwrap_or_default();
    let fingerprint = query::fingerprint(&[
        &p.tenant_id,
        filter.trim(),
        &order.canonical(),
        if show_deleted { "deleted" } else { "live" },
        &scope_key,
    ]);
    let after = query::decode_cursor(page_token, &fingerprint, |c| cursor_fits(c, &order))
        .map_err(|e| v.add(&e.field, e.description))
        .unwrap_or_default();
    v.finish(())?;
    Ok((
        CustomerQuery {
            filter: filter_sql,
            order,
            after,
            limit,
            show_deleted,
            scope,
        },
        fingerprint,
    ))
}

/// A cursor is [sort key, id] with the sort key's type; anything else was tampered with.
fn cursor_fits(cursor: &[CursorValue], order: &OrderBy) -> bool {
    match cursor {
        [CursorValue::Text(_), CursorValue::Text(id)] if order.field == "display_name" => {
            Uuid::parse_str(id).is_ok()
        }
        [CursorValue::Int(_), CursorValue::Text(id)] if order.field != "display_name" => {
            Uuid::parse_str(id).is_ok()
        }
        _ => false,
    }
}

pub(super) async fn update(
    api: &CustomersApi,
    req: Request<pb::UpdateCustomerRequest>,
) -> Result<pb::Customer> {
    let p = authorize(&req, WRITERS)?;
    let msg = req.into_inner();
    let Some(patch) = &msg.customer else {
        return Err(Error::invalid("customer", "is required"));
    };
    let paths: Vec<String> = msg.update_mask.map(|m| m.paths).unwrap_or_default();
    let id = match customer_id("customer.name", &patch.name) {
        Ok(id) => id,
        // Without the customer its values cannot be checked, but the mask can: report both.
        Err(Error::InvalidArgument(mut bad)) => {
            let mut v = Violations::new();
            apply_update_mask(&pb::Customer::default(), patch, &paths, &mut v);
            bad.extend(v.into_vec());
            return Err(Error::InvalidArgument(bad));
        }
        Err(e) => return Err(e),
    };
    let settings = api.settings(&p.tenant_id).await?;

    let mut w = api.write(&p).await?;
    let current = api.lock_visible(w.tx(), &p, id).await?;
    require_live(&current)?;
    check_etag(&patch.etag, &current)?;
    let mut v = Violations::new();
    let merged = apply_update_mask(&customer_to_proto(&current), patch, &paths, &mut v);
    let mut profile = v.nested("customer", |v| {
        parse_profile(&merged, &api.profile_context(&settings), v)
    });
    if !v.is_empty() {
        return Err(v.into_vec().into());
    }
    let now = api.now();
    profile.stamp_consent(Some(&current.profile.consent), now);
    let keys = profile.contact_keys();
    let mut possible_duplicates = current.possible_duplicates.clone();
    if keys != current.profile.contact_keys() {
        possible_duplicates = check_duplicates(api, w.tx(), &p, &settings, &keys, &[id]).await?;
    }
    let updated = Customer {
        profile,
        possible_duplicates,
        update_time: now,
        version: current.version + 1,
        ..current.clone()
    };
    if !store::update_customer(w.tx(), &p.tenant_id, &updated, current.version).await? {
        return Err(Error::stale_etag(&updated.resource_name()));
    }
    let out = customer_to_proto(&updated);
    let mut changed: Vec<String> = paths
        .iter()
        .map(|p| p.split('.').next().unwrap_or(p).to_owned())
        .collect();
    changed.dedup();
    let event = pb::CustomerUpdated {
        customer: Some(out.clone()),
        changed_fields: changed,
    };
    w.emit("customer.updated", updated.resource_name(), &event);
    support::invalidate(&mut w, &p.tenant_id, &[id]);
    w.commit(out).await
}

pub(super) async fn delete(
    api: &CustomersApi,
    req: Request<pb::DeleteCustomerRequest>,
) -> Result<pb::Customer> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.into_inner();
    let id = customer_id("name", &msg.name)?;
    let mut w = api.write(&p).await?;
    let current = api.lock_visible(w.tx(), &p, id).await?;
    check_etag(&msg.etag, &current)?;
    if current.is_deleted() {
        return Err(Error::precondition(
            "CUSTOMER_DELETED",
            format!("{} is already deleted", current.resource_name()),
        ));
    }
    let now = api.now();
    let deleted = Customer {
        delete_time: Some(now),
        update_time: now,
        version: current.version + 1,
        ..current.clone()
    };
    if !store::update_customer(w.tx(), &p.tenant_id, &deleted, current.version).await? {
        return Err(Error::stale_etag(&deleted.resource_name()));
    }
    let out = customer_to_proto(&deleted);
    let event = pb::CustomerDeleted {
        customer: Some(out.clone()),
    };
    w.emit("customer.deleted", deleted.resource_name(), &event);
    support::invalidate(&mut w, &p.tenant_id, &[id]);
    w.commit(out).await
}

pub(super) async fn undelete(
    api: &CustomersApi,
    req: Request<pb::UndeleteCustomerRequest>,
) -> Result<pb::Customer> {
    let p = authorize(&req, MANAGERS)?;
    let id = customer_id("name", &req.get_ref().name)?;
    let settings = api.settings(&p.tenant_id).await?;
    let mut w = api.write(&p).await?;
    let current = api.lock_visible(w.tx(), &p, id).await?;
    if !current.is_deleted() {
        return Err(Error::precondition(
            "CUSTOMER_NOT_DELETED",
            format!("{} is not deleted", current.resource_name()),
        ));
    }
    if let Some(survivor) = current.merged_into {
        return Err(Error::precondition(
            "CUSTOMER_MERGED",
            format!(
                "{} was merged into {}; it cannot come back",
                current.resource_name(),
                names::customer_name(survivor)
            ),
        ));
    }
    // Coming back must not create a duplicate the policy would have refused.
    let possible_duplicates = check_duplicates(
        api,
        w.tx(),
        &p,
        &settings,
        &current.profile.contact_keys(),
        &[id],
    )
    .await?;
    let now = api.now();
    let restored = Customer {
        delete_time: None,
        possible_duplicates,
        update_time: now,
        version: current.version + 1,
        ..current.clone()
    };
    if !store::update_customer(w.tx(), &p.tenant_id, &restored, current.version).await? {
        return Err(Error::stale_etag(&restored.resource_name()));
    }
    let out = customer_to_proto(&restored);
    let event = pb::CustomerUndeleted {
        customer: Some(out.clone()),
    };
    w.emit("customer.undeleted", restored.resource_name(), &event);
    support::invalidate(&mut w, &p.tenant_id, &[id]);
    w.commit(out).await
}
