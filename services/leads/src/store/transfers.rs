//! Transfers of opportunities and tasks (`transfers`), newest first.

use rapport_kit::query::CursorValue;
use rapport_runtime::{Result, storage::Tx};
use sqlx::AnyConnection;

use super::uuid;
use crate::domain::transfer::Transfer;

/// Records `t`.
pub(crate) async fn insert(tx: &mut Tx, tenant: &str, t: &Transfer) -> Result<()> {
    sqlx::query(
        "INSERT INTO transfers (tenant_id, parent, id, previous_owner_id, owner_id, \
         previous_team_id, team_id, reason, actor, create_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(tenant)
    .bind(&t.parent)
    .bind(t.id.to_string())
    .bind(&t.previous_owner_id)
    .bind(&t.owner_id)
    .bind(&t.previous_team_id)
    .bind(&t.team_id)
    .bind(&t.reason)
    .bind(&t.actor)
    .bind(t.create_time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Transfers of `parent`, newest first, after the keyset cursor `after` (the last id seen).
pub(crate) async fn list(
    conn: &mut AnyConnection,
    tenant: &str,
    parent: &str,
    after: &[CursorValue],
    limit: i64,
) -> Result<Vec<Transfer>> {
    let before = match after {
        [CursorValue::Text(id)] => Some(id.clone()),
        _ => None,
    };
    let sql = format!(
        "SELECT id, previous_owner_id, owner_id, previous_team_id, team_id, reason, actor, \
         create_time FROM transfers WHERE tenant_id = $1 AND parent = $2{} \
         ORDER BY id DESC LIMIT {limit}",
        if before.is_some() { " AND id < $3" } else { "" }
    );
    let mut q =
        sqlx::query_as::<_, (String, String, String, String, String, String, String, i64)>(&sql)
            .bind(tenant)
            .bind(parent);
    if let Some(before) = before {
        q = q.bind(before);
    }
    let rows = q.fetch_all(conn).await?;
    rows.into_iter()
        .map(
            |(id, previous_owner_id, owner_id, previous_team_id, team_id, reason, actor, at)| {
                Ok(Transfer {
                    id: uuid(&id)?,
                    parent: parent.to_owned(),
                    previous_owner_id,
                    owner_id,
                    previous_team_id,
                    team_id,
                    reason,
                    actor,
                    create_time: at,
                })
            },
        )
        .collect()
}
