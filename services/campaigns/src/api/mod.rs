//! The gRPC adapters: each handler authorizes, parses through `convert/`, runs its use case in
//! `app/` and converts the answer. Nothing else imports this module. `campaigns.rs` serves
//! CampaignService (its members and settings handled in their own files), `coupons.rs`
//! CouponService.

mod campaigns;
mod coupons;
mod members;
mod settings;
mod support;
