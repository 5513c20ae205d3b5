//! A campaign's members: the customers it invited, their answers and their attendance. Each
//! change says what it adds to the campaign's results, so the figures are kept with the
//! writes instead of counted on every read.

use rapport_runtime::clock::Micros;
use uuid::Uuid;

use super::campaign::{CAMPAIGNS, Results};

/// The collection of a campaign's members, named by their customers' ids.
pub const MEMBERS: &str = "members";
/// Most customers one invitation names.
pub const MAX_INVITES: usize = 100;

/// An invited customer's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    Accepted,
    Declined,
}

impl Response {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Response::Accepted => "accepted",
            Response::Declined => "declined",
        }
    }

    /// The answer of its stored form; empty is none.
    pub fn parse(s: &str) -> Option<Self> {
        [Response::Accepted, Response::Declined]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// Where a member stands, as lists filter it: attendance outranks the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Invited,
    Accepted,
    Declined,
    Attended,
}

impl Standing {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Invited => "invited",
            Standing::Accepted => "accepted",
            Standing::Declined => "declined",
            Standing::Attended => "attended",
        }
    }
}

/// A customer invited to a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub campaign_id: Uuid,
    pub customer_id: Uuid,
    pub response: Option<Response>,
    pub attended: bool,
    pub invited_by: String,
    pub invite_time: Micros,
    pub respond_time: Option<Micros>,
    pub attend_time: Option<Micros>,
}

impl Member {
    /// A customer invited by `by` at `now`.
    pub fn invited(campaign_id: Uuid, customer_id: Uuid, by: &str, now: Micros) -> Self {
        Self {
            campaign_id,
            customer_id,
            response: None,
            attended: false,
            invited_by: by.to_owned(),
            invite_time: now,
            respond_time: None,
            attend_time: None,
        }
    }

    /// "campaigns/{campaign}/members/{customer}".
    pub fn name(&self) -> String {
        rapport_kit::names::format_child_id(CAMPAIGNS, self.campaign_id, MEMBERS, self.customer_id)
    }

    /// Where the member stands.
    pub fn standing(&self) -> Standing {
        match (self.attended, self.response) {
            (true, _) => Standing::Attended,
            (false, Some(Response::Accepted)) => Standing::Accepted,
            (false, Some(Response::Declined)) => Standing::Declined,
            (false, None) => Standing::Invited,
        }
    }

    /// Records `response` at `now`; what it adds to the campaign's results. The same answer
    /// again changes nothing.
    pub fn respond(&mut self, response: Response, now: Micros) -> Results {
        let before = self.response;
        if before == Some(response) {
            return Results::default();
        }
        self.response = Some(response);
        self.respond_time = Some(now);
        let accepting = |r: Option<Response>| i64::from(r == Some(Response::Accepted));
        Results {
            responded: i64::from(before.is_none()),
            accepted: accepting(Some(response)) - accepting(before),
            ..Results::default()
        }
    }

    /// Records attendance at `now`; what it adds to the campaign's results. Attending twice
    /// changes nothing.
    pub fn attend(&mut self, now: Micros) -> Results {
        if self.attended {
            return Results::default();
        }
        self.attended = true;
        self.attend_time = Some(now);
        Results {
            attended: 1,
            ..Results::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_and_attendance_keep_the_results() {
        let mut m = Member::invited(Uuid::nil(), Uuid::nil(), "mk-1", 1);
        assert_eq!(m.standing(), Standing::Invited);
        let mut total = Results {
            invited: 1,
            ..Results::default()
        };
        total += m.respond(Response::Accepted, 2);
        assert_eq!((total.responded, total.accepted), (1, 1));
        assert!(m.respond(Response::Accepted, 3).is_zero());
        assert_eq!(m.respond_time, Some(2));
        total += m.respond(Response::Declined, 4);
        assert_eq!((total.responded, total.accepted), (1, 0));
        assert_eq!(m.standing(), Standing::Declined);
        total += m.attend(5);
        assert!(m.attend(6).is_zero());
        assert_eq!(m.standing(), Standing::Attended);
        assert_eq!(
            total,
            Results {
                invited: 1,
                responded: 1,
                accepted: 0,
                attended: 1
            }
        );
        assert_eq!(Response::parse("declined"), Some(Response::Declined));
        assert_eq!(Response::parse(""), None);
    }
}
