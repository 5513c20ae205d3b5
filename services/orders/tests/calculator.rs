//! CalculatorService (OR5) through gRPC: loan schedules against published reference figures.

use crate::common::*;
use rapport_proto::orders as pb;
use rapport_testkit::{each_backend, values::date};
use tonic::Code;

fn loan(method: pb::RepaymentMethod) -> pb::ComputeLoanScheduleRequest {
    pb::ComputeLoanScheduleRequest {
        // 1,000,000.00 CNY at 4.9% over 30 years, first payment on 31 January 2025.
        principal: money("CNY", 100_000_000),
        annual_rate_percent: "4.9".into(),
        months: 360,
        method: method.into(),
        first_payment_date: date(2025, 1, 31),
    }
}

#[tokio::test]
async fn loan_schedules_match_the_published_figures() {
    each_backend(&services(), async |s| {
        let mut r = rep(s, "rep-1", "north");
        let equal = r
            .calculator
            .compute_loan_schedule(loan(pb::RepaymentMethod::EqualInstalment))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(equal.instalments.len(), 360);
        let first = &equal.instalments[0];
        assert_eq!(units(&first.payment), 530_727);
        assert_eq!(
            (units(&first.principal), units(&first.interest)),
            (122_394, 408_333)
        );
        assert_eq!(first.due_date, date(2025, 1, 31));
        // A month later is the last day of February.
        assert_eq!(equal.instalments[1].due_date, date(2025, 2, 28));
        let last = equal.instalments.last().unwrap();
        assert_eq!(units(&last.balance), 0);
        assert_eq!(units(&equal.total_interest), 91_061_512);

        let principal = r
            .calculator
            .compute_loan_schedule(loan(pb::RepaymentMethod::EqualPrincipal))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(units(&principal.instalments[0].payment), 686_111);
        assert_eq!(units(&principal.instalments[359].payment), 278_912);
        assert_eq!(units(&principal.total_interest), 73_704_167);
        assert_eq!(
            principal.total_payment.as_ref().unwrap().currency_code,
            "CNY"
        );
    })
    .await;
}

#[tokio::test]
async fn a_bad_loan_names_every_bad_field() {
    each_backend(&services(), async |s| {
        let mut r = rep(s, "rep-1", "north");
        let bad = r
            .calculator
            .compute_loan_schedule(pb::ComputeLoanScheduleRequest {
                principal: money("CNY", 0),
                annual_rate_percent: "4.9%".into(),
                months: 601,
                method: 0,
                first_payment_date: date(2025, 2, 30),
            })
            .await;
        let st = assert_code(bad, Code::InvalidArgument);
        assert_eq!(
            sorted_bad_fields(&st),
            [
                "annual_rate_percent",
                "first_payment_date",
                "method",
                "months",
                "principal.minor_units"
            ]
        );
        let none = anonymous(s, None)
            .calculator
            .compute_loan_schedule(loan(pb::RepaymentMethod::EqualInstalment))
            .await;
        assert_code(none, Code::Unauthenticated);
    })
    .await;
}
