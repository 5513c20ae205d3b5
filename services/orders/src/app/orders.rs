//! The orders' use cases: create a draft, change it (each change one revision, refused over a
//! stale etag), confirm, cancel, approve a discount, record payments, read the history, and
//! the tenant's settings.

use rapport_kit::{
    names,
    query::{CursorValue, ListQuery, Page},
    settings,
};
use rapport_proto::orders as pb;
use rapport_runtime::{
    Error, Result,
    auth::{Principal, Role},
    storage::Idempotency,
    validation::Violations,
    write::Write,
};
use uuid::Uuid;

use super::{
    App, EVENTS,
    catalog::{Unsellable, snapshots},
    scope,
};
use crate::{
    convert::{
        order::{NewOrder, OrderPatch, order_to_proto, revision_to_proto},
        settings::settings_to_proto,
    },
    domain::{
        catalog::sku_key,
        charges::{ChargeRule, FirstPurchase},
        order::{Line, LineRequest, Order, Payment, Refusal, order_name},
        revision::{Kind, Revision},
        settings::{SETTINGS_NAME, Settings},
    },
    store::{
        children::{self, Child},
        orders as store,
    },
};

/// A fresh id for a line or payment: unique within the order and never reused.
fn new_part_id() -> String {
    Uuid::now_v7().simple().to_string()
}

/// The error for a change the order refuses.
pub(super) fn refused(o: &Order, r: Refusal) -> Error {
    let name = o.name();
    match r {
        Refusal::State(s) => Error::precondition(
            "ORDER_STATE",
            format!("{name} is {} and no longer changes this way", s.as_str()),
        ),
        Refusal::NoLines => Error::precondition(
            "ORDER_EMPTY",
            format!("{name} has no lines; add at least one before confirming"),
        ),
        Refusal::ApprovalPending => Error::precondition(
            "DISCOUNT_APPROVAL_PENDING",
            format!("{name}'s discount is above the threshold and waits for a manager's approval"),
        ),
        Refusal::NothingToApprove => Error::precondition(
            "NO_DISCOUNT_TO_APPROVE",
            format!("{name}'s discount needs no approval"),
        ),
        Refusal::Overpaid { balance_due } => Error::invalid(
            "payment.amount",
            format!("is more than the balance due, {balance_due}"),
        ),
        Refusal::Fields(problems) => {
            let mut v = Violations::new();
            for (field, what) in problems {
                v.add(field, what);
            }
            v.finish(()).map_err(Error::from).unwrap_err()
        }
    }
}

/// Sets `order`'s lines from `requests`: new lines take the catalog's snapshot in the order's
/// currency; lines named by id keep theirs. Every unsellable SKU and unknown line is reported.
async fn set_lines(
    app: &App,
    tenant: &str,
    order: &mut Order,
    requests: &[LineRequest],
) -> Result<()> {
    let new_skus: Vec<&str> = requests
        .iter()
        .filter(|r| r.id.is_none())
        .map(|r| r.sku.as_str())
        .collect();
    let found = snapshots(app, tenant, &new_skus, &order.currency).await?;
    let mut v = Violations::new();
    for (i, r) in requests.iter().enumerate() {
        if r.id.is_some() {
            continue;
        }
        let why = match found.get(&sku_key(&r.sku)) {
            Some(Ok(_)) => continue,
            Some(Err(Unsellable::Discontinued)) => "is discontinued".to_owned(),
            Some(Err(Unsellable::NoPrice)) => format!("has no list price in {}", order.currency),
            Some(Err(Unsellable::Unknown)) | None => "is not in the catalog".to_owned(),
        };
        v.add(format!("order.lines[{i}].sku"), format!("{} {why}", r.sku));
    }
    v.finish(())?;
    let snapshot_of = |sku: &str| found.get(&sku_key(sku)).and_then(|s| s.clone().ok());
    order
        .replace_lines(requests, snapshot_of, new_part_id)
        .map_err(|problems| {
            let mut v = Violations::new();
            for (i, what) in problems {
                v.add(format!("order.lines[{i}].id"), what);
            }
            v.finish(()).map_err(Error::from).unwrap_err()
        })
}

/// Emits `order.<kind>` for `r`; the order's answer.
pub(super) fn emit(w: &mut Write, r: &Revision) -> pb::Order {
    let out = order_to_proto(&r.order);
    w.emit(
        &format!("order.{}", r.kind.as_str()),
        r.order.name(),
        &pb::OrderChanged {
            order: Some(out.clone()),
            revision: Some(revision_to_proto(r, false)),
        },
    );
    out
}

/// Whether `p` may only act for itself: a rep without a manager's or admin's role.
fn only_self(p: &Principal) -> bool {
    !p.roles
        .iter()
        .any(|r| matches!(r, Role::Admin | Role::Manager | Role::ServiceAccount))
}

/// Whether `order` is its customer's first purchase (no other order of the customer was
/// confirmed), asked only when one of `rules` depends on it.
async fn first_purchase(
    app: &App,
    tenant: &str,
    order: &Order,
    rules: &[ChargeRule],
) -> Result<bool> {
    if rules.iter().all(|r| r.first_purchase == FirstPurchase::Any) {
        return Ok(false);
    }
    let mut conn = app.db().pool().acquire().await?;
    Ok(!store::customer_has_confirmed(&mut conn, tenant, order.customer_id, order.id).await?)
}

/// A draft order for a customer the caller was checked to see, priced and checked, not yet
/// written.
pub async fn draft(app: &App, p: &Principal, new: NewOrder) -> Result<Order> {
    let owner_id = if new.owner_id.is_empty() {
        p.subject.clone()
    } else {
        new.owner_id
    };
    if only_self(p) && owner_id != p.subject {
        return Err(Error::PermissionDenied(
            "a rep creates orders it owns: leave owner_id empty or set it to yourself".into(),
        ));
    }
    let own_team = p.team_id.clone().unwrap_or_default();
    let team_id = if new.team_id.is_empty() {
        own_team.clone()
    } else {
        new.team_id
    };
    if !scope(p).is_all() && team_id != own_team {
        return Err(Error::PermissionDenied(format!(
            "orders you create belong to your own team ({own_team:?}), not {team_id:?}"
        )));
    }
    let settings = app.settings(&p.tenant_id).await?;
    let now = app.now();
    let mut order = Order::draft(new.customer_id, owner_id, team_id, new.currency, now);
    order.refs = new.refs;
    order.order_discount = new.order_discount;
    order.notes = new.notes;
    set_lines(app, &p.tenant_id, &mut order, &new.lines).await?;
    let first = first_purchase(app, &p.tenant_id, &order, &settings.charge_rules).await?;
    order.apply_charges(&settings.charge_rules, first);
    order.check_amounts().map_err(|r| refused(&order, r))?;
    order.review_discount(settings.discount_approval_percent);
    Ok(order)
}

/// Writes `order`, a draft made by [`draft`].
pub async fn insert(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    order: Order,
) -> Result<pb::Order> {
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let revision = Revision::of(Kind::Created, &p.subject, None, &order);
    store::insert_order(w.tx(), &p.tenant_id, &order).await?;
    store::insert_revision(w.tx(), &p.tenant_id, &revision).await?;
    let out = emit(&mut w, &revision);
    w.commit(out).await
}

/// Creates a draft order for a customer the caller was checked to see.
pub async fn create(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    new: NewOrder,
) -> Result<pb::Order> {
    let order = draft(app, &p, new).await?;
    insert(app, p, idem, order).await
}

/// Writes `order` with the coupon `code` redeemed for it, attributed to the coupon's
/// `campaign`.
pub async fn insert_redeemed(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    mut order: Order,
    (code, campaign): (&str, &str),
) -> Result<pb::Order> {
    order
        .apply_coupon(code, campaign)
        .map_err(|r| refused(&order, r))?;
    insert(app, p, idem, order).await
}

/// The stored answer of an earlier request with `idem`'s request id, if any.
pub async fn replayed(app: &App, idem: &Idempotency) -> Result<Option<pb::Order>> {
    let mut conn = app.db().pool().acquire().await?;
    idem.replay(&mut conn).await
}

/// An order the caller may see; NOT_FOUND otherwise (also another tenant's).
pub async fn get(app: &App, p: &Principal, id: Uuid) -> Result<Order> {
    let mut conn = app.db().pool().acquire().await?;
    store::get_order(&mut conn, &p.tenant_id, id, None)
        .await?
        .filter(|o| scope(p).sees_owned(&o.owner_id, &o.team_id))
        .ok_or_else(|| Error::not_found(order_name(id)))
}

/// How long a cached order answer lives; every change drops it sooner.
const ORDER_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// The cache key of an order's answer.
fn order_key(tenant: &str, id: Uuid) -> String {
    rapport_runtime::cache::key(EVENTS.stream, tenant, "order", &id.to_string())
}

/// Drops the cached answer of order `id` once `w` commits.
pub(super) fn invalidate(w: &mut Write, tenant: &str, id: Uuid) {
    w.invalidate(order_key(tenant, id));
}

/// An order the caller may see, as GetOrder answers it: from the cache when there, else from
/// the database; NOT_FOUND otherwise (also another tenant's).
pub async fn get_answer(app: &App, p: &Principal, id: Uuid) -> Result<pb::Order> {
    let key = order_key(&p.tenant_id, id);
    let load = async {
        let mut conn = app.db().pool().acquire().await?;
        store::get_order(&mut conn, &p.tenant_id, id, None)
            .await?
            .map(|o| order_to_proto(&o))
            .ok_or_else(|| Error::not_found(order_name(id)))
    };
    let order = rapport_kit::cached::message(&app.ctx.cache, &key, ORDER_TTL, load).await?;
    if !scope(p).sees_owned(&order.owner_id, &order.team_id) {
        return Err(Error::not_found(order_name(id)));
    }
    Ok(order)
}

/// A page of the orders the caller sees.
pub async fn list(app: &App, p: &Principal, q: &ListQuery) -> Result<(Vec<Order>, String)> {
    let mut conn = app.db().pool().acquire().await?;
    let mut rows = store::list_orders(&mut conn, &p.tenant_id, q, &scope(p)).await?;
    let next = q.next_token(&mut rows, |o| store::cursor_of(o, &q.order));
    Ok((rows, next))
}

/// What a change does to the order, given the tenant's settings; it may refuse.
pub(super) type Apply<'a> =
    Box<dyn FnOnce(&mut Order, &Settings) -> std::result::Result<(), Refusal> + Send + 'a>;

/// One change of an order: what makes the revision, the order prepared outside the
/// transaction if any, and what the change does.
pub(super) struct Change<'a> {
    kind: Kind,
    prepared: Option<Order>,
    apply: Apply<'a>,
}

impl<'a> Change<'a> {
    pub(super) fn new(kind: Kind, apply: Apply<'a>) -> Self {
        Self {
            kind,
            prepared: None,
            apply,
        }
    }
}

/// Runs one change of an order as one revision: locks the order the caller sees, refuses a
/// stale etag, applies `change`, and writes the order, the revision and its event together.
pub(super) async fn run(
    app: &App,
    p: &Principal,
    idem: Option<Idempotency>,
    id: Uuid,
    etag: &str,
    change: Change<'_>,
) -> Result<pb::Order> {
    let settings = app.settings(&p.tenant_id).await?;
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    let current = lock_visible(app, &mut w, p, id).await?;
    check_etag(etag, &current)?;
    // A change prepared outside the transaction (new lines priced from the catalog) applies
    // only over the version it was prepared from.
    let mut next = match change.prepared {
        Some(p) if p.version == current.version => p,
        Some(_) => return Err(Error::stale_etag(&current.name())),
        None => current.clone(),
    };
    (change.apply)(&mut next, &settings).map_err(|r| refused(&current, r))?;
    if next == current {
        return Ok(order_to_proto(&current));
    }
    let revision = save(&mut w, p, &current, next, change.kind).await?;
    let out = emit(&mut w, &revision);
    w.commit(out).await
}

/// An order the caller may see, locked in `w`; NOT_FOUND otherwise (also another tenant's).
pub(super) async fn lock_visible(
    app: &App,
    w: &mut Write,
    p: &Principal,
    id: Uuid,
) -> Result<Order> {
    let dialect = app.db().dialect();
    store::get_order(w.tx(), &p.tenant_id, id, Some(dialect))
        .await?
        .filter(|o| scope(p).sees_owned(&o.owner_id, &o.team_id))
        .ok_or_else(|| Error::not_found(order_name(id)))
}

/// An order's NOT_FOUND said of `name`, a resource under it; other errors as they are.
fn as_not_found(e: Error, name: &str) -> Error {
    match e {
        Error::NotFound(_) => Error::not_found(name),
        other => other,
    }
}

/// The order the caller may see and its child `id` (a delivery, a return), both locked in
/// `w`, after refusing a stale `etag` of the child; NOT_FOUND naming the child otherwise.
pub(super) async fn lock_child<T: Child>(
    app: &App,
    w: &mut Write,
    p: &Principal,
    (order_id, id): (Uuid, Uuid),
    etag: &str,
) -> Result<(Order, T)> {
    let name = T::name_of(order_id, id);
    let order = lock_visible(app, w, p, order_id)
        .await
        .map_err(|e| as_not_found(e, &name))?;
    let dialect = app.db().dialect();
    let child: T = children::get(w.tx(), (&p.tenant_id, order_id, id), Some(dialect))
        .await?
        .ok_or_else(|| Error::not_found(&name))?;
    names::check_etag(etag, &names::etag(id.as_bytes(), child.version()), &name)?;
    Ok((order, child))
}

/// A child of an order the caller may see, with the order; NOT_FOUND naming the child
/// otherwise.
pub(super) async fn get_child<T: Child>(
    app: &App,
    p: &Principal,
    (order_id, id): (Uuid, Uuid),
) -> Result<(T, Order)> {
    let name = T::name_of(order_id, id);
    let order = get(app, p, order_id)
        .await
        .map_err(|e| as_not_found(e, &name))?;
    let mut conn = app.db().pool().acquire().await?;
    let child = children::get(&mut conn, (&p.tenant_id, order_id, id), None)
        .await?
        .ok_or_else(|| Error::not_found(&name))?;
    Ok((child, order))
}

/// A page of an order's children of one kind, oldest first, with the order.
pub(super) async fn list_children<T: Child>(
    app: &App,
    p: &Principal,
    order_id: Uuid,
    page: &Page,
    create_time: impl Fn(&T) -> (i64, Uuid),
) -> Result<(Vec<T>, String, Order)> {
    let order = get(app, p, order_id).await?;
    let mut conn = app.db().pool().acquire().await?;
    let mut rows = children::list(&mut conn, (&p.tenant_id, order_id), page).await?;
    let next = page.next_token(&mut rows, |c| {
        let (time, id) = create_time(c);
        vec![CursorValue::Int(time), CursorValue::Text(id.to_string())]
    });
    Ok((rows, next, order))
}

/// ABORTED unless `etag` is empty or `o`'s current etag.
pub(super) fn check_etag(etag: &str, o: &Order) -> Result<()> {
    names::check_etag(etag, &names::etag(o.id.as_bytes(), o.version), &o.name())
}

/// Writes `next`, a change of `current` locked in `w`, as the order's next revision made by
/// `p`, and returns that revision (its event is the caller's to emit).
pub(super) async fn save(
    w: &mut Write,
    p: &Principal,
    current: &Order,
    mut next: Order,
    kind: Kind,
) -> Result<Revision> {
    next.revision = current.revision + 1;
    next.version = current.version + 1;
    next.update_time = w.now();
    // The lines' rows for reports change only with what was sold, not with deliveries.
    let lines_changed = next
        .lines
        .iter()
        .map(Line::sale)
        .ne(current.lines.iter().map(Line::sale));
    if !store::update_order(w.tx(), &p.tenant_id, &next, current.version, lines_changed).await? {
        return Err(Error::stale_etag(&next.name()));
    }
    invalidate(w, &p.tenant_id, next.id);
    let revision = Revision::of(kind, &p.subject, Some(current), &next);
    store::insert_revision(w.tx(), &p.tenant_id, &revision).await?;
    Ok(revision)
}

/// Changes an order's content. New lines are priced from the catalog before the write; the
/// write then applies only over the order they were priced for.
pub async fn update(
    app: &App,
    p: &Principal,
    idem: Option<Idempotency>,
    id: Uuid,
    etag: &str,
    parse: impl FnOnce(&Order, &mut Violations) -> OrderPatch,
) -> Result<pb::Order> {
    let mut prepared = get(app, p, id).await?;
    // The fields are read against the order as it is (its currency, its other values).
    let mut v = Violations::new();
    let patch = parse(&prepared, &mut v);
    v.finish(())?;
    prepared.check_open().map_err(|r| refused(&prepared, r))?;
    if let Some(lines) = &patch.lines {
        set_lines(app, &p.tenant_id, &mut prepared, lines).await?;
    }
    prepared.refs = patch.refs;
    prepared.order_discount = patch.order_discount;
    prepared.notes = patch.notes;
    let rules = app.settings(&p.tenant_id).await?.charge_rules;
    let first = first_purchase(app, &p.tenant_id, &prepared, &rules).await?;
    let apply: Apply = Box::new(move |o, s| {
        o.check_open()?;
        o.apply_charges(&s.charge_rules, first);
        o.check_amounts()?;
        o.review_discount(s.discount_approval_percent);
        Ok(())
    });
    let edit = Change {
        prepared: Some(prepared),
        ..Change::new(Kind::Updated, apply)
    };
    run(app, p, idem, id, etag, edit).await
}

/// Confirms a draft.
pub async fn confirm(
    app: &App,
    p: &Principal,
    idem: Option<Idempotency>,
    id: Uuid,
    etag: &str,
) -> Result<pb::Order> {
    let now = app.now();
    let apply: Apply = Box::new(move |o, _| o.confirm(now));
    run(app, p, idem, id, etag, Change::new(Kind::Confirmed, apply)).await
}

/// Cancels a draft or confirmed order.
pub async fn cancel(
    app: &App,
    p: &Principal,
    idem: Option<Idempotency>,
    id: Uuid,
    etag: &str,
    reason: String,
) -> Result<pb::Order> {
    let now = app.now();
    let apply: Apply = Box::new(move |o, _| o.cancel(&reason, now));
    run(app, p, idem, id, etag, Change::new(Kind::Cancelled, apply)).await
}

/// A manager's approval of the order's current discount.
pub async fn approve_discount(
    app: &App,
    p: &Principal,
    idem: Option<Idempotency>,
    id: Uuid,
    etag: &str,
) -> Result<pb::Order> {
    let approver = p.subject.clone();
    let apply: Apply = Box::new(move |o, _| o.approve_discount(&approver));
    run(
        app,
        p,
        idem,
        id,
        etag,
        Change::new(Kind::DiscountApproved, apply),
    )
    .await
}

/// Records a payment.
pub async fn add_payment(
    app: &App,
    p: &Principal,
    idem: Option<Idempotency>,
    id: Uuid,
    etag: &str,
    mut payment: Payment,
) -> Result<pb::Order> {
    payment.id = new_part_id();
    payment.recorded_by = p.subject.clone();
    let apply: Apply = Box::new(move |o, _| o.add_payment(payment));
    run(
        app,
        p,
        idem,
        id,
        etag,
        Change::new(Kind::PaymentAdded, apply),
    )
    .await
}

/// A page of an order's revisions, newest first.
pub async fn revisions(
    app: &App,
    p: &Principal,
    id: Uuid,
    page: &Page,
) -> Result<(Vec<Revision>, String)> {
    get(app, p, id).await?;
    let before = match page.after.as_slice() {
        [CursorValue::Int(r)] => Some(*r),
        _ => None,
    };
    let mut conn = app.db().pool().acquire().await?;
    let mut rows = store::list_revisions(&mut conn, &p.tenant_id, id, before, page.fetch()).await?;
    let next = page.next_token(&mut rows, |r| vec![CursorValue::Int(r.revision)]);
    Ok((rows, next))
}

/// Changes the tenant's settings: `apply` reads the caller's fields over the current ones.
pub async fn update_settings(
    app: &App,
    p: &Principal,
    etag: &str,
    apply: impl FnOnce(&mut Settings, &mut Violations),
) -> Result<pb::OrderSettings> {
    settings::update(app, p, (SETTINGS_NAME, etag), apply, settings_to_proto).await
}

/// The orders of customers merged into `survivor` now belong to it: each is re-pointed as a
/// revision made by `p` (the service), with its `order.updated` event. Returns how many moved.
pub async fn repoint_customers(
    app: &App,
    w: &mut Write,
    p: &Principal,
    merged: &[Uuid],
    survivor: Uuid,
) -> Result<usize> {
    let dialect = app.db().dialect();
    let orders = store::lock_of_customers(w.tx(), dialect, &p.tenant_id, merged).await?;
    for current in &orders {
        let mut next = current.clone();
        next.customer_id = survivor;
        let revision = save(w, p, current, next, Kind::Updated).await?;
        emit(w, &revision);
    }
    Ok(orders.len())
}
