//! Finding duplicates and merging them.

use rapport_kit::duplicates::Disclosed;
use rapport_proto::customers as pb;
use rapport_runtime::{Error, Result, auth::Principal, storage::Idempotency};
use uuid::Uuid;

use super::{
    events,
    state::{App, begin, invalidate, require_live, save},
    value, visibility,
};
use crate::{
    convert::customer::customer_to_proto,
    domain::{
        contact::ContactKey, duplicates::DuplicateHit, merge::merge_into, profile::Customer,
        settings::Settings,
    },
    store,
};

/// What to find duplicates of.
pub enum Target {
    /// A customer the caller may see: others sharing its contact data.
    Customer(Uuid),
    /// Contact data: customers holding any of it.
    Contacts(Vec<ContactKey>),
}

/// Matches are every live customer sharing a contact, whoever owns it: finding the customer
/// another rep already serves is the point. Of a match the caller may not see it learns what
/// the tenant's disclosure setting allows (see `rapport_kit::duplicates`).
pub async fn find(
    app: &App,
    p: &Principal,
    settings: &Settings,
    target: Target,
) -> Result<Vec<(Disclosed, DuplicateHit)>> {
    let (keys, exclude) = match target {
        Target::Customer(id) => (
            app.load_visible(p, id).await?.profile.contact_keys(),
            vec![id],
        ),
        Target::Contacts(keys) => (keys, Vec::new()),
    };
    let mut conn = app.db().pool().acquire().await?;
    let hits =
        store::find_by_contacts(&mut conn, app.db().dialect(), &p.tenant_id, &keys, &exclude)
            .await?;
    let told = visibility::disclose(&mut conn, p, settings.duplicate_disclosure, &hits).await?;
    Ok(told.into_iter().zip(hits).collect())
}

/// Merges `merged_ids` into `survivor_id`: the survivor takes their profiles, relationships
/// and timeline, and customers they referred; they are deleted, pointing at it.
pub async fn merge(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    survivor_id: Uuid,
    merged_ids: &[Uuid],
) -> Result<pb::Customer> {
    let mut w = begin!(app, p, idem);
    // Lock in id order, so two merges touching the same customers cannot deadlock.
    let mut all: Vec<Uuid> = merged_ids.iter().copied().chain([survivor_id]).collect();
    all.sort();
    let mut loaded = Vec::with_capacity(all.len());
    for id in &all {
        let c = app.lock_visible(w.tx(), &p, *id).await?;
        require_live(&c)?;
        loaded.push(c);
    }
    let (survivor, merged): (Vec<Customer>, Vec<Customer>) =
        loaded.into_iter().partition(|c| c.id == survivor_id);
    let survivor = survivor
        .into_iter()
        .next()
        .ok_or_else(|| Error::internal("survivor lost"))?;
    let now = app.now();
    // A referrer naming the survivor or a customer merged into it would leave the survivor
    // referred by itself: such referrers are dropped before the profiles are merged.
    let inside =
        |r: Option<Uuid>| r.is_some_and(|id| id == survivor_id || merged_ids.contains(&id));
    let mut profile = survivor.profile.clone();
    if inside(profile.referrer) {
        profile.referrer = None;
    }
    for m in &merged {
        if inside(m.profile.referrer) {
            let mut other = m.profile.clone();
            other.referrer = None;
            merge_into(&mut profile, &other);
        } else {
            merge_into(&mut profile, &m.profile);
        }
    }
    let possible_duplicates = survivor
        .possible_duplicates
        .iter()
        .copied()
        .filter(|d| !merged_ids.contains(d))
        .collect();
    let mut kept = Customer {
        profile,
        possible_duplicates,
        ..survivor.next_version(now)
    };
    save(w.tx(), &p.tenant_id, &kept, survivor.version).await?;
    for m in &merged {
        let gone = Customer {
            merged_into: Some(survivor_id),
            delete_time: Some(now),
            ..m.next_version(now)
        };
        save(w.tx(), &p.tenant_id, &gone, m.version).await?;
        store::repoint_relationships(w.tx(), &p.tenant_id, survivor_id, m.id).await?;
        store::repoint_timeline(w.tx(), &p.tenant_id, survivor_id, m.id).await?;
    }
    // The survivor's newest activity may be one the merged customers brought.
    store::refresh_last_activity(w.tx(), &p.tenant_id, survivor_id).await?;
    // The survivor is the customer who placed the merged ones' orders.
    kept.value = value::merged(&mut w, &p.tenant_id, survivor_id, merged_ids).await?;
    // Customers referred by a merged one were referred by the person the survivor now is.
    let mut changed = all.clone();
    for r in store::lock_referred_by(w.tx(), app.db().dialect(), &p.tenant_id, merged_ids).await? {
        if all.contains(&r.id) {
            continue;
        }
        let mut profile = r.profile.clone();
        profile.referrer = Some(survivor_id);
        let moved = Customer {
            profile,
            ..r.next_version(now)
        };
        save(w.tx(), &p.tenant_id, &moved, r.version).await?;
        events::updated(&mut w, customer_to_proto(&moved), vec!["referrer".into()]);
        changed.push(r.id);
    }
    let event = pb::CustomersMerged {
        survivor: kept.resource_name(),
        merged: merged.iter().map(Customer::resource_name).collect(),
    };
    w.emit("customers.merged", kept.resource_name(), &event);
    invalidate(&mut w, &p.tenant_id, &changed);
    w.commit(customer_to_proto(&kept)).await
}
