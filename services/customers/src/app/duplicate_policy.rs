//! The tenant's duplicate policy applied to one customer's contact data while it is written.

use rapport_kit::duplicates::{Disclosure, DuplicatePolicy};
use rapport_runtime::{Error, Result, auth::Principal, storage::Tx};
use uuid::Uuid;

use super::visibility;
use crate::{
    domain::{contact::ContactKey, duplicates::DuplicateHit, settings::Settings},
    store,
};

/// Applies the tenant's duplicate policy to a customer with `keys`: ALREADY_EXISTS naming the
/// oldest live duplicate (as far as `p` may learn of it) under REJECT, or the duplicates to flag
/// under FLAG. Locks the keys first so two writers with the same phone cannot both miss each
/// other.
pub async fn check(
    tx: &mut Tx,
    p: &Principal,
    settings: &Settings,
    keys: &[ContactKey],
    exclude: &[Uuid],
) -> Result<Vec<Uuid>> {
    let tenant = &p.tenant_id;
    store::lock_contact_keys(tx, tenant, keys).await?;
    let dialect = tx.dialect();
    let hits = store::find_by_contacts(tx, dialect, tenant, keys, exclude).await?;
    match (settings.duplicate_policy, hits.first()) {
        (_, None) => Ok(Vec::new()),
        (DuplicatePolicy::Reject, Some(hit)) => {
            Err(refusal(tx, p, settings.duplicate_disclosure, hit).await)
        }
        (DuplicatePolicy::Flag, Some(_)) => Ok(hits.iter().map(|h| h.customer_id).collect()),
    }
}

/// ALREADY_EXISTS naming the existing customer, who serves it and what matched, as far as `p`
/// may learn of it (see `rapport_kit::duplicates`).
pub async fn refusal(
    conn: &mut sqlx::AnyConnection,
    p: &Principal,
    disclosure: Disclosure,
    hit: &DuplicateHit,
) -> Error {
    let told = match visibility::disclose(conn, p, disclosure, std::slice::from_ref(hit)).await {
        Ok(mut told) => told.pop(),
        Err(e) => return e,
    };
    let Some(d) = told else {
        return Error::internal("a duplicate went undisclosed");
    };
    d.already_exists(
        "DUPLICATE_CUSTOMER",
        "a customer you may not see",
        &hit.matched_on(),
    )
}
