//! Commission lines and statements: answers, and the CSV export.

use rapport_kit::names;
use rapport_proto::{partners as pb, types as pt};
use rapport_runtime::{Error, Result, clock::to_timestamp};

use super::time;
use crate::{
    domain::partner::PARTNERS,
    store::commissions::{Kind, Line, Statement, StatementState},
};

/// The catalog's category names, as the orders service writes them.
const CATEGORIES: &str = "categories";

fn kind_to_proto(k: Kind) -> pb::CommissionLineKind {
    match k {
        Kind::Accrual => pb::CommissionLineKind::Accrual,
        Kind::Reversal => pb::CommissionLineKind::Reversal,
        Kind::Rebate => pb::CommissionLineKind::Rebate,
        Kind::Adjustment => pb::CommissionLineKind::Adjustment,
    }
}

/// A line kind from its proto number; None for UNSPECIFIED.
pub fn kind(raw: i32) -> Result<Option<Kind>, prost::UnknownEnumValue> {
    rapport_kit::enums::read(
        &[
            (pb::CommissionLineKind::Accrual, Kind::Accrual),
            (pb::CommissionLineKind::Reversal, Kind::Reversal),
            (pb::CommissionLineKind::Rebate, Kind::Rebate),
            (pb::CommissionLineKind::Adjustment, Kind::Adjustment),
        ],
        raw,
    )
}

/// A statement state from its proto number; None for UNSPECIFIED.
pub fn statement_state(raw: i32) -> Result<Option<StatementState>, prost::UnknownEnumValue> {
    rapport_kit::enums::read(
        &[
            (pb::StatementState::Draft, StatementState::Draft),
            (pb::StatementState::Approved, StatementState::Approved),
            (pb::StatementState::Paid, StatementState::Paid),
        ],
        raw,
    )
}

fn money(currency: &str, minor_units: i64) -> Option<pt::Money> {
    Some(pt::Money {
        currency_code: currency.to_owned(),
        minor_units,
    })
}

fn statement_name(s: &Statement) -> String {
    names::format_child_id(PARTNERS, s.partner_id, "statements", s.id)
}

/// The answer for a ledger line.
pub fn line_to_proto(l: &Line) -> pb::CommissionLine {
    pb::CommissionLine {
        name: names::format_child_id(PARTNERS, l.partner_id, "commissionLines", l.id),
        kind: kind_to_proto(l.kind).into(),
        amount: money(&l.currency, l.amount),
        order: if l.order_id.is_empty() {
            String::new()
        } else {
            format!("orders/{}", l.order_id)
        },
        order_line: l.line_id.clone(),
        category: if l.category.is_empty() {
            String::new()
        } else {
            format!("{CATEGORIES}/{}", l.category)
        },
        rate_bps: l.rate_bps,
        basis: money(&l.currency, l.basis),
        explanation: l.explanation.clone(),
        payable_time: time((l.payable_time > 0).then_some(l.payable_time)),
        statement: if l.statement_id.is_empty() {
            String::new()
        } else {
            format!(
                "{}/{}/statements/{}",
                PARTNERS, l.partner_id, l.statement_id
            )
        },
        create_time: Some(to_timestamp(l.create_time)),
    }
}

/// The answer for a statement.
pub fn statement_to_proto(s: &Statement) -> pb::Statement {
    let state = match s.state {
        StatementState::Draft => pb::StatementState::Draft,
        StatementState::Approved => pb::StatementState::Approved,
        StatementState::Paid => pb::StatementState::Paid,
    };
    pb::Statement {
        name: statement_name(s),
        month: s.month.clone(),
        state: state.into(),
        totals: s
            .doc
            .totals
            .iter()
            .filter_map(|(c, m)| money(c, *m))
            .collect(),
        line_count: i32::try_from(s.line_count).unwrap_or(i32::MAX),
        approved_by: s.doc.approved_by.clone(),
        approve_time: time((s.doc.approve_time > 0).then_some(s.doc.approve_time)),
        payment_reference: s.doc.payment_reference.clone(),
        pay_time: time((s.doc.pay_time > 0).then_some(s.doc.pay_time)),
        create_time: Some(to_timestamp(s.create_time)),
        etag: names::etag(s.id.as_bytes(), s.version),
    }
}

/// The statement and its lines as CSV.
pub fn export(s: &Statement, lines: &[Line]) -> Result<pb::ExportStatementResponse> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "kind",
        "order",
        "order_line",
        "category",
        "basis",
        "rate_bps",
        "amount",
        "currency",
        "explanation",
        "create_time",
    ])
    .map_err(Error::internal)?;
    for l in lines {
        let p = line_to_proto(l);
        let created = rapport_runtime::clock::rfc3339(l.create_time);
        out.write_record([
            l.kind.as_str(),
            &p.order,
            &l.line_id,
            &p.category,
            &l.basis.to_string(),
            &l.rate_bps.to_string(),
            &l.amount.to_string(),
            &l.currency,
            &l.explanation,
            &created,
        ])
        .map_err(Error::internal)?;
    }
    let content = out.into_inner().map_err(Error::internal)?;
    Ok(pb::ExportStatementResponse {
        filename: format!("statement-{}-{}.csv", s.month, s.partner_id),
        content_type: "text/csv; charset=utf-8".into(),
        content,
    })
}

/// An order of the orders service's events as commissions see it.
pub fn order_view(o: &rapport_proto::orders::Order) -> crate::domain::commission::Order {
    use crate::domain::commission::{Order, OrderLine};
    use rapport_proto::orders::OrderState as S;
    let units = |m: &Option<pt::Money>| m.as_ref().map_or(0, |m| m.minor_units);
    let state = S::try_from(o.state).unwrap_or(S::Unspecified);
    Order {
        id: o.name.trim_start_matches("orders/").to_owned(),
        currency: o.currency_code.clone(),
        counted: matches!(
            state,
            S::Confirmed | S::DeliveryScheduled | S::Delivered | S::Completed
        ),
        completed_time: (state == S::Completed)
            .then(|| {
                o.update_time
                    .as_ref()
                    .and_then(rapport_runtime::clock::from_timestamp)
            })
            .flatten(),
        subtotal: o.lines.iter().map(|l| units(&l.amount)).sum(),
        order_discount: units(&o.order_discount),
        lines: o
            .lines
            .iter()
            .map(|l| OrderLine {
                id: l.id.clone(),
                category: l
                    .category
                    .strip_prefix("categories/")
                    .unwrap_or_default()
                    .to_owned(),
                amount: units(&l.amount),
                quantity: i64::from(l.quantity),
                returned: i64::from(l.returned_quantity),
            })
            .collect(),
    }
}
