//! Where the campaign settings document is kept.

use rapport_kit::settings::Document;
use rapport_runtime::clock::Micros;

use crate::domain::settings::Settings;

impl Document for Settings {
    const TABLE: &'static str = "campaign_settings";
    const COLUMN: &'static str = "doc";

    fn version(&self) -> i64 {
        self.version
    }

    fn stamp(&mut self, update_time: Micros, version: i64) {
        self.update_time = update_time;
        self.version = version;
    }

    fn problems(&self) -> Vec<(String, String)> {
        Settings::problems(self)
    }
}
