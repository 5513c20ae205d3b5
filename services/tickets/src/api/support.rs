//! What the handlers share: the roles of each kind of method and reading names.

use rapport_kit::names;
use rapport_runtime::{Error, Result, auth::Role};
use uuid::Uuid;

pub use rapport_runtime::auth::authorize;

/// Roles that read tickets (each sees what its scope allows; reps only customers they see).
pub const READERS: &[Role] = &[
    Role::Admin,
    Role::Manager,
    Role::Rep,
    Role::ServiceAgent,
    Role::ServiceAccount,
];
/// Roles that create tickets and work them.
pub const WORKERS: &[Role] = &[
    Role::Admin,
    Role::Manager,
    Role::ServiceAgent,
    Role::ServiceAccount,
];
/// Roles that route tickets by hand, approve return requests, read reports and change queues.
pub const SUPERVISORS: &[Role] = &[Role::Admin, Role::Manager, Role::ServiceAccount];
/// Roles that read queues and agents.
pub const QUEUE_READERS: &[Role] = &[
    Role::Admin,
    Role::Manager,
    Role::ServiceAgent,
    Role::ServiceAccount,
];
/// Roles that record survey answers: the channel that shows the survey.
pub const SURVEY_TAKERS: &[Role] = &[Role::ServiceAccount];
/// Roles that change the tenant's ticket settings.
pub const ADMINS: &[Role] = &[Role::Admin];

/// The id in a `collection/{id}` name given in `field`.
pub fn parse_id(field: &str, collection: &str, name: &str) -> Result<Uuid> {
    names::parse_id(collection, name).map_err(|e| Error::invalid(field, e))
}
