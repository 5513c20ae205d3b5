//! Needs and recommendations: what a caller sends, what the leads and customers services
//! say a lead or customer needs, and the answer.

use rapport_kit::{names, validate};
use rapport_proto::{customers as cpb, leads as lpb, orders as pb, types as pt};
use rapport_runtime::validation::Violations;

use super::catalog::product_to_proto;
use crate::domain::{
    catalog::CATEGORIES,
    charges::{format_area, parse_area},
    recommend::{Needs, Recommendation, words},
};

/// Kinds, rooms at most.
const MAX_ITEMS: usize = 20;

/// Needs as given, reported under `needs.`; the currency of the budget, if one was given.
pub fn parse_needs(n: &pb::ProductNeeds, v: &mut Violations) -> (Needs, Option<String>) {
    let categories = validate::capped(v, "needs.categories", &n.categories, MAX_ITEMS)
        .iter()
        .enumerate()
        .filter_map(|(i, c)| category_need(c, &format!("needs.categories[{i}]"), v))
        .collect();
    let rooms = validate::capped(v, "needs.rooms", &n.rooms, MAX_ITEMS)
        .iter()
        .map(|r| r.trim().to_lowercase())
        .filter(|r| !r.is_empty())
        .collect();
    let min = validate::money(v, "needs.budget_min", n.budget_min.as_ref());
    let max = validate::money(v, "needs.budget_max", n.budget_max.as_ref());
    if let (Some(a), Some(b)) = (&min, &max) {
        if a.currency_code != b.currency_code {
            v.add(
                "needs.budget_max.currency_code",
                "must be the currency of budget_min",
            );
        } else if a.minor_units > b.minor_units {
            v.add("needs.budget_max", "must not be below budget_min");
        }
    }
    let area = |text: &str, field: &str, v: &mut Violations| {
        (!text.trim().is_empty())
            .then(|| parse_area(text).map_err(|e| v.add(field, e)).ok())
            .flatten()
    };
    let keywords = validate::text(v, "needs.keywords", &n.keywords, 500);
    let currency = min
        .as_ref()
        .or(max.as_ref())
        .map(|m| m.currency_code.clone());
    let needs = Needs {
        categories,
        style: validate::text(v, "needs.style", &n.style, 64).to_lowercase(),
        rooms,
        budget_min: min.map(|m| m.minor_units),
        budget_max: max.map(|m| m.minor_units),
        min_area: area(&n.min_area_m2, "needs.min_area_m2", v),
        max_area: area(&n.max_area_m2, "needs.max_area_m2", v),
        keywords: words(&keywords),
    };
    (needs, currency)
}

/// A kind of product: a category's name (its id, as text) or words.
fn category_need(c: &str, field: &str, v: &mut Violations) -> Option<String> {
    let c = c.trim();
    if c.starts_with("categories/") {
        return names::parse_id(CATEGORIES, c)
            .map(|id| id.to_string())
            .map_err(|e| v.add(field, e))
            .ok();
    }
    (!c.is_empty()).then(|| c.to_lowercase())
}

/// What a customer of the customers service needs, as recommendations read it: each need's
/// category and products are kinds, its style, budget and `rooms` / `area_m2` attributes.
pub fn needs_of_customer(c: &cpb::Customer) -> pb::ProductNeeds {
    let mut n = pb::ProductNeeds::default();
    for need in &c.needs {
        n.categories.push(need.category.clone());
        n.categories.extend(need.products.iter().cloned());
        if n.style.is_empty() {
            n.style = need.style.clone();
        }
        if n.budget_min.is_none() {
            n.budget_min = need.budget_min.clone();
        }
        if n.budget_max.is_none() {
            n.budget_max = need.budget_max.clone();
        }
        if let Some(rooms) = need.attributes.get("rooms") {
            n.rooms
                .extend(rooms.split(',').map(|r| r.trim().to_owned()));
        }
        if let Some(area) = need.attributes.get("area_m2") {
            n.min_area_m2 = area.clone();
        }
        n.keywords = format!("{} {}", n.keywords, need.notes).trim().to_owned();
    }
    n.categories.truncate(MAX_ITEMS);
    n.rooms.truncate(MAX_ITEMS);
    n.keywords = n.keywords.chars().take(500).collect();
    n
}

/// What a lead of the leads service needs: its product lines are kinds, its description
/// words, its budget the upper end.
pub fn needs_of_lead(l: &lpb::Lead) -> pb::ProductNeeds {
    let needs = l.needs.clone().unwrap_or_default();
    pb::ProductNeeds {
        categories: needs.product_lines.into_iter().take(MAX_ITEMS).collect(),
        budget_max: needs.budget,
        keywords: needs.description.chars().take(500).collect(),
        ..Default::default()
    }
}

/// The needs as the answer repeats them.
pub fn needs_to_proto(n: &Needs, currency: &str) -> pb::ProductNeeds {
    let money = |m: Option<i64>| {
        m.map(|minor_units| pt::Money {
            currency_code: currency.to_owned(),
            minor_units,
        })
    };
    pb::ProductNeeds {
        categories: n.categories.clone(),
        style: n.style.clone(),
        rooms: n.rooms.clone(),
        budget_min: money(n.budget_min),
        budget_max: money(n.budget_max),
        min_area_m2: n.min_area.map(format_area).unwrap_or_default(),
        max_area_m2: n.max_area.map(format_area).unwrap_or_default(),
        keywords: n.keywords.join(" "),
    }
}

/// The answer for a recommendation.
pub fn recommendation_to_proto(r: &Recommendation<'_>, currency: &str) -> pb::Recommendation {
    pb::Recommendation {
        product: Some(product_to_proto(r.product)),
        sku: r.variant.sku.clone(),
        price: Some(pt::Money {
            currency_code: currency.to_owned(),
            minor_units: r.price,
        }),
        score: r.score,
        reasons: r.reasons.clone(),
    }
}
