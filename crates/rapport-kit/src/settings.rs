//! A tenant's settings: one JSON document per tenant in a service's settings table
//! (`tenant_id`, the document, `update_time`, `version`), defaults until the tenant saves any.
//! Reads go through the cache (every create reads them); a change is an optimistic write:
//! it applies only over the version it was made from, bumps the version, drops the cached copy
//! when it commits and emits `settings.updated`, so every replica and every consumer learns of
//! it. A change that loses a race is ABORTED and changes nothing.

use prost::{Message, Name};
use rapport_runtime::{
    Error, Result,
    auth::Principal,
    cache,
    clock::Micros,
    context::ServiceContext,
    validation::Violations,
    write::{EventSource, Write},
};
use serde::{Serialize, de::DeserializeOwned};
use sqlx::{AnyConnection, Row};

/// A service's settings document.
pub trait Document:
    Serialize + DeserializeOwned + Default + Clone + PartialEq + Send + Sync + 'static
{
    /// The table: `tenant_id` (primary key), [`Document::COLUMN`], `update_time`, `version`.
    const TABLE: &'static str;
    /// The column holding the JSON document.
    const COLUMN: &'static str;
    /// The stored version; 0 while never saved.
    fn version(&self) -> i64;
    /// Sets the time and version the table keeps beside the document.
    fn stamp(&mut self, update_time: Micros, version: i64);
    /// What is wrong with the document as a whole, by field (ranges, rules that contradict
    /// each other); checked on every change. None by default.
    fn problems(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// Checks the settings resource name a request gives in `field`: `name` or empty.
pub fn check_name(given: &str, name: &str, field: &str, v: &mut Violations) {
    if given != name && !given.is_empty() {
        v.add(field, format!("must be \"{name}\""));
    }
}

/// The settings resource a Get…Settings request names in `name`, checked: `resource` or empty.
pub fn parse_get(given: &str, resource: &str) -> Result<()> {
    let mut v = Violations::new();
    check_name(given, resource, "name", &mut v);
    Ok(v.finish(())?)
}

/// An Update…Settings request's parts, checked together: the fields its `mask` selects under
/// `rules`, and the settings it gives (required; its `name`, read by `name_of`, must be
/// `resource` or empty). Every bad field is reported at once.
pub fn parse_update<S>(
    rules: &crate::mask::Rules,
    mask: Option<prost_types::FieldMask>,
    settings: Option<S>,
    resource: &str,
    name_of: impl FnOnce(&S) -> &str,
) -> Result<(Vec<&'static str>, S)> {
    let mut v = Violations::new();
    let selected = crate::mask::select(rules, &crate::mask::paths(mask), &mut v);
    let fields = crate::mask::fields(rules, &selected);
    match settings {
        Some(given) => {
            check_name(name_of(&given), resource, "settings.name", &mut v);
            v.finish(())?;
            Ok((fields, given))
        }
        None => {
            v.add("settings", "is required");
            v.finish(())?;
            Err(Error::invalid("settings", "is required"))
        }
    }
}

/// A caller's change of the tenant's settings, read in `w`: the current document and the next
/// one, `apply` having read the caller's fields over it, with the next one's
/// [`Document::problems`] added to `v`. `v` is left open for the checks a service makes in the
/// database; finish it, then [`save_changed`].
pub async fn change<D: Document>(
    w: &mut Write,
    v: &mut Violations,
    apply: impl FnOnce(&mut D, &mut Violations),
) -> Result<(D, D)> {
    let tenant = w.tenant().to_owned();
    let current: D = read(w.tx(), &tenant).await?;
    let mut next = current.clone();
    apply(&mut next, v);
    for (field, what) in next.problems() {
        v.add(field, what);
    }
    Ok((current, next))
}

/// The tenant's settings as stored; the defaults when it never saved any.
pub async fn read<D: Document>(conn: &mut AnyConnection, tenant: &str) -> Result<D> {
    let sql = format!(
        "SELECT {}, update_time, version FROM {} WHERE tenant_id = $1",
        D::COLUMN,
        D::TABLE
    );
    let Some(row) = sqlx::query(&sql).bind(tenant).fetch_optional(conn).await? else {
        return Ok(D::default());
    };
    let mut doc = parse::<D>(&row.try_get::<String, _>(0)?)?;
    doc.stamp(row.try_get(1)?, row.try_get(2)?);
    Ok(doc)
}

/// The document of a stored row's JSON.
pub fn parse<D: Document>(json: &str) -> Result<D> {
    serde_json::from_str(json).map_err(|e| {
        Error::internal(format!(
            "the settings stored in {} do not read: {e}",
            D::TABLE
        ))
    })
}

/// The tenant's settings through the service's cache.
pub async fn cached<D: Document>(
    ctx: &ServiceContext,
    source: EventSource,
    tenant: &str,
) -> Result<D> {
    let load = async {
        let mut conn = ctx.db.pool().acquire().await?;
        read::<D>(&mut conn, tenant).await
    };
    ctx.cache
        .read_through_near(
            &cache::settings_key(source.stream, tenant),
            cache::SETTINGS_TTL,
            load,
        )
        .await
}

/// A caller's change of the tenant's settings, in one write of `state`, when nothing beyond
/// the document's own [`Document::problems`] needs checking: [`change`] with `apply`, then
/// [`save_changed`] under the settings resource `name` and `etag`.
pub async fn update<D: Document, M: Message + Name + Default>(
    state: &crate::service::State,
    p: &Principal,
    (name, etag): (&str, &str),
    apply: impl FnOnce(&mut D, &mut Violations),
    payload: impl FnOnce(&D) -> M,
) -> Result<M> {
    let mut w = state.write(p).await?;
    let mut v = Violations::new();
    let (current, next) = change::<D>(&mut w, &mut v, apply).await?;
    v.finish(())?;
    save_changed(w, state.events, name, etag, &current, next, payload).await
}

/// As [`save`] after a caller's update: refuses a stale `etag` (ABORTED), and answers a
/// change that changes nothing with `current`, writing nothing.
pub async fn save_changed<D: Document, M: Message + Name + Default>(
    w: Write,
    source: EventSource,
    name: &str,
    etag: &str,
    current: &D,
    mut next: D,
    payload: impl FnOnce(&D) -> M,
) -> Result<M> {
    crate::names::check_etag(etag, &crate::names::etag(name, current.version()), name)?;
    if next == *current {
        return Ok(payload(current));
    }
    save(w, source, name, current, &mut next, payload).await
}

/// Replaces `current` (read in `w`), the settings resource `name`, with `next`, and commits `w`:
/// stamps `next` with the write's time and the
/// next version, stores it only if the stored version is still `current`'s, drops the cached
/// copy at the commit and emits `settings.updated` with `payload(&next)`, which is also the
/// answer stored under the write's request id. ABORTED when a concurrent change won.
pub async fn save<D: Document, M: Message + Name + Default>(
    mut w: Write,
    source: EventSource,
    name: &str,
    current: &D,
    next: &mut D,
    payload: impl FnOnce(&D) -> M,
) -> Result<M> {
    let now = w.now();
    next.stamp(now, current.version() + 1);
    let doc = serde_json::to_string(&*next).map_err(Error::internal)?;
    let tenant = w.tenant().to_owned();
    // The first save inserts; a later one replaces the version it was made from.
    let sql = if current.version() == 0 {
        format!(
            "INSERT INTO {} (tenant_id, {}, update_time, version) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
            D::TABLE,
            D::COLUMN
        )
    } else {
        format!(
            "UPDATE {} SET {} = $2, update_time = $3, version = $4 \
             WHERE tenant_id = $1 AND version = $5",
            D::TABLE,
            D::COLUMN
        )
    };
    let mut query = sqlx::query(&sql)
        .bind(&tenant)
        .bind(doc)
        .bind(now)
        .bind(next.version());
    if current.version() != 0 {
        query = query.bind(current.version());
    }
    let done = query.execute(&mut **w.tx()).await?;
    if done.rows_affected() != 1 {
        return Err(Error::stale_etag(name));
    }
    w.invalidate(cache::settings_key(source.stream, &tenant));
    let out = payload(next);
    w.emit("settings.updated", name.to_owned(), &out);
    w.commit(out).await
}
