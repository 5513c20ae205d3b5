//! What the handlers share: the roles of each kind of method, reading names and pages.

use rapport_kit::{
    names,
    query::{CursorValue, Page},
};
use rapport_runtime::{
    Error, Result,
    auth::{Principal, Role},
};
use uuid::Uuid;

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
/// Who defines and runs strategies and plans.
pub const MARKETERS: &[Role] = &[
    Role::Admin,
    Role::Manager,
    Role::Marketer,
    Role::ServiceAccount,
];
/// Who changes the settings.
pub const ADMINS: &[Role] = &[Role::Admin, Role::ServiceAccount];
/// Who plans and runs campaigns, records their costs, invites customers and issues coupons:
/// marketers and managers.
pub const CAMPAIGNERS: &[Role] = &[
    Role::Admin,
    Role::Manager,
    Role::Marketer,
    Role::ServiceAccount,
];
/// Who approves or rejects campaigns: managers and admins (never a campaign's own creator,
/// unless an admin).
pub const APPROVERS: &[Role] = &[Role::Admin, Role::Manager, Role::ServiceAccount];
/// Who reads coupons: those who issue them. A rep learns of a code only what redeeming it
/// answers, which never names another order.
pub const COUPON_READERS: &[Role] = CAMPAIGNERS;
/// Who redeems coupons and releases redemptions: those who create orders.
pub const REDEEMERS: &[Role] = &[Role::Admin, Role::Manager, Role::Rep, Role::ServiceAccount];

/// The id in a `collection/{id}` name given in `field`.
pub fn parse_id(field: &str, collection: &str, name: &str) -> Result<Uuid> {
    names::parse_id(collection, name).map_err(|e| Error::invalid(field, e))
}

/// A page of a list in one fixed order whose cursor is (a time, an id), for `p`'s tenant and
/// the query named by `parts`.
pub fn page(p: &Principal, parts: &[&str], size: i32, token: &str) -> Result<Page> {
    let fits = |c: &[CursorValue]| matches!(c, [CursorValue::Int(_), CursorValue::Text(_)]);
    let mut query = vec![p.tenant_id.as_str()];
    query.extend_from_slice(parts);
    Page::parse(&query, size, token, fits).map_err(Error::from)
}
