//! The catalog's use cases: categories in a tree, products whose SKUs are unique in the
//! tenant, and the snapshot an order line takes of a SKU.

use std::collections::{BTreeMap, HashMap};

use rapport_kit::{fields, names, query::ListQuery, query::Page};
use rapport_proto::orders as pb;
use rapport_runtime::{
    Error, Result, auth::Principal, storage::Idempotency, validation::Violations, write::Write,
};
use uuid::Uuid;

use super::{App, EVENTS};
use crate::{
    convert::{
        catalog::{CategoryFields, ProductFields, category_to_proto, product_to_proto},
        recommend::recommendation_to_proto,
    },
    domain::catalog::{
        Category, MAX_DEPTH, Product, ProductStatus, category_name, makes_cycle, product_name,
        sku_key,
    },
    domain::{order::Snapshot, recommend::Needs},
    store::catalog::{self as store, Parent},
};

fn emit_category(w: &mut Write, kind: &str, c: &Category) -> pb::Category {
    let out = category_to_proto(c);
    w.emit(
        kind,
        c.name(),
        &pb::CategoryChanged {
            category: Some(out.clone()),
        },
    );
    out
}

fn emit_product(w: &mut Write, kind: &str, p: &Product) -> pb::Product {
    let out = product_to_proto(p);
    w.emit(
        kind,
        p.name(),
        &pb::ProductChanged {
            product: Some(out.clone()),
        },
    );
    out
}

/// INVALID_ARGUMENT unless `parent` exists and `category` may sit under it.
async fn check_parent(
    w: &mut Write,
    tenant: &str,
    category: Uuid,
    parent: Option<Uuid>,
) -> Result<()> {
    let Some(parent) = parent else {
        return Ok(());
    };
    if store::get_category(w.tx(), tenant, parent, None)
        .await?
        .is_none()
    {
        return Err(Error::invalid(
            "category.parent",
            format!("{} does not exist", category_name(parent)),
        ));
    }
    let ancestors = store::ancestors(w.tx(), tenant, parent).await?;
    if makes_cycle(category, parent, &ancestors) {
        return Err(Error::invalid(
            "category.parent",
            format!(
                "{} is {} or sits under it",
                category_name(parent),
                category_name(category)
            ),
        ));
    }
    if ancestors.len() + 1 >= MAX_DEPTH {
        return Err(Error::invalid(
            "category.parent",
            format!("the category tree is at most {MAX_DEPTH} levels deep"),
        ));
    }
    Ok(())
}

/// Creates a category.
pub async fn create_category(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    given: CategoryFields,
) -> Result<pb::Category> {
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let now = w.now();
    let c = Category {
        id: Uuid::now_v7(),
        display_name: given.display_name,
        parent_id: given.parent_id,
        description: given.description,
        create_time: now,
        update_time: now,
        version: 1,
    };
    check_parent(&mut w, &p.tenant_id, c.id, c.parent_id).await?;
    store::insert_category(w.tx(), &p.tenant_id, &c).await?;
    let out = emit_category(&mut w, "category.created", &c);
    w.commit(out).await
}

/// A category of the tenant; NOT_FOUND otherwise.
pub async fn get_category(app: &App, p: &Principal, id: Uuid) -> Result<Category> {
    let mut conn = app.db().pool().acquire().await?;
    store::get_category(&mut conn, &p.tenant_id, id, None)
        .await?
        .ok_or_else(|| Error::not_found(category_name(id)))
}

/// A page of categories.
pub async fn list_categories(
    app: &App,
    p: &Principal,
    parent: &Parent,
    page: &Page,
) -> Result<(Vec<Category>, String)> {
    let mut conn = app.db().pool().acquire().await?;
    let mut rows = store::list_categories(&mut conn, &p.tenant_id, parent, page).await?;
    let next = page.next_token(&mut rows, |c| {
        vec![
            rapport_kit::query::CursorValue::Text(c.display_name.clone()),
            rapport_kit::query::CursorValue::Text(c.id.to_string()),
        ]
    });
    Ok((rows, next))
}

/// Changes a category: `apply` reads the caller's fields over the current ones.
pub async fn update_category(
    app: &App,
    p: &Principal,
    id: Uuid,
    etag: &str,
    apply: impl FnOnce(&mut CategoryFields, &mut Violations),
) -> Result<pb::Category> {
    let mut w = app.write(p).await?;
    let dialect = app.db().dialect();
    let current = store::get_category(w.tx(), &p.tenant_id, id, Some(dialect))
        .await?
        .ok_or_else(|| Error::not_found(category_name(id)))?;
    names::check_etag(
        etag,
        &names::etag(id.as_bytes(), current.version),
        &current.name(),
    )?;
    let mut fields = CategoryFields {
        display_name: current.display_name.clone(),
        parent_id: current.parent_id,
        description: current.description.clone(),
    };
    let mut v = Violations::with_prefix("category");
    apply(&mut fields, &mut v);
    v.finish(())?;
    if fields.parent_id != current.parent_id {
        check_parent(&mut w, &p.tenant_id, id, fields.parent_id).await?;
    }
    let next = Category {
        display_name: fields.display_name,
        parent_id: fields.parent_id,
        description: fields.description,
        update_time: w.now(),
        version: current.version + 1,
        ..current.clone()
    };
    if next == current {
        return Ok(category_to_proto(&current));
    }
    if !store::update_category(w.tx(), &p.tenant_id, &next, current.version).await? {
        return Err(Error::stale_etag(&next.name()));
    }
    let out = emit_category(&mut w, "category.updated", &next);
    w.commit(out).await
}

/// Types `attributes` by the tenant's definitions (numbers as numbers, …), reporting values
/// that do not have their type and required attributes that are missing.
fn type_attributes(
    defs: &[rapport_kit::fields::CustomFieldDef],
    attributes: &BTreeMap<String, serde_json::Value>,
    v: &mut Violations,
) -> BTreeMap<String, serde_json::Value> {
    let given: serde_json::Map<String, serde_json::Value> = attributes
        .iter()
        .map(|(k, value)| {
            let typed = match (defs.iter().find(|d| &d.key == k), value) {
                (Some(def), serde_json::Value::String(text)) => fields::from_text(def, text),
                _ => value.clone(),
            };
            (k.clone(), typed)
        })
        .collect();
    fields::check_values(defs, &given, ("attributes", true), v)
}

/// INVALID_ARGUMENT unless the product's category exists and its SKUs are free.
async fn check_product(
    w: &mut Write,
    tenant: &str,
    p: &Product,
    except: Option<Uuid>,
) -> Result<()> {
    let mut v = Violations::with_prefix("product");
    if store::get_category(w.tx(), tenant, p.category_id, None)
        .await?
        .is_none()
    {
        v.add(
            "category",
            format!("{} does not exist", category_name(p.category_id)),
        );
    }
    let skus: Vec<&str> = p.variants.iter().map(|v| v.sku.as_str()).collect();
    for sku in store::taken_skus(w.tx(), tenant, &skus, except).await? {
        v.add("variants", format!("SKU {sku} belongs to another product"));
    }
    Ok(v.finish(())?)
}

/// Creates a product.
pub async fn create_product(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    given: ProductFields,
) -> Result<pb::Product> {
    let defs = app.settings(&p.tenant_id).await?.attribute_definitions;
    let mut v = Violations::with_prefix("product");
    let attributes = type_attributes(&defs, &given.attributes, &mut v);
    v.finish(())?;
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let now = w.now();
    let product = Product {
        id: Uuid::now_v7(),
        display_name: given.display_name,
        category_id: given.category_id.unwrap_or_default(),
        description: given.description,
        status: given.status,
        attributes,
        variants: given.variants,
        create_time: now,
        update_time: now,
        version: 1,
    };
    check_product(&mut w, &p.tenant_id, &product, None).await?;
    store::insert_product(w.tx(), &p.tenant_id, &product).await?;
    let out = emit_product(&mut w, "product.created", &product);
    w.commit(out).await
}

/// A product of the tenant; NOT_FOUND otherwise.
pub async fn get_product(app: &App, p: &Principal, id: Uuid) -> Result<Product> {
    let mut conn = app.db().pool().acquire().await?;
    store::get_product(&mut conn, &p.tenant_id, id, None)
        .await?
        .ok_or_else(|| Error::not_found(product_name(id)))
}

/// A page of products.
pub async fn list_products(
    app: &App,
    p: &Principal,
    q: &ListQuery,
) -> Result<(Vec<Product>, String)> {
    let mut conn = app.db().pool().acquire().await?;
    let mut rows = store::list_products(&mut conn, &p.tenant_id, q).await?;
    let next = q.next_token(&mut rows, |r| store::product_cursor(r, &q.order));
    Ok((rows, next))
}

/// Changes a product: `apply` reads the caller's fields over the current ones.
pub async fn update_product(
    app: &App,
    p: &Principal,
    id: Uuid,
    etag: &str,
    apply: impl FnOnce(&mut ProductFields, &mut Violations),
) -> Result<pb::Product> {
    let mut w = app.write(p).await?;
    let dialect = app.db().dialect();
    let current = store::get_product(w.tx(), &p.tenant_id, id, Some(dialect))
        .await?
        .ok_or_else(|| Error::not_found(product_name(id)))?;
    names::check_etag(
        etag,
        &names::etag(id.as_bytes(), current.version),
        &current.name(),
    )?;
    let mut fields = ProductFields::of(&current);
    let mut v = Violations::with_prefix("product");
    apply(&mut fields, &mut v);
    let defs = app.settings(&p.tenant_id).await?.attribute_definitions;
    let attributes = type_attributes(&defs, &fields.attributes, &mut v);
    v.finish(())?;
    let next = Product {
        display_name: fields.display_name,
        category_id: fields.category_id.unwrap_or(current.category_id),
        description: fields.description,
        status: fields.status,
        attributes,
        variants: fields.variants,
        update_time: w.now(),
        version: current.version + 1,
        ..current.clone()
    };
    let unchanged = Product {
        update_time: current.update_time,
        version: current.version,
        ..next.clone()
    } == current;
    if unchanged {
        return Ok(product_to_proto(&current));
    }
    check_product(&mut w, &p.tenant_id, &next, Some(id)).await?;
    if !store::update_product(w.tx(), &p.tenant_id, &next, current.version).await? {
        return Err(Error::stale_etag(&next.name()));
    }
    let out = emit_product(&mut w, "product.updated", &next);
    w.commit(out).await
}

/// Why a SKU cannot be sold in an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsellable {
    Unknown,
    Discontinued,
    NoPrice,
}

/// What the catalog says of each of `skus` in `currency`, by SKU key: the line's snapshot, or
/// why the SKU cannot be sold.
pub async fn snapshots(
    app: &App,
    tenant: &str,
    skus: &[&str],
    currency: &str,
) -> Result<HashMap<String, std::result::Result<Snapshot, Unsellable>>> {
    let mut conn = app.db().pool().acquire().await?;
    let products = store::products_by_sku(&mut conn, tenant, skus).await?;
    let mut out = HashMap::new();
    for sku in skus {
        let found = products.iter().find_map(|p| p.variant(sku).map(|v| (p, v)));
        let answer = match found {
            None => Err(Unsellable::Unknown),
            Some((p, _)) if p.status == ProductStatus::Discontinued => {
                Err(Unsellable::Discontinued)
            }
            Some((p, v)) => match v.price_in(currency) {
                None => Err(Unsellable::NoPrice),
                Some(price) => Ok(Snapshot {
                    product_id: p.id,
                    product_name: p.line_name(v),
                    category_id: p.category_id,
                    unit_price: price,
                    unit_cost: v.cost_in(currency),
                    area_milli: p.area_of(v),
                }),
            },
        };
        out.insert(sku_key(sku), answer);
    }
    Ok(out)
}

/// Products recommended for `needs` in `currency`, at most `limit`, best first (LE11).
pub async fn recommend(
    app: &App,
    p: &Principal,
    needs: &Needs,
    currency: &str,
    limit: usize,
) -> Result<Vec<pb::Recommendation>> {
    let mut conn = app.db().pool().acquire().await?;
    let products = store::active_products(&mut conn, &p.tenant_id).await?;
    let categories = store::category_names(&mut conn, &p.tenant_id).await?;
    let found = crate::domain::recommend::recommend(
        needs,
        &products,
        |p| categories.get(&p.category_id).cloned().unwrap_or_default(),
        currency,
        limit,
    );
    Ok(found
        .iter()
        .map(|r| recommendation_to_proto(r, currency))
        .collect())
}
