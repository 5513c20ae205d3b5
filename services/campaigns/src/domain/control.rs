//! The random hold-out of a strategy: which members of its audience get nothing, so that what
//! the others do can be compared with what they would have done anyway.
//!
//! Membership is a hash of the strategy and the customer, not a draw kept somewhere: every
//! replica, every run and every restart puts a customer on the same side, and a customer who
//! leaves and re-enters the audience stays where they were. SHA-256 spreads any ids evenly.

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The largest hold-out, in basis points of the audience: beyond half the control group would
/// be the treatment.
pub const MAX_CONTROL_BPS: i32 = 5_000;

/// Whether `customer` is held out of strategy `strategy` whose control group is `bps` basis
/// points (1/100 of a percent) of its audience.
pub fn held_out(strategy: Uuid, customer: Uuid, bps: i32) -> bool {
    if bps <= 0 {
        return false;
    }
    let mut h = Sha256::new();
    h.update(strategy.as_bytes());
    h.update(customer.as_bytes());
    let d = h.finalize();
    let x = u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]);
    (x % 10_000) < bps.min(10_000) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hold_out_is_stable_and_near_its_share() {
        let s = Uuid::now_v7();
        let customers: Vec<Uuid> = (0..20_000).map(|_| Uuid::new_v4()).collect();
        let held = customers.iter().filter(|c| held_out(s, **c, 1_000)).count();
        // 10% of 20,000 is 2,000; three standard deviations are about 127.
        assert!((1_850..=2_150).contains(&held), "{held}");
        for c in &customers[..100] {
            assert_eq!(held_out(s, *c, 1_000), held_out(s, *c, 1_000));
        }
        assert!(!customers.iter().any(|c| held_out(s, *c, 0)));
        // A wider hold-out keeps everyone a narrower one held.
        assert!(
            customers
                .iter()
                .filter(|c| held_out(s, **c, 1_000))
                .all(|c| held_out(s, *c, 2_000))
        );
        // Another strategy draws its own group.
        let other = Uuid::now_v7();
        let same = customers
            .iter()
            .filter(|c| held_out(s, **c, 1_000) && held_out(other, **c, 1_000))
            .count();
        assert!(same < 400, "{same}");
    }
}
