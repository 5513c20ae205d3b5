//! Relationships: Create, List and Delete.

use rapport_proto::customers as pb;
use rapport_runtime::{Result, storage::Idempotency};
use tonic::Request;

use super::support::{READERS, WRITERS, authorize};
use crate::{
    app::{App, relationships},
    convert::relationship::{
        parse_create_relationship, parse_delete_relationship, parse_list_relationships,
        relationship_to_proto,
    },
};

pub(super) async fn create(
    app: &App,
    req: Request<pb::CreateRelationshipRequest>,
) -> Result<pb::Relationship> {
    let p = authorize(&req, WRITERS)?;
    let msg = req.get_ref();
    let new = parse_create_relationship(msg)?;
    let idem = Idempotency::new(&p, "CreateRelationship", &msg.request_id, msg)?;
    relationships::create(app, p, idem, new).await
}

pub(super) async fn list(
    app: &App,
    req: Request<pb::ListRelationshipsRequest>,
) -> Result<pb::ListRelationshipsResponse> {
    let p = authorize(&req, READERS)?;
    let (customer_id, kind) = parse_list_relationships(req.get_ref())?;
    let views = relationships::list(app, &p, customer_id, kind).await?;
    Ok(pb::ListRelationshipsResponse {
        relationships: views.iter().map(relationship_to_proto).collect(),
    })
}

pub(super) async fn delete(
    app: &App,
    req: Request<pb::DeleteRelationshipRequest>,
) -> Result<pb::DeleteRelationshipResponse> {
    let p = authorize(&req, WRITERS)?;
    let msg = req.get_ref();
    let (customer_id, link_id) = parse_delete_relationship(msg)?;
    relationships::delete(app, &p, customer_id, link_id, &msg.name).await
}
