//! Who may convert a lead while another conversion of it is under way (LE3).
//!
//! A conversion creates the customer in another service before it converts the lead, so two
//! conversions of one lead must not both get that far: the first reserves the lead, and a
//! conversion by another request is refused while the reservation is fresh. A reservation whose
//! conversion died (a crashed server, a client that gave up) is taken over once it is older than
//! [`HOLD`], keeping the customer it recorded, so the lead is never stuck and never converted
//! into a second customer the first one could have been.

use rapport_runtime::clock::Micros;

/// How long a reservation holds its lead against other requests: longer than any request may
/// run (the default request deadline is 30 s), so a live conversion is never taken over.
pub const HOLD: Micros = 120_000_000;

/// A conversion in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// Who converts.
    pub subject: String,
    /// The request id of that conversion.
    pub request_id: String,
    /// The customer, once the customers service created or found it; empty before.
    pub customer: String,
    /// Whether that customer existed before (a duplicate was linked).
    pub existing: bool,
    /// When the lead was reserved.
    pub reserve_time: Micros,
}

/// What a conversion may do with a lead, given its reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Go on, with this reservation (new, its own, or taken over).
    Proceed(Reservation),
    /// Another conversion holds the lead.
    Held,
}

/// Whether the conversion `request_id` of `subject` may go on at `now`.
pub fn reserve(
    current: Option<Reservation>,
    subject: &str,
    request_id: &str,
    now: Micros,
) -> Claim {
    match current {
        Some(r) if r.subject == subject && r.request_id == request_id => Claim::Proceed(r),
        Some(r) if now.saturating_sub(r.reserve_time) < HOLD => Claim::Held,
        other => Claim::Proceed(Reservation {
            subject: subject.to_owned(),
            request_id: request_id.to_owned(),
            // A conversion taken over keeps the customer already made for the lead.
            customer: other
                .as_ref()
                .map(|r| r.customer.clone())
                .unwrap_or_default(),
            existing: other.is_some_and(|r| r.existing),
            reserve_time: now,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held_by(subject: &str, request_id: &str, at: Micros, customer: &str) -> Reservation {
        Reservation {
            subject: subject.into(),
            request_id: request_id.into(),
            customer: customer.into(),
            existing: false,
            reserve_time: at,
        }
    }

    #[test]
    fn a_free_lead_is_reserved() {
        match reserve(None, "rep-1", "r1", 5) {
            Claim::Proceed(r) => assert_eq!(r, held_by("rep-1", "r1", 5, "")),
            Claim::Held => panic!("a free lead is reserved"),
        }
    }

    #[test]
    fn the_holder_goes_on_with_what_it_recorded() {
        let mine = held_by("rep-1", "r1", 5, "customers/c1");
        assert_eq!(
            reserve(Some(mine.clone()), "rep-1", "r1", 5 + 10 * HOLD),
            Claim::Proceed(mine)
        );
    }

    #[test]
    fn another_request_waits_for_a_fresh_reservation() {
        let theirs = held_by("rep-1", "r1", 5, "");
        assert_eq!(reserve(Some(theirs.clone()), "rep-2", "r1", 6), Claim::Held);
        assert_eq!(
            reserve(Some(theirs), "rep-1", "r2", 5 + HOLD - 1),
            Claim::Held
        );
    }

    #[test]
    fn a_stale_reservation_is_taken_over_with_its_customer() {
        let theirs = held_by("rep-1", "r1", 5, "customers/c1");
        match reserve(Some(theirs), "rep-2", "r9", 5 + HOLD) {
            Claim::Proceed(r) => assert_eq!(r, held_by("rep-2", "r9", 5 + HOLD, "customers/c1")),
            Claim::Held => panic!("a stale reservation is taken over"),
        }
    }
}
