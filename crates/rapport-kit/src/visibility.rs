//! Who sees which owned rows (X3): a row has an owner (a subject) and the owner's team. A
//! caller sees the whole tenant, its team's rows and its own, or only its own; each service
//! says which of its roles gets which scope. A row the caller may not see reads as not found.

use rapport_runtime::storage::BindValue;

/// The rows a caller is limited to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The whole tenant.
    All,
    /// Its team's rows and its own.
    Team {
        /// The caller's subject.
        subject: String,
        /// The caller's team (from the token's `team` claim); none: only its own rows.
        team: Option<String>,
    },
    /// Its own rows.
    Own {
        /// The caller's subject.
        subject: String,
    },
}

impl Scope {
    /// Whether a row owned by `owner` in `team` is visible.
    pub fn sees_owned(&self, owner: &str, team: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Team { subject, team: t } => {
                owner == subject || t.as_deref().is_some_and(|t| !t.is_empty() && t == team)
            }
            Scope::Own { subject } => owner == subject,
        }
    }

    /// Whether the caller sees the whole tenant.
    pub fn is_all(&self) -> bool {
        matches!(self, Scope::All)
    }

    /// The SQL condition that keeps the visible rows, over the columns `owner` and `team`,
    /// with its values appended to `binds` (numbered from `first_bind`, the number of the
    /// first of them); none for the whole tenant.
    pub fn sql(
        &self,
        owner: &str,
        team: &str,
        first_bind: usize,
        binds: &mut Vec<BindValue>,
    ) -> Option<String> {
        match self {
            Scope::All => None,
            Scope::Own { subject } => {
                binds.push(BindValue::Text(subject.clone()));
                Some(format!("{owner} = ${first_bind}"))
            }
            Scope::Team { subject, team: t } => {
                binds.push(BindValue::Text(subject.clone()));
                binds.push(BindValue::Text(t.clone().unwrap_or_default()));
                let (a, b) = (first_bind, first_bind + 1);
                Some(format!(
                    "({owner} = ${a} OR (${b} <> '' AND {team} = ${b}))"
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reps_see_their_own() {
        let s = Scope::Own {
            subject: "a".into(),
        };
        assert!(s.sees_owned("a", "t"));
        assert!(!s.sees_owned("b", "t"));
        let mut binds = Vec::new();
        assert_eq!(s.sql("o", "t", 4, &mut binds).as_deref(), Some("o = $4"));
        assert_eq!(binds.len(), 1);
    }

    #[test]
    fn teams_see_their_team_and_a_teamless_caller_its_own() {
        let s = Scope::Team {
            subject: "m".into(),
            team: Some("t".into()),
        };
        assert!(s.sees_owned("b", "t"));
        assert!(s.sees_owned("m", "x"));
        assert!(!s.sees_owned("b", "x"));
        let teamless = Scope::Team {
            subject: "m".into(),
            team: None,
        };
        assert!(!teamless.sees_owned("b", ""));
        assert!(Scope::All.sees_owned("anyone", ""));
        let mut binds = Vec::new();
        assert_eq!(
            s.sql("owner_id", "team_id", 2, &mut binds).as_deref(),
            Some("(owner_id = $2 OR ($3 <> '' AND team_id = $3))")
        );
        assert_eq!(Scope::All.sql("o", "t", 2, &mut binds), None);
    }
}
