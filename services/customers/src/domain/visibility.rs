//! Which customers a caller may see.
//!
//! Within a tenant (the tenant always comes from the credential; another tenant's customers are
//! never visible to anyone):
//!
//! - callers with the `admin`, `manager`, `service_agent`, `marketer` or `service_account`
//!   role see every customer (agents serve whoever calls; marketers build segments over the
//!   whole base; personal-data masking by role is a separate concern);
//! - a `rep` sees a customer when any of these holds:
//!   - the rep owns it (`owner_id` is the rep's subject);
//!   - it belongs to the rep's team (`team_id` is the rep's team);
//!   - it is shared with the rep's team (`shared_team_ids` contains the rep's team).
//!
//! A rep without a team sees only the customers it owns. Empty ids never match, so a customer
//! with no owner or no team is not visible to every rep without one. A customer a caller may
//! not see is reported as NOT_FOUND, exactly like one that does not exist.

/// The roles that see every customer of their tenant.
pub const ALL_SEEING_ROLES: [&str; 5] = [
    "admin",
    "manager",
    "service_agent",
    "marketer",
    "service_account",
];

/// Whether a caller with `roles` sees every customer of the tenant (otherwise it is filtered
/// per row by [`rep_can_see`]).
pub fn sees_all<S: AsRef<str>>(roles: &[S]) -> bool {
    roles.iter().any(|r| ALL_SEEING_ROLES.contains(&r.as_ref()))
}

/// Whether the rep `subject`, member of `rep_team`, sees a customer with this owner, team and
/// sharing.
pub fn rep_can_see(
    subject: &str,
    rep_team: Option<&str>,
    owner_id: &str,
    team_id: &str,
    shared_team_ids: &[String],
) -> bool {
    if !subject.is_empty() && owner_id == subject {
        return true;
    }
    match rep_team.filter(|t| !t.is_empty()) {
        Some(team) => team_id == team || shared_team_ids.iter().any(|s| s == team),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(teams: &[&str]) -> Vec<String> {
        teams.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn admins_managers_and_service_accounts_see_all() {
        assert!(sees_all(&["admin"]));
        assert!(sees_all(&["rep", "manager"]));
        assert!(sees_all(&[String::from("service_account")]));
        assert!(!sees_all(&["rep"]));
        assert!(!sees_all::<&str>(&[]));
        assert!(!sees_all(&["Admin"]));
    }

    #[test]
    fn a_rep_sees_what_it_owns() {
        assert!(rep_can_see("rep-1", None, "rep-1", "team-x", &[]));
        assert!(rep_can_see("rep-1", Some("team-a"), "rep-1", "team-x", &[]));
        assert!(!rep_can_see("rep-1", None, "rep-2", "team-x", &[]));
    }

    #[test]
    fn a_rep_sees_its_teams_customers() {
        assert!(rep_can_see("rep-1", Some("team-a"), "rep-2", "team-a", &[]));
        assert!(!rep_can_see(
            "rep-1",
            Some("team-a"),
            "rep-2",
            "team-b",
            &[]
        ));
    }

    #[test]
    fn a_rep_sees_customers_shared_with_its_team() {
        let s = shared(&["team-c", "team-a"]);
        assert!(rep_can_see("rep-1", Some("team-a"), "rep-2", "team-b", &s));
        assert!(!rep_can_see("rep-1", Some("team-d"), "rep-2", "team-b", &s));
        assert!(!rep_can_see("rep-1", None, "rep-2", "team-b", &s));
    }

    #[test]
    fn empty_ids_never_match() {
        // An unowned customer is not everyone's with no subject.
        assert!(!rep_can_see("", None, "", "", &[]));
        // A rep with an empty team does not see customers without a team.
        assert!(!rep_can_see("rep-1", Some(""), "rep-2", "", &shared(&[""])));
    }
}
