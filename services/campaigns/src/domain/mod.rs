//! The campaigns service's rules, free of I/O: campaigns and their lifecycle, their members,
//! coupons, channels, the tenant's settings.

pub mod campaign;
pub mod caps;
pub mod channel;
pub mod control;
pub mod coupon;
pub mod inbox;
pub mod member;
pub mod occasion;
pub mod report;
pub mod run;
pub mod sending;
pub mod settings;
pub mod strategy;
pub mod uplift;
