//! A strategy's effect from its figures: conversion in each group, the uplift over the
//! hold-out, the return on what it spent; and a plan's as the sum of its strategies'.

use super::uplift::{Group, Uplift, uplift};

/// What a strategy's recipients and attributed orders add up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    /// Members meant to be reached.
    pub treated: i64,
    /// Members held out.
    pub control: i64,
    /// Members a message reached.
    pub reached: i64,
    pub treated_converted: i64,
    pub control_converted: i64,
    /// Orders of the treated group.
    pub orders: i64,
    /// Their total in the strategy's currency, minor units.
    pub revenue: i64,
    /// What the strategy spent, minor units.
    pub cost: i64,
}

impl std::ops::Add for Figures {
    type Output = Figures;

    fn add(self, o: Figures) -> Figures {
        Figures {
            treated: self.treated + o.treated,
            control: self.control + o.control,
            reached: self.reached + o.reached,
            treated_converted: self.treated_converted + o.treated_converted,
            control_converted: self.control_converted + o.control_converted,
            orders: self.orders + o.orders,
            revenue: self.revenue + o.revenue,
            cost: self.cost + o.cost,
        }
    }
}

/// The effect.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Effect {
    pub treated_rate: f64,
    pub control_rate: f64,
    /// None until both groups have members.
    pub uplift: Option<Uplift>,
    /// (revenue - cost) / cost; 0 while nothing was spent.
    pub roi: f64,
}

fn group(members: i64, converted: i64) -> Group {
    Group {
        members: members.max(0) as u64,
        converted: converted.clamp(0, members.max(0)) as u64,
    }
}

/// The effect of `f`.
pub fn effect(f: &Figures) -> Effect {
    let t = group(f.treated, f.treated_converted);
    let c = group(f.control, f.control_converted);
    Effect {
        treated_rate: t.rate(),
        control_rate: c.rate(),
        uplift: uplift(t, c),
        roi: if f.cost > 0 {
            (f.revenue - f.cost) as f64 / f.cost as f64
        } else {
            0.0
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effects_and_sums() {
        let a = Figures {
            treated: 90,
            control: 10,
            reached: 80,
            treated_converted: 18,
            control_converted: 1,
            orders: 20,
            revenue: 50_000,
            cost: 10_000,
        };
        let e = effect(&a);
        assert!((e.treated_rate - 0.2).abs() < 1e-9);
        assert!((e.control_rate - 0.1).abs() < 1e-9);
        assert!((e.roi - 4.0).abs() < 1e-9);
        let u = e.uplift.unwrap();
        assert!(u.low < u.difference && u.difference < u.high);
        let both = a + a;
        assert_eq!(both.treated, 180);
        assert_eq!(effect(&both).treated_rate, e.treated_rate);
        assert_eq!(effect(&Figures::default()).uplift, None);
        assert_eq!(effect(&Figures::default()).roi, 0.0);
    }
}
