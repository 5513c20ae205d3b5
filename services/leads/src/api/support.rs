//! What the handlers of the leads service share: the roles of each kind of method, parsing
//! names and pages, checks of what a request refers to, and the start of a write.

use rapport_kit::{
    names,
    query::{CursorValue, Page},
};
use rapport_runtime::{
    Error, Result,
    auth::{Principal, Role},
    validation::Violations,
};
use uuid::Uuid;

use crate::{
    app::{App, scope},
    domain::{org, visibility::Scope},
    store,
};

pub use rapport_runtime::auth::authorize;

/// Roles that read leads, opportunities and the organization.
pub const READERS: &[Role] = &[
    Role::Admin,
    Role::Manager,
    Role::Rep,
    Role::Marketer,
    Role::ServiceAccount,
];
/// Roles that create and work leads, opportunities and tasks.
pub const WORKERS: &[Role] = &[Role::Admin, Role::Manager, Role::Rep, Role::ServiceAccount];
/// Roles that assign, lock, hand over and change the organization and pipelines.
pub const MANAGERS: &[Role] = &[Role::Admin, Role::Manager, Role::ServiceAccount];
/// Roles that change the tenant's lead settings.
pub const ADMINS: &[Role] = &[Role::Admin];
/// Roles that read analytics.
pub const ANALYSTS: &[Role] = &[Role::Admin, Role::Manager, Role::ServiceAccount];

/// The id in a `collection/{id}` name given in `field`.
pub fn parse_id(field: &str, collection: &str, name: &str) -> Result<Uuid> {
    names::parse_id(collection, name).map_err(|e| Error::invalid(field, e))
}

/// Starts a write with an idempotency key, or answers a repeated request with its first answer.
macro_rules! begin {
    ($api:expr, $p:expr, $idem:expr) => {
        rapport_runtime::begin_write!($api.ctx, $p, $idem, $crate::app::EVENTS)
    };
}
pub(crate) use begin;

/// The id of a `leads/{lead}` name given in `field`.
pub fn lead_id(field: &str, name: &str) -> Result<Uuid> {
    parse_id(field, crate::domain::lead::LEADS, name)
}

/// At most `max` characters of `s` (request ids passed on to other services stay bounded).
pub fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The person a list is about: `requested`, or the caller when empty. A rep may only ask
/// about itself; a manager's rows are narrowed to its team by the list's scope.
pub(crate) fn whose(p: &Principal, requested: &str, field: &str, v: &mut Violations) -> String {
    let requested = org::parse_subject(requested, field, v);
    if requested.is_empty() {
        p.subject.clone()
    } else {
        requested
    }
}

/// PERMISSION_DENIED for a rep asking about someone else.
pub(crate) fn only_own_for_reps(p: &Principal, subject: &str, what: &str) -> Result<()> {
    if matches!(scope(p), Scope::Own { .. }) && subject != p.subject {
        return Err(Error::PermissionDenied(format!(
            "a rep sees only its own {what}"
        )));
    }
    Ok(())
}

/// Whether a cursor is `[time, uuid]`, as task and alert pages mint them.
pub(crate) fn due_cursor(c: &[CursorValue]) -> bool {
    matches!(c, [CursorValue::Int(_), CursorValue::Text(id)] if Uuid::parse_str(id).is_ok())
}

/// The key a page starts after (empty: the first page).
pub(crate) fn after_id(page: &Page) -> &str {
    match page.after.as_slice() {
        [CursorValue::Text(id)] => id,
        _ => "",
    }
}

/// Reports a team or store the request refers to that does not exist in the tenant.
pub(crate) async fn check_refs(
    api: &App,
    tenant: &str,
    team: Option<&str>,
    store_id: Option<&str>,
    v: &mut Violations,
) -> Result<()> {
    if team.is_none() && store_id.is_none() {
        return Ok(());
    }
    let mut conn = api.db().pool().acquire().await?;
    if let Some(team) = team
        && store::org::get_team(&mut conn, tenant, team)
            .await?
            .is_none()
    {
        v.add("team", format!("{} does not exist", org::team_name(team)));
    }
    if let Some(id) = store_id
        && store::org::get_store(&mut conn, tenant, id)
            .await?
            .is_none()
    {
        v.add("store", format!("{} does not exist", org::store_name(id)));
    }
    Ok(())
}

/// ALREADY_EXISTS naming `name`.
pub(crate) fn exists(reason: &'static str, name: String) -> Error {
    Error::AlreadyExists {
        reason,
        message: format!("{name} already exists"),
        existing: name,
        metadata: Vec::new(),
    }
}

/// Whether a page cursor is one key or subject, as the organization's lists mint them.
pub(crate) fn id_cursor(c: &[CursorValue]) -> bool {
    matches!(c, [CursorValue::Text(_)])
}

/// As [`parse_key`], for a name that may be left blank: `None` then.
pub(crate) fn optional_key(
    collection: &str,
    name: &str,
    field: &str,
    v: &mut Violations,
) -> Option<String> {
    let name = name.trim();
    (!name.is_empty()).then(|| parse_key(collection, name, field, v))
}

/// The key of `collection/{key}` named in `field`.
pub(crate) fn parse_key(collection: &str, name: &str, field: &str, v: &mut Violations) -> String {
    match names::parse_key(collection, name) {
        Ok(key) => key.to_owned(),
        Err(e) => {
            v.add(field, e);
            String::new()
        }
    }
}
