//! Which customers a caller may see, and what it learns of duplicates it may not.

use rapport_kit::duplicates::{Disclosed, Disclosure, disclose as disclose_holder};
use rapport_runtime::{Result, auth::Principal};
use uuid::Uuid;

use crate::{
    domain::{duplicates::DuplicateHit, profile::Customer, visibility},
    store::{self, RepScope},
};

/// The rows a caller is limited to: `None` for callers who see the whole tenant.
pub fn scope(p: &Principal) -> Option<RepScope> {
    let roles: Vec<&str> = p.roles.iter().map(|r| r.as_str()).collect();
    (!visibility::sees_all(&roles)).then(|| RepScope {
        subject: p.subject.clone(),
        team: p.team_id.clone(),
    })
}

/// Whether the caller may see `c`.
pub fn can_see(p: &Principal, c: &Customer) -> bool {
    may_see(
        p,
        &c.profile.owner_id,
        &c.profile.team_id,
        &c.profile.shared_team_ids,
    )
}

/// Whether the caller may see a customer with this owner, team and sharing.
pub fn may_see(p: &Principal, owner_id: &str, team_id: &str, shared_team_ids: &[String]) -> bool {
    match scope(p) {
        None => true,
        Some(s) => visibility::rep_can_see(
            &s.subject,
            s.team.as_deref(),
            owner_id,
            team_id,
            shared_team_ids,
        ),
    }
}

/// What the caller learns of each of `hits`, in order (see `rapport_kit::duplicates`): a
/// holder it may see in full, any other as the tenant's settings allow.
pub async fn disclose(
    conn: &mut sqlx::AnyConnection,
    p: &Principal,
    disclosure: Disclosure,
    hits: &[DuplicateHit],
) -> Result<Vec<Disclosed>> {
    let sees = |h: &DuplicateHit| may_see(p, &h.holder.owner_id, &h.holder.team_id, &[]);
    // Sharing matters only for a rep with a team, and only for holders it sees no other way.
    let unseen: Vec<Uuid> = hits
        .iter()
        .filter(|h| !sees(h))
        .map(|h| h.customer_id)
        .collect();
    let team = p.team_id.clone().unwrap_or_default();
    let shared = store::shared_with(conn, &p.tenant_id, &unseen, &team).await?;
    Ok(hits
        .iter()
        .map(|h| {
            let visible = sees(h) || shared.contains(&h.customer_id);
            disclose_holder(&h.holder, visible, disclosure)
        })
        .collect())
}
