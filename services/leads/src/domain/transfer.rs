//! A change of an opportunity's owner or a task's assignee (LE2, S1): every deal and task stays
//! with the company when a rep leaves, and each move is recorded with who had it, who has it,
//! why and who decided.

use rapport_runtime::clock::Micros;
use uuid::Uuid;

/// Longest reason kept, in characters.
pub const MAX_REASON: usize = 500;

/// A recorded change of owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// Its id (UUIDv7: transfers order by time).
    pub id: Uuid,
    /// What moved: `opportunities/{id}` or `tasks/{id}`.
    pub parent: String,
    pub previous_owner_id: String,
    pub owner_id: String,
    pub previous_team_id: String,
    pub team_id: String,
    pub reason: String,
    /// Who made the change.
    pub actor: String,
    pub create_time: Micros,
}

impl Transfer {
    /// The transfer of `parent` from (`owner`, `team`) to (`to`, `to_team`), made by `actor`
    /// at `now`.
    pub fn new(
        parent: String,
        from: (&str, &str),
        to: (&str, &str),
        reason: &str,
        actor: &str,
        now: Micros,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            parent,
            previous_owner_id: from.0.to_owned(),
            previous_team_id: from.1.to_owned(),
            owner_id: to.0.to_owned(),
            team_id: to.1.to_owned(),
            reason: reason.to_owned(),
            actor: actor.to_owned(),
            create_time: now,
        }
    }

    /// `{parent}/transfers/{id}`.
    pub fn resource_name(&self) -> String {
        format!("{}/transfers/{}", self.parent, self.id)
    }
}

/// Round-robin over the reps who take over what a departing rep held: each gets the next item,
/// in turn; with nobody named, everything goes to the fallback (the caller).
#[derive(Debug, Clone)]
pub struct InTurn<'a> {
    to: &'a [String],
    fallback: &'a str,
    next: usize,
}

impl<'a> InTurn<'a> {
    /// Turns over `to`, or `fallback` alone when `to` is empty.
    pub fn new(to: &'a [String], fallback: &'a str) -> Self {
        Self {
            to,
            fallback,
            next: 0,
        }
    }

    /// Who takes the next item.
    pub fn next_owner(&mut self) -> &'a str {
        if self.to.is_empty() {
            return self.fallback;
        }
        let owner = &self.to[self.next % self.to.len()];
        self.next += 1;
        owner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_go_round_the_named_reps_or_to_the_fallback() {
        let to = vec!["a".to_owned(), "b".to_owned()];
        let mut turn = InTurn::new(&to, "mgr");
        let got: Vec<&str> = (0..5).map(|_| turn.next_owner()).collect();
        assert_eq!(got, ["a", "b", "a", "b", "a"]);
        let mut alone = InTurn::new(&[], "mgr");
        assert_eq!((alone.next_owner(), alone.next_owner()), ("mgr", "mgr"));
    }

    #[test]
    fn a_transfer_is_named_under_what_moved() {
        let t = Transfer::new(
            "tasks/1".into(),
            ("rep-a", "s04"),
            ("rep-b", "s01"),
            "left",
            "mgr",
            7,
        );
        assert!(t.resource_name().starts_with("tasks/1/transfers/"));
        assert_eq!(
            (t.previous_owner_id.as_str(), t.team_id.as_str()),
            ("rep-a", "s01")
        );
    }
}
