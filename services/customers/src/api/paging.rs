//! The parent and paging fields of a List of a customer's sub-collection (timeline, ownership
//! history).

use rapport_kit::query::Page;
use rapport_proto::customers as pb;
use rapport_runtime::{Error, Result, auth::Principal, error::both, validation::FieldViolation};
use uuid::Uuid;

use crate::app::paging::fits;

/// A request listing one of a customer's sub-collections.
pub(super) trait SubCollection {
    /// The collection's name; a page token of one collection is refused by another.
    const COLLECTION: &'static str;
    /// The `customers/{id}` name of the parent.
    fn parent(&self) -> &str;
    fn page_size(&self) -> i32;
    fn page_token(&self) -> &str;
}

macro_rules! sub_collection {
    ($request:ty, $collection:literal) => {
        impl SubCollection for $request {
            const COLLECTION: &'static str = $collection;

            fn parent(&self) -> &str {
                &self.parent
            }

            fn page_size(&self) -> i32 {
                self.page_size
            }

            fn page_token(&self) -> &str {
                &self.page_token
            }
        }
    };
}

sub_collection!(pb::ListActivitiesRequest, "activities");
sub_collection!(pb::ListOwnershipTransfersRequest, "ownershipTransfers");

/// The customer whose sub-collection `req` lists (`parent`, as the request's own parser read
/// it) and the page asked for, every bad field reported in one error. A token of one
/// collection, parent or tenant is refused by another.
pub(super) fn parse<M: SubCollection>(
    p: &Principal,
    req: &M,
    parent: std::result::Result<Uuid, Vec<FieldViolation>>,
) -> Result<(Uuid, Page)> {
    let page = Page::parse(
        &[&p.tenant_id, M::COLLECTION, req.parent()],
        req.page_size(),
        req.page_token(),
        fits,
    )
    .map_err(Error::from);
    both(parent.map_err(Error::from), page)
}
