//! FindDuplicates and MergeCustomers.

use std::collections::BTreeSet;

use rapport_proto::customers as pb;
use rapport_runtime::{Error, Result, storage::Idempotency, validation::Violations};
use tonic::Request;
use uuid::Uuid;

use super::support::{MANAGERS, READERS, authorize, customer_id};
use crate::{
    app::{
        App,
        duplicates::{self, Target},
    },
    convert::customer::parse_contact_keys,
    domain::names,
};

/// Most customers merged into a survivor in one call.
const MAX_MERGED: usize = 50;

pub(super) async fn find(
    app: &App,
    req: Request<pb::FindDuplicatesRequest>,
) -> Result<pb::FindDuplicatesResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let settings = app.settings(&p.tenant_id).await?;
    let target = if !msg.name.is_empty() {
        Target::Customer(customer_id("name", &msg.name)?)
    } else {
        let Some(contacts) = &msg.contacts else {
            return Err(Error::invalid(
                "name",
                "give a customer name, or contacts to look for",
            ));
        };
        let mut v = Violations::with_prefix("contacts");
        let keys = parse_contact_keys(contacts, &app.profile_context(&settings), &mut v);
        if !v.is_empty() {
            return Err(v.into_vec().into());
        }
        if keys.is_empty() {
            return Err(Error::invalid(
                "contacts",
                "give at least one phone, email or IM handle",
            ));
        }
        Target::Contacts(keys)
    };
    let found = duplicates::find(app, &p, &settings, target).await?;
    let matches = found
        .into_iter()
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
    app: &App,
    req: Request<pb::MergeCustomersRequest>,
) -> Result<pb::Customer> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.get_ref();
    let (survivor_id, merged_ids) = parse_merge(msg)?;
    let idem = Idempotency::new(&p, "MergeCustomers", &msg.request_id, msg)?;
    duplicates::merge(app, p, idem, survivor_id, &merged_ids).await
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
