//! What the handlers share: the roles of each kind of method and reading names.

use rapport_kit::names;
use rapport_runtime::{Error, Result, auth::Role};
use uuid::Uuid;

pub use rapport_runtime::auth::authorize;

/// Roles that read the catalog: everyone of the tenant.
pub const CATALOG_READERS: &[Role] = &Role::ALL;
/// Roles that change the catalog.
pub const CATALOG_EDITORS: &[Role] = &[Role::Admin, Role::Manager, Role::ServiceAccount];
/// Roles that read orders (each sees what its scope allows).
pub const READERS: &[Role] = &[
    Role::Admin,
    Role::Manager,
    Role::Rep,
    Role::ServiceAgent,
    Role::Marketer,
    Role::ServiceAccount,
];
/// Roles that create and change orders.
pub const WORKERS: &[Role] = &[Role::Admin, Role::Manager, Role::Rep, Role::ServiceAccount];
/// Roles that request returns and receive returned goods: those who change orders, and the
/// service agents whose tickets they come from.
pub const RETURN_REQUESTERS: &[Role] = &[
    Role::Admin,
    Role::Manager,
    Role::Rep,
    Role::ServiceAgent,
    Role::ServiceAccount,
];
/// Roles that approve discounts and decide, refund and replace returns.
pub const APPROVERS: &[Role] = &[Role::Admin, Role::Manager, Role::ServiceAccount];
/// Roles that change the tenant's order settings.
pub const ADMINS: &[Role] = &[Role::Admin];

/// The id in a `collection/{id}` name given in `field`.
pub fn parse_id(field: &str, collection: &str, name: &str) -> Result<Uuid> {
    names::parse_id(collection, name).map_err(|e| Error::invalid(field, e))
}
