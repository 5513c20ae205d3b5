//! What the handlers share: the roles of each kind of method, and reading pages.

use rapport_kit::query::{CursorValue, Page};
use rapport_runtime::{
    Error, Result,
    auth::{Principal, Role},
};

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

/// A page of a list in one fixed order whose cursor is (a time, an id), for `p`'s tenant and
/// the query named by `parts`.
pub fn page(p: &Principal, parts: &[&str], size: i32, token: &str) -> Result<Page> {
    let fits = |c: &[CursorValue]| matches!(c, [CursorValue::Int(_), CursorValue::Text(_)]);
    let mut query = vec![p.tenant_id.as_str()];
    query.extend_from_slice(parts);
    Page::parse(&query, size, token, fits).map_err(Error::from)
}
