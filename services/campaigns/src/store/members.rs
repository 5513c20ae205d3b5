//! Campaigns' members.

use rapport_kit::query::{CursorValue, OrderBy, Page, Select};
use rapport_runtime::{
    Result,
    dialect::Dialect,
    storage::{Tx, id_column, to_json},
};
use sqlx::{AnyConnection, Row, any::AnyRow};
use uuid::Uuid;

use crate::domain::member::{Member, Response, Standing};

const SELECT: &str = "SELECT m.campaign_id, m.customer_id, m.response, m.attended, \
     m.invited_by, m.invite_time, m.respond_time, m.attend_time FROM campaign_members m";

fn row_to_member(row: &AnyRow) -> Result<Member> {
    Ok(Member {
        campaign_id: id_column(&row.try_get::<String, _>("campaign_id")?)?,
        customer_id: id_column(&row.try_get::<String, _>("customer_id")?)?,
        response: Response::parse(&row.try_get::<String, _>("response")?),
        attended: row.try_get::<i32, _>("attended")? != 0,
        invited_by: row.try_get("invited_by")?,
        invite_time: row.try_get("invite_time")?,
        respond_time: row.try_get("respond_time")?,
        attend_time: row.try_get("attend_time")?,
    })
}

/// The members of campaign `campaign` among `customers`, locked when `lock` names the dialect.
pub(crate) async fn of(
    conn: &mut AnyConnection,
    tenant: &str,
    campaign: Uuid,
    customers: &[Uuid],
    lock: Option<Dialect>,
) -> Result<Vec<Member>> {
    if customers.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = (0..customers.len())
        .map(|i| format!("${}", i + 3))
        .collect();
    let sql = format!(
        "{SELECT} WHERE m.tenant_id = $1 AND m.campaign_id = $2 AND m.customer_id IN ({}) \
         ORDER BY m.customer_id{}",
        list.join(", "),
        lock.map_or("", Dialect::for_update)
    );
    let mut q = sqlx::query(&sql).bind(tenant).bind(campaign.to_string());
    for c in customers {
        q = q.bind(c.to_string());
    }
    let rows = q.fetch_all(conn).await?;
    rows.iter().map(row_to_member).collect()
}

/// Inserts new members of one campaign, invited by one caller at one time.
pub(crate) async fn insert_invited(tx: &mut Tx, tenant: &str, members: &[Member]) -> Result<()> {
    let Some(first) = members.first() else {
        return Ok(());
    };
    let ids: Vec<[String; 1]> = members
        .iter()
        .map(|m| [m.customer_id.to_string()])
        .collect();
    let sql = format!(
        "INSERT INTO campaign_members (tenant_id, campaign_id, customer_id, standing, response, \
         attended, invited_by, invite_time) \
         SELECT $1, $3, q.customer_id, $4, '', 0, $5, $6 FROM {} q",
        tx.dialect().json_rows("$2", &["customer_id"])
    );
    sqlx::query(&sql)
        .bind(tenant)
        .bind(to_json(&ids)?)
        .bind(first.campaign_id.to_string())
        .bind(Standing::Invited.as_str())
        .bind(first.invited_by.as_str())
        .bind(first.invite_time)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Rewrites a member's answer and attendance.
pub(crate) async fn update(tx: &mut Tx, tenant: &str, m: &Member) -> Result<()> {
    sqlx::query(
        "UPDATE campaign_members SET standing = $4, response = $5, attended = $6, \
         respond_time = $7, attend_time = $8 \
         WHERE tenant_id = $1 AND campaign_id = $2 AND customer_id = $3",
    )
    .bind(tenant)
    .bind(m.campaign_id.to_string())
    .bind(m.customer_id.to_string())
    .bind(m.standing().as_str())
    .bind(m.response.map_or("", Response::as_str))
    .bind(i32::from(m.attended))
    .bind(m.respond_time)
    .bind(m.attend_time)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// In the order they were invited.
const INVITED: OrderBy = OrderBy::asc("invite_time");

/// A page of campaign `campaign`'s members, of `standing` when given.
pub(crate) async fn list(
    conn: &mut AnyConnection,
    tenant: &str,
    campaign: Uuid,
    standing: Option<Standing>,
    page: &Page,
) -> Result<Vec<Member>> {
    let mut s = Select::new(format!("{SELECT} WHERE m.tenant_id = $1"), 1);
    s.and_eq("m.campaign_id", campaign.to_string());
    if let Some(standing) = standing {
        s.and_eq("m.standing", standing.as_str());
    }
    let order = (page, &INVITED);
    s.fetch_fixed(
        conn,
        tenant,
        order,
        ("m.invite_time", "m.customer_id"),
        row_to_member,
    )
    .await
}

/// The cursor after `m`.
pub(crate) fn cursor_of(m: &Member) -> Vec<CursorValue> {
    vec![
        CursorValue::Int(m.invite_time),
        CursorValue::Text(m.customer_id.to_string()),
    ]
}
