//! Product recommendations for needs (LE11): each active product's best-fitting variant is
//! scored on what the needs say (kind of product, style, rooms, budget, area, words), and
//! every point of the score comes with its reason. A variant dearer than the budget's upper
//! end is never recommended.

use super::catalog::{Product, ProductStatus, Variant};

/// What someone is looking for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Lower-cased words or category ids (as text) naming kinds of product.
    pub categories: Vec<String>,
    pub style: String,
    pub rooms: Vec<String>,
    pub budget_min: Option<i64>,
    pub budget_max: Option<i64>,
    /// Thousandths of a square metre.
    pub min_area: Option<i64>,
    pub max_area: Option<i64>,
    /// Lower-cased words of at least two characters.
    pub keywords: Vec<String>,
}

/// A product recommended, with the variant that fits best.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation<'a> {
    pub product: &'a Product,
    pub variant: &'a Variant,
    pub price: i64,
    pub score: i32,
    pub reasons: Vec<String>,
}

/// Points per kind of match; they add up to at most 100.
const CATEGORY: i32 = 35;
const STYLE: i32 = 20;
const ROOM: i32 = 15;
const BUDGET: i32 = 15;
const AREA: i32 = 10;
const WORDS: i32 = 5;

/// The words of `text` worth matching: lower-cased, at least two characters (or any CJK).
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2 || !w.is_ascii())
        .map(str::to_lowercase)
        .collect()
}

fn attribute<'a>(p: &'a Product, v: &'a Variant, key: &str) -> Option<&'a str> {
    v.attributes
        .get(key)
        .map(String::as_str)
        .or_else(|| p.attributes.get(key).and_then(serde_json::Value::as_str))
}

/// Scores `v` of `p` (in category `category_name`) at `price` for `needs`.
fn score(
    needs: &Needs,
    p: &Product,
    v: &Variant,
    category_name: &str,
    price: i64,
) -> Option<(i32, Vec<String>)> {
    if needs.budget_max.is_some_and(|max| price > max) {
        return None;
    }
    let mut points = 0;
    let mut reasons = Vec::new();
    let category = category_name.to_lowercase();
    let id = p.category_id.to_string();
    if let Some(kind) = needs.categories.iter().find(|c| {
        **c == id || (!c.is_empty() && (category.contains(c.as_str()) || c.contains(&category)))
    }) {
        points += CATEGORY;
        reasons.push(format!("kind: {category_name} (asked for {kind})"));
    }
    if !needs.style.is_empty()
        && attribute(p, v, "style").is_some_and(|s| s.eq_ignore_ascii_case(&needs.style))
    {
        points += STYLE;
        reasons.push(format!("style: {}", needs.style));
    }
    if let Some(room) = attribute(p, v, "room").and_then(|r| {
        needs
            .rooms
            .iter()
            .find(|want| r.to_lowercase().contains(want.as_str()))
    }) {
        points += ROOM;
        reasons.push(format!("room: {room}"));
    }
    if needs.budget_min.is_some() || needs.budget_max.is_some() {
        let above_min = needs.budget_min.is_none_or(|min| price >= min);
        if above_min {
            points += BUDGET;
            reasons.push(format!("within budget at {price}"));
        }
    }
    if needs.min_area.is_some() || needs.max_area.is_some() {
        let area = p.area_of(v);
        let fits = area.is_some_and(|a| {
            needs.min_area.is_none_or(|min| a >= min) && needs.max_area.is_none_or(|max| a <= max)
        });
        if fits {
            points += AREA;
            reasons.push(format!(
                "area: {} m²",
                super::charges::format_area(area.unwrap_or_default())
            ));
        }
    }
    let text = format!("{} {} {}", p.display_name, v.display_name, p.description).to_lowercase();
    let matched: Vec<&String> = needs
        .keywords
        .iter()
        .filter(|w| text.contains(w.as_str()))
        .take(2)
        .collect();
    if !matched.is_empty() {
        points += WORDS * matched.len() as i32;
        let list: Vec<&str> = matched.iter().map(|w| w.as_str()).collect();
        reasons.push(format!("mentions {}", list.join(", ")));
    }
    (points > 0).then_some((points, reasons))
}

/// The best `limit` of `products` for `needs` in `currency`, best first (then cheaper, then by
/// name): each product once, with its best-fitting variant. `category_name` names a product's
/// category.
pub fn recommend<'a>(
    needs: &Needs,
    products: &'a [Product],
    category_name: impl Fn(&Product) -> String,
    currency: &str,
    limit: usize,
) -> Vec<Recommendation<'a>> {
    let mut out: Vec<Recommendation<'a>> = products
        .iter()
        .filter(|p| p.status == ProductStatus::Active)
        .filter_map(|p| {
            let name = category_name(p);
            p.variants
                .iter()
                .filter_map(|v| {
                    let price = v.price_in(currency)?;
                    let (score, reasons) = score(needs, p, v, &name, price)?;
                    Some(Recommendation {
                        product: p,
                        variant: v,
                        price,
                        score,
                        reasons,
                    })
                })
                .max_by(|a, b| a.score.cmp(&b.score).then(b.price.cmp(&a.price)))
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.price.cmp(&b.price))
            .then(a.product.display_name.cmp(&b.product.display_name))
    });
    out.truncate(limit);
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use uuid::Uuid;

    use super::*;
    use crate::domain::catalog::Price;

    fn product(name: &str, attrs: &[(&str, &str)], prices: &[(&str, i64)]) -> Product {
        Product {
            id: Uuid::now_v7(),
            display_name: name.into(),
            category_id: Uuid::nil(),
            description: String::new(),
            status: ProductStatus::Active,
            attributes: attrs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
                .collect(),
            variants: prices
                .iter()
                .map(|(sku, p)| Variant {
                    sku: (*sku).into(),
                    display_name: String::new(),
                    attributes: BTreeMap::new(),
                    list_prices: vec![Price {
                        currency: "CNY".into(),
                        minor_units: *p,
                    }],
                    costs: Vec::new(),
                })
                .collect(),
            create_time: 0,
            update_time: 0,
            version: 1,
        }
    }

    #[test]
    fn the_best_fit_comes_first_with_its_reasons_and_nothing_over_budget() {
        let nordic = product(
            "Nordic sofa",
            &[("style", "Nordic"), ("room", "living room")],
            &[("S-1", 800_000), ("S-2", 1_500_000)],
        );
        let modern = product("Modern sofa", &[("style", "modern")], &[("M-1", 600_000)]);
        let bed = product(
            "Nordic bed",
            &[("style", "nordic"), ("room", "bedroom")],
            &[("B", 500_000)],
        );
        let dear = product("Leather sofa", &[("style", "nordic")], &[("L", 2_000_000)]);
        let mut gone = product("Old sofa", &[("style", "nordic")], &[("O", 100)]);
        gone.status = ProductStatus::Discontinued;
        let all = [nordic, modern, bed, dear, gone];
        let needs = Needs {
            categories: vec!["sofa".into()],
            style: "nordic".into(),
            rooms: vec!["living".into()],
            budget_max: Some(1_000_000),
            ..Needs::default()
        };
        let out = recommend(&needs, &all, |_| "Sofas".into(), "CNY", 10);
        let names: Vec<&str> = out
            .iter()
            .map(|r| r.product.display_name.as_str())
            .collect();
        assert_eq!(names, ["Nordic sofa", "Nordic bed", "Modern sofa"]);
        assert_eq!(
            out[0].variant.sku, "S-1",
            "the dearer variant is over budget"
        );
        assert_eq!(out[0].score, CATEGORY + STYLE + ROOM + BUDGET);
        assert_eq!(out[0].reasons.len(), 4);
        assert!(out[0].reasons[1].contains("nordic"));
        assert!(recommend(&Needs::default(), &all, |_| "Sofas".into(), "CNY", 10).is_empty());
        assert!(recommend(&needs, &all, |_| "Sofas".into(), "USD", 10).is_empty());
    }

    #[test]
    fn words_are_lower_cased_and_short_ones_dropped() {
        assert_eq!(
            words("A grey L-shaped sofa, 北欧"),
            ["grey", "shaped", "sofa", "北欧"]
        );
    }
}
