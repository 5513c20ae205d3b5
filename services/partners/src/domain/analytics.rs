//! The partner report (PA7), assembled from per-partner sums: rows per partner and per tier.

use std::collections::BTreeMap;

use super::registration::State;

/// Registrations and how they stand.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    pub submitted: i64,
    pub approved: i64,
    pub rejected: i64,
    pub converted: i64,
}

impl Counts {
    /// Adds `n` registrations now in `state`.
    pub fn add(&mut self, state: State, n: i64) {
        self.submitted += n;
        match state {
            State::Approved | State::Lapsed => self.approved += n,
            State::Converted => {
                self.approved += n;
                self.converted += n;
            }
            State::Rejected => self.rejected += n,
            State::Submitted => {}
        }
    }

    /// Adds another's counts.
    pub fn merge(&mut self, o: &Counts) {
        self.submitted += o.submitted;
        self.approved += o.approved;
        self.rejected += o.rejected;
        self.converted += o.converted;
    }

    /// converted / approved, in percent; 0 without approvals.
    pub fn conversion_percent(&self) -> f64 {
        if self.approved == 0 {
            0.0
        } else {
            self.converted as f64 * 100.0 / self.approved as f64
        }
    }
}

/// What one partner (or one tier's partners) did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    /// Sales per currency.
    pub sales: BTreeMap<String, i64>,
    /// Commissions per currency.
    pub commissions: BTreeMap<String, i64>,
    pub registrations: Counts,
}

impl Row {
    /// Whether anything happened.
    pub fn is_empty(&self) -> bool {
        self.sales.is_empty() && self.commissions.is_empty() && self.registrations.submitted == 0
    }

    /// Adds another row.
    pub fn merge(&mut self, o: &Row) {
        for (c, v) in &o.sales {
            *self.sales.entry(c.clone()).or_default() += v;
        }
        for (c, v) in &o.commissions {
            *self.commissions.entry(c.clone()).or_default() += v;
        }
        self.registrations.merge(&o.registrations);
    }

    /// The largest sales amount, to order rows by.
    pub fn top_sales(&self) -> i64 {
        self.sales.values().copied().max().unwrap_or(0)
    }
}

/// Rows per tier from rows per partner and each partner's tier: (tier, partners, sums).
pub fn by_tier<'a>(
    rows: impl IntoIterator<Item = (&'a str, &'a Row)>,
) -> BTreeMap<String, (i64, Row)> {
    let mut out: BTreeMap<String, (i64, Row)> = BTreeMap::new();
    for (tier, row) in rows {
        let e = out.entry(tier.to_owned()).or_default();
        e.0 += 1;
        e.1.merge(row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_where_registrations_ended_up() {
        let mut c = Counts::default();
        c.add(State::Submitted, 2);
        c.add(State::Approved, 1);
        c.add(State::Converted, 2);
        c.add(State::Lapsed, 1);
        c.add(State::Rejected, 1);
        assert_eq!(
            (c.submitted, c.approved, c.converted, c.rejected),
            (7, 4, 2, 1)
        );
        assert_eq!(c.conversion_percent(), 50.0);
    }

    #[test]
    fn tiers_sum_their_partners() {
        let a = Row {
            sales: BTreeMap::from([("CNY".into(), 100)]),
            ..Row::default()
        };
        let b = Row {
            sales: BTreeMap::from([("CNY".into(), 50)]),
            commissions: BTreeMap::from([("CNY".into(), 5)]),
            ..Row::default()
        };
        let t = by_tier([("gold", &a), ("gold", &b), ("", &a)]);
        assert_eq!(t["gold"].0, 2);
        assert_eq!(t["gold"].1.sales["CNY"], 150);
        assert_eq!(t[""].1.sales["CNY"], 100);
        assert!(Row::default().is_empty());
    }
}
