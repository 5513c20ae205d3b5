//! What every handler reads first: whether the caller's role may call it, and customer names.

use rapport_runtime::{Error, Result, auth::Role};
use uuid::Uuid;

pub use rapport_runtime::auth::authorize;

use crate::domain::names;

/// Roles that may read customers.
pub const READERS: &[Role] = &[
    Role::Admin,
    Role::Manager,
    Role::Rep,
    Role::ServiceAgent,
    Role::Marketer,
    Role::ServiceAccount,
];
/// Roles that may create and edit customers they can see, and record activities.
pub const WRITERS: &[Role] = &[
    Role::Admin,
    Role::Manager,
    Role::Rep,
    Role::ServiceAgent,
    Role::ServiceAccount,
];
/// Roles that may delete, merge, bulk-edit, import, export and hand customers over.
pub const MANAGERS: &[Role] = &[Role::Admin, Role::Manager, Role::ServiceAccount];
/// Roles that may read segments and count their members (a rep counts only the customers it
/// sees).
pub const SEGMENT_READERS: &[Role] = &[
    Role::Admin,
    Role::Manager,
    Role::Rep,
    Role::Marketer,
    Role::ServiceAccount,
];
/// Roles that use segments: create, change and delete them, and stream their members (contact
/// data in bulk, for campaigns).
pub const SEGMENT_USERS: &[Role] = &[
    Role::Admin,
    Role::Manager,
    Role::Marketer,
    Role::ServiceAccount,
];
/// Roles that may change the tenant's settings.
pub const ADMINS: &[Role] = &[Role::Admin];

/// The id in a `customers/{id}` name given in `field`.
pub fn customer_id(field: &str, name: &str) -> Result<Uuid> {
    names::parse_customer_name(name).map_err(|e| Error::invalid(field, e))
}
