//! What the handlers share: the roles of each kind of method.

use rapport_runtime::auth::Role;

pub use rapport_runtime::auth::authorize;

/// The tenant's staff and services, who read campaigns.
pub const STAFF: &[Role] = &[
    Role::Admin,
    Role::Manager,
    Role::Rep,
    Role::ServiceAgent,
    Role::Marketer,
    Role::ServiceAccount,
];
/// Who changes the settings.
pub const ADMINS: &[Role] = &[Role::Admin, Role::ServiceAccount];
