//! The loan calculator's request and answer: validation against the calculator's limits, and
//! the due date of each instalment (a month after the one before, on the last day of a shorter
//! month).

use rapport_kit::validate;
use rapport_proto::{orders as pb, types as pt};
use rapport_runtime::validation::Violations;
use time::{Date, Month};

use crate::domain::loan::{AnnualRate, Loan, MAX_MONTHS, MAX_PRINCIPAL, Method, Schedule};

/// What ComputeLoanSchedule asks for, parsed.
pub struct LoanRequest {
    pub loan: Loan,
    pub currency: String,
    pub first_payment: Date,
}

/// Parses the request, reporting every bad field.
pub fn parse_loan(r: &pb::ComputeLoanScheduleRequest, v: &mut Violations) -> Option<LoanRequest> {
    let principal = validate::money(v, "principal", r.principal.as_ref());
    match &principal {
        None if r.principal.is_none() => v.add("principal", "is required"),
        Some(m) if !(1..=MAX_PRINCIPAL).contains(&m.minor_units) => v.add(
            "principal.minor_units",
            format!("must be 1..{MAX_PRINCIPAL}"),
        ),
        _ => {}
    }
    let rate = AnnualRate::parse(&r.annual_rate_percent)
        .map_err(|e| v.add("annual_rate_percent", e))
        .ok();
    let months = u32::try_from(r.months)
        .ok()
        .filter(|m| (1..=MAX_MONTHS).contains(m));
    if months.is_none() {
        v.add("months", format!("must be 1..{MAX_MONTHS}"));
    }
    let method = match pb::RepaymentMethod::try_from(r.method) {
        Ok(pb::RepaymentMethod::EqualInstalment) => Some(Method::EqualInstalment),
        Ok(pb::RepaymentMethod::EqualPrincipal) => Some(Method::EqualPrincipal),
        _ => {
            v.add("method", "is required: EQUAL_INSTALMENT or EQUAL_PRINCIPAL");
            None
        }
    };
    let first_payment = if r.first_payment_date.is_none() {
        v.add("first_payment_date", "is required");
        None
    } else {
        validate::full_date(v, "first_payment_date", r.first_payment_date.as_ref())
    };
    let principal = principal.filter(|m| (1..=MAX_PRINCIPAL).contains(&m.minor_units))?;
    Some(LoanRequest {
        loan: Loan {
            principal: principal.minor_units,
            rate: rate?,
            months: months?,
            method: method?,
        },
        currency: principal.currency_code,
        first_payment: first_payment?,
    })
}

/// `months` months after `date`, on the last day of the month when it is shorter.
pub fn add_months(date: Date, months: u32) -> Date {
    let index = date.year() * 12 + i32::from(u8::from(date.month())) - 1 + months as i32;
    let (year, month) = (index.div_euclid(12), index.rem_euclid(12) as u8 + 1);
    let month = Month::try_from(month).unwrap_or(Month::January);
    let day = date.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).unwrap_or(date)
}

/// The answer: every instalment with its due date.
pub fn schedule_to_proto(r: &LoanRequest, s: &Schedule) -> pb::LoanSchedule {
    let money = |minor_units| {
        Some(pt::Money {
            currency_code: r.currency.clone(),
            minor_units,
        })
    };
    pb::LoanSchedule {
        instalments: s
            .instalments
            .iter()
            .map(|i| pb::Instalment {
                number: i32::try_from(i.number).unwrap_or(i32::MAX),
                due_date: Some(validate::date_to_proto(validate::Date::from_time(
                    add_months(r.first_payment, i.number - 1),
                ))),
                payment: money(i.payment),
                principal: money(i.principal),
                interest: money(i.interest),
                balance: money(i.balance),
            })
            .collect(),
        total_payment: money(s.total_payment),
        total_interest: money(s.total_interest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn a_month_later_is_the_last_day_of_a_shorter_month() {
        assert_eq!(add_months(date!(2024 - 01 - 31), 1), date!(2024 - 02 - 29));
        assert_eq!(add_months(date!(2023 - 01 - 31), 1), date!(2023 - 02 - 28));
        assert_eq!(add_months(date!(2024 - 11 - 15), 2), date!(2025 - 01 - 15));
        assert_eq!(add_months(date!(2024 - 05 - 31), 0), date!(2024 - 05 - 31));
        assert_eq!(
            add_months(date!(2024 - 01 - 31), 359),
            date!(2053 - 12 - 31)
        );
    }
}
