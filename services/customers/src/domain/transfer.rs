//! Hand-over of a customer to another owner. Every transfer is kept, so the history of
//! who owned a customer can always be told.

use rapport_runtime::clock::Micros;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The longest owner or team id, in characters.
pub const MAX_ID_CHARS: usize = 128;
/// The longest reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// One change of owner, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnershipTransfer {
    pub id: Uuid,
    pub customer_id: Uuid,
    /// Empty when the customer had no owner.
    pub from_owner_id: String,
    pub to_owner_id: String,
    pub from_team_id: String,
    pub to_team_id: String,
    pub from_store_id: String,
    pub to_store_id: String,
    pub reason: String,
    /// The subject who made the transfer.
    pub actor: String,
    pub create_time: Micros,
}

/// A validated transfer request (the etag and request id are the handler's business).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRequest {
    pub customer_id: Uuid,
    pub new_owner_id: String,
    /// `None` keeps the current team.
    pub new_team_id: Option<String>,
    /// `None` keeps the current store.
    pub new_store_id: Option<String>,
    pub reason: String,
}

/// Checks the new owner's subject id: 1..128 characters.
pub fn check_new_owner_id(owner_id: &str) -> Result<(), String> {
    if owner_id.trim().is_empty() {
        return Err("is required".into());
    }
    check_id(owner_id)
}

/// Checks a team or store id given in a transfer (empty means "unchanged").
pub fn check_id(id: &str) -> Result<(), String> {
    let n = id.chars().count();
    if n > MAX_ID_CHARS {
        return Err(format!(
            "must be at most {MAX_ID_CHARS} characters, got {n}"
        ));
    }
    Ok(())
}

/// Checks the reason: up to 500 characters.
pub fn check_reason(reason: &str) -> Result<(), String> {
    let n = reason.chars().count();
    if n > MAX_REASON_CHARS {
        return Err(format!(
            "must be at most {MAX_REASON_CHARS} characters, got {n}"
        ));
    }
    Ok(())
}

/// Who holds a customer now.
#[derive(Debug, Clone, Copy)]
pub struct Holder<'a> {
    pub owner_id: &'a str,
    pub team_id: &'a str,
    pub store_id: &'a str,
}

/// The record of moving a customer from `current` as the request says. A move that changes
/// nothing (same owner, team and store) is refused (the text is the reason; the API answers
/// FAILED_PRECONDITION): such a record would tell nothing, and it is usually a client retrying
/// without a request id. Moving only the store is a hand-over between stores, and recorded.
pub fn transfer(
    request: &TransferRequest,
    current: Holder<'_>,
    id: Uuid,
    actor: &str,
    now: Micros,
) -> Result<OwnershipTransfer, String> {
    let (current_owner_id, current_team_id) = (current.owner_id, current.team_id);
    let to_team_id = request.new_team_id.as_deref().unwrap_or(current_team_id);
    let to_store_id = request.new_store_id.as_deref().unwrap_or(current.store_id);
    if request.new_owner_id == current_owner_id
        && to_team_id == current_team_id
        && to_store_id == current.store_id
    {
        return Err(format!(
            "the customer is already owned by \"{current_owner_id}\" in team \"{current_team_id}\" and store \"{}\"",
            current.store_id
        ));
    }
    Ok(OwnershipTransfer {
        id,
        customer_id: request.customer_id,
        from_owner_id: current_owner_id.to_owned(),
        to_owner_id: request.new_owner_id.clone(),
        from_team_id: current_team_id.to_owned(),
        to_team_id: to_team_id.to_owned(),
        from_store_id: current.store_id.to_owned(),
        to_store_id: to_store_id.to_owned(),
        reason: request.reason.clone(),
        actor: actor.to_owned(),
        create_time: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held<'a>(owner_id: &'a str, team_id: &'a str) -> Holder<'a> {
        Holder {
            owner_id,
            team_id,
            store_id: "",
        }
    }

    fn request(owner: &str, team: Option<&str>) -> TransferRequest {
        TransferRequest {
            customer_id: Uuid::nil(),
            new_owner_id: owner.into(),
            new_team_id: team.map(Into::into),
            new_store_id: None,
            reason: "rep left".into(),
        }
    }

    #[test]
    fn new_owner_is_required_and_bounded() {
        assert_eq!(check_new_owner_id("").unwrap_err(), "is required");
        assert_eq!(check_new_owner_id("  ").unwrap_err(), "is required");
        assert!(check_new_owner_id("rep-2").is_ok());
        assert!(check_new_owner_id(&"r".repeat(128)).is_ok());
        assert!(check_new_owner_id(&"r".repeat(129)).is_err());
    }

    #[test]
    fn team_and_store_ids_are_bounded_and_may_be_empty() {
        assert!(check_id("").is_ok());
        assert!(check_id(&"t".repeat(128)).is_ok());
        assert!(check_id(&"t".repeat(129)).is_err());
    }

    #[test]
    fn reason_is_bounded_in_characters() {
        assert!(check_reason("").is_ok());
        assert!(check_reason(&"离".repeat(500)).is_ok());
        assert!(check_reason(&"a".repeat(501)).is_err());
    }

    #[test]
    fn transfer_records_both_sides() {
        let t = transfer(
            &request("rep-2", Some("team-b")),
            held("rep-1", "team-a"),
            Uuid::nil(),
            "mgr",
            9,
        )
        .unwrap();
        assert_eq!(
            (
                t.from_owner_id.as_str(),
                t.to_owner_id.as_str(),
                t.from_team_id.as_str(),
                t.to_team_id.as_str()
            ),
            ("rep-1", "rep-2", "team-a", "team-b")
        );
        assert_eq!(
            (t.reason.as_str(), t.actor.as_str(), t.create_time),
            ("rep left", "mgr", 9)
        );
    }

    #[test]
    fn team_is_kept_when_not_given() {
        let t = transfer(
            &request("rep-2", None),
            held("rep-1", "team-a"),
            Uuid::nil(),
            "mgr",
            0,
        )
        .unwrap();
        assert_eq!(t.to_team_id, "team-a");
    }

    #[test]
    fn a_customer_without_owner_can_be_assigned() {
        let t = transfer(&request("rep-2", None), held("", ""), Uuid::nil(), "mgr", 0).unwrap();
        assert_eq!(
            (t.from_owner_id.as_str(), t.to_owner_id.as_str()),
            ("", "rep-2")
        );
    }

    #[test]
    fn same_owner_and_team_is_refused() {
        let err = transfer(
            &request("rep-1", None),
            held("rep-1", "team-a"),
            Uuid::nil(),
            "mgr",
            0,
        )
        .unwrap_err();
        assert!(err.contains("already owned"));
        assert!(
            transfer(
                &request("rep-1", Some("team-a")),
                held("rep-1", "team-a"),
                Uuid::nil(),
                "m",
                0
            )
            .is_err()
        );
        // Same owner, another team is a real change.
        assert!(
            transfer(
                &request("rep-1", Some("team-b")),
                held("rep-1", "team-a"),
                Uuid::nil(),
                "m",
                0
            )
            .is_ok()
        );
    }

    #[test]
    fn moving_only_the_store_is_a_change() {
        let mut req = request("rep-1", None);
        req.new_store_id = Some("store-2".into());
        let current = Holder {
            owner_id: "rep-1",
            team_id: "team-a",
            store_id: "store-1",
        };
        assert!(transfer(&req, current, Uuid::nil(), "m", 0).is_ok());
        req.new_store_id = Some("store-1".into());
        assert!(transfer(&req, current, Uuid::nil(), "m", 0).is_err());
    }
}
