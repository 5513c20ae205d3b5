//! Finding duplicates and merging them.

use rapport_runtime::storage::Idempotency;
use std::collections::BTreeSet;

use rapport_proto::customers as pb;
use rapport_runtime::{Error, Result, validation::Violations};
use tonic::Request;
use uuid::Uuid;

use super::{
    convert::customer::{customer_to_proto, parse_contact_keys},
    support::begin,
    support::{self, CustomersApi, MANAGERS, READERS, authorize, customer_id, require_live},
};
use crate::{
    domain::{merge::merge_into, names, profile::Customer},
    store,
};

/// Most customers merged into a survivor in one call.
const MAX_MERGED: usize = 50;

/// Matches are every live customer sharing a contact, whoever owns it: finding the customer
/// another rep already serves is the point (scenario S1). Of a match the caller may not see it
/// learns what the tenant's disclosure setting allows (see `rapport_kit::duplicates`).
pub(super) async fn find(
    api: &CustomersApi,
    req: Request<pb::FindDuplicatesRequest>,
) -> Result<pb::FindDuplicatesResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let settings = api.settings(&p.tenant_id).await?;
    let (keys, exclude) = if !msg.name.is_empty() {
        let id = customer_id("name", &msg.name)?;
        (
            api.load_visible(&p, id).await?.profile.contact_keys(),
            vec![id],
        )
    } else {
        let Some(contacts) = &msg.contacts else {
            return Err(Error::invalid(
                "name",
                "give a customer name, or contacts to look for",
            ));
        };
        let mut v = Violations::with_prefix("contacts");
        let keys = parse_contact_keys(contacts, &api.profile_context(&settings), &mut v);
        if !v.is_empty() {
            return Err(v.into_vec().into());
        }
        if keys.is_empty() {
            return Err(Error::invalid(
                "contacts",
                "give at least one phone, email or IM handle",
            ));
        }
        (keys, Vec::new())
    };
    let mut conn = api.db().pool().acquire().await?;
    let hits =
        store::find_by_contacts(&mut conn, api.db().dialect(), &p.tenant_id, &keys, &exclude)
            .await?;
    let told = support::disclose(&mut conn, &p, settings.duplicate_disclosure, &hits).await?;
    let matches = told
        .into_iter()
        .zip(&hits)
        .map(|(d, h)| pb::DuplicateMatch {
            customer: d.holder.name,
            display_name: d.holder.display_name,
            matched_on: h.matched_on(),
            owner_id: d.holder.owner_id,
            team_id: d.holder.team_id,
            store_id: d.holder.store_id,
            visible: d.visible,
        })
        .collect();
    Ok(pb::FindDuplicatesResponse { matches })
}

pub(super) async fn merge(
    api: &CustomersApi,
    req: Request<pb::MergeCustomersRequest>,
) -> Result<pb::Customer> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.get_ref();
    let (survivor_id, merged_ids) = parse_merge(msg)?;
    let idem = Idempotency::new(&p, "MergeCustomers", &msg.request_id, msg)?;
    let mut w = begin!(api, p, idem);
    // Lock in id order, so two merges touching the same customers cannot deadlock.
    let mut all: Vec<Uuid> = merged_ids.iter().copied().chain([survivor_id]).collect();
    all.sort();
    let mut loaded = Vec::with_capacity(all.len());
    for id in &all {
        let c = api.lock_visible(w.tx(), &p, *id).await?;
        require_live(&c)?;
        loaded.push(c);
    }
    let (survivor, merged): (Vec<Customer>, Vec<Customer>) =
        loaded.into_iter().partition(|c| c.id == survivor_id);
    let survivor = survivor
        .into_iter()
        .next()
        .ok_or_else(|| Error::internal("survivor lost"))?;
    let now = api.now();
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
    let kept = Customer {
        profile,
        possible_duplicates,
        update_time: now,
        version: survivor.version + 1,
        ..survivor.clone()
    };
    if !store::update_customer(w.tx(), &p.tenant_id, &kept, survivor.version).await? {
        return Err(Error::stale_etag(&kept.resource_name()));
    }
    for m in &merged {
        let gone = Customer {
            merged_into: Some(survivor_id),
            delete_time: Some(now),
            update_time: now,
            version: m.version + 1,
            ..m.clone()
        };
        if !store::update_customer(w.tx(), &p.tenant_id, &gone, m.version).await? {
            return Err(Error::stale_etag(&gone.resource_name()));
        }
        store::repoint_relationships(w.tx(), &p.tenant_id, survivor_id, m.id).await?;
        store::repoint_timeline(w.tx(), &p.tenant_id, survivor_id, m.id).await?;
    }
    // Customers referred by a merged one were referred by the person the survivor now is.
    let mut changed = all.clone();
    for r in store::lock_referred_by(w.tx(), api.db().dialect(), &p.tenant_id, &merged_ids).await? {
        if all.contains(&r.id) {
            continue;
        }
        let mut profile = r.profile.clone();
        profile.referrer = Some(survivor_id);
        let moved = Customer {
            profile,
            update_time: now,
            version: r.version + 1,
            ..r.clone()
        };
        if !store::update_customer(w.tx(), &p.tenant_id, &moved, r.version).await? {
            return Err(Error::stale_etag(&moved.resource_name()));
        }
        let event = pb::CustomerUpdated {
            customer: Some(customer_to_proto(&moved)),
            changed_fields: vec!["referrer".into()],
        };
        w.emit("customer.updated", moved.resource_name(), &event);
        changed.push(r.id);
    }
    let event = pb::CustomersMerged {
        survivor: kept.resource_name(),
        merged: merged.iter().map(Customer::resource_name).collect(),
    };
    w.emit("customers.merged", kept.resource_name(), &event);
    support::invalidate(&mut w, &p.tenant_id, &changed);
    w.commit(customer_to_proto(&kept)).await
}

fn parse_merge(msg: &pb::MergeCustomersRequest) -> Result<(Uuid, Vec<Uuid>)> {
    let mut v = Violations::new();
    let survivor = names::parse_customer_name(&msg.survivor)
        .map_err(|e| v.add("survivor", e))
        .ok();
    if msg.merged.is_empty() {
        v.add(
            "merged",
            "is required: name 1 to 50 customers to merge into the survivor",
        );
    } else if msg.merged.len() > MAX_MERGED {
        v.add(
            "merged",
            format!(
                "names {} customers; at most {MAX_MERGED} merge at once",
                msg.merged.len()
            ),
        );
    }
    let mut seen = BTreeSet::new();
    let mut merged = Vec::new();
    for (i, name) in msg.merged.iter().enumerate() {
        match names::parse_customer_name(name) {
            Err(e) => v.add(format!("merged[{i}]"), e),
            Ok(id) if Some(id) == survivor => v.add(format!("merged[{i}]"), "is the survivor"),
            Ok(id) if !seen.insert(id) => v.add(format!("merged[{i}]"), "is named twice"),
            Ok(id) => merged.push(id),
        }
    }
    v.finish(())?;
    Ok((survivor.unwrap_or_default(), merged))
}
