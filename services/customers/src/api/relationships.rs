//! Typed links between customers, readable from both sides.

use rapport_proto::customers as pb;
use rapport_runtime::storage::Idempotency;
use rapport_runtime::{Error, Result};
use tonic::Request;
use uuid::Uuid;

use super::{
    convert::relationship::{
        parse_create_relationship, parse_delete_relationship, parse_list_relationships,
        relationship_to_proto,
    },
    support::begin,
    support::{CustomersApi, READERS, WRITERS, authorize, require_live},
};
use crate::{domain::names, store};

pub(super) async fn create(
    api: &CustomersApi,
    req: Request<pb::CreateRelationshipRequest>,
) -> Result<pb::Relationship> {
    let p = authorize(&req, WRITERS)?;
    let new = parse_create_relationship(req.get_ref())?;
    let idem = Idempotency::new(
        &p,
        "CreateRelationship",
        &req.get_ref().request_id,
        req.get_ref(),
    )?;
    let (customer_id, related_id) = (new.customer_id, new.related_id);
    let mut w = begin!(api, p, idem);
    // Both ends are locked in id order, so requests for one link made from either side take
    // turns instead of deadlocking, and the later one finds the link made by the first.
    let (mut customer, mut related) = (None, None);
    for id in ordered(customer_id, related_id) {
        if id == customer_id {
            customer = Some(api.lock_visible(w.tx(), &p, id).await?);
        } else {
            // The other end must exist in the tenant; the caller need not own it (a rep links
            // its customer to a relative another rep serves).
            let found = store::lock_customer(w.tx(), api.db().dialect(), &p.tenant_id, id)
                .await?
                .ok_or_else(|| Error::not_found(names::customer_name(id)))?;
            related = Some(found);
        }
    }
    let (Some(customer), Some(related)) = (customer, related) else {
        return Err(Error::internal("a relationship end was not locked"));
    };
    require_live(&customer)?;
    require_live(&related)?;
    let (from, to, kind) = new.uniqueness_key();
    if let Some(existing) = store::find_relationship(w.tx(), &p.tenant_id, from, to, kind).await? {
        return Err(Error::AlreadyExists {
            reason: "RELATIONSHIP_EXISTS",
            message: "these customers are already linked this way".into(),
            existing: names::relationship_name(customer_id, existing.id),
            metadata: Vec::new(),
        });
    }
    let link = new.into_relationship(Uuid::now_v7(), api.now());
    store::insert_relationship(w.tx(), &p.tenant_id, &link).await?;
    let view = link
        .view_from(customer_id)
        .ok_or_else(|| Error::internal("link lost its end"))?;
    w.commit(relationship_to_proto(&view)).await
}

/// Two ids, smaller first.
fn ordered(a: Uuid, b: Uuid) -> [Uuid; 2] {
    if a <= b { [a, b] } else { [b, a] }
}

pub(super) async fn list(
    api: &CustomersApi,
    req: Request<pb::ListRelationshipsRequest>,
) -> Result<pb::ListRelationshipsResponse> {
    let p = authorize(&req, READERS)?;
    let (customer_id, kind) = parse_list_relationships(req.get_ref())?;
    api.load_visible(&p, customer_id).await?;
    let mut conn = api.db().pool().acquire().await?;
    let links = store::list_relationships(&mut conn, &p.tenant_id, customer_id).await?;
    let relationships = links
        .iter()
        .filter_map(|l| l.view_from(customer_id))
        .filter(|v| kind.is_none_or(|k| v.kind == k))
        .map(|v| relationship_to_proto(&v))
        .collect();
    Ok(pb::ListRelationshipsResponse { relationships })
}

pub(super) async fn delete(
    api: &CustomersApi,
    req: Request<pb::DeleteRelationshipRequest>,
) -> Result<pb::DeleteRelationshipResponse> {
    let p = authorize(&req, WRITERS)?;
    let (customer_id, link_id) = parse_delete_relationship(req.get_ref())?;
    let mut w = api.write(&p).await?;
    api.lock_visible(w.tx(), &p, customer_id).await?;
    let link = store::get_relationship(w.tx(), &p.tenant_id, link_id)
        .await?
        .filter(|l| l.involves(customer_id))
        .ok_or_else(|| Error::not_found(req.get_ref().name.clone()))?;
    store::delete_relationship(w.tx(), &p.tenant_id, link.id).await?;
    w.commit(pb::DeleteRelationshipResponse {}).await
}
