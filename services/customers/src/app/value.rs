//! Customer value (CU12): an order's change applied to its customer's ledger and figures, and
//! figures worked out again when time or the tenant's rules move them. Whoever applies a
//! change writes the figures in the same transaction, from the ledger as it then stands.

use rapport_kit::settings;
use rapport_runtime::{Result, clock::Micros, write::Write};
use uuid::Uuid;

use super::state::invalidate;
use crate::{
    domain::{
        settings::Settings,
        value::{CustomerValue, LedgerEntry, ValueRules, evaluate},
    },
    store::value as store,
};

/// Applies `order`, the newest state of an order as an event told it, in `w`: ignored when its
/// customer is not one of `tenant`'s, or when the ledger holds the same or a newer revision of
/// the order (events arrive late, out of order or twice). Orders of a customer merged into
/// another count for the survivor.
pub async fn apply_order(w: &mut Write, tenant: &str, order: LedgerEntry) -> Result<()> {
    let dialect = w.tx().dialect();
    let Some(holder) = store::lock_value_holder(w.tx(), dialect, tenant, order.customer_id).await?
    else {
        return Ok(());
    };
    let entry = LedgerEntry {
        customer_id: holder,
        ..order
    };
    if !store::record_order(w.tx(), tenant, &entry).await? {
        return Ok(());
    }
    let settings: Settings = settings::read(w.tx(), tenant).await?;
    let now = w.now();
    refresh(w, tenant, holder, &settings.value_rules, now).await?;
    Ok(())
}

/// Works out again, in `w`, the figures of up to `limit` customers of `tenant` that are due at
/// `now` (time moved their recency or grade on, or the rules changed); how many it did.
pub async fn review_due(w: &mut Write, tenant: &str, now: Micros, limit: u32) -> Result<usize> {
    let dialect = w.tx().dialect();
    let due = store::lock_due(w.tx(), dialect, tenant, now, limit).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let settings: Settings = settings::read(w.tx(), tenant).await?;
    for customer in &due {
        refresh(w, tenant, *customer, &settings.value_rules, now).await?;
    }
    Ok(due.len())
}

/// Makes every figure of `tenant` due at `now`, in `w`, when its rules change from `before` to
/// `after`: the sweep then judges every customer by the new rules.
pub async fn rules_changed(
    w: &mut Write,
    tenant: &str,
    before: &ValueRules,
    after: &ValueRules,
    now: Micros,
) -> Result<()> {
    if before != after {
        store::review_all(w.tx(), tenant, now).await?;
    }
    Ok(())
}

/// Moves the orders of `merged` to `survivor` and works out the figures of all of them again,
/// in `w`; the survivor's new figures.
pub async fn merged(
    w: &mut Write,
    tenant: &str,
    survivor: Uuid,
    merged: &[Uuid],
) -> Result<Option<CustomerValue>> {
    for m in merged {
        store::repoint_orders(w.tx(), tenant, survivor, *m).await?;
    }
    let settings: Settings = settings::read(w.tx(), tenant).await?;
    let now = w.now();
    for m in merged {
        refresh(w, tenant, *m, &settings.value_rules, now).await?;
    }
    refresh(w, tenant, survivor, &settings.value_rules, now).await
}

/// Works the figures of `customer` out from its ledger under `rules` at `now`, stores them and
/// drops the cached customer; the figures.
async fn refresh(
    w: &mut Write,
    tenant: &str,
    customer: Uuid,
    rules: &ValueRules,
    now: Micros,
) -> Result<Option<CustomerValue>> {
    let orders = store::counted_orders(w.tx(), tenant, customer).await?;
    let value = evaluate(&orders, rules, now);
    store::save_value(w.tx(), tenant, customer, value.as_ref()).await?;
    invalidate(w, tenant, &[customer]);
    Ok(value)
}
