//! Loan schedules for financed deals (房贷-style loans): 等额本息 (equal instalment) and
//! 等额本金 (equal principal). Amounts are integer minor units (fen for CNY); dates are the
//! caller's business (instalment `k` falls due `k - 1` months after the first payment).
//!
//! # Rounding rules
//!
//! Everything is exact integer arithmetic; nothing passes through floating point.
//!
//! - **Monthly rate.** `r = annual / 12`, kept as the exact fraction
//!   `millionths_of_percent / 1_200_000_000`.
//! - **Interest** of a month is `balance × r`, rounded half up to a whole minor unit.
//! - **Equal instalment.** The payment is `P = principal × r × (1+r)^n / ((1+r)^n − 1)`
//!   rounded half up (`principal / n` rounded half up when `r = 0`). `P` is computed exactly
//!   with big integers, so the rounding is always the true one, even next to a half. Each month
//!   repays `P − interest` of principal; the last month repays the whole remaining balance plus
//!   its interest, absorbing all rounding, so its payment may differ from `P`. Unless the loan
//!   is paid off early (below), the difference is less than `1 + (1+r) + … + (1+r)^(n−1)`
//!   minor units, because each month's rounding errs by less than one unit and compounds
//!   until the end: `n` at 0%, about 817 for 4.9% over 360 months, and far less in practice
//!   because the errors mostly cancel.
//! - **Equal principal.** The principal repaid after `k` months is `principal × k / n`
//!   rounded half up. So every month repays `principal / n` rounded down or up, the balance is
//!   never more than half a unit off the exact one, and the last month takes whatever remains,
//!   ending exactly at zero. The payment is that principal plus the interest on the balance
//!   before it.
//! - **Totals** are plain sums; the principal parts always add up to the loan's principal.
//!
//! A tiny loan spread over many months (only when `P` is below that bound; at 0%, only for a
//! principal under `n × (n − 1)` minor units) can have `P` rounded up far enough to clear the
//! balance before the last month. Its principal part is then capped at the balance, and the
//! remaining instalments are zero, so no balance ever goes negative.

use std::cmp::Ordering;

/// Longest loan term the calculator accepts, in months (50 years).
pub const MAX_MONTHS: u32 = 600;

/// Largest principal the calculator accepts, in minor units; it keeps every intermediate
/// product well inside `i128` and every total inside `i64`.
pub const MAX_PRINCIPAL: i64 = 1_000_000_000_000_000;

/// `AnnualRate` counts millionths of one percent; this is 100%.
const MAX_RATE_MILLIONTHS: i64 = 100_000_000;

/// Decimal places `AnnualRate::parse` accepts: one per millionth.
const RATE_DECIMALS: usize = 6;

/// Denominator of the monthly rate: 12 months × 100 percent × 1_000_000 millionths.
const MONTHLY_RATE_DENOMINATOR: i64 = 12 * 100 * 1_000_000;

/// How the loan is repaid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// 等额本息: every payment the same.
    EqualInstalment,
    /// 等额本金: the same principal each month (to within one minor unit), interest on the
    /// balance.
    EqualPrincipal,
}

/// An annual interest rate, exact: `millionths` of one percent (4.9% = 4_900_000).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnualRate {
    pub millionths_of_percent: i64,
}

impl AnnualRate {
    /// Parses a percentage such as `"4.9"`, `"3.85"`, `"0"` or `"4.165"`.
    ///
    /// Plain decimal notation only (surrounding whitespace is ignored): digits, optionally a
    /// dot and one to six more digits, between 0 and 100 inclusive. Exactness is the point, so
    /// a seventh decimal is an error rather than silently rounded.
    pub fn parse(percent: &str) -> Result<AnnualRate, String> {
        let text = percent.trim();
        if text.is_empty() {
            return Err("interest rate is empty".to_string());
        }
        if text.starts_with('-') {
            return Err(format!("interest rate {text:?} is negative"));
        }
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let well_formed = is_digits(whole) && (fraction.is_empty() || is_digits(fraction));
        if !well_formed || text.ends_with('.') {
            return Err(format!(
                "interest rate {text:?} is not a plain decimal percentage such as \"4.9\""
            ));
        }
        if fraction.len() > RATE_DECIMALS {
            return Err(format!(
                "interest rate {text:?} has more than {RATE_DECIMALS} decimal places"
            ));
        }
        let millionths = digits_value(whole)
            .and_then(|w| w.checked_mul(1_000_000))
            .and_then(|w| w.checked_add(fraction_millionths(fraction)))
            .filter(|&m| m <= MAX_RATE_MILLIONTHS)
            .ok_or_else(|| format!("interest rate {text:?} is above 100 percent"))?;
        Ok(AnnualRate {
            millionths_of_percent: millionths,
        })
    }
}

/// Whether `text` is one or more ASCII digits.
fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// The value of a run of ASCII digits, `None` if it does not fit an `i64`.
fn digits_value(digits: &str) -> Option<i64> {
    digits.bytes().try_fold(0_i64, |value, b| {
        value.checked_mul(10)?.checked_add(i64::from(b - b'0'))
    })
}

/// Millionths denoted by at most six decimal digits: `"85"` is 850_000.
fn fraction_millionths(fraction: &str) -> i64 {
    fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(RATE_DECIMALS)
        .fold(0, |value, b| value * 10 + i64::from(b - b'0'))
}

/// A loan to schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loan {
    /// Amount borrowed, in minor units; `1..=MAX_PRINCIPAL`.
    pub principal: i64,
    pub rate: AnnualRate,
    /// Term in months; `1..=MAX_MONTHS`.
    pub months: u32,
    pub method: Method,
}

/// One monthly payment of a schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instalment {
    /// 1-based position in the schedule.
    pub number: u32,
    /// `principal + interest`.
    pub payment: i64,
    pub principal: i64,
    pub interest: i64,
    /// Outstanding principal after this payment.
    pub balance: i64,
}

/// Every instalment of a loan, with the totals a contract shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub instalments: Vec<Instalment>,
    pub total_payment: i64,
    pub total_interest: i64,
}

/// Computes the full repayment schedule under the rounding rules of this module.
///
/// # Panics
///
/// If the loan is outside the limits callers validate against: principal not in
/// `1..=MAX_PRINCIPAL`, months not in `1..=MAX_MONTHS`, or a rate outside 0–100%.
pub fn schedule(loan: &Loan) -> Schedule {
    assert!(
        (1..=MAX_PRINCIPAL).contains(&loan.principal),
        "loan principal {} is outside 1..={MAX_PRINCIPAL}",
        loan.principal
    );
    assert!(
        (1..=MAX_MONTHS).contains(&loan.months),
        "loan term {} is outside 1..={MAX_MONTHS} months",
        loan.months
    );
    assert!(
        (0..=MAX_RATE_MILLIONTHS).contains(&loan.rate.millionths_of_percent),
        "loan rate {} millionths of a percent is outside 0..=100%",
        loan.rate.millionths_of_percent
    );
    let instalments = match loan.method {
        Method::EqualInstalment => equal_instalments(loan),
        Method::EqualPrincipal => equal_principal_instalments(loan),
    };
    let total_interest = instalments.iter().map(|i| i.interest).sum();
    let total_payment = instalments.iter().map(|i| i.payment).sum();
    Schedule {
        instalments,
        total_payment,
        total_interest,
    }
}

/// 等额本息: a fixed payment, the last one settling whatever rounding left over.
fn equal_instalments(loan: &Loan) -> Vec<Instalment> {
    let payment = level_payment(loan.principal, loan.rate, loan.months);
    let mut balance = loan.principal;
    (1..=loan.months)
        .map(|number| {
            let interest = monthly_interest(balance, loan.rate);
            let principal = if number == loan.months {
                balance
            } else {
                // Never negative: balance ≤ loan principal, so interest ≤ payment (see
                // `level_payment`). The cap only matters for the tiny loans the module doc
                // describes.
                (payment - interest).min(balance)
            };
            balance -= principal;
            Instalment {
                number,
                payment: principal + interest,
                principal,
                interest,
                balance,
            }
        })
        .collect()
}

/// 等额本金: the balance follows `principal × (n − k) / n`, rounded half up.
fn equal_principal_instalments(loan: &Loan) -> Vec<Instalment> {
    let mut balance = loan.principal;
    (1..=loan.months)
        .map(|number| {
            let interest = monthly_interest(balance, loan.rate);
            let principal = repaid_after(loan, number) - repaid_after(loan, number - 1);
            balance -= principal;
            Instalment {
                number,
                payment: principal + interest,
                principal,
                interest,
                balance,
            }
        })
        .collect()
}

/// Equal-principal principal repaid after `months` payments: `principal × months / n`,
/// rounded half up. Monotone in `months`, so no month repays a negative amount.
fn repaid_after(loan: &Loan, months: u32) -> i64 {
    let repaid = round_half_up(
        i128::from(loan.principal) * i128::from(months),
        i128::from(loan.months),
    );
    i64::try_from(repaid).expect("repaid principal never exceeds the loan principal")
}

/// A month's interest on `balance`: `balance × annual / 12`, rounded half up.
fn monthly_interest(balance: i64, rate: AnnualRate) -> i64 {
    let interest = round_half_up(
        i128::from(balance) * i128::from(rate.millionths_of_percent),
        i128::from(MONTHLY_RATE_DENOMINATOR),
    );
    i64::try_from(interest).expect("a month's interest is below the balance")
}

/// `numerator / denominator` rounded to the nearest integer, halves up; both non-negative.
fn round_half_up(numerator: i128, denominator: i128) -> i128 {
    (2 * numerator + denominator) / (2 * denominator)
}

/// The equal-instalment payment `L·r·(1+r)^n / ((1+r)^n − 1)`, rounded half up.
///
/// With `r = m / D` this is `L·m·(D+m)^n / (D·((D+m)^n − D^n))`. The powers reach some 18,000
/// bits for 600 months, so they are computed exactly with [`Natural`] instead of in fixed or
/// floating point: an approximation, however close, cannot tell which way to round when the
/// true value lies within its error of a half, whereas exact comparison always can, and costs
/// microseconds at these sizes.
///
/// For `r > 0` the exact payment exceeds `L·r`, the interest of the first month, and rounding
/// is monotone, so no month's rounded interest exceeds the rounded payment.
fn level_payment(principal: i64, rate: AnnualRate, months: u32) -> i64 {
    if rate.millionths_of_percent == 0 {
        let payment = round_half_up(i128::from(principal), i128::from(months));
        return i64::try_from(payment).expect("payment at 0% is at most the principal");
    }
    let loan = u64::try_from(principal).expect("principal is positive");
    let m = u64::try_from(rate.millionths_of_percent).expect("rate is positive");
    let d = u64::try_from(MONTHLY_RATE_DENOMINATOR).expect("denominator is positive");
    let grown = Natural::power(d + m, months);
    let numerator = grown.times(loan).times(m);
    let denominator = grown.minus(&Natural::power(d, months)).times(d);
    // The payment is at most L·(1+r) ≤ 13/12·L (reached when n = 1), so 2L + 1 is too big.
    let too_big = 2 * loan + 1;
    let payment = nearest_integer(&numerator, &denominator, too_big);
    i64::try_from(payment).expect("payment is below twice the principal")
}

/// `numerator / denominator` rounded half up, known to be below `too_big`.
///
/// Binary search for the largest `q` with `q·2d ≤ 2n + d`, i.e. `q ≤ n/d + 1/2`; this needs
/// only multiplication by a machine word and comparison, never big division.
fn nearest_integer(numerator: &Natural, denominator: &Natural, too_big: u64) -> u64 {
    let twice_denominator = denominator.times(2);
    let limit = numerator.times(2).plus(denominator);
    let (mut fits, mut exceeds) = (0_u64, too_big);
    while exceeds - fits > 1 {
        let middle = fits + (exceeds - fits) / 2;
        if twice_denominator.times(middle) <= limit {
            fits = middle;
        } else {
            exceeds = middle;
        }
    }
    fits
}

/// A non-negative integer of any size: little-endian base-2^64 limbs without trailing zeros.
///
/// Only what `level_payment` needs: powers, multiplication by a word, addition, subtraction
/// and comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Natural(Vec<u64>);

impl Natural {
    /// `base^exponent`, by repeated multiplication; `exponent ≤ MAX_MONTHS` keeps this cheap.
    fn power(base: u64, exponent: u32) -> Natural {
        (0..exponent).fold(Natural(vec![1]), |value, _| value.times(base))
    }

    /// `self × factor`.
    fn times(&self, factor: u64) -> Natural {
        let mut limbs = Vec::with_capacity(self.0.len() + 1);
        let mut carry = 0_u128;
        for &limb in &self.0 {
            // At most (2^64 − 1)² + (2^64 − 1) < 2^128: no overflow.
            let product = u128::from(limb) * u128::from(factor) + carry;
            limbs.push(product as u64);
            carry = product >> 64;
        }
        limbs.push(carry as u64);
        Natural::trimmed(limbs)
    }

    /// `self + other`.
    fn plus(&self, other: &Natural) -> Natural {
        let length = self.0.len().max(other.0.len());
        let mut limbs = Vec::with_capacity(length + 1);
        let mut carry = false;
        for index in 0..length {
            let (sum, overflow_a) = self.limb(index).overflowing_add(other.limb(index));
            let (sum, overflow_b) = sum.overflowing_add(u64::from(carry));
            limbs.push(sum);
            carry = overflow_a || overflow_b;
        }
        limbs.push(u64::from(carry));
        Natural::trimmed(limbs)
    }

    /// `self − other`; `other` must not exceed `self`.
    fn minus(&self, other: &Natural) -> Natural {
        assert!(*other <= *self, "subtraction would go below zero");
        let mut limbs = Vec::with_capacity(self.0.len());
        let mut borrow = false;
        for index in 0..self.0.len() {
            let (difference, under_a) = self.limb(index).overflowing_sub(other.limb(index));
            let (difference, under_b) = difference.overflowing_sub(u64::from(borrow));
            limbs.push(difference);
            borrow = under_a || under_b;
        }
        Natural::trimmed(limbs)
    }

    /// The limb at `index`, zero past the end.
    fn limb(&self, index: usize) -> u64 {
        self.0.get(index).copied().unwrap_or(0)
    }

    /// Drops high zero limbs so that equal values have equal representations.
    fn trimmed(mut limbs: Vec<u64>) -> Natural {
        while limbs.last() == Some(&0) {
            limbs.pop();
        }
        Natural(limbs)
    }
}

impl Ord for Natural {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }
}

impl PartialOrd for Natural {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(percent: &str) -> AnnualRate {
        AnnualRate::parse(percent).unwrap()
    }

    fn loan(principal: i64, percent: &str, months: u32, method: Method) -> Loan {
        Loan {
            principal,
            rate: rate(percent),
            months,
            method,
        }
    }

    fn row(number: u32, payment: i64, principal: i64, interest: i64, balance: i64) -> Instalment {
        Instalment {
            number,
            payment,
            principal,
            interest,
            balance,
        }
    }

    /// Structural invariants every schedule must satisfy.
    fn assert_consistent(loan: &Loan, s: &Schedule) {
        assert_eq!(s.instalments.len(), loan.months as usize);
        let mut balance = loan.principal;
        for (index, i) in s.instalments.iter().enumerate() {
            assert_eq!(i.number as usize, index + 1);
            assert!(i.principal >= 0 && i.interest >= 0, "{loan:?} {i:?}");
            assert_eq!(i.payment, i.principal + i.interest, "{loan:?} {i:?}");
            assert_eq!(
                i.interest,
                monthly_interest(balance, loan.rate),
                "{loan:?} {i:?}"
            );
            balance -= i.principal;
            assert_eq!(i.balance, balance, "{loan:?} {i:?}");
            assert!(balance >= 0, "{loan:?} {i:?}");
        }
        assert_eq!(balance, 0, "{loan:?}");
        let principal: i64 = s.instalments.iter().map(|i| i.principal).sum();
        assert_eq!(principal, loan.principal, "{loan:?}");
        let interest: i64 = s.instalments.iter().map(|i| i.interest).sum();
        assert_eq!(s.total_interest, interest);
        assert_eq!(s.total_payment, loan.principal + interest);
    }

    /// An integer upper bound on `1 + (1+r) + … + (1+r)^(n−1)`, saturating far above any
    /// payment.
    fn compounding_bound(rate: AnnualRate, months: u32) -> i128 {
        let d = i128::from(MONTHLY_RATE_DENOMINATOR);
        let grown = d + i128::from(rate.millionths_of_percent);
        (0..months).fold(0_i128, |sum, _| {
            ((sum * grown + d - 1) / d + 1).min(1_000_000_000_000_000_000_000)
        })
    }

    // --- Reference: 1,000,000.00 CNY at 4.9% over 30 years, the classic mortgage example.

    #[test]
    fn reference_mortgage_equal_instalment() {
        let loan = loan(100_000_000, "4.9", 360, Method::EqualInstalment);
        let s = schedule(&loan);
        assert_consistent(&loan, &s);
        // Published: 5307.27 per month.
        assert_eq!(
            s.instalments[0],
            row(1, 530_727, 122_394, 408_333, 99_877_606)
        );
        assert_eq!(
            s.instalments[1],
            row(2, 530_727, 122_893, 407_834, 99_754_713)
        );
        assert!(s.instalments[..359].iter().all(|i| i.payment == 530_727));
        assert_eq!(
            s.instalments[358],
            row(359, 530_727, 526_420, 4_307, 528_362)
        );
        // The last month settles the accumulated rounding: 2.08 CNY less than the others.
        assert_eq!(s.instalments[359], row(360, 530_519, 528_362, 2_157, 0));
        // Published total interest 910,616.19 assumes an unrounded payment; 359 × 5307.27 +
        // 5305.19 − 1,000,000 gives 910,615.12 here.
        assert_eq!(s.total_interest, 91_061_512);
        assert_eq!(s.total_payment, 191_061_512);
        assert!((s.total_interest - 91_061_619).abs() <= 530_727 - 530_519);
    }

    #[test]
    fn reference_mortgage_equal_principal() {
        let loan = loan(100_000_000, "4.9", 360, Method::EqualPrincipal);
        let s = schedule(&loan);
        assert_consistent(&loan, &s);
        // Published: first 6861.11, second 6849.77, last 2789.12, total interest 737,041.67.
        assert_eq!(
            s.instalments[0],
            row(1, 686_111, 277_778, 408_333, 99_722_222)
        );
        assert_eq!(
            s.instalments[1],
            row(2, 684_977, 277_778, 407_199, 99_444_444)
        );
        assert_eq!(
            s.instalments[358],
            row(359, 280_047, 277_778, 2_269, 277_778)
        );
        assert_eq!(s.instalments[359], row(360, 278_912, 277_778, 1_134, 0));
        assert_eq!(s.total_interest, 73_704_167);
        assert_eq!(s.total_payment, 173_704_167);
        // 100_000_000 / 360 = 277_777.78: each month repays 277_777 or 277_778.
        assert!(
            s.instalments
                .iter()
                .all(|i| i.principal == 277_777 || i.principal == 277_778)
        );
    }

    // --- Hand-computable: 1,200.00 at 12% over 12 months, so r = 1% exactly.

    #[test]
    fn one_percent_a_month_equal_instalment() {
        // P = 120_000 × 0.01 × 1.01^12 / (1.01^12 − 1) = 10_661.85 → 10_662.
        let loan = loan(120_000, "12", 12, Method::EqualInstalment);
        let s = schedule(&loan);
        assert_consistent(&loan, &s);
        let expected = [
            row(1, 10_662, 9_462, 1_200, 110_538),
            row(2, 10_662, 9_557, 1_105, 100_981), // 1105.38 → 1105
            row(3, 10_662, 9_652, 1_010, 91_329),  // 1009.81 → 1010
            row(4, 10_662, 9_749, 913, 81_580),
            row(5, 10_662, 9_846, 816, 71_734),
            row(6, 10_662, 9_945, 717, 61_789),
            row(7, 10_662, 10_044, 618, 51_745),
            row(8, 10_662, 10_145, 517, 41_600),
            row(9, 10_662, 10_246, 416, 31_354),
            row(10, 10_662, 10_348, 314, 21_006),
            row(11, 10_662, 10_452, 210, 10_554),
            row(12, 10_660, 10_554, 106, 0), // 105.54 → 106; remaining balance 10_554
        ];
        assert_eq!(s.instalments, expected);
        assert_eq!(s.total_interest, 7_942);
        assert_eq!(s.total_payment, 127_942);
    }

    #[test]
    fn one_percent_a_month_equal_principal() {
        let loan = loan(120_000, "12", 12, Method::EqualPrincipal);
        let s = schedule(&loan);
        assert_consistent(&loan, &s);
        for (k, i) in (1..=12_i64).zip(&s.instalments) {
            let interest = (13 - k) * 100; // 1% of 10_000 × (13 − k)
            assert_eq!(
                *i,
                row(
                    k as u32,
                    10_000 + interest,
                    10_000,
                    interest,
                    120_000 - 10_000 * k
                )
            );
        }
        assert_eq!(s.total_interest, 7_800); // 100 × (12 + 11 + … + 1)
        assert_eq!(s.total_payment, 127_800);
    }

    #[test]
    fn zero_rate_splits_principal() {
        // 1000 / 3 = 333.33: payment 333, the last takes 334.
        let level = loan(1_000, "0", 3, Method::EqualInstalment);
        let s = schedule(&level);
        assert_consistent(&level, &s);
        let payments: Vec<i64> = s.instalments.iter().map(|i| i.payment).collect();
        assert_eq!(payments, [333, 333, 334]);
        assert_eq!(s.total_interest, 0);
        // 2000 / 3 = 666.67: payment 667, the last takes 666.
        let level = loan(2_000, "0", 3, Method::EqualInstalment);
        let payments: Vec<i64> = schedule(&level)
            .instalments
            .iter()
            .map(|i| i.payment)
            .collect();
        assert_eq!(payments, [667, 667, 666]);
        // Equal principal: balances round(2000 × 2/3) = 1333, round(2000 / 3) = 667, 0.
        let even = loan(2_000, "0", 3, Method::EqualPrincipal);
        let s = schedule(&even);
        assert_consistent(&even, &s);
        let principals: Vec<i64> = s.instalments.iter().map(|i| i.principal).collect();
        assert_eq!(principals, [667, 666, 667]);
    }

    #[test]
    fn single_month_repays_principal_and_one_months_interest() {
        for method in [Method::EqualInstalment, Method::EqualPrincipal] {
            // 4.9% / 12 of 100_000_000 = 408_333.33 → 408_333.
            let one = loan(100_000_000, "4.9", 1, method);
            let s = schedule(&one);
            assert_eq!(
                s.instalments,
                [row(1, 100_408_333, 100_000_000, 408_333, 0)]
            );
            assert_eq!(s.total_interest, 408_333);
            assert_eq!(s.total_payment, 100_408_333);
        }
    }

    #[test]
    fn interest_rounds_half_up() {
        // 1% a month: 50 × 1% = 0.5 → 1; 149 × 1% = 1.49 → 1; 150 × 1% = 1.5 → 2.
        let one_percent = rate("12");
        assert_eq!(monthly_interest(50, one_percent), 1);
        assert_eq!(monthly_interest(49, one_percent), 0);
        assert_eq!(monthly_interest(149, one_percent), 1);
        assert_eq!(monthly_interest(150, one_percent), 2);
        assert_eq!(monthly_interest(0, one_percent), 0);
    }

    #[test]
    fn level_payment_rounds_an_exact_half_up() {
        // 0%: 3 / 2 = 1.5 → 2. With r > 0 and n = 1 the payment is L·(1+r): 50 at 12% is
        // 50.5 → 51, and 150 is 151.5 → 152.
        assert_eq!(level_payment(3, rate("0"), 2), 2);
        assert_eq!(level_payment(50, rate("12"), 1), 51);
        assert_eq!(level_payment(150, rate("12"), 1), 152);
        // n = 2 at 1%: 101·1.01 / 2.01 × 201 = 102.01 → 102.
        assert_eq!(level_payment(201, rate("12"), 2), 102);
    }

    #[test]
    fn extreme_but_valid_loans() {
        for method in [Method::EqualInstalment, Method::EqualPrincipal] {
            for (principal, percent, months) in [
                (MAX_PRINCIPAL, "100", MAX_MONTHS),
                (MAX_PRINCIPAL, "0.000001", MAX_MONTHS),
                (MAX_PRINCIPAL, "0", MAX_MONTHS),
                (1, "100", MAX_MONTHS),
                (1, "0", MAX_MONTHS),
                (1, "4.9", 1),
            ] {
                let extreme = loan(principal, percent, months, method);
                assert_consistent(&extreme, &schedule(&extreme));
            }
        }
    }

    #[test]
    fn tiny_loan_over_many_months_is_paid_off_early() {
        // 5 / 9 = 0.56 → a payment of 1: five months clear the balance, four stay at zero.
        let tiny = loan(5, "0", 9, Method::EqualInstalment);
        let s = schedule(&tiny);
        assert_consistent(&tiny, &s);
        let payments: Vec<i64> = s.instalments.iter().map(|i| i.payment).collect();
        assert_eq!(payments, [1, 1, 1, 1, 1, 0, 0, 0, 0]);
    }

    #[test]
    fn invariants_hold_for_many_loans() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |bound: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % bound
        };
        let mut level_checked = 0;
        for case in 0..400 {
            let principal = match case % 4 {
                0 => 1 + next(1_000) as i64,
                1 => 1 + next(100_000_000) as i64,
                _ => 1 + next(MAX_PRINCIPAL as u64) as i64,
            };
            let rate = AnnualRate {
                millionths_of_percent: match case % 5 {
                    0 => 0,
                    1 => next(MAX_RATE_MILLIONTHS as u64 + 1) as i64,
                    _ => next(10_000_000) as i64, // up to 10%
                },
            };
            let months = 1 + next(u64::from(MAX_MONTHS)) as u32;
            for method in [Method::EqualInstalment, Method::EqualPrincipal] {
                let l = Loan {
                    principal,
                    rate,
                    months,
                    method,
                };
                let s = schedule(&l);
                assert_consistent(&l, &s);
                let (last, earlier) = s.instalments.split_last().unwrap();
                match method {
                    Method::EqualInstalment => {
                        let payment = level_payment(principal, rate, months);
                        let paid_off_early = earlier.iter().any(|i| i.balance == 0);
                        if paid_off_early {
                            // Once cleared, everything after is zero.
                            let cleared = earlier.iter().position(|i| i.balance == 0).unwrap();
                            assert!(s.instalments[cleared + 1..].iter().all(|i| i.payment == 0));
                        } else {
                            assert!(earlier.iter().all(|i| i.payment == payment), "{l:?}");
                            let gap = i128::from((last.payment - payment).abs());
                            assert!(gap <= compounding_bound(rate, months), "{l:?} {gap}");
                            level_checked += 1;
                        }
                    }
                    Method::EqualPrincipal => {
                        let floor = principal / i64::from(months);
                        let p = |i: &Instalment| i.principal == floor || i.principal == floor + 1;
                        assert!(s.instalments.iter().all(p), "{l:?}");
                    }
                }
            }
        }
        assert!(
            level_checked > 300,
            "too few loans exercised the payment bound"
        );
    }

    #[test]
    fn realistic_loans_keep_the_last_payment_close() {
        // For ordinary mortgages the rounding errors largely cancel: the last payment stays
        // within a few yuan of the others.
        for (principal, percent, months) in [
            (100_000_000, "4.9", 360),
            (300_000_000, "3.85", 300),
            (50_000_000, "4.165", 240),
            (1_000_000_000, "3.1", 360),
            (80_000_000, "5.88", 120),
        ] {
            let level = loan(principal, percent, months, Method::EqualInstalment);
            let s = schedule(&level);
            assert_consistent(&level, &s);
            let (last, earlier) = s.instalments.split_last().unwrap();
            assert!(earlier.iter().all(|i| i.payment == earlier[0].payment));
            assert!(
                (last.payment - earlier[0].payment).abs() <= 1_000,
                "{level:?} {last:?}"
            );
        }
    }

    // --- AnnualRate::parse

    #[test]
    fn parses_plain_percentages() {
        let cases = [
            ("4.9", 4_900_000),
            ("3.85", 3_850_000),
            ("0", 0),
            ("4.165", 4_165_000),
            ("100", 100_000_000),
            ("100.000000", 100_000_000),
            ("0.000001", 1),
            ("04.90", 4_900_000),
            (" 4.9 ", 4_900_000),
            ("12", 12_000_000),
        ];
        for (text, millionths) in cases {
            assert_eq!(
                AnnualRate::parse(text),
                Ok(AnnualRate {
                    millionths_of_percent: millionths
                }),
                "{text:?}"
            );
        }
    }

    #[test]
    fn rejects_malformed_or_out_of_range_rates() {
        let cases = [
            ("", "empty"),
            ("   ", "empty"),
            ("-1", "negative"),
            ("-0.5", "negative"),
            ("100.000001", "above 100"),
            ("101", "above 100"),
            ("99999999999999999999999", "above 100"),
            ("4.1234567", "more than 6 decimal places"),
            ("4.", "not a plain decimal"),
            (".5", "not a plain decimal"),
            ("4,9", "not a plain decimal"),
            ("4.9%", "not a plain decimal"),
            ("+4.9", "not a plain decimal"),
            ("1e2", "not a plain decimal"),
            ("4.9.1", "not a plain decimal"),
            ("四", "not a plain decimal"),
            ("٤", "not a plain decimal"),
        ];
        for (text, message) in cases {
            let error = AnnualRate::parse(text).unwrap_err();
            assert!(error.contains(message), "{text:?}: {error}");
        }
    }

    // --- Natural

    #[test]
    fn natural_arithmetic_agrees_with_u128() {
        let as_u128 = |n: &Natural| u128::from(n.limb(0)) | (u128::from(n.limb(1)) << 64);
        let a = Natural::power(10, 30); // beyond u64
        assert_eq!(a.0.len(), 2);
        assert_eq!(as_u128(&a), 10_u128.pow(30));
        let b = Natural::power(3, 40);
        assert_eq!(as_u128(&a.plus(&b)), 10_u128.pow(30) + 3_u128.pow(40));
        assert_eq!(as_u128(&a.minus(&b)), 10_u128.pow(30) - 3_u128.pow(40));
        assert_eq!(a.minus(&a), Natural(vec![]));
        assert!(b < a && a.times(0) < b);
        assert_eq!(a.cmp(&a), Ordering::Equal);
        assert_eq!(
            as_u128(&b.times(u64::MAX)),
            3_u128.pow(40) * u128::from(u64::MAX)
        );
        let carried = Natural(vec![u64::MAX]).plus(&Natural(vec![1]));
        assert_eq!(carried, Natural(vec![0, 1]));
    }
}
