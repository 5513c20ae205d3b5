//! SQL of the customers service, written once for PostgreSQL and SQLite (see "Storage" in
//! `docs/architecture.md`); every query filters on the tenant. Functions take a connection or
//! transaction so the use cases decide what commits together.

mod customers;
mod relationships;
pub mod segments;
mod settings;
mod timeline;
pub mod value;

pub use customers::{
    CustomerQuery, FILTER_FIELDS, Members, RepScope, contact_locks, count_members, cursor_of,
    customer_statements, find_by_contacts, get_customer, list_customers, lock_contact_keys,
    lock_customer, lock_referred_by, members_after, note_activity, note_created,
    others_hold_contacts, refresh_last_activity, shared_with, update_customer,
};
pub use relationships::{
    delete_relationship, find_relationship, get_relationship, insert_relationship,
    list_relationships, repoint_relationships,
};
pub use timeline::{
    insert_activity, insert_transfer, list_activities, list_transfers, repoint_timeline,
};

use rapport_runtime::storage::id_column as uuid;

/// `$first, $first+1, …` for `n` values, comma-separated.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
