//! Who sees what (X3): a rep sees the public pools and its own private pool; a manager also
//! sees everything its team owns; admins, marketers and service accounts see the whole tenant.
//! Opportunities, tasks and alerts follow the same rule without the public pools.

/// The rows a caller is limited to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The whole tenant.
    All,
    /// A manager: its team's rows and its own.
    Team {
        /// The manager's subject.
        subject: String,
        /// The manager's team (from the token's `team` claim); none: only its own rows.
        team: Option<String>,
    },
    /// A rep: its own rows.
    Own {
        /// The rep's subject.
        subject: String,
    },
}

impl Scope {
    /// Whether a row owned by `owner` in `team` is visible (public-pool rows aside).
    pub fn sees_owned(&self, owner: &str, team: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Team { subject, team: t } => {
                owner == subject || t.as_deref().is_some_and(|t| !t.is_empty() && t == team)
            }
            Scope::Own { subject } => owner == subject,
        }
    }

    /// Whether a lead owned by `owner` (empty: in a public pool) in `team` is visible.
    pub fn sees_lead(&self, owner: &str, team: &str) -> bool {
        owner.is_empty() || self.sees_owned(owner, team)
    }

    /// Whether the caller sees the whole tenant.
    pub fn is_all(&self) -> bool {
        matches!(self, Scope::All)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reps_see_the_pool_and_their_own() {
        let s = Scope::Own {
            subject: "a".into(),
        };
        assert!(s.sees_lead("", "t"));
        assert!(s.sees_lead("a", "t"));
        assert!(!s.sees_lead("b", "t"));
        assert!(!s.sees_owned("b", "t"));
    }

    #[test]
    fn managers_see_their_team() {
        let s = Scope::Team {
            subject: "m".into(),
            team: Some("t".into()),
        };
        assert!(s.sees_lead("b", "t"));
        assert!(s.sees_owned("m", "x"));
        assert!(!s.sees_owned("b", "x"));
        let teamless = Scope::Team {
            subject: "m".into(),
            team: None,
        };
        assert!(!teamless.sees_owned("b", ""));
        assert!(Scope::All.sees_owned("anyone", ""));
    }
}
