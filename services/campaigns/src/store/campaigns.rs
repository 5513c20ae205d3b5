//! Campaigns and their costs.

use futures::future::BoxFuture;
use rapport_kit::{
    query::{CursorValue, OrderBy, Page, Select},
    validate::Money,
    versioned::Versioned,
};
use rapport_runtime::{
    Result,
    storage::{BindValue, ById, Tx, bind_all, from_json, id_column, stored, to_json},
};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row, any::AnyRow};
use uuid::Uuid;

use crate::domain::campaign::{Campaign, Cost, Results, State, Type};

/// What the doc column holds.
#[derive(Serialize, Deserialize)]
struct Doc {
    description: String,
    state_reason: String,
    approved_by: String,
    approve_time: Option<i64>,
}

const SELECT: &str = "SELECT c.id, c.display_name, c.campaign_type, c.state, c.owner_id, \
     c.team_id, c.store, c.start_time, c.end_time, c.currency, c.budget, c.cost, c.creator, \
     c.doc, c.invited, c.responded, c.accepted, c.attended, c.state_change_time, \
     c.create_time, c.update_time, c.version FROM campaigns c";

fn row_to_campaign(row: &AnyRow) -> Result<Campaign> {
    let doc: Doc = from_json("campaigns", &row.try_get::<String, _>("doc")?)?;
    Ok(Campaign {
        id: id_column(&row.try_get::<String, _>("id")?)?,
        display_name: row.try_get("display_name")?,
        kind: stored(
            "campaigns",
            &row.try_get::<String, _>("campaign_type")?,
            Type::parse,
        )?,
        description: doc.description,
        owner_id: row.try_get("owner_id")?,
        team_id: row.try_get("team_id")?,
        store: row.try_get("store")?,
        start_time: row.try_get("start_time")?,
        end_time: row.try_get("end_time")?,
        budget: Money {
            currency_code: row.try_get("currency")?,
            minor_units: row.try_get("budget")?,
        },
        cost: row.try_get("cost")?,
        state: stored(
            "campaigns",
            &row.try_get::<String, _>("state")?,
            State::parse,
        )?,
        state_reason: doc.state_reason,
        state_change_time: row.try_get("state_change_time")?,
        creator: row.try_get("creator")?,
        approved_by: doc.approved_by,
        approve_time: doc.approve_time,
        results: Results {
            invited: row.try_get("invited")?,
            responded: row.try_get("responded")?,
            accepted: row.try_get("accepted")?,
            attended: row.try_get("attended")?,
        },
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
        version: row.try_get("version")?,
    })
}

/// The plan and state columns as `$2..$16` after the tenant: what an update rewrites.
fn plan_binds(c: &Campaign) -> Result<Vec<BindValue>> {
    Ok(vec![
        BindValue::Text(c.id.to_string()),
        BindValue::Text(c.display_name.clone()),
        BindValue::Text(c.kind.as_str().to_owned()),
        BindValue::Text(c.state.as_str().to_owned()),
        BindValue::Text(c.owner_id.clone()),
        BindValue::Text(c.team_id.clone()),
        BindValue::Text(c.store.clone()),
        BindValue::Int(c.start_time),
        BindValue::Int(c.end_time),
        BindValue::Text(c.budget.currency_code.clone()),
        BindValue::Int(c.budget.minor_units),
        BindValue::Text(to_json(&Doc {
            description: c.description.clone(),
            state_reason: c.state_reason.clone(),
            approved_by: c.approved_by.clone(),
            approve_time: c.approve_time,
        })?),
        BindValue::Int(c.state_change_time),
        BindValue::Int(c.update_time),
        BindValue::Int(c.version),
    ])
}

/// Inserts a new campaign.
pub(crate) async fn insert(tx: &mut Tx, tenant: &str, c: &Campaign) -> Result<()> {
    let mut binds = plan_binds(c)?;
    binds.push(BindValue::Text(c.creator.clone()));
    binds.push(BindValue::Int(c.create_time));
    bind_all(
        sqlx::query(
            "INSERT INTO campaigns (tenant_id, id, display_name, campaign_type, state, owner_id, \
             team_id, store, start_time, end_time, currency, budget, doc, state_change_time, \
             update_time, version, creator, create_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18)",
        )
        .bind(tenant),
        &binds,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Rewrites a campaign's plan and state when its stored version is `expected`; `false` when it
/// moved on. The cost and the results are left to the writes that keep them.
async fn update(tx: &mut Tx, tenant: &str, c: &Campaign, expected: i64) -> Result<bool> {
    let mut binds = plan_binds(c)?;
    binds.push(BindValue::Int(expected));
    let done = bind_all(
        sqlx::query(
            "UPDATE campaigns SET display_name = $3, campaign_type = $4, state = $5, \
             owner_id = $6, team_id = $7, store = $8, start_time = $9, end_time = $10, \
             currency = $11, budget = $12, doc = $13, state_change_time = $14, \
             update_time = $15, version = $16 \
             WHERE tenant_id = $1 AND id = $2 AND version = $17",
        )
        .bind(tenant),
        &binds,
    )
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Campaigns by id.
pub(crate) const CAMPAIGN: ById<Campaign> = ById {
    select: SELECT,
    id_column: "c.id",
    decode: row_to_campaign,
};

impl Versioned for Campaign {
    fn name(&self) -> String {
        Campaign::name(self)
    }

    fn etag_key(&self) -> Vec<u8> {
        self.id.as_bytes().to_vec()
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn stamp(&mut self, version: i64, now: i64) {
        self.version = version;
        self.update_time = now;
    }

    fn rewrite<'a>(
        &'a self,
        tx: &'a mut Tx,
        tenant: &'a str,
        expected: i64,
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(update(tx, tenant, self, expected))
    }
}

/// Adds `cost` to the campaign's total and records the line.
pub(crate) async fn add_cost(tx: &mut Tx, tenant: &str, cost: &Cost) -> Result<()> {
    sqlx::query("UPDATE campaigns SET cost = cost + $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(cost.campaign_id.to_string())
        .bind(cost.amount)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO campaign_costs (tenant_id, campaign_id, id, amount, category, note, \
         recorded_by, create_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tenant)
    .bind(cost.campaign_id.to_string())
    .bind(cost.id.to_string())
    .bind(cost.amount)
    .bind(cost.category.as_str())
    .bind(cost.note.as_str())
    .bind(cost.recorded_by.as_str())
    .bind(cost.create_time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Adds `delta` to the campaign's results.
pub(crate) async fn add_results(
    tx: &mut Tx,
    tenant: &str,
    id: Uuid,
    delta: &Results,
) -> Result<()> {
    if delta.is_zero() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE campaigns SET invited = invited + $3, responded = responded + $4, \
         accepted = accepted + $5, attended = attended + $6 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id.to_string())
    .bind(delta.invited)
    .bind(delta.responded)
    .bind(delta.accepted)
    .bind(delta.attended)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Newest first.
const NEWEST: OrderBy = OrderBy::desc("create_time");

/// Which campaigns a list keeps.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    pub state: Option<State>,
    pub kind: Option<Type>,
    pub owner_id: String,
}

/// A page of campaigns, newest first.
pub(crate) async fn list(
    conn: &mut AnyConnection,
    tenant: &str,
    filter: &Filter,
    page: &Page,
) -> Result<Vec<Campaign>> {
    let mut s = Select::new(format!("{SELECT} WHERE c.tenant_id = $1"), 1);
    if let Some(state) = filter.state {
        s.and_eq("c.state", state.as_str());
    }
    if let Some(kind) = filter.kind {
        s.and_eq("c.campaign_type", kind.as_str());
    }
    if !filter.owner_id.is_empty() {
        s.and_eq("c.owner_id", filter.owner_id.as_str());
    }
    let order = (page, &NEWEST);
    s.fetch_fixed(
        conn,
        tenant,
        order,
        ("c.create_time", "c.id"),
        row_to_campaign,
    )
    .await
}

/// The cursor after `c`.
pub(crate) fn cursor_of(c: &Campaign) -> Vec<CursorValue> {
    vec![
        CursorValue::Int(c.create_time),
        CursorValue::Text(c.id.to_string()),
    ]
}
