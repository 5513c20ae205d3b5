//! The orders service through its gRPC API, on every backend: one test binary, a module per
//! area, with the helpers they share in `common`. The customers service runs beside it: an
//! order's customer is checked there.

mod analytics;
mod calculator;
mod catalog;
mod charges;
mod common;
mod coupons;
mod deliveries;
mod faults;
mod orders;
mod recommend;
mod returns;
