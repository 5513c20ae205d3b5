//! proto ↔ domain for the tickets service: requests parsed with every bad field reported at
//! once, answers and event payloads built from the domain.

pub mod analytics;
pub mod enums;
pub mod queue;
pub mod settings;
pub mod ticket;

use rapport_kit::names;
use rapport_runtime::validation::Violations;
use uuid::Uuid;

/// The id of a `collection/{id}` name in `field`, reported when it is not one.
pub fn id_in(collection: &str, name: &str, field: &str, v: &mut Violations) -> Option<Uuid> {
    match names::parse_id(collection, name) {
        Ok(id) => Some(id),
        Err(e) => {
            v.add(field, e);
            None
        }
    }
}

/// As [`id_in`] for a name that may be left empty.
pub fn optional_id_in(
    collection: &str,
    name: &str,
    field: &str,
    v: &mut Violations,
) -> Option<Uuid> {
    if name.trim().is_empty() {
        None
    } else {
        id_in(collection, name, field, v)
    }
}
