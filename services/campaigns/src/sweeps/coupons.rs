//! The coupon expiry sweep (CA7): every second, issued coupons past their time are taken batch
//! by batch (rows another replica holds are skipped, and each is flipped only while still
//! issued, so replicas expire each once) and marked EXPIRED with `coupon.expired`. One indexed
//! query when nothing is due.

use std::time::Duration;

use futures::future::BoxFuture;
use rapport_kit::sweep::drain;
use rapport_runtime::{Result, jobs::every};

use crate::app::{
    App,
    coupons::{EXPIRE_BATCH, expire_batch, expiring_tenants},
};

/// How often expired coupons are looked for.
pub const PERIOD: Duration = Duration::from_secs(1);

/// The loop to run until shutdown.
pub fn job(app: App) -> BoxFuture<'static, ()> {
    every("campaigns.coupon_expiry", PERIOD, move || {
        let app = app.clone();
        Box::pin(async move { expire(&app).await })
    })
}

/// Expires every issued coupon past its time now; how many this call took.
pub async fn expire(app: &App) -> Result<usize> {
    drain(
        || expiring_tenants(app),
        |tenant| async move { expire_batch(app, &tenant).await },
        EXPIRE_BATCH as usize,
    )
    .await
}
