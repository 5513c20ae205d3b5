//! Resource names of the customers service, after AIP-122:
//!
//! | resource | name |
//! |---|---|
//! | customer | `customers/{customer}` |
//! | relationship | `customers/{customer}/relationships/{relationship}` |
//! | activity | `customers/{customer}/activities/{activity}` |
//! | ownership transfer | `customers/{customer}/ownershipTransfers/{transfer}` |
//! | settings | `settings` (a singleton per tenant) |
//! | segment | `segments/{segment}` |
//!
//! The kit's name rules apply: ids are hyphenated UUIDs, printed in lower case.

use rapport_kit::names::{format_child_id, format_id, parse_child_id, parse_id, parse_singleton};
use uuid::Uuid;

/// The name of the tenant's settings singleton.
pub const SETTINGS_NAME: &str = "settings";

const CUSTOMERS: &str = "customers";
const RELATIONSHIPS: &str = "relationships";
const ACTIVITIES: &str = "activities";
const OWNERSHIP_TRANSFERS: &str = "ownershipTransfers";
const SEGMENTS: &str = "segments";

/// `customers/{customer}`.
pub fn customer_name(customer: Uuid) -> String {
    format_id(CUSTOMERS, customer)
}

/// `customers/{customer}/relationships/{relationship}`.
pub fn relationship_name(customer: Uuid, relationship: Uuid) -> String {
    format_child_id(CUSTOMERS, customer, RELATIONSHIPS, relationship)
}

/// `customers/{customer}/activities/{activity}`.
pub fn activity_name(customer: Uuid, activity: Uuid) -> String {
    format_child_id(CUSTOMERS, customer, ACTIVITIES, activity)
}

/// `customers/{customer}/ownershipTransfers/{transfer}`.
pub fn ownership_transfer_name(customer: Uuid, transfer: Uuid) -> String {
    format_child_id(CUSTOMERS, customer, OWNERSHIP_TRANSFERS, transfer)
}

/// The customer id of `customers/{customer}`.
pub fn parse_customer_name(name: &str) -> Result<Uuid, String> {
    parse_id(CUSTOMERS, name)
}

/// The (customer, relationship) ids of `customers/{customer}/relationships/{relationship}`.
pub fn parse_relationship_name(name: &str) -> Result<(Uuid, Uuid), String> {
    parse_child_id(
        CUSTOMERS,
        RELATIONSHIPS,
        name,
        "customers/{customer}/relationships/{relationship}",
    )
}

/// The (customer, activity) ids of `customers/{customer}/activities/{activity}`.
pub fn parse_activity_name(name: &str) -> Result<(Uuid, Uuid), String> {
    parse_child_id(
        CUSTOMERS,
        ACTIVITIES,
        name,
        "customers/{customer}/activities/{activity}",
    )
}

/// The (customer, transfer) ids of `customers/{customer}/ownershipTransfers/{transfer}`.
pub fn parse_ownership_transfer_name(name: &str) -> Result<(Uuid, Uuid), String> {
    parse_child_id(
        CUSTOMERS,
        OWNERSHIP_TRANSFERS,
        name,
        "customers/{customer}/ownershipTransfers/{transfer}",
    )
}

/// `segments/{segment}`.
pub fn segment_name(segment: Uuid) -> String {
    format_id(SEGMENTS, segment)
}

/// The segment id of `segments/{segment}`.
pub fn parse_segment_name(name: &str) -> Result<Uuid, String> {
    parse_id(SEGMENTS, name)
}

/// Accepts only `settings`.
pub fn parse_settings_name(name: &str) -> Result<(), String> {
    parse_singleton(SETTINGS_NAME, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0190a5b2-7c3e-7d4f-8a1b-2c3d4e5f6a7b";
    const B: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";

    fn a() -> Uuid {
        A.parse().unwrap()
    }
    fn b() -> Uuid {
        B.parse().unwrap()
    }

    #[test]
    fn customer_names_round_trip() {
        let name = customer_name(a());
        assert_eq!(name, format!("customers/{A}"));
        assert_eq!(parse_customer_name(&name), Ok(a()));
    }

    #[test]
    fn segment_names_round_trip_and_are_not_customers() {
        let name = segment_name(a());
        assert_eq!(name, format!("segments/{A}"));
        assert_eq!(parse_segment_name(&name), Ok(a()));
        assert!(parse_segment_name(&customer_name(a())).is_err());
        assert!(parse_customer_name(&name).is_err());
    }

    #[test]
    fn child_names_round_trip() {
        let n = relationship_name(a(), b());
        assert_eq!(n, format!("customers/{A}/relationships/{B}"));
        assert_eq!(parse_relationship_name(&n), Ok((a(), b())));

        let n = activity_name(a(), b());
        assert_eq!(n, format!("customers/{A}/activities/{B}"));
        assert_eq!(parse_activity_name(&n), Ok((a(), b())));

        let n = ownership_transfer_name(a(), b());
        assert_eq!(n, format!("customers/{A}/ownershipTransfers/{B}"));
        assert_eq!(parse_ownership_transfer_name(&n), Ok((a(), b())));
    }

    #[test]
    fn any_uuid_version_and_case_is_accepted_and_printed_lower_case() {
        let upper = format!("customers/{}", B.to_uppercase());
        let id = parse_customer_name(&upper).unwrap();
        assert_eq!(customer_name(id), format!("customers/{B}"));
        // Version 4 and the nil UUID parse; lookups simply find nothing.
        assert!(parse_customer_name("customers/00000000-0000-0000-0000-000000000000").is_ok());
    }

    #[test]
    fn empty_names_are_required() {
        assert!(parse_customer_name("").unwrap_err().contains("is required"));
        assert!(parse_activity_name("").unwrap_err().contains("is required"));
        assert_eq!(parse_settings_name("").unwrap_err(), "is required");
    }

    #[test]
    fn malformed_names_are_refused() {
        for bad in [
            "customers",
            "customers/",
            &format!("customer/{A}"),
            &format!("customers/{A}/"),
            &format!("/customers/{A}"),
            &format!("customers/{A}/relationships/{B}"),
            &format!("leads/{A}"),
        ] {
            let err = parse_customer_name(bad).unwrap_err();
            assert!(!err.is_empty(), "{bad}");
        }
    }

    #[test]
    fn only_hyphenated_uuids_are_ids() {
        for bad in [
            "123",
            "3f2504e04f8941d39a0c0305e82c3301",
            "{3f2504e0-4f89-41d3-9a0c-0305e82c3301}",
            "urn:uuid:3f2504e0-4f89-41d3-9a0c-0305e82c3301",
            "3f2504e0-4f89-41d3-9a0c-0305e82c330g",
        ] {
            let err = parse_customer_name(&format!("customers/{bad}")).unwrap_err();
            assert!(err.contains("is not a UUID"), "{bad}: {err}");
        }
    }

    #[test]
    fn child_names_check_collection_and_both_ids() {
        let wrong_collection = format!("customers/{A}/activities/{B}");
        assert!(
            parse_relationship_name(&wrong_collection)
                .unwrap_err()
                .contains("customers/{customer}/relationships/{relationship}")
        );
        let bad_parent = format!("customers/x/relationships/{B}");
        assert!(
            parse_relationship_name(&bad_parent)
                .unwrap_err()
                .contains("\"x\" is not a UUID")
        );
        let bad_child = format!("customers/{A}/ownershipTransfers/y");
        assert!(
            parse_ownership_transfer_name(&bad_child)
                .unwrap_err()
                .contains("\"y\" is not a UUID")
        );
        // Collection ids are case-sensitive.
        let lower = format!("customers/{A}/ownershiptransfers/{B}");
        assert!(parse_ownership_transfer_name(&lower).is_err());
    }

    #[test]
    fn settings_is_a_singleton() {
        assert_eq!(parse_settings_name(SETTINGS_NAME), Ok(()));
        assert!(parse_settings_name("settings/1").is_err());
        assert!(parse_settings_name("Settings").is_err());
    }
}
