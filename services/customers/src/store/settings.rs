//! The tenant's settings: one JSON document per tenant, read and written through the kit's
//! settings document.

use rapport_kit::settings::Document;
use rapport_runtime::clock::Micros;

use crate::domain::settings::Settings;

/// The customer settings are a settings document of their own table.
impl Document for Settings {
    const TABLE: &'static str = "customer_settings";
    const COLUMN: &'static str = "document";

    fn version(&self) -> i64 {
        self.version
    }

    fn stamp(&mut self, update_time: Micros, version: i64) {
        self.update_time = update_time;
        self.version = version;
    }
}
