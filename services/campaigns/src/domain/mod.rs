//! The campaigns service's rules, free of I/O: campaigns and their lifecycle, their members,
//! coupons, channels, the tenant's settings.

pub mod campaign;
pub mod channel;
pub mod coupon;
pub mod member;
pub mod settings;
