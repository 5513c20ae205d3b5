//! The service's periodic sweeps. Each reads the time from the service clock, so tests drive
//! it with a manual clock, and each is driven by the rows' own state, so a restart misses
//! nothing and replicas handle each item once.

pub mod coupons;
