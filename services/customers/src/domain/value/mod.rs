//! The value of a customer (CU12): what its confirmed orders are worth, scored and graded by
//! the tenant's rules. The orders come from the orders service's events into a ledger, one
//! entry per order ([`ledger`]); the figures are worked out from the ledger alone
//! ([`metrics`]), with the RFM scores of [`rfm`] and the grade and group of [`grade`], under
//! the tenant's [`rules`].

pub mod grade;
pub mod ledger;
pub mod metrics;
pub mod rfm;
pub mod rules;

pub use grade::{Grade, Group};
pub use ledger::{LedgerEntry, LineFigures, OrderState};
pub use metrics::{CustomerValue, evaluate};
pub use rules::{ValueRules, ValueRulesPatch};
