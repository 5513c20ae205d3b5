//! Raw baselines: the statements the customers store runs, straight through sqlx on a database
//! migrated with the service's own migrations. No gRPC, auth, validation, duplicate check,
//! outbox or cache: what is left is the database's cost, which the service's numbers are
//! compared with.

use std::sync::{Arc, Mutex};

use rapport_customers::{
    Customers,
    api::convert::customer::{ProfileContext, parse_profile},
    domain::profile::Profile,
};
use rapport_runtime::{
    clock::{Clock, SystemClock},
    context::Service,
    storage::{Db, PoolSettings},
    validation::Violations,
};
use sqlx::Row;

use crate::{
    Result,
    data::Maker,
    load::Op,
    pool::IdPool,
    stores::{DB_CONNECTIONS, TENANT},
};

/// The columns of the store's customers INSERT (`insert_customers`), in its order.
const INSERT_COLUMNS: &str = "tenant_id, id, create_time, kind, display_name, search_text, \
     owner_id, team_id, store_id, lifecycle_stage, grade, source_channel, referrer_id, province, \
     city, district, birth_date, custom, profile, possible_duplicates, merged_into, update_time, \
     delete_time, version";

/// The SELECT by id of the store (`get_customer`).
const SELECT_CUSTOMER: &str = "SELECT id, profile, possible_duplicates, merged_into, create_time, update_time, delete_time, version \
     FROM customers WHERE tenant_id = $1 AND id = $2";

/// Opens `url` as the customers service does and applies the customers migrations.
pub async fn open(url: &str) -> Result<Db> {
    let settings = PoolSettings {
        max_connections: DB_CONNECTIONS,
        ..PoolSettings::default()
    };
    let db = Db::connect(url, Customers::NAME, settings).await?;
    db.migrate(&<Customers as Service>::migrations()).await?;
    Ok(db)
}

/// The row values the store writes for a new customer.
struct NewRow {
    id: String,
    kind: String,
    search_text: String,
    referrer_id: String,
    province: String,
    city: String,
    district: String,
    birth_date: String,
    custom: String,
    profile_json: String,
    possible_duplicates: String,
    contacts: Vec<(&'static str, String)>,
    now: i64,
    profile: Profile,
}

impl NewRow {
    /// Parses and normalizes `maker`'s next customer exactly as CreateCustomer does, and
    /// derives the columns the store writes beside the document.
    fn next(maker: &mut Maker) -> std::result::Result<NewRow, String> {
        let msg = maker.customer(false);
        let now = SystemClock.now();
        let ctx = ProfileContext {
            default_region: "CN",
            custom_fields: &[],
            today: rapport_runtime::clock::to_datetime(now).date(),
        };
        let mut v = Violations::new();
        let mut profile = parse_profile(&msg, &ctx, &mut v);
        if !v.is_empty() {
            return Err(format!("generated row is invalid: {:?}", v.into_vec()));
        }
        profile.stamp_consent(None, now);
        let text = |value: serde_json::Value| match value {
            serde_json::Value::String(s) => s,
            _ => String::new(),
        };
        let first = profile.addresses.first();
        Ok(NewRow {
            id: uuid::Uuid::now_v7().to_string(),
            kind: text(serde_json::to_value(profile.kind).map_err(|e| e.to_string())?),
            search_text: profile.search_text(),
            referrer_id: profile.referrer.map(|r| r.to_string()).unwrap_or_default(),
            province: first.map(|a| a.province.clone()).unwrap_or_default(),
            city: first.map(|a| a.city.clone()).unwrap_or_default(),
            district: first.map(|a| a.district.clone()).unwrap_or_default(),
            birth_date: profile
                .demographics
                .birth_date
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            custom: serde_json::to_string(&profile.custom_fields).map_err(|e| e.to_string())?,
            profile_json: serde_json::to_string(&profile).map_err(|e| e.to_string())?,
            possible_duplicates: "[]".to_owned(),
            contacts: profile
                .contact_keys()
                .into_iter()
                .map(|k| (k.kind.as_str(), k.value))
                .collect(),
            now,
            profile,
        })
    }
}

/// One worker of the raw INSERT baseline: per request, one transaction with the customers row
/// and its contact keys, the statements CreateCustomer's store call runs for one customer.
pub struct RawInsert {
    db: Db,
    maker: Maker,
    ids: Arc<Mutex<Vec<String>>>,
}

impl RawInsert {
    /// A worker on `db` recording created ids in `ids`.
    pub fn new(db: Db, maker: Maker, ids: Arc<Mutex<Vec<String>>>) -> Self {
        Self { db, maker, ids }
    }

    async fn insert(&mut self) -> std::result::Result<(), String> {
        let row = NewRow::next(&mut self.maker)?;
        let p = &row.profile;
        let err = |e: rapport_runtime::Error| e.to_string();
        let sql_err = |e: sqlx::Error| e.to_string();
        // The statement text as the store builds it for one row, so it is prepared alike.
        let n = INSERT_COLUMNS.split(',').count();
        let placeholders: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
        let sql = format!(
            "INSERT INTO customers ({INSERT_COLUMNS}) VALUES ({})",
            placeholders.join(", ")
        );
        let mut tx = self.db.begin().await.map_err(err)?;
        sqlx::query(&sql)
            .bind(TENANT)
            .bind(row.id.as_str())
            .bind(row.now)
            .bind(row.kind.as_str())
            .bind(p.display_name.as_str())
            .bind(row.search_text.as_str())
            .bind(p.owner_id.as_str())
            .bind(p.team_id.as_str())
            .bind(p.store_id.as_str())
            .bind(p.lifecycle_stage.as_str())
            .bind(p.grade.as_str())
            .bind(p.source_channel.as_str())
            .bind(row.referrer_id.as_str())
            .bind(row.province.as_str())
            .bind(row.city.as_str())
            .bind(row.district.as_str())
            .bind(row.birth_date.as_str())
            .bind(row.custom.as_str())
            .bind(row.profile_json.as_str())
            .bind(row.possible_duplicates.as_str())
            .bind(None::<String>)
            .bind(row.now)
            .bind(None::<i64>)
            .bind(1_i64)
            .execute(&mut *tx)
            .await
            .map_err(sql_err)?;
        if !row.contacts.is_empty() {
            // The same statement as the store's: the tenant, then the keys as one JSON array.
            let sql = format!(
                "INSERT INTO customer_contacts (tenant_id, customer_id, kind, value) \
                 SELECT $1, q.customer_id, q.kind, q.value FROM {} q",
                self.db
                    .dialect()
                    .json_rows("$2", &["customer_id", "kind", "value"])
            );
            let keys: Vec<[&str; 3]> = row
                .contacts
                .iter()
                .map(|(kind, value)| [row.id.as_str(), kind, value.as_str()])
                .collect();
            let keys = serde_json::to_string(&keys).map_err(|e| e.to_string())?;
            sqlx::query(&sql)
                .bind(TENANT)
                .bind(keys)
                .execute(&mut *tx)
                .await
                .map_err(sql_err)?;
        }
        tx.commit().await.map_err(err)?;
        self.ids
            .lock()
            .map_err(|_| "poisoned".to_owned())?
            .push(row.id);
        Ok(())
    }
}

impl Op for RawInsert {
    fn call(&mut self) -> impl Future<Output = std::result::Result<(), String>> + Send {
        self.insert()
    }
}

/// One worker of the raw SELECT baseline: the store's SELECT by id, on ids from a pool,
/// reading every column back.
pub struct RawSelect {
    db: Db,
    pool: IdPool,
}

impl RawSelect {
    /// A worker on `db` reading ids drawn from `pool`.
    pub fn new(db: Db, pool: IdPool) -> Self {
        Self { db, pool }
    }

    async fn select(&mut self) -> std::result::Result<(), String> {
        let id = self.pool.next_id().to_owned();
        let row = sqlx::query(SELECT_CUSTOMER)
            .bind(TENANT)
            .bind(id.as_str())
            .fetch_optional(self.db.pool())
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{id} not found"))?;
        let read = || -> std::result::Result<(), sqlx::Error> {
            let _: String = row.try_get("id")?;
            let _: String = row.try_get("profile")?;
            let _: String = row.try_get("possible_duplicates")?;
            let _: Option<String> = row.try_get("merged_into")?;
            let _: i64 = row.try_get("create_time")?;
            let _: i64 = row.try_get("update_time")?;
            let _: Option<i64> = row.try_get("delete_time")?;
            let _: i64 = row.try_get("version")?;
            Ok(())
        };
        read().map_err(|e| e.to_string())
    }
}

impl Op for RawSelect {
    fn call(&mut self) -> impl Future<Output = std::result::Result<(), String>> + Send {
        self.select()
    }
}
