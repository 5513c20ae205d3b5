//! Keeping this service's copy of the API keys from the `access` stream.

use rapport_proto::access as pb;

use super::{ApiKeys, KeyRecord, store};
use crate::{
    Result,
    access::EVENTS,
    clock::SharedClock,
    events::{Event, EventHandler, Published, apply_once},
    storage::Db,
};

const CHANGED: Published<pb::ApiKeyChanged> = Published::new("api_key.changed");

/// Applies the key changes the owning service (or a replica of this one) made to this
/// service's copy.
pub struct KeyHandler {
    group: String,
    db: Db,
    clock: SharedClock,
    keys: ApiKeys,
}

impl KeyHandler {
    /// The handler of service `service`, keeping its copy in `db`.
    pub fn new(service: &str, db: Db, clock: SharedClock, keys: ApiKeys) -> Self {
        Self {
            group: format!("{service}.api-keys"),
            db,
            clock,
            keys,
        }
    }
}

#[tonic::async_trait]
impl EventHandler for KeyHandler {
    fn group(&self) -> &str {
        &self.group
    }

    fn stream(&self) -> &str {
        EVENTS.stream
    }

    async fn handle(&self, event: &Event) -> Result<()> {
        let Some(changed) = CHANGED.payload(event)? else {
            return Ok(());
        };
        let Some(record) = KeyRecord::from_event(&event.tenant, &changed) else {
            tracing::warn!(event = %event.id, "an api_key.changed event without a whole key");
            return Ok(());
        };
        let id = record.key_id;
        apply_once(&self.db, &self.group, &event.id, self.clock.now(), |tx| {
            Box::pin(async move { store(tx, &record).await })
        })
        .await?;
        self.keys.forget(id).await;
        Ok(())
    }
}
