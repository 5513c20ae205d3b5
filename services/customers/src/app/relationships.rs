//! Typed links between customers, readable from both sides.

use rapport_proto::customers as pb;
use rapport_runtime::{Error, Result, auth::Principal, storage::Idempotency};
use uuid::Uuid;

use super::state::{App, begin, require_live};
use crate::{
    convert::relationship::relationship_to_proto,
    domain::{
        names,
        relationship::{NewRelationship, RelationshipType, RelationshipView},
    },
    store,
};

/// Links two live customers; the caller must see the first, the second need only exist in the
/// tenant (a rep links its customer to a relative another rep serves).
pub async fn create(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    new: NewRelationship,
) -> Result<pb::Relationship> {
    let (customer_id, related_id) = (new.customer_id, new.related_id);
    let mut w = begin!(app, p, idem);
    // Both ends are locked in id order, so requests for one link made from either side take
    // turns instead of deadlocking, and the later one finds the link made by the first.
    let (mut customer, mut related) = (None, None);
    for id in ordered(customer_id, related_id) {
        if id == customer_id {
            customer = Some(app.lock_visible(w.tx(), &p, id).await?);
        } else {
            let found = store::lock_customer(w.tx(), app.db().dialect(), &p.tenant_id, id)
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
    let link = new.into_relationship(Uuid::now_v7(), app.now());
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

/// The links of a customer the caller may see, seen from its side; of one type, or all.
pub async fn list(
    app: &App,
    p: &Principal,
    customer_id: Uuid,
    kind: Option<RelationshipType>,
) -> Result<Vec<RelationshipView>> {
    app.load_visible(p, customer_id).await?;
    let mut conn = app.db().pool().acquire().await?;
    let links = store::list_relationships(&mut conn, &p.tenant_id, customer_id).await?;
    Ok(links
        .iter()
        .filter_map(|l| l.view_from(customer_id))
        .filter(|v| kind.is_none_or(|k| v.kind == k))
        .collect())
}

/// Removes link `link_id` of a customer the caller may see; NOT_FOUND names `name`.
pub async fn delete(
    app: &App,
    p: &Principal,
    customer_id: Uuid,
    link_id: Uuid,
    name: &str,
) -> Result<pb::DeleteRelationshipResponse> {
    let mut w = app.write(p).await?;
    app.lock_visible(w.tx(), p, customer_id).await?;
    let link = store::get_relationship(w.tx(), &p.tenant_id, link_id)
        .await?
        .filter(|l| l.involves(customer_id))
        .ok_or_else(|| Error::not_found(name.to_owned()))?;
    store::delete_relationship(w.tx(), &p.tenant_id, link.id).await?;
    w.commit(pb::DeleteRelationshipResponse {}).await
}
