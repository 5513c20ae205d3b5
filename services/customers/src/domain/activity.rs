//! Timeline entries of a customer: what happened, when, who recorded it, and when to
//! follow up.

use rapport_runtime::clock::{DAY, Micros};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The kind of a timeline activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Note,
    Call,
    HomeVisit,
    StoreVisit,
    Message,
    Email,
    Meeting,
    DesignProposal,
}

impl ActivityKind {
    /// Every kind, in declaration order.
    pub const ALL: [ActivityKind; 8] = [
        ActivityKind::Note,
        ActivityKind::Call,
        ActivityKind::HomeVisit,
        ActivityKind::StoreVisit,
        ActivityKind::Message,
        ActivityKind::Email,
        ActivityKind::Meeting,
        ActivityKind::DesignProposal,
    ];

    /// The stable name used in storage and events.
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Note => "note",
            ActivityKind::Call => "call",
            ActivityKind::HomeVisit => "home_visit",
            ActivityKind::StoreVisit => "store_visit",
            ActivityKind::Message => "message",
            ActivityKind::Email => "email",
            ActivityKind::Meeting => "meeting",
            ActivityKind::DesignProposal => "design_proposal",
        }
    }

    /// The kind with a stable name, if any.
    pub fn parse(name: &str) -> Option<ActivityKind> {
        ActivityKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// The longest content, in characters.
pub const MAX_CONTENT_CHARS: usize = 10_000;
/// The largest `details`, as compact JSON, in bytes.
pub const MAX_DETAILS_BYTES: usize = 16 * 1024;
/// How far ahead of now `occur_time` may be: clocks of phones and store tills drift, and a
/// meeting may be logged just before it starts, but the timeline records what happened.
pub const MAX_OCCUR_AHEAD: Micros = DAY;

/// A timeline entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub kind: ActivityKind,
    /// The subject who recorded it.
    pub author: String,
    pub occur_time: Micros,
    pub content: String,
    /// Structured details, e.g. `{"competitor_products": ["X sofa"]}`.
    #[serde(default)]
    pub details: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub next_follow_up_time: Option<Micros>,
    pub create_time: Micros,
}

/// A validated request to record an activity; the server adds id, customer, author and times.
#[derive(Debug, Clone, PartialEq)]
pub struct NewActivity {
    pub kind: ActivityKind,
    /// `None` means "now".
    pub occur_time: Option<Micros>,
    pub content: String,
    pub details: serde_json::Map<String, serde_json::Value>,
    pub next_follow_up_time: Option<Micros>,
}

impl NewActivity {
    /// The activity to store, recorded at `now`.
    pub fn into_activity(
        self,
        id: Uuid,
        customer_id: Uuid,
        author: String,
        now: Micros,
    ) -> Activity {
        Activity {
            id,
            customer_id,
            kind: self.kind,
            author,
            occur_time: self.occur_time.unwrap_or(now),
            content: self.content,
            details: self.details,
            next_follow_up_time: self.next_follow_up_time,
            create_time: now,
        }
    }
}

/// Checks the content: 1..10000 characters, not only whitespace.
pub fn check_content(content: &str) -> Result<(), String> {
    if content.trim().is_empty() {
        return Err("is required".into());
    }
    let n = content.chars().count();
    if n > MAX_CONTENT_CHARS {
        return Err(format!(
            "must be at most {MAX_CONTENT_CHARS} characters, got {n}"
        ));
    }
    Ok(())
}

/// Checks that `occur_time` is not more than a day after `now`.
pub fn check_occur_time(occur_time: Micros, now: Micros) -> Result<(), String> {
    if occur_time > now.saturating_add(MAX_OCCUR_AHEAD) {
        return Err("must not be more than one day in the future".into());
    }
    Ok(())
}

/// Checks that the follow-up is due after the activity happened.
pub fn check_next_follow_up_time(
    next_follow_up_time: Micros,
    occur_time: Micros,
) -> Result<(), String> {
    if next_follow_up_time <= occur_time {
        return Err("must be after occur_time".into());
    }
    Ok(())
}

/// Checks the size of `details` once serialized.
pub fn check_details(details: &serde_json::Map<String, serde_json::Value>) -> Result<(), String> {
    // Serializing a map of JSON values cannot fail; treat a failure as too large anyway.
    let size = serde_json::to_vec(details).map_or(usize::MAX, |b| b.len());
    if size > MAX_DETAILS_BYTES {
        return Err(format!(
            "must be at most {MAX_DETAILS_BYTES} bytes as JSON, got {size}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rapport_runtime::clock::{HOUR, SECOND};
    use serde_json::{Value, json};

    const NOW: Micros = 1_704_067_200 * SECOND;

    #[test]
    fn names_are_stable_and_match_serde() {
        let names: Vec<_> = ActivityKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "note",
                "call",
                "home_visit",
                "store_visit",
                "message",
                "email",
                "meeting",
                "design_proposal"
            ]
        );
        for k in ActivityKind::ALL {
            assert_eq!(ActivityKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        assert_eq!(ActivityKind::parse("visit"), None);
    }

    #[test]
    fn content_is_required_and_bounded_in_characters() {
        assert_eq!(check_content("").unwrap_err(), "is required");
        assert_eq!(check_content(" \n\t").unwrap_err(), "is required");
        assert!(check_content("x").is_ok());
        assert!(check_content(&"沙".repeat(MAX_CONTENT_CHARS)).is_ok());
        assert!(check_content(&"a".repeat(MAX_CONTENT_CHARS + 1)).is_err());
    }

    #[test]
    fn occur_time_may_be_at_most_one_day_ahead() {
        assert!(check_occur_time(NOW - 365 * DAY, NOW).is_ok());
        assert!(check_occur_time(NOW + DAY, NOW).is_ok());
        assert!(check_occur_time(NOW + DAY + 1, NOW).is_err());
        assert!(check_occur_time(i64::MAX, i64::MAX - 1).is_ok());
    }

    #[test]
    fn follow_up_must_be_after_the_activity() {
        assert!(check_next_follow_up_time(NOW + 1, NOW).is_ok());
        assert!(check_next_follow_up_time(NOW, NOW).is_err());
        assert!(check_next_follow_up_time(NOW - HOUR, NOW).is_err());
    }

    #[test]
    fn details_are_bounded_when_serialized() {
        let small = json!({"competitor_products": ["X sofa"]});
        assert!(check_details(small.as_object().unwrap()).is_ok());
        let mut big = serde_json::Map::new();
        // {"k":"…"} is 8 bytes of overhead around the value.
        big.insert("k".into(), Value::String("a".repeat(MAX_DETAILS_BYTES - 8)));
        assert!(check_details(&big).is_ok());
        big.insert("k".into(), Value::String("a".repeat(MAX_DETAILS_BYTES - 7)));
        assert!(check_details(&big).is_err());
    }

    #[test]
    fn occur_time_defaults_to_the_recording_time() {
        let new = NewActivity {
            kind: ActivityKind::Call,
            occur_time: None,
            content: "asked about delivery".into(),
            details: serde_json::Map::new(),
            next_follow_up_time: Some(NOW + DAY),
        };
        let id = Uuid::nil();
        let a = new.clone().into_activity(id, id, "rep-1".into(), NOW);
        assert_eq!((a.occur_time, a.create_time), (NOW, NOW));
        assert_eq!(a.author, "rep-1");
        assert_eq!(a.next_follow_up_time, Some(NOW + DAY));
        let earlier = NewActivity {
            occur_time: Some(NOW - HOUR),
            ..new
        }
        .into_activity(id, id, "rep-1".into(), NOW);
        assert_eq!(earlier.occur_time, NOW - HOUR);

        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Activity>(&json).unwrap(), a);
    }
}
