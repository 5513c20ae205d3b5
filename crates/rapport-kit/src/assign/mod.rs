//! Assignment: giving an item (a lead, a ticket) to one member of a pool (a rep, an agent)
//! without ever going over a member's capacity, and saying why that member got it.
//!
//! Two halves. [`rank`] orders the members a strategy prefers (round robin, least loaded,
//! weighted, or a caller's score), skipping those absent, inactive or full and counting them,
//! so the recorded reason can name the pick and what was passed over. [`Counters`] is the
//! counters table in SQL: a take is one conditional UPDATE that gives the item to the first
//! member, in a given order, that is still available and has room, so under any concurrency a
//! writer that loses the race matches no row instead of overfilling one. The ranking is a
//! preference; the take is the guarantee.

mod rank;
mod take;

pub use rank::{
    Among, MAX_CANDIDATES, Member, Order, Plan, Skipped, Status, Strategy, Words, eligible, rank,
};
pub use take::{Counters, DailyLimit, Only, Refusal, Taken};
