//! Raw baselines: the statements the customers store runs, straight through sqlx on a database
//! migrated with the service's own migrations. No gRPC, auth, validation, duplicate check,
//! outbox or cache: what is left is the database's cost, which the service's numbers are
//! compared with.

use std::sync::{Arc, Mutex};

use rapport_customers::Customers;
use rapport_proto::customers as pb;
use rapport_runtime::{
    clock::{Clock, SystemClock},
    context::Service,
    storage::{Db, PoolSettings},
};
use serde_json::{Map, Value, json};
use sqlx::Row;

use crate::{
    Result,
    data::Maker,
    load::Op,
    pool::IdPool,
    stores::{DB_CONNECTIONS, TENANT},
};

/// The columns of the store's customers INSERT (`customer_statements`), in its order.
const INSERT_COLUMNS: &str = "tenant_id, id, create_time, kind, display_name, search_text, \
     owner_id, team_id, store_id, lifecycle_stage, grade, source_channel, referrer_id, province, \
     city, district, birth_date, custom, profile, possible_duplicates, merged_into, update_time, \
     delete_time, version";

/// The store's SELECT by id (`get_customer`).
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

/// The row values the store writes for a new customer, built here from the generated message
/// so the baseline depends only on the service's schema: the same normalized values in the
/// same columns, and the same profile document up to the order of its keys, so the same bytes
/// are stored and read back.
struct NewRow {
    id: String,
    kind: String,
    display_name: String,
    search_text: String,
    owner_id: String,
    team_id: String,
    store_id: String,
    lifecycle_stage: String,
    grade: String,
    source_channel: String,
    province: String,
    city: String,
    district: String,
    birth_date: String,
    profile: String,
    contacts: Vec<(&'static str, String)>,
    now: i64,
}

impl NewRow {
    /// The row of `maker`'s next customer, as CreateCustomer would store it.
    fn next(maker: &mut Maker) -> std::result::Result<NewRow, String> {
        Self::of(&maker.customer(false))
    }

    /// The row of `msg`. Covers what the generator sets; anything else is refused rather than
    /// silently left out of the document.
    fn of(msg: &pb::Customer) -> std::result::Result<NewRow, String> {
        let unsupported = [
            (!msg.referrer.is_empty(), "referrer"),
            (msg.traits.is_some(), "traits"),
            (!msg.needs.is_empty(), "needs"),
            (!msg.shared_team_ids.is_empty(), "shared_team_ids"),
            (msg.custom_fields.is_some(), "custom_fields"),
            (!msg.important_dates.is_empty(), "important_dates"),
            (msg.consent.is_some(), "consent"),
            (
                msg.demographics.as_ref().is_some_and(|d| {
                    d.income_band != 0 || d.education != 0 || d.marital_status != 0
                }),
                "income band, education or marital status",
            ),
            (!msg.tags.is_empty(), "tags (their rows are not inserted)"),
        ];
        if let Some((_, field)) = unsupported.iter().find(|(set, _)| *set) {
            return Err(format!("the raw baseline does not write {field}"));
        }
        let kind = enum_name(
            pb::CustomerKind::try_from(msg.kind).ok(),
            "CUSTOMER_KIND_",
            pb::CustomerKind::as_str_name,
        )
        .ok_or("generated customer has no kind")?;
        // An unspecified stage is stored as a prospect.
        let lifecycle_stage = enum_name(
            pb::LifecycleStage::try_from(msg.lifecycle_stage).ok(),
            "LIFECYCLE_STAGE_",
            pb::LifecycleStage::as_str_name,
        )
        .unwrap_or_else(|| "prospect".to_owned());

        let mut contacts = Vec::new();
        let mut phones = Vec::new();
        for p in &msg.phones {
            let number = e164(&p.number);
            contacts.push(("phone", number.clone()));
            let mut phone = Map::new();
            phone.insert("number".into(), number.into());
            if let Some(kind) = enum_name(
                pb::PhoneKind::try_from(p.kind).ok(),
                "PHONE_KIND_",
                pb::PhoneKind::as_str_name,
            ) {
                phone.insert("kind".into(), kind.into());
            }
            put_text(&mut phone, "label", &p.label);
            phones.push(Value::Object(phone));
        }
        let mut emails = Vec::new();
        for e in &msg.emails {
            // The stored address keeps its local part and lower-cases its domain; the
            // duplicate key folds the whole address.
            let address = match e.address.trim().split_once('@') {
                Some((local, domain)) => format!("{local}@{}", domain.to_lowercase()),
                None => return Err(format!("generated email {:?} has no @", e.address)),
            };
            contacts.push(("email", address.to_lowercase()));
            let mut email = Map::new();
            email.insert("address".into(), address.into());
            put_text(&mut email, "label", &e.label);
            emails.push(Value::Object(email));
        }
        let mut im_handles = Vec::new();
        for h in &msg.im_handles {
            let platform = enum_name(
                pb::ImPlatform::try_from(h.platform).ok(),
                "IM_PLATFORM_",
                pb::ImPlatform::as_str_name,
            )
            .ok_or("generated IM handle has no platform")?;
            let handle = h.handle.trim();
            contacts.push(("im", format!("{platform}:{}", handle.to_lowercase())));
            im_handles.push(json!({ "platform": platform, "handle": handle }));
        }
        let addresses: Vec<Value> = msg
            .addresses
            .iter()
            .map(|a| {
                let mut address = Map::new();
                put_text(&mut address, "label", &a.label);
                let country = match a.country_code.trim() {
                    "" => "CN".to_owned(),
                    code => code.to_ascii_uppercase(),
                };
                address.insert("country_code".into(), country.into());
                put_text(&mut address, "province", &a.province);
                put_text(&mut address, "city", &a.city);
                put_text(&mut address, "district", &a.district);
                put_text(&mut address, "street", &a.street);
                put_text(&mut address, "postal_code", &a.postal_code);
                Value::Object(address)
            })
            .collect();
        let mut demographics = Map::new();
        let mut birth_date = String::new();
        if let Some(d) = &msg.demographics {
            if let Some(gender) = enum_name(
                pb::Gender::try_from(d.gender).ok(),
                "GENDER_",
                pb::Gender::as_str_name,
            ) {
                demographics.insert("gender".into(), gender.into());
            }
            if let Some(date) = &d.birth_date {
                demographics.insert(
                    "birth_date".into(),
                    json!({ "year": date.year, "month": date.month, "day": date.day }),
                );
                birth_date = format!("{:04}-{:02}-{:02}", date.year, date.month, date.day);
            }
            put_text(&mut demographics, "occupation", &d.occupation);
            put_text(&mut demographics, "title", &d.title);
        }

        // The document keeps only what is set, as the service's does.
        let mut profile = Map::new();
        profile.insert("kind".into(), kind.clone().into());
        profile.insert("display_name".into(), msg.display_name.trim().into());
        put_text(&mut profile, "family_name", &msg.family_name);
        put_text(&mut profile, "given_name", &msg.given_name);
        put_text(&mut profile, "organization_name", &msg.organization_name);
        put_list(&mut profile, "phones", phones);
        put_list(&mut profile, "emails", emails);
        put_list(&mut profile, "im_handles", im_handles);
        put_list(&mut profile, "addresses", addresses);
        if !demographics.is_empty() {
            profile.insert("demographics".into(), Value::Object(demographics));
        }
        put_text(&mut profile, "source_channel", &msg.source_channel);
        put_text(&mut profile, "owner_id", &msg.owner_id);
        put_text(&mut profile, "team_id", &msg.team_id);
        put_text(&mut profile, "store_id", &msg.store_id);
        profile.insert("lifecycle_stage".into(), lifecycle_stage.clone().into());
        put_text(&mut profile, "grade", &msg.grade);

        let first = msg.addresses.first();
        let region = |field: fn(&pb::Address) -> &str| {
            first
                .map(|a| field(a).trim().to_owned())
                .unwrap_or_default()
        };
        Ok(NewRow {
            id: uuid::Uuid::now_v7().to_string(),
            kind,
            display_name: msg.display_name.trim().to_owned(),
            search_text: search_text(msg),
            owner_id: msg.owner_id.trim().to_owned(),
            team_id: msg.team_id.trim().to_owned(),
            store_id: msg.store_id.trim().to_owned(),
            lifecycle_stage,
            grade: msg.grade.trim().to_owned(),
            source_channel: msg.source_channel.trim().to_owned(),
            province: region(|a| &a.province),
            city: region(|a| &a.city),
            district: region(|a| &a.district),
            birth_date,
            profile: Value::Object(profile).to_string(),
            contacts,
            now: SystemClock.now(),
        })
    }
}

/// The stored name of a proto enum value: its name without the type's prefix, lower-cased
/// (`CUSTOMER_KIND_PERSON` is `person`); `None` when unspecified or unknown.
fn enum_name<E: Copy>(
    value: Option<E>,
    prefix: &str,
    name: fn(&E) -> &'static str,
) -> Option<String> {
    let name = name(&value?).strip_prefix(prefix)?;
    (name != "UNSPECIFIED").then(|| name.to_ascii_lowercase())
}

/// Sets `key` to the trimmed `value` unless it is empty.
fn put_text(map: &mut Map<String, Value>, key: &str, value: &str) {
    let value = value.trim();
    if !value.is_empty() {
        map.insert(key.into(), value.into());
    }
}

/// Sets `key` to `items` unless there are none.
fn put_list(map: &mut Map<String, Value>, key: &str, items: Vec<Value>) {
    if !items.is_empty() {
        map.insert(key.into(), Value::Array(items));
    }
}

/// A generated number in E.164. Every generated number is a Chinese mobile, written with or
/// without `+86` and with or without spaces, so its digits are all there is to keep.
fn e164(raw: &str) -> String {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    match raw.trim_start().strip_prefix('+') {
        Some(_) => format!("+{digits}"),
        None => format!("+86{digits}"),
    }
}

/// The names searched by name, as the store writes them: display, family, given, family and
/// given together, organization; trimmed, lower-cased, each once, joined by spaces.
fn search_text(msg: &pb::Customer) -> String {
    let joined = format!("{}{}", msg.family_name.trim(), msg.given_name.trim());
    let mut words: Vec<String> = Vec::new();
    for part in [
        msg.display_name.as_str(),
        &msg.family_name,
        &msg.given_name,
        &joined,
        &msg.organization_name,
    ] {
        let word = part.trim().to_lowercase();
        if !word.is_empty() && !words.contains(&word) {
            words.push(word);
        }
    }
    words.join(" ")
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
        // No referrer, custom fields or flagged duplicates are generated: the store writes
        // '', '{}' and '[]' for those.
        sqlx::query(&sql)
            .bind(TENANT)
            .bind(row.id.as_str())
            .bind(row.now)
            .bind(row.kind.as_str())
            .bind(row.display_name.as_str())
            .bind(row.search_text.as_str())
            .bind(row.owner_id.as_str())
            .bind(row.team_id.as_str())
            .bind(row.store_id.as_str())
            .bind(row.lifecycle_stage.as_str())
            .bind(row.grade.as_str())
            .bind(row.source_channel.as_str())
            .bind("")
            .bind(row.province.as_str())
            .bind(row.city.as_str())
            .bind(row.district.as_str())
            .bind(row.birth_date.as_str())
            .bind("{}")
            .bind(row.profile.as_str())
            .bind("[]")
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

#[cfg(test)]
mod tests {
    use rapport_proto::types;

    use super::*;

    fn sample() -> pb::Customer {
        pb::Customer {
            kind: pb::CustomerKind::Person.into(),
            display_name: "欧阳欣怡".into(),
            family_name: "欧阳".into(),
            given_name: "欣怡".into(),
            phones: vec![pb::Phone {
                number: "+86 13812345678".into(),
                kind: pb::PhoneKind::Mobile.into(),
                ..Default::default()
            }],
            emails: vec![pb::Email {
                address: "XinYi.OuYang@QQ.com".into(),
                label: "work".into(),
            }],
            im_handles: vec![pb::ImHandle {
                platform: pb::ImPlatform::Wechat.into(),
                handle: "wxid_AB12".into(),
            }],
            addresses: vec![pb::Address {
                label: "home".into(),
                country_code: "CN".into(),
                province: "广东省".into(),
                city: "深圳市".into(),
                district: "南山区".into(),
                street: "科技园路12号".into(),
                postal_code: "518000".into(),
            }],
            demographics: Some(pb::Demographics {
                gender: pb::Gender::Female.into(),
                birth_date: Some(types::Date {
                    year: 1990,
                    month: 3,
                    day: 8,
                }),
                ..Default::default()
            }),
            source_channel: "wechat".into(),
            owner_id: "rep-7".into(),
            team_id: "team-2".into(),
            lifecycle_stage: pb::LifecycleStage::Prospect.into(),
            grade: "VIP".into(),
            ..Default::default()
        }
    }

    // The document CreateCustomer stores for `sample()`, as the service writes it: the raw
    // INSERT must write the same keys and values, so the same bytes up to key order.
    const STORED: &str = r#"{"kind":"person","display_name":"欧阳欣怡","family_name":"欧阳","given_name":"欣怡","phones":[{"number":"+8613812345678","kind":"mobile"}],"emails":[{"address":"XinYi.OuYang@qq.com","label":"work"}],"im_handles":[{"platform":"wechat","handle":"wxid_AB12"}],"addresses":[{"label":"home","country_code":"CN","province":"广东省","city":"深圳市","district":"南山区","street":"科技园路12号","postal_code":"518000"}],"demographics":{"gender":"female","birth_date":{"year":1990,"month":3,"day":8}},"source_channel":"wechat","owner_id":"rep-7","team_id":"team-2","lifecycle_stage":"prospect","grade":"VIP"}"#;

    #[test]
    fn rows_hold_what_the_store_writes() {
        let row = NewRow::of(&sample()).unwrap();
        let stored: Value = serde_json::from_str(STORED).unwrap();
        let written: Value = serde_json::from_str(&row.profile).unwrap();
        assert_eq!(written, stored);
        assert_eq!(row.profile.len(), STORED.len());
        assert_eq!(row.kind, "person");
        assert_eq!(row.lifecycle_stage, "prospect");
        assert_eq!(row.search_text, "欧阳欣怡 欧阳 欣怡");
        assert_eq!(
            (
                row.province.as_str(),
                row.city.as_str(),
                row.district.as_str()
            ),
            ("广东省", "深圳市", "南山区")
        );
        assert_eq!(row.birth_date, "1990-03-08");
        assert_eq!(
            row.contacts,
            [
                ("phone", "+8613812345678".to_owned()),
                ("email", "xinyi.ouyang@qq.com".to_owned()),
                ("im", "wechat:wxid_ab12".to_owned()),
            ]
        );
    }

    #[test]
    fn every_generated_customer_makes_a_row() {
        let mut maker = crate::data::Generator::new().maker(1);
        for _ in 0..1000 {
            let row = NewRow::next(&mut maker).unwrap();
            let kinds: Vec<&str> = row.contacts.iter().map(|(kind, _)| *kind).collect();
            assert_eq!(kinds, ["phone", "email"]);
            assert!(row.contacts[0].1.starts_with("+861"), "{:?}", row.contacts);
        }
    }

    #[test]
    fn fields_the_baseline_does_not_write_are_refused() {
        let tagged = pb::Customer {
            tags: vec!["VIP".into()],
            ..sample()
        };
        assert!(NewRow::of(&tagged).is_err());
    }
}
