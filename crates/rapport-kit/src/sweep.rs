//! Sweeps of due items (reminders, announcements), written one way: driven by the items' own
//! state, so a restart misses nothing, and claimed batch by batch in transactions that skip
//! what another replica holds, so replicas sweeping at once handle each item once.

use std::future::Future;

use rapport_runtime::{Result, dialect::Dialect, storage::Tx};
use sqlx::any::AnyRow;

/// Runs a sweep to the end. `tenants` lists tenants with due items (a round's worth);
/// `batch` claims and handles up to `per_batch` of one tenant's due items in one transaction
/// and says how many it handled. A tenant is swept until a batch comes back short, and the
/// round is repeated while anything was handled: what remains then is held by another sweep,
/// which handles it. Returns how many items this call handled.
pub async fn drain<T, TF, B, BF>(mut tenants: T, mut batch: B, per_batch: usize) -> Result<usize>
where
    T: FnMut() -> TF,
    TF: Future<Output = Result<Vec<String>>>,
    B: FnMut(String) -> BF,
    BF: Future<Output = Result<usize>>,
{
    let mut total = 0;
    loop {
        let mut progressed = false;
        for tenant in tenants().await? {
            loop {
                let n = batch(tenant.clone()).await?;
                total += n;
                progressed |= n > 0;
                if n < per_batch {
                    break;
                }
            }
        }
        if !progressed {
            return Ok(total);
        }
    }
}

/// What to claim: the due rows of one tenant and the flag that marks them handled.
pub struct Claim<'a> {
    /// The table; its rows have `tenant_id` and `id`.
    pub table: &'a str,
    /// The INTEGER column that is 0 until a row is handled.
    pub flag: &'a str,
    /// A SELECT of the due rows of tenant `$1` at time `$2` (with `{flag} = 0` among its
    /// conditions), ordered, with its LIMIT; the lock is appended here.
    pub select: &'a str,
}

/// The due rows `select` picks for `tenant` at `now` (a SELECT of tenant `$1`'s rows due at
/// time `$2`, ordered, with its LIMIT; the lock of `dialect` is appended here), locked in `tx`, skipping
/// rows another sweep holds, each decoded with `decode`. For rows that leave the due set by
/// the change the sweep makes (a state), which the sweep makes only if the row is still due,
/// so a row is handled by one transaction however many sweeps run.
pub async fn lock_due<T>(
    tx: &mut Tx,
    dialect: Dialect,
    tenant: &str,
    now: i64,
    select: &str,
    decode: impl Fn(&AnyRow) -> Result<T>,
) -> Result<Vec<T>> {
    let select = format!("{select}{}", dialect.for_update_skip_locked());
    let rows = sqlx::query(&select)
        .bind(tenant)
        .bind(now)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(decode).collect()
}

/// Claims the rows `claim` selects for `tenant` at `now` in `tx`: locks them, skipping rows
/// another sweep holds, and sets their flag, each only if it is still 0, so a row is claimed
/// by one transaction however many sweeps run. `decode` reads a row and its id.
pub async fn claim<T>(
    tx: &mut Tx,
    dialect: Dialect,
    tenant: &str,
    now: i64,
    claim: &Claim<'_>,
    decode: impl Fn(&AnyRow) -> Result<(String, T)>,
) -> Result<Vec<T>> {
    let rows = lock_due(tx, dialect, tenant, now, claim.select, decode).await?;
    let flip = format!(
        "UPDATE {} SET {flag} = 1 WHERE tenant_id = $1 AND id = $2 AND {flag} = 0",
        claim.table,
        flag = claim.flag
    );
    let mut claimed = Vec::with_capacity(rows.len());
    for (id, item) in rows {
        // Conditional, so a row another sweep flipped since it was read stays that sweep's.
        let done = sqlx::query(&flip)
            .bind(tenant)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        if done.rows_affected() == 1 {
            claimed.push(item);
        }
    }
    Ok(claimed)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[tokio::test]
    async fn every_due_item_is_handled_batch_by_batch() {
        let due: HashMap<String, usize> = [("a".into(), 5), ("b".into(), 2)].into();
        let due = std::sync::Mutex::new(due);
        let due = &due;
        let handled = drain(
            || async move {
                let d = due.lock().unwrap();
                let mut t: Vec<String> =
                    d.iter().filter(|e| *e.1 > 0).map(|e| e.0.clone()).collect();
                t.sort();
                Ok(t)
            },
            |tenant| async move {
                let mut d = due.lock().unwrap();
                let left = d.get_mut(&tenant).unwrap();
                let n = (*left).min(2);
                *left -= n;
                Ok(n)
            },
            2,
        )
        .await
        .unwrap();
        assert_eq!(handled, 7);
        assert!(due.lock().unwrap().values().all(|n| *n == 0));
    }
}
