//! Tiers and tier changes: parsing what a caller sends and building answers.

use rapport_kit::{
    mask::Rules,
    names,
    validate::{self, money, money_to_proto},
};
use rapport_proto::partners as pb;
use rapport_runtime::{clock::to_timestamp, validation::Violations};
use uuid::Uuid;

use crate::{
    domain::{
        partner::PARTNERS,
        tier::{Benefits, CategoryRate, Criteria, MAX_BPS, MAX_RATES, TIERS, Tier},
    },
    store::tiers::Change,
};

/// The catalog's category names, as the orders service writes them.
const CATEGORIES: &str = "categories";

/// What UpdateTier accepts.
pub const TIER_MASK: Rules = Rules {
    updatable: &["display_name", "rank", "criteria", "benefits"],
    immutable: &["name"],
    output_only: &["create_time", "update_time", "etag"],
    ..Rules::new("Tier")
};

fn bps(v: &mut Violations, field: &str, value: i32) -> i32 {
    if !(0..=MAX_BPS).contains(&value) {
        v.add(
            field,
            format!("must be 0..{MAX_BPS} basis points, got {value}"),
        );
    }
    value
}

fn criteria(v: &mut Violations, c: Option<&pb::TierCriteria>) -> Criteria {
    let Some(c) = c else {
        return Criteria::default();
    };
    if c.min_registrations < 0 {
        v.add("tier.criteria.min_registrations", "must not be negative");
    }
    if !(0..=100).contains(&c.min_conversion_percent) {
        v.add(
            "tier.criteria.min_conversion_percent",
            format!("must be 0..100, got {}", c.min_conversion_percent),
        );
    }
    Criteria {
        min_sales: money(v, "tier.criteria.min_sales", c.min_sales.as_ref()),
        min_registrations: c.min_registrations,
        min_conversion_percent: c.min_conversion_percent,
    }
}

fn benefits(v: &mut Violations, b: Option<&pb::TierBenefits>) -> Benefits {
    let Some(b) = b else {
        return Benefits::default();
    };
    let given = validate::capped(
        v,
        "tier.benefits.commission_rates",
        &b.commission_rates,
        MAX_RATES,
    );
    let mut rates: Vec<CategoryRate> = Vec::new();
    for (i, r) in given.iter().enumerate() {
        let field = format!("tier.benefits.commission_rates[{i}]");
        let category = validate::id_in(CATEGORIES, &r.category, &format!("{field}.category"), v);
        let bps = bps(v, &format!("{field}.bps"), r.bps);
        if let Some(c) = category {
            let c = c.to_string();
            if rates.iter().any(|x| x.category == c) {
                v.add(
                    format!("{field}.category"),
                    format!("{} has a rate already", r.category),
                );
            } else {
                rates.push(CategoryRate { category: c, bps });
            }
        }
    }
    if !(0..=100).contains(&b.lead_weight) {
        v.add(
            "tier.benefits.lead_weight",
            format!("must be 1..100 (0 means 1), got {}", b.lead_weight),
        );
    }
    Benefits {
        commission_rates: rates,
        default_commission_bps: bps(
            v,
            "tier.benefits.default_commission_bps",
            b.default_commission_bps,
        ),
        lead_weight: b.lead_weight.max(1),
    }
}

/// Applies the fields `fields` names from `t` to `into`.
pub fn apply_tier(t: &pb::Tier, fields: &[&str], into: &mut Tier, v: &mut Violations) {
    for field in fields {
        match *field {
            "display_name" => {
                into.display_name =
                    validate::required_text(v, "tier.display_name", &t.display_name, 100)
            }
            "rank" => {
                if !(1..=100).contains(&t.rank) {
                    v.add("tier.rank", format!("must be 1..100, got {}", t.rank));
                }
                into.rank = t.rank;
            }
            "criteria" => into.criteria = criteria(v, t.criteria.as_ref()),
            "benefits" => into.benefits = benefits(v, t.benefits.as_ref()),
            _ => {}
        }
    }
}

/// A new tier from CreateTier.
pub fn parse_tier(t: Option<&pb::Tier>, v: &mut Violations) -> Tier {
    let mut out = Tier {
        id: Uuid::nil(),
        display_name: String::new(),
        rank: 0,
        criteria: Criteria::default(),
        benefits: Benefits::default(),
        create_time: 0,
        update_time: 0,
        version: 1,
    };
    match t {
        None => v.add("tier", "is required"),
        Some(t) => apply_tier(t, TIER_MASK.updatable, &mut out, v),
    }
    out
}

/// The answer for `t`.
pub fn tier_to_proto(t: &Tier) -> pb::Tier {
    pb::Tier {
        name: t.name(),
        display_name: t.display_name.clone(),
        rank: t.rank,
        criteria: Some(pb::TierCriteria {
            min_sales: t.criteria.min_sales.as_ref().map(money_to_proto),
            min_registrations: t.criteria.min_registrations,
            min_conversion_percent: t.criteria.min_conversion_percent,
        }),
        benefits: Some(pb::TierBenefits {
            commission_rates: t
                .benefits
                .commission_rates
                .iter()
                .map(|r| pb::CategoryRate {
                    category: format!("{CATEGORIES}/{}", r.category),
                    bps: r.bps,
                })
                .collect(),
            default_commission_bps: t.benefits.default_commission_bps,
            lead_weight: t.benefits.lead_weight,
        }),
        create_time: Some(to_timestamp(t.create_time)),
        update_time: Some(to_timestamp(t.update_time)),
        etag: names::etag(t.id.as_bytes(), t.version),
    }
}

/// A tier id as its name; empty stays empty.
fn tier_name(id: &str) -> String {
    if id.is_empty() {
        String::new()
    } else {
        format!("{TIERS}/{id}")
    }
}

/// The answer for a tier change.
pub fn change_to_proto(c: &Change) -> pb::TierChange {
    pb::TierChange {
        name: names::format_child_id(PARTNERS, c.partner_id, "tierChanges", c.id),
        from_tier: tier_name(&c.from_tier),
        to_tier: tier_name(&c.to_tier),
        reason: c.reason.clone(),
        actor: c.actor.clone(),
        create_time: Some(to_timestamp(c.create_time)),
    }
}
