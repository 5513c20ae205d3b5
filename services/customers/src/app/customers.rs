//! A customer's life: create, list, update, delete and undelete.

use rapport_kit::query::{self, ListQuery, ListSpec, OrderBy, SqlFilter};
use rapport_proto::customers as pb;
use rapport_runtime::{
    Error, Result,
    auth::Principal,
    storage::Idempotency,
    validation::{FieldViolation, Violations},
    write::Origin,
};
use uuid::Uuid;

use super::{
    creates::NewCustomer,
    duplicate_policy, events,
    state::{App, check_etag, invalidate, require_live, save},
    visibility,
};
use crate::{
    convert::{
        customer::{customer_to_proto, parse_profile},
        customer_mask::apply_update_mask,
    },
    domain::{
        names,
        profile::{Customer, Profile},
        settings::Settings,
    },
    store::{self, CustomerQuery, FILTER_FIELDS},
};

/// Orders ListCustomers accepts.
const LIST: ListSpec = ListSpec {
    filter_fields: FILTER_FIELDS,
    order_fields: &[
        "create_time",
        "update_time",
        "display_name",
        "value.order_count",
        "value.total_spent",
        "value.average_order_value",
        "value.profit_contribution",
        "value.last_order_time",
    ],
    default_order: OrderBy::desc("create_time"),
    text_order_fields: &["display_name"],
};

/// Creates a customer of `profile`, judged against the tenant's `settings`; a repeated request
/// id gets its first answer.
pub async fn create(
    app: &App,
    p: Principal,
    idempotency: Option<Idempotency>,
    mut profile: Profile,
    settings: &Settings,
) -> Result<pb::Customer> {
    own_as_rep(&p, &mut profile)?;
    let now = app.now();
    profile.stamp_consent(None, now);
    app.creates
        .submit(NewCustomer {
            origin: Origin::of(&p),
            principal: p,
            idempotency,
            policy: settings.duplicate_policy,
            disclosure: settings.duplicate_disclosure,
            profile,
            now,
        })
        .await?
}

/// Reps create customers they own; others may name any owner.
fn own_as_rep(p: &Principal, profile: &mut Profile) -> Result<()> {
    if visibility::scope(p).is_none() {
        return Ok(());
    }
    if profile.owner_id.is_empty() {
        profile.owner_id = p.subject.clone();
    } else if profile.owner_id != p.subject {
        return Err(Error::PermissionDenied(
            "a rep creates customers it owns: leave owner_id empty or set it to yourself".into(),
        ));
    }
    if profile.team_id.is_empty() {
        profile.team_id = p.team_id.clone().unwrap_or_default();
    }
    Ok(())
}

/// The list parameters of ListCustomers, ExportCustomers and BatchUpdate by filter.
pub struct ListParams<'a> {
    pub filter: &'a str,
    pub order_by: &'a str,
    pub page_size: i32,
    pub page_token: &'a str,
    pub show_deleted: bool,
}

/// The query of `params` over what `p` may see, and the parsed list request that mints its
/// page tokens; every bad parameter is reported at once.
pub fn list_query(
    app: &App,
    p: &Principal,
    params: &ListParams<'_>,
) -> Result<(CustomerQuery, ListQuery)> {
    let scope = visibility::scope(p);
    let scope_key = scope
        .as_ref()
        .map(|s| format!("{}|{}", s.subject, s.team.as_deref().unwrap_or("")))
        .unwrap_or_default();
    let list = ListQuery::parse(
        &LIST,
        query::ListParams {
            filter: params.filter,
            order_by: params.order_by,
            page_size: params.page_size,
            page_token: params.page_token,
        },
        app.db().dialect(),
        2,
        &[
            &p.tenant_id,
            if params.show_deleted {
                "deleted"
            } else {
                "live"
            },
            &scope_key,
        ],
    )?;
    let q = CustomerQuery {
        filter: list.filter.clone(),
        order: list.order,
        after: list.after.clone(),
        limit: list.fetch(),
        show_deleted: params.show_deleted,
        scope,
    };
    Ok((q, list))
}

/// `filter` as ListCustomers reads it, placeholders numbered from 2 (`$1` is the tenant);
/// none when it is empty. Each problem is a violation of `filter`.
pub fn compile_filter(
    app: &App,
    filter: &str,
) -> std::result::Result<Option<SqlFilter>, Vec<FieldViolation>> {
    query::compile(filter, FILTER_FIELDS, app.db().dialect(), 2)
}

/// Reports each problem ListCustomers would find with `filter` on `field` of `v`.
pub fn check_filter(app: &App, field: &str, filter: &str, v: &mut Violations) {
    if let Err(problems) = compile_filter(app, filter) {
        for problem in problems {
            v.add(field, problem.description);
        }
    }
}

/// A page of `query` (parsed as `list`) and the next page's token (empty on the last page).
pub async fn list(
    app: &App,
    p: &Principal,
    query: CustomerQuery,
    list: &ListQuery,
) -> Result<(Vec<Customer>, String)> {
    let mut conn = app.db().pool().acquire().await?;
    let mut rows = store::list_customers(&mut conn, &p.tenant_id, &query).await?;
    let next_page_token = list.next_token(&mut rows, |c| store::cursor_of(c, &list.order));
    Ok((rows, next_page_token))
}

/// Copies the fields `paths` name from `patch` onto customer `id` and stores the result once
/// it parses; changed contact data is judged for duplicates again.
pub async fn update(
    app: &App,
    p: &Principal,
    id: Uuid,
    patch: &pb::Customer,
    paths: &[String],
) -> Result<pb::Customer> {
    let settings = app.settings(&p.tenant_id).await?;
    let mut w = app.write(p).await?;
    let current = app.lock_visible(w.tx(), p, id).await?;
    require_live(&current)?;
    check_etag(&patch.etag, &current)?;
    let mut v = Violations::new();
    let merged = apply_update_mask(&customer_to_proto(&current), patch, paths, &mut v);
    let mut profile = v.nested("customer", |v| {
        parse_profile(&merged, &app.profile_context(&settings), v)
    });
    if !v.is_empty() {
        return Err(v.into_vec().into());
    }
    let now = app.now();
    profile.stamp_consent(Some(&current.profile.consent), now);
    let keys = profile.contact_keys();
    let mut possible_duplicates = current.possible_duplicates.clone();
    if keys != current.profile.contact_keys() {
        possible_duplicates = duplicate_policy::check(w.tx(), p, &settings, &keys, &[id]).await?;
    }
    let updated = Customer {
        profile,
        possible_duplicates,
        ..current.next_version(now)
    };
    save(w.tx(), &p.tenant_id, &updated, current.version).await?;
    let out = customer_to_proto(&updated);
    let mut changed: Vec<String> = paths
        .iter()
        .map(|p| p.split('.').next().unwrap_or(p).to_owned())
        .collect();
    changed.dedup();
    events::updated(&mut w, out.clone(), changed);
    invalidate(&mut w, &p.tenant_id, &[id]);
    w.commit(out).await
}

/// Soft-deletes customer `id`.
pub async fn delete(app: &App, p: &Principal, id: Uuid, etag: &str) -> Result<pb::Customer> {
    let mut w = app.write(p).await?;
    let current = app.lock_visible(w.tx(), p, id).await?;
    check_etag(etag, &current)?;
    if current.is_deleted() {
        return Err(Error::precondition(
            "CUSTOMER_DELETED",
            format!("{} is already deleted", current.resource_name()),
        ));
    }
    let now = app.now();
    let deleted = Customer {
        delete_time: Some(now),
        ..current.next_version(now)
    };
    save(w.tx(), &p.tenant_id, &deleted, current.version).await?;
    let out = customer_to_proto(&deleted);
    events::deleted(&mut w, out.clone());
    invalidate(&mut w, &p.tenant_id, &[id]);
    w.commit(out).await
}

/// Brings soft-deleted customer `id` back, unless it was merged away or a duplicate the
/// policy refuses now holds its contact data.
pub async fn undelete(app: &App, p: &Principal, id: Uuid) -> Result<pb::Customer> {
    let settings = app.settings(&p.tenant_id).await?;
    let mut w = app.write(p).await?;
    let current = app.lock_visible(w.tx(), p, id).await?;
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
    let keys = current.profile.contact_keys();
    let possible_duplicates = duplicate_policy::check(w.tx(), p, &settings, &keys, &[id]).await?;
    let now = app.now();
    let restored = Customer {
        delete_time: None,
        possible_duplicates,
        ..current.next_version(now)
    };
    save(w.tx(), &p.tenant_id, &restored, current.version).await?;
    let out = customer_to_proto(&restored);
    events::undeleted(&mut w, out.clone());
    invalidate(&mut w, &p.tenant_id, &[id]);
    w.commit(out).await
}
