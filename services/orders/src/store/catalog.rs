//! Categories, products and the SKU index of the catalog.

use rapport_kit::names;
use rapport_kit::query::{CursorValue, FieldSpec, ListQuery, OrderBy, Page, Select};
use rapport_runtime::{
    Error, Result,
    dialect::Dialect,
    storage::{BindValue, Tx, bind_all, one_by_id},
};
use sqlx::{AnyConnection, Row, any::AnyRow};
use uuid::Uuid;

use super::{from_json, to_json, uuid, value_rows};
use crate::domain::catalog::{CATEGORIES, Category, MAX_DEPTH, Product, ProductStatus, sku_key};

const CATEGORY_COLUMNS: &str =
    "id, display_name, parent_id, description, create_time, update_time, version";
const PRODUCT_COLUMNS: &str = "p.id, p.display_name, p.category_id, p.description, p.status, \
     p.attributes, p.variants, p.create_time, p.update_time, p.version";

/// What ListProducts filters on.
pub(crate) const PRODUCT_FILTERS: &[FieldSpec] = &[
    FieldSpec::search("display_name", "p.search_name"),
    FieldSpec::exists("category", "p.category_id = {}", Some(category_filter)),
    FieldSpec::enumeration("status", "p.status", &["ACTIVE", "DISCONTINUED"]),
    FieldSpec::timestamp("create_time", "p.create_time"),
    FieldSpec::timestamp("update_time", "p.update_time"),
    FieldSpec::exists(
        "sku",
        "EXISTS (SELECT 1 FROM product_skus s WHERE s.tenant_id = p.tenant_id \
         AND s.product_id = p.id AND s.sku_key = {})",
        Some(sku_filter),
    ),
    FieldSpec::json("attributes", "p.attributes"),
];

fn category_filter(v: &str) -> std::result::Result<String, String> {
    names::parse_id(CATEGORIES, v).map(|id| id.to_string())
}

fn sku_filter(v: &str) -> std::result::Result<String, String> {
    Ok(sku_key(v))
}

fn optional_uuid(text: &str) -> Result<Option<Uuid>> {
    if text.is_empty() {
        Ok(None)
    } else {
        uuid(text).map(Some)
    }
}

fn row_to_category(row: &AnyRow) -> Result<Category> {
    Ok(Category {
        id: uuid(&row.try_get::<String, _>("id")?)?,
        display_name: row.try_get("display_name")?,
        parent_id: optional_uuid(&row.try_get::<String, _>("parent_id")?)?,
        description: row.try_get("description")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
        version: row.try_get("version")?,
    })
}

/// Inserts a new category.
pub(crate) async fn insert_category(tx: &mut Tx, tenant: &str, c: &Category) -> Result<()> {
    sqlx::query(
        "INSERT INTO categories (tenant_id, id, display_name, parent_id, description, \
         create_time, update_time, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tenant)
    .bind(c.id.to_string())
    .bind(c.display_name.as_str())
    .bind(c.parent_id.map(|p| p.to_string()).unwrap_or_default())
    .bind(c.description.as_str())
    .bind(c.create_time)
    .bind(c.update_time)
    .bind(c.version)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A category by id, locked for the rest of the transaction when `lock` names the dialect.
pub(crate) async fn get_category(
    conn: &mut AnyConnection,
    tenant: &str,
    id: Uuid,
    lock: Option<Dialect>,
) -> Result<Option<Category>> {
    let select = format!("SELECT {CATEGORY_COLUMNS} FROM categories");
    one_by_id(conn, &select, "id", tenant, id, lock, row_to_category).await
}

/// The ancestors of `id`, nearest first, at most [`MAX_DEPTH`] + 1 of them (more means the
/// tree is too deep).
pub(crate) async fn ancestors(
    conn: &mut AnyConnection,
    tenant: &str,
    id: Uuid,
) -> Result<Vec<Uuid>> {
    let mut out = Vec::new();
    let mut at = id;
    while out.len() <= MAX_DEPTH {
        let parent: Option<String> =
            sqlx::query_scalar("SELECT parent_id FROM categories WHERE tenant_id = $1 AND id = $2")
                .bind(tenant)
                .bind(at.to_string())
                .fetch_optional(&mut *conn)
                .await?;
        match parent.as_deref().map(optional_uuid).transpose()?.flatten() {
            Some(p) => {
                out.push(p);
                at = p;
            }
            None => break,
        }
    }
    Ok(out)
}

/// Rewrites a category whose stored version is `expected`; `false` when it moved on.
pub(crate) async fn update_category(
    tx: &mut Tx,
    tenant: &str,
    c: &Category,
    expected: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE categories SET display_name = $3, parent_id = $4, description = $5, \
         update_time = $6, version = $7 WHERE tenant_id = $1 AND id = $2 AND version = $8",
    )
    .bind(tenant)
    .bind(c.id.to_string())
    .bind(c.display_name.as_str())
    .bind(c.parent_id.map(|p| p.to_string()).unwrap_or_default())
    .bind(c.description.as_str())
    .bind(c.update_time)
    .bind(c.version)
    .bind(expected)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Which categories a list is about.
pub(crate) enum Parent {
    /// Every category.
    Any,
    /// Only the top-level ones.
    Top,
    /// The children of one.
    Of(Uuid),
}

/// A page of categories by display name.
pub(crate) async fn list_categories(
    conn: &mut AnyConnection,
    tenant: &str,
    parent: &Parent,
    page: &Page,
) -> Result<Vec<Category>> {
    const BY_NAME: OrderBy = OrderBy::asc("display_name");
    let mut s = Select::new(
        format!("SELECT {CATEGORY_COLUMNS} FROM categories WHERE tenant_id = $1"),
        1,
    );
    match parent {
        Parent::Any => {}
        Parent::Top => {
            s.and("parent_id = ''");
        }
        Parent::Of(id) => {
            let n = s.bind(BindValue::Text(id.to_string()));
            s.and(&format!("parent_id = ${n}"));
        }
    }
    let (sql, binds) = s.fixed(page, &BY_NAME, "display_name", "id")?;
    let rows = bind_all(sqlx::query(&sql).bind(tenant), &binds)
        .fetch_all(conn)
        .await?;
    rows.iter().map(row_to_category).collect()
}

fn row_to_product(row: &AnyRow) -> Result<Product> {
    let status: String = row.try_get("status")?;
    Ok(Product {
        id: uuid(&row.try_get::<String, _>("id")?)?,
        display_name: row.try_get("display_name")?,
        category_id: uuid(&row.try_get::<String, _>("category_id")?)?,
        description: row.try_get("description")?,
        status: ProductStatus::parse(&status)
            .ok_or_else(|| Error::internal(format!("bad product status {status:?}")))?,
        attributes: from_json("products", &row.try_get::<String, _>("attributes")?)?,
        variants: from_json("products", &row.try_get::<String, _>("variants")?)?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
        version: row.try_get("version")?,
    })
}

/// The SKUs of `skus` another product than `except` already has, as stored.
pub(crate) async fn taken_skus(
    tx: &mut Tx,
    tenant: &str,
    skus: &[&str],
    except: Option<Uuid>,
) -> Result<Vec<String>> {
    let mut taken = Vec::new();
    for sku in skus {
        let owner: Option<String> = sqlx::query_scalar(
            "SELECT product_id FROM product_skus WHERE tenant_id = $1 AND sku_key = $2",
        )
        .bind(tenant)
        .bind(sku_key(sku))
        .fetch_optional(&mut **tx)
        .await?;
        if owner.is_some_and(|o| Some(o) != except.map(|e| e.to_string())) {
            taken.push((*sku).to_owned());
        }
    }
    Ok(taken)
}

/// Replaces the SKU index rows of `p` with its variants' SKUs.
async fn index_skus(tx: &mut Tx, tenant: &str, p: &Product) -> Result<()> {
    sqlx::query("DELETE FROM product_skus WHERE tenant_id = $1 AND product_id = $2")
        .bind(tenant)
        .bind(p.id.to_string())
        .execute(&mut **tx)
        .await?;
    let mut binds = Vec::new();
    for v in &p.variants {
        binds.push(BindValue::Text(sku_key(&v.sku)));
        binds.push(BindValue::Text(p.id.to_string()));
    }
    let sql = format!(
        "INSERT INTO product_skus (tenant_id, sku_key, product_id) VALUES {}",
        value_rows(2, p.variants.len(), 2)
    );
    bind_all(sqlx::query(&sql).bind(tenant), &binds)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Inserts a new product and its SKUs; the SKUs must be free (see [`taken_skus`]).
pub(crate) async fn insert_product(tx: &mut Tx, tenant: &str, p: &Product) -> Result<()> {
    sqlx::query(
        "INSERT INTO products (tenant_id, id, display_name, search_name, category_id, \
         description, status, attributes, variants, create_time, update_time, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(tenant)
    .bind(p.id.to_string())
    .bind(p.display_name.as_str())
    .bind(p.display_name.to_lowercase())
    .bind(p.category_id.to_string())
    .bind(p.description.as_str())
    .bind(p.status.as_str())
    .bind(to_json(&p.attributes)?)
    .bind(to_json(&p.variants)?)
    .bind(p.create_time)
    .bind(p.update_time)
    .bind(p.version)
    .execute(&mut **tx)
    .await?;
    index_skus(tx, tenant, p).await
}

/// Rewrites a product whose stored version is `expected`, and its SKUs; `false` when it
/// moved on.
pub(crate) async fn update_product(
    tx: &mut Tx,
    tenant: &str,
    p: &Product,
    expected: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE products SET display_name = $3, search_name = $4, category_id = $5, \
         description = $6, status = $7, attributes = $8, variants = $9, update_time = $10, \
         version = $11 WHERE tenant_id = $1 AND id = $2 AND version = $12",
    )
    .bind(tenant)
    .bind(p.id.to_string())
    .bind(p.display_name.as_str())
    .bind(p.display_name.to_lowercase())
    .bind(p.category_id.to_string())
    .bind(p.description.as_str())
    .bind(p.status.as_str())
    .bind(to_json(&p.attributes)?)
    .bind(to_json(&p.variants)?)
    .bind(p.update_time)
    .bind(p.version)
    .bind(expected)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    index_skus(tx, tenant, p).await?;
    Ok(true)
}

/// A product by id, locked for the rest of the transaction when `lock` names the dialect.
pub(crate) async fn get_product(
    conn: &mut AnyConnection,
    tenant: &str,
    id: Uuid,
    lock: Option<Dialect>,
) -> Result<Option<Product>> {
    let select = format!("SELECT {PRODUCT_COLUMNS} FROM products p");
    one_by_id(conn, &select, "p.id", tenant, id, lock, row_to_product).await
}

/// The products that have the SKUs `skus`, each once.
pub(crate) async fn products_by_sku(
    conn: &mut AnyConnection,
    tenant: &str,
    skus: &[&str],
) -> Result<Vec<Product>> {
    let mut keys: Vec<String> = skus.iter().map(|s| sku_key(s)).collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = (0..keys.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.tenant_id = $1 AND p.id IN \
         (SELECT s.product_id FROM product_skus s WHERE s.tenant_id = $1 AND s.sku_key IN ({}))",
        list.join(", ")
    );
    let binds: Vec<BindValue> = keys.into_iter().map(BindValue::Text).collect();
    let rows = bind_all(sqlx::query(&sql).bind(tenant), &binds)
        .fetch_all(conn)
        .await?;
    rows.iter().map(row_to_product).collect()
}

fn product_sort_column(field: &str) -> &'static str {
    match field {
        "create_time" => "p.create_time",
        "update_time" => "p.update_time",
        _ => "p.display_name",
    }
}

/// The cursor after `p` in `order`.
pub(crate) fn product_cursor(p: &Product, order: &OrderBy) -> Vec<CursorValue> {
    let key = match order.field {
        "create_time" => CursorValue::Int(p.create_time),
        "update_time" => CursorValue::Int(p.update_time),
        _ => CursorValue::Text(p.display_name.clone()),
    };
    vec![key, CursorValue::Text(p.id.to_string())]
}

/// A page of products.
pub(crate) async fn list_products(
    conn: &mut AnyConnection,
    tenant: &str,
    q: &ListQuery,
) -> Result<Vec<Product>> {
    let s = Select::filtered(
        format!("SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.tenant_id = $1"),
        1,
        q.filter.as_ref(),
    );
    let (sql, binds) = s.list(q, product_sort_column(q.order.field), "p.id")?;
    let rows = bind_all(sqlx::query(&sql).bind(tenant), &binds)
        .fetch_all(conn)
        .await?;
    rows.iter().map(row_to_product).collect()
}

/// Recommendations look at this many active products at most.
pub(crate) const MAX_CANDIDATES: u32 = 5_000;

/// The tenant's active products, up to [`MAX_CANDIDATES`], by name.
pub(crate) async fn active_products(
    conn: &mut AnyConnection,
    tenant: &str,
) -> Result<Vec<Product>> {
    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM products p WHERE p.tenant_id = $1 AND p.status = 'ACTIVE' \
         ORDER BY p.display_name, p.id LIMIT {MAX_CANDIDATES}"
    );
    let rows = sqlx::query(&sql).bind(tenant).fetch_all(conn).await?;
    rows.iter().map(row_to_product).collect()
}

/// The display name of each of the tenant's categories.
pub(crate) async fn category_names(
    conn: &mut AnyConnection,
    tenant: &str,
) -> Result<std::collections::HashMap<Uuid, String>> {
    let rows = sqlx::query("SELECT id, display_name FROM categories WHERE tenant_id = $1")
        .bind(tenant)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                uuid(&r.try_get::<String, _>("id")?)?,
                r.try_get("display_name")?,
            ))
        })
        .collect()
}
