//! Customers and their child rows (contact keys, tags, shared teams).

use rapport_kit::query::{CursorValue, FieldSpec, OrderBy, Select, SqlFilter};
use rapport_runtime::storage::one_by_id;
use rapport_runtime::{
    Error, Result,
    dialect::Dialect,
    storage::BindValue,
    storage::bind_all,
    storage::{Db, Statement, Tx, bool_int, key_slots, lock_keys},
};
use sqlx::{AnyConnection, Row, any::AnyRow};
use uuid::Uuid;

use super::{
    placeholders, uuid,
    value::{VALUE_COLUMNS, VALUE_JOIN, value_of_row},
};
use crate::domain::{
    consent::{self, Channel},
    contact::{ContactKey, ContactKind},
    duplicates::DuplicateHit,
    profile::Customer,
    value::{
        CustomerValue,
        grade::{GRADE_NAMES, GROUP_NAMES},
    },
};

/// A customer's own columns, of `customers c`; its figures come from [`VALUE_JOIN`].
const COLUMNS: &str = "c.id, c.profile, c.possible_duplicates, c.merged_into, c.create_time, \
     c.update_time, c.delete_time, c.version";

/// Fields ListCustomers can filter on (the AIP-160 subset documented on ListCustomersRequest).
pub const FILTER_FIELDS: &[FieldSpec] = &[
    FieldSpec::search("display_name", "c.search_text"),
    FieldSpec::exists(
        "phone",
        "EXISTS (SELECT 1 FROM customer_contacts k WHERE k.tenant_id = c.tenant_id AND k.customer_id = c.id AND k.kind = 'phone' AND k.value = {})",
        Some(normalize_phone_filter),
    ),
    FieldSpec::exists(
        "email",
        "EXISTS (SELECT 1 FROM customer_contacts k WHERE k.tenant_id = c.tenant_id AND k.customer_id = c.id AND k.kind = 'email' AND k.value = {})",
        Some(normalize_email_filter),
    ),
    FieldSpec::exists(
        "im_handle",
        "EXISTS (SELECT 1 FROM customer_contacts k WHERE k.tenant_id = c.tenant_id AND k.customer_id = c.id AND k.kind = 'im' AND k.value = {})",
        Some(normalize_im_filter),
    ),
    FieldSpec::exists(
        "tags",
        "EXISTS (SELECT 1 FROM customer_tags t WHERE t.tenant_id = c.tenant_id AND t.customer_id = c.id AND t.tag = {})",
        None,
    ),
    FieldSpec::text("owner_id", "c.owner_id"),
    FieldSpec::text("team_id", "c.team_id"),
    FieldSpec::text("store_id", "c.store_id"),
    FieldSpec::text("province", "c.province"),
    FieldSpec::text("city", "c.city"),
    FieldSpec::text("district", "c.district"),
    FieldSpec::enumeration("kind", "c.kind", &["person", "organization"]),
    FieldSpec::enumeration(
        "lifecycle_stage",
        "c.lifecycle_stage",
        &["prospect", "customer", "repeat_customer", "churned"],
    ),
    FieldSpec::text("grade", "c.grade"),
    FieldSpec::text("source_channel", "c.source_channel"),
    FieldSpec::timestamp("create_time", "c.create_time"),
    FieldSpec::timestamp("update_time", "c.update_time"),
    // Only full dates compare: an absent birth date ('') or one without a year ('--MM-DD') is
    // neither before nor after any date.
    FieldSpec::date(
        "birth_date",
        "(CASE WHEN c.birth_date LIKE '____-__-__' THEN c.birth_date END)",
    ),
    FieldSpec::json("custom_fields", "c.custom"),
    // Consent (CU9) and activity, columns beside the profile so that segments (CU13) compare
    // them in the statement: a channel never asked about is `unknown`; a customer without an
    // activity has no last activity time, and no comparison on it holds.
    FieldSpec::enumeration("consent.sms", "c.consent_sms", consent::STATUS_NAMES),
    FieldSpec::enumeration("consent.email", "c.consent_email", consent::STATUS_NAMES),
    FieldSpec::enumeration("consent.phone", "c.consent_phone", consent::STATUS_NAMES),
    FieldSpec::enumeration("consent.im", "c.consent_im", consent::STATUS_NAMES),
    FieldSpec::boolean("consent.do_not_disturb", "c.do_not_disturb"),
    FieldSpec::timestamp("last_activity_time", "c.last_activity_time"),
    // Value (CU12): a customer without a confirmed order has no figures, and reads as zero
    // counts and amounts, no grade or group, and no last order time.
    FieldSpec::enumeration("value.grade", "COALESCE(v.grade, '')", GRADE_NAMES),
    FieldSpec::enumeration("value.group", "COALESCE(v.value_group, '')", GROUP_NAMES),
    FieldSpec::int("value.order_count", "COALESCE(v.order_count, 0)"),
    FieldSpec::int("value.total_spent", "COALESCE(v.total_spent, 0)"),
    FieldSpec::int(
        "value.average_order_value",
        "COALESCE(v.average_order_value, 0)",
    ),
    FieldSpec::int(
        "value.profit_contribution",
        "COALESCE(v.profit_contribution, 0)",
    ),
    FieldSpec::int("value.recency_score", "COALESCE(v.recency_score, 0)"),
    FieldSpec::int("value.frequency_score", "COALESCE(v.frequency_score, 0)"),
    FieldSpec::int("value.monetary_score", "COALESCE(v.monetary_score, 0)"),
    FieldSpec::timestamp("value.last_order_time", "v.last_order_time"),
];

// Filters name phones in E.164 ("+86…"): a filter has no tenant region to read a local number in.
fn normalize_phone_filter(v: &str) -> std::result::Result<String, String> {
    crate::domain::contact::normalize_phone(v, "ZZ")
        .map_err(|e| format!("{e} (write phones in filters in E.164, e.g. +8613812345678)"))
}

fn normalize_email_filter(v: &str) -> std::result::Result<String, String> {
    crate::domain::contact::normalize_email(v).map(|e| e.to_lowercase())
}

fn normalize_im_filter(v: &str) -> std::result::Result<String, String> {
    let (platform, handle) = v
        .split_once(':')
        .ok_or_else(|| "must look like platform:handle, e.g. wechat:zhangwei".to_owned())?;
    Ok(format!(
        "{}:{}",
        platform.trim().to_lowercase(),
        handle.trim().to_lowercase()
    ))
}

fn text_column(value: &impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// What a customer row holds besides its keys: the profile document, and the columns beside
/// it that exist to filter, order and check visibility (rewritten from the document on every
/// change). Insert and update write the same list, in this order.
const DATA_COLUMNS: [&str; 26] = [
    "kind",
    "display_name",
    "search_text",
    "owner_id",
    "team_id",
    "store_id",
    "lifecycle_stage",
    "grade",
    "source_channel",
    "referrer_id",
    "province",
    "city",
    "district",
    "birth_date",
    "custom",
    "profile",
    "possible_duplicates",
    "merged_into",
    "consent_sms",
    "consent_email",
    "consent_phone",
    "consent_im",
    "do_not_disturb",
    "update_time",
    "delete_time",
    "version",
];

/// The text values of a row, computed once so the query can borrow them.
struct RowText {
    kind: String,
    search_text: String,
    referrer_id: String,
    province: String,
    city: String,
    district: String,
    birth_date: String,
    custom: String,
    profile: String,
    possible_duplicates: String,
    merged_into: Option<String>,
}

impl RowText {
    fn of(c: &Customer) -> Result<Self> {
        let p = &c.profile;
        let first = p.addresses.first();
        Ok(RowText {
            kind: text_column(&p.kind),
            search_text: p.search_text(),
            referrer_id: p.referrer.map(|r| r.to_string()).unwrap_or_default(),
            province: first.map(|a| a.province.clone()).unwrap_or_default(),
            city: first.map(|a| a.city.clone()).unwrap_or_default(),
            district: first.map(|a| a.district.clone()).unwrap_or_default(),
            birth_date: p
                .demographics
                .birth_date
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            custom: to_json(&p.custom_fields)?,
            profile: to_json(p)?,
            possible_duplicates: to_json(&c.possible_duplicates)?,
            merged_into: c.merged_into.map(|m| m.to_string()),
        })
    }
}

fn to_json(value: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(Error::internal)
}

/// Binds the values of [`DATA_COLUMNS`], in order.
fn bind_data(s: Statement, c: &Customer, t: RowText) -> Statement {
    let p = &c.profile;
    s.bind(t.kind)
        .bind(&p.display_name)
        .bind(t.search_text)
        .bind(&p.owner_id)
        .bind(&p.team_id)
        .bind(&p.store_id)
        .bind(p.lifecycle_stage.as_str())
        .bind(p.grade.as_str())
        .bind(p.source_channel.as_str())
        .bind(t.referrer_id)
        .bind(t.province)
        .bind(t.city)
        .bind(t.district)
        .bind(t.birth_date)
        .bind(t.custom)
        .bind(t.profile)
        .bind(t.possible_duplicates)
        .bind(t.merged_into)
        .bind(p.consent.status_name(Channel::Sms))
        .bind(p.consent.status_name(Channel::Email))
        .bind(p.consent.status_name(Channel::Phone))
        .bind(p.consent.status_name(Channel::Im))
        .bind(bool_int(p.consent.do_not_disturb))
        .bind(c.update_time)
        .bind(c.delete_time)
        .bind(c.version)
}

fn row_to_customer(row: &AnyRow) -> Result<Customer> {
    let profile: String = row.try_get("profile")?;
    let dups: String = row.try_get("possible_duplicates")?;
    let merged: Option<String> = row.try_get("merged_into")?;
    Ok(Customer {
        id: uuid(&row.try_get::<String, _>("id")?)?,
        profile: serde_json::from_str(&profile).map_err(Error::internal)?,
        possible_duplicates: serde_json::from_str(&dups).map_err(Error::internal)?,
        merged_into: merged.as_deref().map(uuid).transpose()?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
        delete_time: row.try_get("delete_time")?,
        version: row.try_get("version")?,
        value: value_of_row(row)?,
    })
}

/// Rows per multi-row INSERT; keeps every statement well under both backends' bind limits.
const CHUNK: usize = 400;

/// The inserts of new customers with their child rows, for a write to defer.
pub fn customer_statements(
    dialect: Dialect,
    tenant: &str,
    customers: &[Customer],
) -> Result<Vec<Statement>> {
    const N: usize = DATA_COLUMNS.len() + 3;
    let mut out = Vec::new();
    for chunk in customers.chunks(CHUNK) {
        let mut sql = format!(
            "INSERT INTO customers (tenant_id, id, create_time, {}) VALUES ",
            DATA_COLUMNS.join(", ")
        );
        for i in 0..chunk.len() {
            sql.push_str(if i == 0 { "(" } else { ", (" });
            sql.push_str(&placeholders(i * N + 1, N));
            sql.push(')');
        }
        let mut s = Statement::new(sql);
        for c in chunk {
            let head = s.bind(tenant).bind(c.id.to_string()).bind(c.create_time);
            s = bind_data(head, c, RowText::of(c)?);
        }
        out.push(s);
    }
    out.extend(children_statements(dialect, tenant, customers)?);
    Ok(out)
}

/// The inserts of contact keys, tags and shared teams of `customers` (whose old rows are gone),
/// each row once: the contact keys are distinct already, the tags and teams made so here.
fn children_statements(
    dialect: Dialect,
    tenant: &str,
    customers: &[Customer],
) -> Result<Vec<Statement>> {
    let mut contacts: Vec<(String, &'static str, String)> = Vec::new();
    let mut tags: Vec<(String, String)> = Vec::new();
    let mut teams: Vec<(String, String)> = Vec::new();
    for c in customers {
        let id = c.id.to_string();
        for k in c.profile.contact_keys() {
            contacts.push((id.clone(), k.kind.as_str(), k.value));
        }
        // With each row once the inserts need no ON CONFLICT, whose check probed the primary
        // key once more per row: a tenth of an import's index work.
        let mut seen = std::collections::HashSet::new();
        tags.extend(
            c.profile
                .tags
                .iter()
                .filter(|t| seen.insert(*t))
                .map(|t| (id.clone(), t.clone())),
        );
        seen.clear();
        teams.extend(
            c.profile
                .shared_team_ids
                .iter()
                .filter(|t| seen.insert(*t))
                .map(|t| (id.clone(), t.clone())),
        );
    }
    // Tuples encode as JSON arrays, the rows `json_insert` reads.
    let mut out = Vec::new();
    for (table, columns, rows) in [
        (
            "customer_contacts",
            &["customer_id", "kind", "value"][..],
            to_json(&contacts)?,
        ),
        ("customer_tags", &["customer_id", "tag"], to_json(&tags)?),
        (
            "customer_shared_teams",
            &["customer_id", "team_id"],
            to_json(&teams)?,
        ),
    ] {
        if rows == "[]" {
            continue;
        }
        out.push(
            Statement::new(json_insert(dialect, table, columns))
                .bind(tenant)
                .bind(rows),
        );
    }
    Ok(out)
}

/// `INSERT INTO table (tenant_id, columns…)` of tenant `$1` and the rows in `$2`, a JSON array
/// of arrays of text in `columns`' order. One statement text for any number of rows: a VALUES
/// list's varied with its length, so nearly every batch prepared and planned a new one.
fn json_insert(dialect: Dialect, table: &str, columns: &[&str]) -> String {
    let qualified: Vec<String> = columns.iter().map(|c| format!("q.{c}")).collect();
    format!(
        "INSERT INTO {table} (tenant_id, {}) SELECT $1, {} FROM {} q",
        columns.join(", "),
        qualified.join(", "),
        dialect.json_rows("$2", columns)
    )
}

/// Rewrites a customer whose stored version is `expected_version`. Returns `false` when the
/// version moved on (a concurrent change won).
pub async fn update_customer(
    tx: &mut Tx,
    tenant: &str,
    c: &Customer,
    expected_version: i64,
) -> Result<bool> {
    let text = RowText::of(c)?;
    let id = c.id.to_string();
    let set: Vec<String> = DATA_COLUMNS
        .iter()
        .enumerate()
        .map(|(i, col)| format!("{col} = ${}", i + 3))
        .collect();
    let sql = format!(
        "UPDATE customers SET {} WHERE tenant_id = $1 AND id = $2 AND version = ${}",
        set.join(", "),
        DATA_COLUMNS.len() + 3
    );
    let s = bind_data(Statement::new(sql).bind(tenant).bind(&id), c, text);
    if s.bind(expected_version).execute(tx).await? == 0 {
        return Ok(false);
    }
    let id = c.id.to_string();
    for table in [
        "customer_contacts",
        "customer_tags",
        "customer_shared_teams",
    ] {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE tenant_id = $1 AND customer_id = $2"
        ))
        .bind(tenant)
        .bind(id.as_str())
        .execute(&mut **tx)
        .await?;
    }
    for s in children_statements(tx.dialect(), tenant, std::slice::from_ref(c))? {
        s.execute(tx).await?;
    }
    Ok(true)
}

/// A customer by id, deleted or not.
pub async fn get_customer(
    conn: &mut AnyConnection,
    tenant: &str,
    id: Uuid,
) -> Result<Option<Customer>> {
    one_by_id(conn, &select(), "c.id", tenant, id, None, row_to_customer).await
}

/// A customer by id, locked for the rest of the transaction.
pub async fn lock_customer(
    tx: &mut Tx,
    dialect: Dialect,
    tenant: &str,
    id: Uuid,
) -> Result<Option<Customer>> {
    one_by_id(
        tx,
        &select(),
        "c.id",
        tenant,
        id,
        Some(dialect),
        row_to_customer,
    )
    .await
}

/// The select of customers `c` with their figures.
fn select() -> String {
    format!("SELECT {COLUMNS}, {VALUE_COLUMNS} FROM customers c {VALUE_JOIN}")
}

/// Live customers referred by any of `referrers`, locked for the rest of the transaction.
pub async fn lock_referred_by(
    tx: &mut Tx,
    dialect: Dialect,
    tenant: &str,
    referrers: &[Uuid],
) -> Result<Vec<Customer>> {
    if referrers.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "{} WHERE c.tenant_id = $1 AND c.delete_time IS NULL AND c.referrer_id IN ({}) \
         ORDER BY c.id{}",
        select(),
        placeholders(2, referrers.len()),
        dialect.for_update_of("c")
    );
    let ids: Vec<String> = referrers.iter().map(Uuid::to_string).collect();
    let q = ids
        .iter()
        .fold(sqlx::query(&sql).bind(tenant), |q, id| q.bind(id.as_str()));
    q.fetch_all(&mut **tx)
        .await?
        .iter()
        .map(row_to_customer)
        .collect()
}

/// Serializes writers that check the same contact keys for duplicates.
pub async fn lock_contact_keys(tx: &mut Tx, tenant: &str, keys: &[ContactKey]) -> Result<()> {
    lock_keys(tx, &mut contact_locks(tenant, keys)).await
}

/// The locks of [`lock_contact_keys`], for a write that takes them as it begins.
pub fn contact_locks(tenant: &str, keys: &[ContactKey]) -> Vec<String> {
    let names: Vec<String> = keys.iter().map(ToString::to_string).collect();
    key_slots(
        &format!("customers/{tenant}/contacts"),
        names.iter().map(String::as_str),
    )
}

/// Contact keys looked up per statement: an import batch's keys in one go.
const KEYS_PER_LOOKUP: usize = 4000;
/// Lookups of at most this many keys (a single customer's) run a prepared statement; bigger ones
/// (imports) are planned afresh, so a generic plan made while the tables were nearly empty
/// never probes thousands of keys.
const CACHED_LOOKUP_KEYS: usize = 16;

/// `FROM` the contact rows (named `k`, `columns` of them selected) holding any of the keys in
/// parameter `$2` (see [`keys_json`]), of tenant `$1`. Each key probes the contacts index: left
/// to their planners, both backends scanned every contact (or customer) of the tenant.
fn contacts_of_keys(dialect: Dialect, columns: &str) -> String {
    let probe = dialect.probe_join(
        "customer_contacts",
        columns,
        "k",
        "k.tenant_id = $1 AND k.kind = q.kind AND k.value = q.value",
    );
    format!(
        "FROM {} q {probe}",
        dialect.json_rows("$2", &["kind", "value"])
    )
}

/// `keys`, each once, as the JSON parameter of [`contacts_of_keys`].
fn keys_json(keys: &[ContactKey]) -> Result<String> {
    let mut seen = std::collections::HashSet::with_capacity(keys.len());
    let pairs: Vec<[&str; 2]> = keys
        .iter()
        .filter(|k| seen.insert(*k))
        .map(|k| [k.kind.as_str(), k.value.as_str()])
        .collect();
    to_json(&pairs)
}

/// Whether a customer other than `ours` has a contact row with any of `keys`, live or not. Reads
/// the contacts index alone: the cheap first look of an import that has just written `ours`.
pub async fn others_hold_contacts(
    conn: &mut AnyConnection,
    dialect: Dialect,
    tenant: &str,
    keys: &[ContactKey],
    ours: &[Uuid],
) -> Result<bool> {
    let ours: std::collections::HashSet<String> = ours.iter().map(Uuid::to_string).collect();
    for chunk in keys.chunks(KEYS_PER_LOOKUP) {
        let sql = format!(
            "SELECT k.customer_id {}",
            contacts_of_keys(dialect, "k.customer_id")
        );
        let holders: Vec<(String,)> = sqlx::query_as(&sql)
            .persistent(chunk.len() <= CACHED_LOOKUP_KEYS)
            .bind(tenant)
            .bind(keys_json(chunk)?)
            .fetch_all(&mut *conn)
            .await?;
        if holders.iter().any(|(id,)| !ours.contains(id)) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Live customers holding any of `keys`, except those in `exclude`, in creation order.
pub async fn find_by_contacts(
    conn: &mut AnyConnection,
    dialect: Dialect,
    tenant: &str,
    keys: &[ContactKey],
    exclude: &[Uuid],
) -> Result<Vec<DuplicateHit>> {
    let mut hits: Vec<DuplicateHit> = Vec::new();
    // An import excludes the hundreds of customers it has just written.
    let exclude: std::collections::HashSet<&Uuid> = exclude.iter().collect();
    for chunk in keys.chunks(KEYS_PER_LOOKUP) {
        let sql = format!(
            "SELECT k.customer_id, k.kind, k.value, c.display_name, c.create_time, \
             c.owner_id, c.team_id, c.store_id \
             {} CROSS JOIN customers c \
             WHERE c.tenant_id = $1 AND c.id = k.customer_id AND c.delete_time IS NULL \
             ORDER BY c.create_time, k.customer_id",
            contacts_of_keys(dialect, "k.customer_id, k.kind, k.value")
        );
        let q = sqlx::query(&sql)
            .persistent(chunk.len() <= CACHED_LOOKUP_KEYS)
            .bind(tenant)
            .bind(keys_json(chunk)?);
        for row in q.fetch_all(&mut *conn).await? {
            let id = uuid(&row.try_get::<String, _>(0)?)?;
            if exclude.contains(&id) {
                continue;
            }
            let kind: String = row.try_get(1)?;
            let key = ContactKey {
                kind: ContactKind::parse(&kind)
                    .ok_or_else(|| Error::internal("bad contact kind"))?,
                value: row.try_get(2)?,
            };
            match hits.iter_mut().find(|h| h.customer_id == id) {
                Some(h) => h.matched.push(key),
                None => hits.push(DuplicateHit::new(
                    id,
                    row.try_get(3)?,
                    [row.try_get(5)?, row.try_get(6)?, row.try_get(7)?],
                    vec![key],
                )),
            }
        }
    }
    Ok(hits)
}

/// Tells the database what creating `created` added, so its planner statistics follow the
/// tables' growth (see `Db::wrote`).
pub fn note_created(db: &Db, created: &[Customer]) {
    if created.is_empty() {
        return;
    }
    let contacts: usize = created.iter().map(|c| c.profile.contact_keys().len()).sum();
    db.wrote("customers", created.len() as u64);
    db.wrote("customer_contacts", contacts as u64);
}

/// Of the customers `ids`, those shared with `team`.
pub async fn shared_with(
    conn: &mut AnyConnection,
    tenant: &str,
    ids: &[Uuid],
    team: &str,
) -> Result<std::collections::HashSet<Uuid>> {
    if ids.is_empty() || team.is_empty() {
        return Ok(Default::default());
    }
    let sql = format!(
        "SELECT customer_id FROM customer_shared_teams \
         WHERE tenant_id = $1 AND team_id = $2 AND customer_id IN ({})",
        (3..3 + ids.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let q = ids.iter().fold(
        sqlx::query_as::<_, (String,)>(&sql).bind(tenant).bind(team),
        |q, id| q.bind(id.to_string()),
    );
    let rows = q.fetch_all(conn).await?;
    rows.iter().map(|(id,)| uuid(id)).collect()
}

/// Which customers a rep may see (admins and managers are not scoped).
#[derive(Debug, Clone)]
pub struct RepScope {
    /// The rep's subject id.
    pub subject: String,
    /// The rep's team, if any.
    pub team: Option<String>,
}

/// A page query over customers.
#[derive(Debug, Clone)]
pub struct CustomerQuery {
    /// The compiled filter, with placeholders numbered from 2 (`$1` is the tenant).
    pub filter: Option<SqlFilter>,
    /// The order.
    pub order: OrderBy,
    /// Where the previous page ended.
    pub after: Vec<CursorValue>,
    /// Rows to fetch.
    pub limit: u32,
    /// Include soft-deleted customers.
    pub show_deleted: bool,
    /// Restrict to what a rep may see.
    pub scope: Option<RepScope>,
}

/// The column a ListCustomers order field sorts on (never NULL, as keyset pages need).
pub fn sort_column(field: &str) -> &'static str {
    match field {
        "display_name" => "c.display_name",
        "update_time" => "c.update_time",
        "value.order_count" => "COALESCE(v.order_count, 0)",
        "value.total_spent" => "COALESCE(v.total_spent, 0)",
        "value.average_order_value" => "COALESCE(v.average_order_value, 0)",
        "value.profit_contribution" => "COALESCE(v.profit_contribution, 0)",
        "value.last_order_time" => "COALESCE(v.last_order_time, 0)",
        _ => "c.create_time",
    }
}

/// The customers of tenant `$1` in `from` (`SELECT … FROM customers c …`) that `filter`
/// (placeholders from `$2`) matches, live unless `show_deleted`, and visible in `scope`.
fn matching(
    from: &str,
    filter: Option<&SqlFilter>,
    show_deleted: bool,
    scope: Option<&RepScope>,
) -> Select {
    let mut s = Select::filtered(format!("{from} WHERE c.tenant_id = $1"), 1, filter);
    if !show_deleted {
        s.and("c.delete_time IS NULL");
    }
    if let Some(scope) = scope {
        let a = s.bind(BindValue::Text(scope.subject.clone()));
        let b = s.bind(BindValue::Text(scope.team.clone().unwrap_or_default()));
        s.and(&format!(
            "(c.owner_id = ${a} OR (${b} <> '' AND (c.team_id = ${b} OR EXISTS (SELECT 1 FROM \
             customer_shared_teams s WHERE s.tenant_id = c.tenant_id AND s.customer_id = c.id \
             AND s.team_id = ${b}))))"
        ));
    }
    s
}

/// A page of customers, and for each its sort key (for the next page token).
pub async fn list_customers(
    conn: &mut AnyConnection,
    tenant: &str,
    q: &CustomerQuery,
) -> Result<Vec<Customer>> {
    let s = matching(
        &select(),
        q.filter.as_ref(),
        q.show_deleted,
        q.scope.as_ref(),
    );
    let (sql, binds) = s.page(
        &q.order,
        &q.after,
        sort_column(q.order.field),
        "c.id",
        q.limit,
    )?;
    let query = bind_all(sqlx::query(&sql).bind(tenant), &binds);
    let rows = query.fetch_all(conn).await?;
    rows.iter().map(row_to_customer).collect()
}

/// The live customers a filter matches that a caller may see: the members of a segment (CU13).
#[derive(Debug, Clone)]
pub struct Members {
    /// The compiled filter, with placeholders numbered from 2 (`$1` is the tenant); none keeps
    /// every live customer.
    pub filter: Option<SqlFilter>,
    /// Restrict to what a rep may see.
    pub scope: Option<RepScope>,
}

/// How many customers `m` keeps.
pub async fn count_members(conn: &mut AnyConnection, tenant: &str, m: &Members) -> Result<i64> {
    let from = format!("SELECT COUNT(*) FROM customers c {VALUE_JOIN}");
    let (sql, binds) = matching(&from, m.filter.as_ref(), false, m.scope.as_ref()).finish();
    let query = bind_all(sqlx::query_scalar::<_, i64>(&sql).bind(tenant), &binds);
    Ok(query.fetch_one(conn).await?)
}

/// Up to `limit` of the customers `m` keeps, in id order, after customer `after` (none: from
/// the first). Each call walks one range of the primary key, never an OFFSET, so the millionth
/// member costs what the first does.
pub async fn members_after(
    conn: &mut AnyConnection,
    tenant: &str,
    m: &Members,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<Customer>> {
    let s = matching(&select(), m.filter.as_ref(), false, m.scope.as_ref());
    let after = after.map(|id| BindValue::Text(id.to_string()));
    let (sql, binds) = s.ascending("c.id", after, limit);
    let query = bind_all(sqlx::query(&sql).bind(tenant), &binds);
    let rows = query.fetch_all(conn).await?;
    rows.iter().map(row_to_customer).collect()
}

/// Keeps the customer's last activity time at the newest of what it holds and `occur_time`:
/// the column `last_activity_time` filters on. Leaves the customer's version alone.
pub fn note_activity(tenant: &str, customer: Uuid, occur_time: i64) -> Statement {
    Statement::new(
        "UPDATE customers SET last_activity_time = $3 WHERE tenant_id = $1 AND id = $2 \
         AND (last_activity_time IS NULL OR last_activity_time < $3)",
    )
    .bind(tenant)
    .bind(customer.to_string())
    .bind(occur_time)
}

/// Works the last activity time of `customer` out again from its timeline, after activities
/// moved onto it (a merge).
pub async fn refresh_last_activity(tx: &mut Tx, tenant: &str, customer: Uuid) -> Result<()> {
    sqlx::query(
        "UPDATE customers SET last_activity_time = (SELECT MAX(a.occur_time) FROM \
         customer_activities a WHERE a.tenant_id = $1 AND a.customer_id = $2) \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(customer.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The cursor after `c` in `order`.
pub fn cursor_of(c: &Customer, order: &OrderBy) -> Vec<CursorValue> {
    let value = |figure: fn(&CustomerValue) -> i64| c.value.as_ref().map(figure).unwrap_or(0);
    let key = match order.field {
        "display_name" => CursorValue::Text(c.profile.display_name.clone()),
        "update_time" => CursorValue::Int(c.update_time),
        "value.order_count" => CursorValue::Int(value(|v| v.order_count)),
        "value.total_spent" => CursorValue::Int(value(|v| v.total_spent)),
        "value.average_order_value" => CursorValue::Int(value(|v| v.average_order_value)),
        "value.profit_contribution" => CursorValue::Int(value(|v| v.profit_contribution)),
        "value.last_order_time" => CursorValue::Int(value(|v| v.last_order_time)),
        _ => CursorValue::Int(c.create_time),
    };
    vec![key, CursorValue::Text(c.id.to_string())]
}
