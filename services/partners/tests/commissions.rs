//! Commissions (PA4) and the partner report (PA7) through gRPC on every backend: a furniture
//! order brought by a dealer accrues at its tier's rates per category, a return takes back the
//! returned sofa's share as a negative line, completion starts the holding period, the month's
//! statement is generated once with its volume rebate, approved, paid and exported; bonuses;
//! bad input, other partners and tenants; and the report per partner and tier.

use crate::{
    common::{self, *},
    orders_common as oc,
};
use rapport_proto::{orders as opb, partners as pb, types::Money};
use rapport_runtime::clock::DAY;
use rapport_testkit::{TestServer, each_backend, each_backend_at, wait::eventually};
use tonic::Code;

fn cny(minor_units: i64) -> Option<Money> {
    Some(Money {
        currency_code: "CNY".into(),
        minor_units,
    })
}

/// The furniture catalog and an active Gold dealer (see `common::gold_dealer`); its name.
async fn gold_dealer(s: &TestServer) -> String {
    oc::furniture(s).await;
    common::gold_dealer(s).await
}

/// Two sofas and a dining table sold through `dealer`, confirmed by rep-1.
async fn dealer_order(s: &TestServer, dealer: &str) -> opb::Order {
    let wang = oc::customer(s, "Wang Fang", "+8613800000001", "rep-1", "north").await;
    let mut r1 = oc::rep(s, "rep-1", "north");
    let mut o = oc::order(
        &wang,
        vec![oc::line("SOFA-3S", 2, 0), oc::line("TABLE-6", 1, 0)],
    );
    o.partner = dealer.into();
    let o = oc::create_order(&mut r1, o, "").await.unwrap();
    r1.orders
        .confirm_order(opb::ConfirmOrderRequest {
            name: o.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

async fn ledger(c: &mut Clients, partner: &str) -> Vec<pb::CommissionLine> {
    let mut lines = c
        .commissions
        .list_commission_lines(pb::ListCommissionLinesRequest {
            parent: partner.into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .lines;
    lines.reverse();
    lines
}

fn amounts(lines: &[pb::CommissionLine]) -> Vec<(i32, i64)> {
    lines
        .iter()
        .map(|l| (l.kind, l.amount.as_ref().unwrap().minor_units))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_order_accrues_a_return_reverses_and_the_month_is_stated_paid_and_exported() {
    let start = rapport_testkit::values::unix_now() as i64 * 1_000_000;
    each_backend_at(&services(), start, async |s, clock| {
        let dealer = gold_dealer(s).await;
        let o = dealer_order(s, &dealer).await;
        let mut m = manager(s);
        let mut lines = Vec::new();
        eventually("the order's lines accrue", async || {
            lines = ledger(&mut m, &dealer).await;
            lines.len() == 2
        })
        .await;
        let accrual = pb::CommissionLineKind::Accrual as i32;
        assert_eq!(amounts(&lines), [(accrual, 143_984), (accrual, 22_500)]);
        let sofa = &lines[0];
        assert_eq!(sofa.rate_bps, 800);
        assert_eq!(sofa.basis, cny(1_799_800));
        assert_eq!(sofa.order, o.name);
        assert!(
            sofa.payable_time.is_none(),
            "held until the order completes"
        );
        assert!(
            sofa.explanation
                .starts_with("800 bps (Gold) of 1,799,800 CNY on orders/"),
            "{}",
            sofa.explanation
        );

        // One sofa comes back: its share is taken back by a line of its own.
        oc::deliver(&mut oc::rep(s, "rep-1", "north"), &o, start / 1_000_000).await;
        let mut r1 = oc::rep(s, "rep-1", "north");
        let sofa_line = o.lines.iter().find(|l| l.sku == "SOFA-3S").unwrap();
        r1.returns
            .request_return(opb::RequestReturnRequest {
                parent: o.name.clone(),
                r#return: Some(opb::Return {
                    kind: opb::ReturnKind::Return.into(),
                    lines: vec![opb::DeliveryLine {
                        line_id: sofa_line.id.clone(),
                        quantity: 1,
                    }],
                    reason: "Scratched".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap();
        eventually("the returned sofa's commission is taken back", async || {
            ledger(&mut m, &dealer).await.len() == 3
        })
        .await;
        let lines = ledger(&mut m, &dealer).await;
        assert_eq!(
            amounts(&lines)[2],
            (pb::CommissionLineKind::Reversal as i32, -71_992)
        );
        assert_eq!(lines[2].basis, cny(-899_900));

        // The follow-up visit completes the order: the lines are payable 30 days later.
        r1.deliveries
            .record_follow_up(opb::RecordFollowUpRequest {
                order: o.name.clone(),
                satisfaction: 5,
                ..Default::default()
            })
            .await
            .unwrap();
        eventually("completion makes the lines payable", async || {
            ledger(&mut m, &dealer)
                .await
                .iter()
                .all(|l| l.payable_time.is_some())
        })
        .await;
        let payable = ledger(&mut m, &dealer).await[0]
            .payable_time
            .unwrap()
            .seconds;
        assert_eq!(payable, start / 1_000_000 + 30 * 86_400);

        // Into the second month after: last month's statement is generated, once.
        clock.advance(62 * DAY);
        let mut statements = Vec::new();
        eventually("the month's statement is generated", async || {
            statements = m
                .commissions
                .list_statements(pb::ListStatementsRequest {
                    parent: dealer.clone(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .statements;
            !statements.is_empty()
        })
        .await;
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        let again = m
            .commissions
            .list_statements(pb::ListStatementsRequest {
                parent: dealer.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .statements;
        assert_eq!(again.len(), 1, "one statement per partner and month");
        let st = &statements[0];
        assert_eq!(st.state, pb::StatementState::Draft as i32);
        assert_eq!(st.line_count, 4);
        // 143,984 + 22,500 − 71,992, and 100 bps on 1,349,900 of net sales.
        assert_eq!(
            st.totals,
            [Money {
                currency_code: "CNY".into(),
                minor_units: 94_492 + 13_499
            }]
        );
        let on_it = m
            .commissions
            .list_commission_lines(pb::ListCommissionLinesRequest {
                parent: dealer.clone(),
                statement: st.name.clone(),
                kind: pb::CommissionLineKind::Rebate.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .lines;
        assert_eq!(on_it.len(), 1);
        assert_eq!(on_it[0].amount, cny(13_499));
        assert!(
            on_it[0].explanation.contains("1,349,900 CNY"),
            "{}",
            on_it[0].explanation
        );

        let csv = m
            .commissions
            .export_statement(pb::ExportStatementRequest {
                name: st.name.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(csv.content_type, "text/csv; charset=utf-8");
        let text = String::from_utf8(csv.content).unwrap();
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows.len(), 5, "{text}");
        assert!(rows[0].starts_with("kind,order,order_line,category,basis,rate_bps,amount"));
        assert!(text.contains("reversal"), "{text}");

        // Approve (managers), then pay (admins, with a reference); each once.
        let mut a = admin(s);
        let approved = m
            .commissions
            .approve_statement(pb::ApproveStatementRequest {
                name: st.name.clone(),
                etag: st.etag.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(approved.approved_by, "cm-1");
        assert_code(
            m.commissions
                .pay_statement(pb::PayStatementRequest {
                    name: st.name.clone(),
                    payment_reference: "TX-1".into(),
                    ..Default::default()
                })
                .await,
            Code::PermissionDenied,
        );
        let no_ref = assert_code(
            a.commissions
                .pay_statement(pb::PayStatementRequest {
                    name: st.name.clone(),
                    ..Default::default()
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&no_ref), ["payment_reference"]);
        let stale = a
            .commissions
            .pay_statement(pb::PayStatementRequest {
                name: st.name.clone(),
                payment_reference: "TX-1".into(),
                etag: st.etag.clone(),
            })
            .await;
        assert_code(stale, Code::Aborted);
        let paid = a
            .commissions
            .pay_statement(pb::PayStatementRequest {
                name: st.name.clone(),
                payment_reference: "TX-1".into(),
                etag: approved.etag.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(paid.state, pb::StatementState::Paid as i32);
        assert_eq!(paid.payment_reference, "TX-1");
        let twice = assert_code(
            m.commissions
                .approve_statement(pb::ApproveStatementRequest {
                    name: st.name.clone(),
                    etag: String::new(),
                })
                .await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&twice), "STATEMENT_STATE");

        // The dealer reads its own statement; another partner reads nothing of it.
        let mut me = as_partner(s, &dealer);
        me.commissions
            .get_statement(pb::GetStatementRequest {
                name: st.name.clone(),
            })
            .await
            .unwrap();
        let other = active_partner(s, "Other").await;
        let mut them = as_partner(s, &other.name);
        assert_code(
            them.commissions
                .get_statement(pb::GetStatementRequest {
                    name: st.name.clone(),
                })
                .await,
            Code::NotFound,
        );
        assert_code(
            them.commissions
                .export_statement(pb::ExportStatementRequest {
                    name: st.name.clone(),
                })
                .await,
            Code::NotFound,
        );
        assert_code(
            them.commissions
                .list_commission_lines(pb::ListCommissionLinesRequest {
                    parent: dealer.clone(),
                    ..Default::default()
                })
                .await,
            Code::NotFound,
        );
        assert_code(
            stranger(s)
                .commissions
                .get_statement(pb::GetStatementRequest {
                    name: st.name.clone(),
                })
                .await,
            Code::NotFound,
        );

        // The report of the order's day: the dealer's sales, commissions and its tier.
        let day = |t: i64| prost_types::Timestamp {
            seconds: t / 1_000_000,
            nanos: 0,
        };
        let report = m
            .analytics
            .get_partner_report(pb::GetPartnerReportRequest {
                start_time: Some(day(start - DAY)),
                end_time: Some(day(start + DAY)),
                partner: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(report.partners.len(), 1);
        let row = &report.partners[0];
        assert_eq!(row.partner, dealer);
        assert_eq!(row.sales, [cny(2_249_800).unwrap()]);
        assert_eq!(row.commissions, [cny(94_492).unwrap()]);
        assert_eq!(report.tiers.len(), 1);
        assert_eq!(report.tiers[0].partner_count, 1);
        // Another partner's credential sees only its own (empty) row.
        let theirs = them
            .analytics
            .get_partner_report(pb::GetPartnerReportRequest {
                start_time: Some(day(start - DAY)),
                end_time: Some(day(start + DAY)),
                partner: dealer.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(theirs.partners.is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn adjustments_and_reports_refuse_bad_input_and_the_wrong_callers() {
    each_backend(&services(), async |s| {
        let dealer = active_partner(s, "Dealer").await;
        let mut m = manager(s);
        let bad = assert_code(
            m.commissions
                .create_commission_adjustment(pb::CreateCommissionAdjustmentRequest {
                    parent: "partners/x".into(),
                    amount: Some(Money {
                        currency_code: "yuan".into(),
                        minor_units: 5,
                    }),
                    reason: String::new(),
                    request_id: String::new(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&bad),
            ["amount.currency_code", "parent", "reason"]
        );
        let zero = assert_code(
            m.commissions
                .create_commission_adjustment(pb::CreateCommissionAdjustmentRequest {
                    parent: dealer.name.clone(),
                    amount: cny(0),
                    reason: "bonus".into(),
                    request_id: String::new(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&zero), ["amount.minor_units"]);
        let req = pb::CreateCommissionAdjustmentRequest {
            parent: dealer.name.clone(),
            amount: cny(5_000),
            reason: "Opening bonus".into(),
            request_id: "bonus-1".into(),
        };
        let bonus = m
            .commissions
            .create_commission_adjustment(req.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(bonus.kind, pb::CommissionLineKind::Adjustment as i32);
        assert!(bonus.payable_time.is_some());
        assert_eq!(bonus.explanation, "adjustment by cm-1: Opening bonus");
        let again = m
            .commissions
            .create_commission_adjustment(req.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(again, bonus);
        assert_eq!(ledger(&mut m, &dealer.name).await.len(), 1);
        assert_code(
            rep(s)
                .commissions
                .create_commission_adjustment(req.clone())
                .await,
            Code::PermissionDenied,
        );
        assert_code(
            as_partner(s, &dealer.name)
                .commissions
                .create_commission_adjustment(req.clone())
                .await,
            Code::PermissionDenied,
        );
        assert_code(
            stranger(s)
                .commissions
                .create_commission_adjustment(pb::CreateCommissionAdjustmentRequest {
                    request_id: String::new(),
                    ..req
                })
                .await,
            Code::NotFound,
        );
        let bad_list = assert_code(
            m.commissions
                .list_commission_lines(pb::ListCommissionLinesRequest {
                    parent: dealer.name.clone(),
                    kind: 9,
                    statement: "partners/x/statements/y".into(),
                    page_size: -1,
                    page_token: String::new(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&bad_list),
            ["kind", "page_size", "statement"]
        );
        assert_code(
            m.commissions
                .get_statement(pb::GetStatementRequest {
                    name: "statements/1".into(),
                })
                .await,
            Code::InvalidArgument,
        );
        let bad_report = assert_code(
            m.analytics
                .get_partner_report(pb::GetPartnerReportRequest {
                    start_time: Some(prost_types::Timestamp {
                        seconds: 1_000_000,
                        nanos: 0,
                    }),
                    end_time: Some(prost_types::Timestamp {
                        seconds: 1_000_000 + 400 * 86_400,
                        nanos: 0,
                    }),
                    partner: "dealer".into(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(sorted_bad_fields(&bad_report), ["end_time", "partner"]);
        let missing = assert_code(
            m.analytics
                .get_partner_report(pb::GetPartnerReportRequest::default())
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(sorted_bad_fields(&missing), ["end_time", "start_time"]);
    })
    .await;
}
