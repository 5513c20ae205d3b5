//! Partners.

use rapport_kit::query::{CursorValue, OrderBy, Page, Select};
use rapport_runtime::{
    Result,
    dialect::Dialect,
    storage::{BindValue, Tx, bind_all, one_by_id},
};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row, any::AnyRow};
use uuid::Uuid;

use super::{from_json, stored, to_json, uuid};
use crate::domain::partner::{Contact, Item, Kind, Partner, State};

/// What the doc column holds.
#[derive(Serialize, Deserialize)]
struct Doc {
    state_reason: String,
    phone: String,
    email: String,
    region: String,
    contacts: Vec<Contact>,
    onboarding: Vec<Item>,
    manager_id: String,
}

const SELECT: &str = "SELECT p.id, p.display_name, p.kind, p.state, p.tier_id, p.doc, \
     p.create_time, p.update_time, p.state_change_time, p.version FROM partners p";

fn row_to_partner(row: &AnyRow) -> Result<Partner> {
    let doc: Doc = from_json("partners", &row.try_get::<String, _>("doc")?)?;
    Ok(Partner {
        id: uuid(&row.try_get::<String, _>("id")?)?,
        display_name: row.try_get("display_name")?,
        kind: stored("partners", &row.try_get::<String, _>("kind")?, Kind::parse)?,
        state: stored(
            "partners",
            &row.try_get::<String, _>("state")?,
            State::parse,
        )?,
        state_reason: doc.state_reason,
        tier_id: row.try_get("tier_id")?,
        phone: doc.phone,
        email: doc.email,
        region: doc.region,
        contacts: doc.contacts,
        onboarding: doc.onboarding,
        manager_id: doc.manager_id,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
        state_change_time: row.try_get("state_change_time")?,
        version: row.try_get("version")?,
    })
}

fn doc(p: &Partner) -> Result<String> {
    to_json(&Doc {
        state_reason: p.state_reason.clone(),
        phone: p.phone.clone(),
        email: p.email.clone(),
        region: p.region.clone(),
        contacts: p.contacts.clone(),
        onboarding: p.onboarding.clone(),
        manager_id: p.manager_id.clone(),
    })
}

/// Inserts a partner.
pub(crate) async fn insert(tx: &mut Tx, tenant: &str, p: &Partner) -> Result<()> {
    sqlx::query(
        "INSERT INTO partners (tenant_id, id, display_name, kind, state, tier_id, doc, \
         create_time, update_time, state_change_time, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(tenant)
    .bind(p.id.to_string())
    .bind(p.display_name.as_str())
    .bind(p.kind.as_str())
    .bind(p.state.as_str())
    .bind(p.tier_id.as_str())
    .bind(doc(p)?)
    .bind(p.create_time)
    .bind(p.update_time)
    .bind(p.state_change_time)
    .bind(p.version)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Rewrites a partner whose stored version is `expected`; `false` when it moved on.
pub(crate) async fn update(tx: &mut Tx, tenant: &str, p: &Partner, expected: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE partners SET display_name = $3, kind = $4, state = $5, tier_id = $6, doc = $7, \
         update_time = $8, state_change_time = $9, version = $10 \
         WHERE tenant_id = $1 AND id = $2 AND version = $11",
    )
    .bind(tenant)
    .bind(p.id.to_string())
    .bind(p.display_name.as_str())
    .bind(p.kind.as_str())
    .bind(p.state.as_str())
    .bind(p.tier_id.as_str())
    .bind(doc(p)?)
    .bind(p.update_time)
    .bind(p.state_change_time)
    .bind(p.version)
    .bind(expected)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A partner by id, locked when `lock` names the dialect.
pub(crate) async fn get(
    conn: &mut AnyConnection,
    tenant: &str,
    id: Uuid,
    lock: Option<Dialect>,
) -> Result<Option<Partner>> {
    one_by_id(conn, SELECT, "p.id", tenant, id, lock, row_to_partner).await
}

const BY_NAME: OrderBy = OrderBy::asc("display_name");

/// Which partners a list keeps.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    pub state: Option<State>,
    pub kind: Option<Kind>,
    pub tier_id: Option<String>,
}

/// A page of partners by name.
pub(crate) async fn list(
    conn: &mut AnyConnection,
    tenant: &str,
    filter: &Filter,
    page: &Page,
) -> Result<Vec<Partner>> {
    let mut s = Select::new(format!("{SELECT} WHERE p.tenant_id = $1"), 1);
    if let Some(state) = filter.state {
        let n = s.bind(BindValue::Text(state.as_str().into()));
        s.and(&format!("p.state = ${n}"));
    }
    if let Some(kind) = filter.kind {
        let n = s.bind(BindValue::Text(kind.as_str().into()));
        s.and(&format!("p.kind = ${n}"));
    }
    if let Some(tier) = &filter.tier_id {
        let n = s.bind(BindValue::Text(tier.clone()));
        s.and(&format!("p.tier_id = ${n}"));
    }
    let (sql, binds) = s.fixed(page, &BY_NAME, "p.display_name", "p.id")?;
    let rows = bind_all(sqlx::query(&sql).bind(tenant), &binds)
        .fetch_all(conn)
        .await?;
    rows.iter().map(row_to_partner).collect()
}

/// The cursor after `p`.
pub(crate) fn cursor_of(p: &Partner) -> Vec<CursorValue> {
    vec![
        CursorValue::Text(p.display_name.clone()),
        CursorValue::Text(p.id.to_string()),
    ]
}

/// Up to `limit` active partners of `tenant` after `after` (by id), for the tier evaluation.
pub(crate) async fn active_after(
    conn: &mut AnyConnection,
    tenant: &str,
    after: &str,
    limit: i64,
) -> Result<Vec<Uuid>> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM partners WHERE tenant_id = $1 AND state = 'active' AND id > $2 \
         ORDER BY id LIMIT $3",
    )
    .bind(tenant)
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    ids.iter().map(|i| uuid(i)).collect()
}
