//! The catalog (OR1): a tree of categories, products and their variants with prices per
//! currency and costs.

use std::collections::BTreeMap;

use rapport_kit::names;
use rapport_runtime::clock::Micros;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// The collection of categories.
pub const CATEGORIES: &str = "categories";
/// The collection of products.
pub const PRODUCTS: &str = "products";
/// The attribute that gives a product's area in square metres (homes), which charge rules
/// may depend on.
pub const AREA: &str = "area_m2";
/// How deep the category tree goes.
pub const MAX_DEPTH: usize = 10;
/// Attributes of a product or variant, at most.
pub const MAX_ATTRIBUTES: usize = 50;
/// Characters of an attribute value, at most.
pub const MAX_ATTRIBUTE_VALUE: usize = 500;
/// Variants of a product, at most.
pub const MAX_VARIANTS: usize = 200;
/// A list price or cost, at most: a line's amount (× 10,000 units × 200 lines) stays far
/// inside 64 bits.
pub const MAX_PRICE: i64 = 1_000_000_000_000;

/// A node of the category tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub id: Uuid,
    pub display_name: String,
    /// None at the top of the tree.
    pub parent_id: Option<Uuid>,
    pub description: String,
    pub create_time: Micros,
    pub update_time: Micros,
    pub version: i64,
}

impl Category {
    /// "categories/{id}".
    pub fn name(&self) -> String {
        category_name(self.id)
    }
}

/// "categories/{id}".
pub fn category_name(id: Uuid) -> String {
    names::format_id(CATEGORIES, id)
}

/// "products/{id}".
pub fn product_name(id: Uuid) -> String {
    names::format_id(PRODUCTS, id)
}

/// Whether moving `category` under `new_parent` closes a loop: `ancestors` are the new
/// parent's ancestors, nearest first.
pub fn makes_cycle(category: Uuid, new_parent: Uuid, ancestors: &[Uuid]) -> bool {
    new_parent == category || ancestors.contains(&category)
}

/// Whether a product is on sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProductStatus {
    Active,
    Discontinued,
}

impl ProductStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            ProductStatus::Active => "ACTIVE",
            ProductStatus::Discontinued => "DISCONTINUED",
        }
    }

    /// The status of its stored form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ACTIVE" => Some(ProductStatus::Active),
            "DISCONTINUED" => Some(ProductStatus::Discontinued),
            _ => None,
        }
    }
}

/// An amount in one currency, as the catalog keeps prices and costs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    pub currency: String,
    pub minor_units: i64,
}

/// A sellable variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    pub sku: String,
    pub display_name: String,
    pub attributes: BTreeMap<String, String>,
    pub list_prices: Vec<Price>,
    pub costs: Vec<Price>,
}

impl Variant {
    /// The list price in `currency`, if the variant has one.
    pub fn price_in(&self, currency: &str) -> Option<i64> {
        amount_in(&self.list_prices, currency)
    }

    /// The unit cost in `currency`; zero when unknown.
    pub fn cost_in(&self, currency: &str) -> i64 {
        amount_in(&self.costs, currency).unwrap_or(0)
    }
}

fn amount_in(prices: &[Price], currency: &str) -> Option<i64> {
    prices
        .iter()
        .find(|p| p.currency == currency)
        .map(|p| p.minor_units)
}

/// A product of the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub id: Uuid,
    pub display_name: String,
    pub category_id: Uuid,
    pub description: String,
    pub status: ProductStatus,
    /// Typed by the tenant's attribute definitions (numbers for NUMBER, …), text otherwise.
    pub attributes: BTreeMap<String, Value>,
    pub variants: Vec<Variant>,
    pub create_time: Micros,
    pub update_time: Micros,
    pub version: i64,
}

impl Product {
    /// "products/{id}".
    pub fn name(&self) -> String {
        product_name(self.id)
    }

    /// The variant with `sku` (compared without regard to case).
    pub fn variant(&self, sku: &str) -> Option<&Variant> {
        self.variants
            .iter()
            .find(|v| v.sku.eq_ignore_ascii_case(sku))
    }

    /// The area of `variant` (its `area_m2` attribute, or the product's), in thousandths of a
    /// square metre; none when it has none that reads as one.
    pub fn area_of(&self, variant: &Variant) -> Option<i64> {
        let text = match variant.attributes.get(AREA) {
            Some(a) => a.clone(),
            None => self.attributes.get(AREA).map(text_of)?,
        };
        super::charges::parse_area(&text).ok()
    }

    /// The product's and the variant's names, as an order line shows them.
    pub fn line_name(&self, variant: &Variant) -> String {
        if variant.display_name.is_empty() {
            self.display_name.clone()
        } else {
            format!("{} ({})", self.display_name, variant.display_name)
        }
    }
}

/// An attribute's value as text: what the API shows and what matching reads.
pub fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The key under which a SKU is unique: SKUs compare without regard to case.
pub fn sku_key(sku: &str) -> String {
    sku.to_ascii_lowercase()
}

/// Whether `sku` is 1..64 characters of letters, digits, '-', '_' and '.'.
pub fn is_sku(sku: &str) -> bool {
    (1..=64).contains(&sku.len())
        && sku
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Whether `key` is 1..64 characters of a-z, 0-9 and '_', starting with a letter.
pub fn is_attribute_key(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && key.as_bytes()[0].is_ascii_lowercase()
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The SKUs used twice within `variants` (compared without regard to case), each once.
pub fn repeated_skus(variants: &[Variant]) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut repeated = std::collections::BTreeSet::new();
    for v in variants {
        let key = sku_key(&v.sku);
        if !seen.insert(key.clone()) {
            repeated.insert(key);
        }
    }
    repeated.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(sku: &str) -> Variant {
        Variant {
            sku: sku.into(),
            display_name: String::new(),
            attributes: BTreeMap::new(),
            list_prices: vec![Price {
                currency: "CNY".into(),
                minor_units: 100,
            }],
            costs: Vec::new(),
        }
    }

    #[test]
    fn skus_and_attribute_keys() {
        assert!(is_sku("SOFA-240.grey_2"));
        assert!(!is_sku(""));
        assert!(!is_sku("sofa 240"));
        assert!(!is_sku(&"x".repeat(65)));
        assert!(is_attribute_key("room"));
        assert!(is_attribute_key("area_m2"));
        assert!(!is_attribute_key("Room"));
        assert!(!is_attribute_key("2nd"));
        assert!(!is_attribute_key(""));
    }

    #[test]
    fn a_sku_repeats_whatever_its_case() {
        let vs = [variant("A-1"), variant("a-1"), variant("B")];
        assert_eq!(repeated_skus(&vs), ["a-1"]);
        assert!(repeated_skus(&vs[1..]).is_empty());
    }

    #[test]
    fn prices_by_currency_and_unknown_cost_is_zero() {
        let v = variant("A");
        assert_eq!(v.price_in("CNY"), Some(100));
        assert_eq!(v.price_in("USD"), None);
        assert_eq!(v.cost_in("CNY"), 0);
    }

    #[test]
    fn a_category_never_sits_under_itself_or_a_descendant() {
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        assert!(makes_cycle(a, a, &[]));
        // b's ancestors are [a]: moving a under b loops.
        assert!(makes_cycle(a, b, &[a]));
        assert!(!makes_cycle(c, b, &[a]));
    }
}
