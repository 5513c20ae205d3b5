//! Categories and products: parsing what a caller sends (create and masked update alike go
//! field by field) and building answers.

use std::collections::BTreeMap;

use rapport_kit::{
    mask::{Rules, Selected},
    names, validate,
};
use rapport_proto::{orders as pb, types as pt};
use rapport_runtime::{clock::to_timestamp, validation::Violations};
use serde_json::Value;
use uuid::Uuid;

use super::optional_id_in;
use crate::domain::catalog::{
    CATEGORIES, Category, MAX_ATTRIBUTE_VALUE, MAX_ATTRIBUTES, MAX_PRICE, MAX_VARIANTS, Price,
    Product, ProductStatus, Variant, is_attribute_key, is_sku, repeated_skus, text_of,
};

/// What UpdateCategory accepts.
pub const CATEGORY_MASK: Rules = Rules {
    updatable: &["display_name", "parent", "description"],
    immutable: &["name"],
    output_only: &["create_time", "update_time", "etag"],
    ..Rules::new("Category")
};

/// What UpdateProduct accepts.
pub const PRODUCT_MASK: Rules = Rules {
    updatable: &[
        "display_name",
        "category",
        "description",
        "status",
        "attributes",
        "variants",
    ],
    immutable: &["name"],
    output_only: &["create_time", "update_time", "etag"],
    keyed: &["attributes"],
    ..Rules::new("Product")
};

/// The fields of a category as given.
pub struct CategoryFields {
    pub display_name: String,
    pub parent_id: Option<Uuid>,
    pub description: String,
}

/// Reads the category fields `fields` names (all on create) into `into`.
pub fn apply_category(
    c: &pb::Category,
    fields: &[&str],
    into: &mut CategoryFields,
    v: &mut Violations,
) {
    for field in fields {
        match *field {
            "display_name" => {
                into.display_name = validate::required_text(v, "display_name", &c.display_name, 100)
            }
            "parent" => into.parent_id = optional_id_in(CATEGORIES, &c.parent, "parent", v),
            "description" => {
                into.description = validate::multiline_text(v, "description", &c.description, 2000)
            }
            _ => {}
        }
    }
}

/// The answer for a category.
pub fn category_to_proto(c: &Category) -> pb::Category {
    pb::Category {
        name: c.name(),
        display_name: c.display_name.clone(),
        parent: c
            .parent_id
            .map(|p| names::format_id(CATEGORIES, p))
            .unwrap_or_default(),
        description: c.description.clone(),
        create_time: Some(to_timestamp(c.create_time)),
        update_time: Some(to_timestamp(c.update_time)),
        etag: names::etag(c.id.as_bytes(), c.version),
    }
}

/// The fields of a product as given; `category_id` is none until given.
pub struct ProductFields {
    pub display_name: String,
    pub category_id: Option<Uuid>,
    pub description: String,
    pub status: ProductStatus,
    /// As given: text, typed by the tenant's definitions before the product is written.
    pub attributes: BTreeMap<String, Value>,
    pub variants: Vec<Variant>,
}

impl ProductFields {
    /// The fields of `p`, to update.
    pub fn of(p: &Product) -> Self {
        Self {
            display_name: p.display_name.clone(),
            category_id: Some(p.category_id),
            description: p.description.clone(),
            status: p.status,
            attributes: p.attributes.clone(),
            variants: p.variants.clone(),
        }
    }

    /// Empty fields, to create.
    pub fn empty() -> Self {
        Self {
            display_name: String::new(),
            category_id: None,
            description: String::new(),
            status: ProductStatus::Active,
            attributes: BTreeMap::new(),
            variants: Vec::new(),
        }
    }
}

/// Reads what `selected` names of `p` into `into`: whole fields, or single attributes by key
/// (an empty value removes one).
pub fn apply_product(
    p: &pb::Product,
    selected: &[Selected],
    into: &mut ProductFields,
    v: &mut Violations,
) {
    for s in selected {
        match s {
            Selected::Field("display_name") => {
                into.display_name = validate::required_text(v, "display_name", &p.display_name, 200)
            }
            Selected::Field("category") => {
                into.category_id = optional_id_in(CATEGORIES, &p.category, "category", v);
                if p.category.trim().is_empty() {
                    v.add("category", "is required: \"categories/{category}\"");
                }
            }
            Selected::Field("description") => {
                into.description = validate::multiline_text(v, "description", &p.description, 5000)
            }
            Selected::Field("status") => into.status = status(p.status, v),
            Selected::Field("attributes") => {
                into.attributes = as_values(attributes(&p.attributes, "attributes", v))
            }
            Selected::Key { key, .. } => {
                let field = format!("attributes.{key}");
                match p.attributes.get(key).map(|s| s.trim()) {
                    None | Some("") => {
                        into.attributes.remove(key);
                    }
                    Some(value) => {
                        let one = BTreeMap::from([(key.clone(), value.to_owned())]);
                        into.attributes
                            .extend(as_values(attributes(&one, &field, v)));
                    }
                }
                if into.attributes.len() > MAX_ATTRIBUTES {
                    v.add(
                        &field,
                        format!("a product has at most {MAX_ATTRIBUTES} attributes"),
                    );
                }
            }
            Selected::Field("variants") => into.variants = variants(&p.variants, v),
            _ => {}
        }
    }
}

fn status(raw: i32, v: &mut Violations) -> ProductStatus {
    match pb::ProductStatus::try_from(raw) {
        Ok(pb::ProductStatus::Unspecified | pb::ProductStatus::Active) => ProductStatus::Active,
        Ok(pb::ProductStatus::Discontinued) => ProductStatus::Discontinued,
        Err(_) => {
            v.add("status", format!("{raw} is not a ProductStatus"));
            ProductStatus::Active
        }
    }
}

fn as_values(text: BTreeMap<String, String>) -> BTreeMap<String, Value> {
    text.into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect()
}

fn attributes(
    given: &BTreeMap<String, String>,
    field: &str,
    v: &mut Violations,
) -> BTreeMap<String, String> {
    if given.len() > MAX_ATTRIBUTES {
        v.add(
            field,
            format!("at most {MAX_ATTRIBUTES} attributes, got {}", given.len()),
        );
    }
    let mut out = BTreeMap::new();
    for (k, value) in given {
        if !is_attribute_key(k) {
            v.add(
                field,
                format!("{k:?} is not an attribute key: 1..64 of a-z, 0-9 and _, from a letter"),
            );
            continue;
        }
        let value = validate::text(v, &format!("{field}.{k}"), value, MAX_ATTRIBUTE_VALUE);
        if !value.is_empty() {
            out.insert(k.clone(), value);
        }
    }
    out
}

fn prices(given: &[pt::Money], field: &str, v: &mut Violations) -> Vec<Price> {
    let mut out: Vec<Price> = Vec::new();
    for (i, m) in given.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let Some(m) = validate::money(v, &at, Some(m)) else {
            continue;
        };
        if m.minor_units > MAX_PRICE {
            v.add(
                format!("{at}.minor_units"),
                format!("must be at most {MAX_PRICE}"),
            );
        } else if out.iter().any(|p| p.currency == m.currency_code) {
            v.add(&at, format!("a second amount in {}", m.currency_code));
        } else {
            out.push(Price {
                currency: m.currency_code,
                minor_units: m.minor_units,
            });
        }
    }
    out
}

fn variants(given: &[pb::Variant], v: &mut Violations) -> Vec<Variant> {
    if given.is_empty() {
        v.add(
            "variants",
            "is required: at least one variant with a SKU and a list price",
        );
    }
    let given = validate::capped(v, "variants", given, MAX_VARIANTS);
    let mut out = Vec::with_capacity(given.len());
    for (i, g) in given.iter().enumerate() {
        let at = format!("variants[{i}]");
        let sku = g.sku.trim();
        if !is_sku(sku) {
            v.add(
                format!("{at}.sku"),
                "is required: 1..64 letters, digits, '-', '_' and '.'",
            );
        }
        let list_prices = prices(&g.list_prices, &format!("{at}.list_prices"), v);
        if g.list_prices.is_empty() {
            v.add(
                format!("{at}.list_prices"),
                "is required: at least one price",
            );
        }
        let costs = prices(&g.costs, &format!("{at}.costs"), v);
        out.push(Variant {
            sku: sku.to_owned(),
            display_name: validate::text(v, &format!("{at}.display_name"), &g.display_name, 200),
            attributes: attributes(&g.attributes, &format!("{at}.attributes"), v),
            list_prices,
            costs,
        });
    }
    for sku in repeated_skus(&out) {
        v.add("variants", format!("SKU {sku} is given twice"));
    }
    out
}

fn money(p: &Price) -> pt::Money {
    pt::Money {
        currency_code: p.currency.clone(),
        minor_units: p.minor_units,
    }
}

/// The answer for a product.
pub fn product_to_proto(p: &Product) -> pb::Product {
    pb::Product {
        name: p.name(),
        display_name: p.display_name.clone(),
        category: names::format_id(CATEGORIES, p.category_id),
        description: p.description.clone(),
        status: match p.status {
            ProductStatus::Active => pb::ProductStatus::Active,
            ProductStatus::Discontinued => pb::ProductStatus::Discontinued,
        }
        .into(),
        attributes: p
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), text_of(v)))
            .collect(),
        variants: p
            .variants
            .iter()
            .map(|v| pb::Variant {
                sku: v.sku.clone(),
                display_name: v.display_name.clone(),
                attributes: v.attributes.clone(),
                list_prices: v.list_prices.iter().map(money).collect(),
                costs: v.costs.iter().map(money).collect(),
            })
            .collect(),
        create_time: Some(to_timestamp(p.create_time)),
        update_time: Some(to_timestamp(p.update_time)),
        etag: names::etag(p.id.as_bytes(), p.version),
    }
}
