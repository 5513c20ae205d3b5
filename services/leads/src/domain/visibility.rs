//! Who sees what (X3): a rep sees the public pools and its own private pool; a manager also
//! sees everything its team owns; admins, marketers and service accounts see the whole tenant.
//! Opportunities, tasks and alerts follow the kit's rule for owned rows; leads add the public
//! pools.

pub use rapport_kit::visibility::Scope;

/// Whether a lead owned by `owner` (empty: in a public pool) in `team` is visible.
pub fn sees_lead(scope: &Scope, owner: &str, team: &str) -> bool {
    owner.is_empty() || scope.sees_owned(owner, team)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everyone_sees_the_pool() {
        let s = Scope::Own {
            subject: "a".into(),
        };
        assert!(sees_lead(&s, "", "t"));
        assert!(sees_lead(&s, "a", "t"));
        assert!(!sees_lead(&s, "b", "t"));
    }
}
