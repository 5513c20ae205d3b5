//! Commissions' use cases (PA4): accrual and reversal from the orders' events, bonuses and
//! corrections, monthly statements generated once per partner and month, their approval,
//! payment and export.

use rapport_kit::names;
use rapport_proto::partners as pb;
use rapport_runtime::{Error, Result, auth::Principal, storage::Idempotency, write::Write};
use uuid::Uuid;

use super::{App, EVENTS, partners, viewer};
use crate::{
    convert::commission::{line_to_proto, statement_to_proto},
    domain::{
        commission::{self, Delta, Order, last_month, rebates},
        partner::PARTNERS,
        settings::Settings,
        tier::{Benefits, grouped},
    },
    store::{
        commissions::{self as store, Kind, Line, Statement, StatementState},
        partners as partner_store, tiers,
    },
};

/// "partners/{p}".
fn partner_name(id: Uuid) -> String {
    names::format_id(PARTNERS, id)
}

/// Appends `line` and announces it.
async fn add_line(w: &mut Write, line: &Line) -> Result<()> {
    let tenant = w.tenant().to_owned();
    store::insert_line(w.tx(), &tenant, line).await?;
    w.emit(
        "commission.line_added",
        partner_name(line.partner_id),
        &pb::CommissionLineAdded {
            partner: partner_name(line.partner_id),
            line: Some(line_to_proto(line)),
        },
    );
    Ok(())
}

/// A tier's name and benefits for the partner `id`, or none.
async fn benefits_of(w: &mut Write, id: Uuid) -> Result<(String, Benefits)> {
    let tenant = w.tenant().to_owned();
    let Some(p) = partner_store::get(w.tx(), &tenant, id, None).await? else {
        return Ok(("no partner".into(), Benefits::default()));
    };
    let tier = match Uuid::parse_str(&p.tier_id) {
        Ok(t) => tiers::get(w.tx(), &tenant, t, None).await?,
        Err(_) => None,
    };
    Ok(tier.map_or_else(
        || ("no tier".to_owned(), Benefits::default()),
        |t| (t.display_name, t.benefits),
    ))
}

/// Why a delta's line: the rate, the tier and the order line.
fn explain(d: &Delta, tier: &str) -> String {
    let what = if d.amount >= 0 && d.basis >= 0 {
        "of"
    } else {
        "taken back on"
    };
    format!(
        "{} bps ({tier}) {what} {} {} on orders/{} line {}",
        d.rate_bps,
        grouped(d.basis.abs()),
        d.currency,
        d.order_id,
        d.line_id
    )
}

/// Brings `order`'s commissions up to date in `w`: the lines it is worth now to `partner`
/// (None: no partner) less what they were credited, each difference a ledger line, payable
/// once the order completed and the holding period passed.
pub async fn reconcile(
    w: &mut Write,
    settings: &Settings,
    order: &Order,
    partner: Option<Uuid>,
) -> Result<()> {
    let tenant = w.tenant().to_owned();
    let before = store::accruals(w.tx(), &tenant, &order.id).await?;
    if partner.is_none() && before.is_empty() {
        return Ok(());
    }
    let (tier, benefits) = match partner {
        Some(p) => benefits_of(w, p).await?,
        None => (String::new(), Benefits::default()),
    };
    let partner_id = partner.map(|p| p.to_string()).unwrap_or_default();
    let (deltas, after) = commission::reconcile(&before, order, &partner_id, |c| {
        commission::rate(&benefits, c)
    });
    let completed = match store::completed(w.tx(), &tenant, &order.id).await? {
        Some(at) => Some(at),
        None => order.completed_time,
    };
    let payable = completed.map_or(0, |at| at.saturating_add(settings.holding_micros()));
    let now = w.now();
    for d in &deltas {
        if d.amount == 0 {
            continue;
        }
        let Ok(partner_id) = Uuid::parse_str(&d.partner_id) else {
            continue;
        };
        let line = Line {
            id: Uuid::now_v7(),
            partner_id,
            kind: if d.amount > 0 {
                Kind::Accrual
            } else {
                Kind::Reversal
            },
            currency: d.currency.clone(),
            amount: d.amount,
            basis: d.basis,
            rate_bps: d.rate_bps,
            order_id: d.order_id.clone(),
            line_id: d.line_id.clone(),
            category: d.category.clone(),
            explanation: explain(d, &tier),
            payable_time: payable,
            statement_id: String::new(),
            create_time: now,
        };
        add_line(w, &line).await?;
    }
    store::save_accruals(w.tx(), &tenant, &after).await?;
    if let Some(at) = order.completed_time {
        let payable = at.saturating_add(settings.holding_micros());
        store::complete(w.tx(), &tenant, &order.id, at, payable).await?;
    }
    Ok(())
}

/// Adds a bonus or correction for partner `id`: payable at once.
pub async fn adjust(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    id: Uuid,
    (currency, amount): (String, i64),
    reason: &str,
) -> Result<pb::CommissionLine> {
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    partner_store::get(w.tx(), &p.tenant_id, id, None)
        .await?
        .ok_or_else(|| Error::not_found(partner_name(id)))?;
    let now = w.now();
    let line = Line {
        id: Uuid::now_v7(),
        partner_id: id,
        kind: Kind::Adjustment,
        currency,
        amount,
        basis: 0,
        rate_bps: 0,
        order_id: String::new(),
        line_id: String::new(),
        category: String::new(),
        explanation: format!("adjustment by {}: {reason}", p.subject),
        payable_time: now,
        statement_id: String::new(),
        create_time: now,
    };
    add_line(&mut w, &line).await?;
    w.commit(line_to_proto(&line)).await
}

/// A page of partner `id`'s ledger, when the caller sees the partner.
pub async fn lines(
    app: &App,
    p: &Principal,
    id: Uuid,
    filter: &store::LineFilter,
    page: &rapport_kit::query::Page,
) -> Result<(Vec<Line>, String)> {
    partners::get(app, p, id).await?;
    let mut conn = app.db().pool().acquire().await?;
    let mut rows = store::lines(&mut conn, &p.tenant_id, id, filter, page).await?;
    let next = page.next_token(&mut rows, store::line_cursor);
    Ok((rows, next))
}

fn statement_not_found(partner: Uuid, id: Uuid) -> Error {
    Error::not_found(names::format_child_id(PARTNERS, partner, "statements", id))
}

/// A statement the caller sees.
pub async fn statement(app: &App, p: &Principal, partner: Uuid, id: Uuid) -> Result<Statement> {
    if !viewer(p).sees(partner) {
        return Err(statement_not_found(partner, id));
    }
    let mut conn = app.db().pool().acquire().await?;
    store::statement(&mut conn, &p.tenant_id, partner, id, None)
        .await?
        .ok_or_else(|| statement_not_found(partner, id))
}

/// A page of partner `id`'s statements, when the caller sees the partner.
pub async fn statements(
    app: &App,
    p: &Principal,
    id: Uuid,
    state: Option<StatementState>,
    page: &rapport_kit::query::Page,
) -> Result<(Vec<Statement>, String)> {
    partners::get(app, p, id).await?;
    let mut conn = app.db().pool().acquire().await?;
    let mut rows = store::statements(&mut conn, &p.tenant_id, id, state, page).await?;
    let next = page.next_token(&mut rows, store::statement_cursor);
    Ok((rows, next))
}

/// Moves a statement on: `change` decides (FAILED_PRECONDITION when it may not).
async fn decide(
    app: &App,
    p: &Principal,
    (partner, id): (Uuid, Uuid),
    etag: &str,
    kind: &str,
    change: impl FnOnce(&mut Statement, i64) -> Result<()>,
) -> Result<pb::Statement> {
    let mut w = app.write(p).await?;
    let lock = Some(app.db().dialect());
    let current = store::statement(w.tx(), &p.tenant_id, partner, id, lock)
        .await?
        .ok_or_else(|| statement_not_found(partner, id))?;
    let name = names::format_child_id(PARTNERS, partner, "statements", id);
    names::check_etag(etag, &names::etag(id.as_bytes(), current.version), &name)?;
    let mut next = current.clone();
    change(&mut next, w.now())?;
    next.version = current.version + 1;
    if !store::update_statement(w.tx(), &p.tenant_id, &next, current.version).await? {
        return Err(Error::stale_etag(&name));
    }
    let out = statement_to_proto(&next);
    w.emit(
        &format!("statement.{kind}"),
        partner_name(partner),
        &pb::StatementChanged {
            partner: partner_name(partner),
            statement: Some(out.clone()),
        },
    );
    w.commit(out).await
}

/// Approves a draft statement.
pub async fn approve(
    app: &App,
    p: &Principal,
    ids: (Uuid, Uuid),
    etag: &str,
) -> Result<pb::Statement> {
    let by = p.subject.clone();
    decide(app, p, ids, etag, "approved", |s, now| {
        if s.state != StatementState::Draft {
            return Err(Error::precondition(
                "STATEMENT_STATE",
                format!(
                    "the statement is {}; only a DRAFT one is approved",
                    s.state.as_str().to_uppercase()
                ),
            ));
        }
        s.state = StatementState::Approved;
        s.doc.approved_by = by;
        s.doc.approve_time = now;
        Ok(())
    })
    .await
}

/// Marks an approved statement paid with `reference`.
pub async fn pay(
    app: &App,
    p: &Principal,
    ids: (Uuid, Uuid),
    etag: &str,
    reference: &str,
) -> Result<pb::Statement> {
    let reference = reference.to_owned();
    decide(app, p, ids, etag, "paid", |s, now| {
        if s.state != StatementState::Approved {
            return Err(Error::precondition(
                "STATEMENT_STATE",
                format!(
                    "the statement is {}; only an APPROVED one is paid",
                    s.state.as_str().to_uppercase()
                ),
            ));
        }
        s.state = StatementState::Paid;
        s.doc.payment_reference = reference;
        s.doc.pay_time = now;
        Ok(())
    })
    .await
}

/// A statement and its lines, for the export.
pub async fn export(
    app: &App,
    p: &Principal,
    partner: Uuid,
    id: Uuid,
) -> Result<(Statement, Vec<Line>)> {
    let s = statement(app, p, partner, id).await?;
    let mut conn = app.db().pool().acquire().await?;
    let lines = store::statement_lines(&mut conn, &p.tenant_id, partner, id).await?;
    Ok((s, lines))
}

/// Generates last month's statement of `partner` in `tenant` if none exists: every line
/// payable by the month's end that no statement holds, and the month's volume rebate. False
/// when another replica made it first.
async fn generate_one(app: &App, tenant: &str, partner: Uuid) -> Result<bool> {
    let settings = app.settings(tenant).await?;
    let system = Principal::system(tenant, "system");
    let mut w = app.write(&system).await?;
    let now = w.now();
    let (month, _, end) = last_month(now);
    let id = Uuid::now_v7();
    if !store::open_statement(w.tx(), tenant, partner, id, &month, now).await? {
        w.rollback().await?;
        return Ok(false);
    }
    store::settle(w.tx(), tenant, partner, id, end).await?;
    let mut volume = std::collections::BTreeMap::new();
    for (kind, currency, basis, _, _) in store::statement_sums(w.tx(), tenant, partner, id).await? {
        if kind == Kind::Accrual.as_str() || kind == Kind::Reversal.as_str() {
            *volume.entry(currency).or_insert(0) += basis;
        }
    }
    for (currency, sales, bps, amount) in rebates(&settings.rebate_brackets, &volume) {
        let line = Line {
            id: Uuid::now_v7(),
            partner_id: partner,
            kind: Kind::Rebate,
            currency: currency.clone(),
            amount,
            basis: sales,
            rate_bps: bps,
            order_id: String::new(),
            line_id: String::new(),
            category: String::new(),
            explanation: format!(
                "volume rebate {bps} bps of {} {currency} sales in {month}",
                grouped(sales)
            ),
            payable_time: end - 1,
            statement_id: id.to_string(),
            create_time: now,
        };
        add_line(&mut w, &line).await?;
    }
    let mut s = Statement {
        id,
        partner_id: partner,
        month,
        state: StatementState::Draft,
        doc: Default::default(),
        line_count: 0,
        create_time: now,
        version: 1,
    };
    for (_, currency, _, amount, n) in store::statement_sums(w.tx(), tenant, partner, id).await? {
        *s.doc.totals.entry(currency).or_insert(0) += amount;
        s.line_count += n;
    }
    s.version = 2;
    store::update_statement(w.tx(), tenant, &s, 1).await?;
    w.emit(
        "statement.created",
        partner_name(partner),
        &pb::StatementChanged {
            partner: partner_name(partner),
            statement: Some(statement_to_proto(&s)),
        },
    );
    w.commit(()).await?;
    Ok(true)
}

/// Generates last month's statements of every partner with lines to settle; how many.
pub async fn generate_statements(app: &App) -> Result<usize> {
    let (month, _, end) = last_month(app.now());
    let due = {
        let mut conn = app.db().pool().acquire().await?;
        store::unsettled(&mut conn, &month, end).await?
    };
    let mut made = 0;
    for (tenant, partner) in due {
        made += usize::from(generate_one(app, &tenant, partner).await?);
    }
    Ok(made)
}
