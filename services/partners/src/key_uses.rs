//! The uses of partners' API keys that services report on the `access` stream
//! (`api_key.used`, at most once a minute per key and process), recorded as each key's
//! last_use_time. Recording keeps the latest time, so a repeated or late report changes
//! nothing and needs no record of applied events.

use std::sync::Arc;

use rapport_proto::access as apb;
use rapport_runtime::{
    Result,
    access::EVENTS,
    clock::from_timestamp,
    context::ServiceContext,
    events::{Event, EventHandler, Published},
};
use uuid::Uuid;

use crate::app::{App, api_keys};

const USED: Published<apb::ApiKeyUsed> = Published::new("api_key.used");

/// Consumes key uses from the access stream.
pub struct KeyUses {
    app: App,
}

impl KeyUses {
    /// The handler, shared.
    pub fn handler(ctx: ServiceContext) -> Arc<dyn EventHandler> {
        Arc::new(KeyUses { app: App::new(ctx) })
    }
}

#[tonic::async_trait]
impl EventHandler for KeyUses {
    fn group(&self) -> &'static str {
        "partners.api-key-uses"
    }

    fn stream(&self) -> &'static str {
        EVENTS.stream
    }

    async fn handle(&self, event: &Event) -> Result<()> {
        let Some(used) = USED.payload(event)? else {
            return Ok(());
        };
        let (Ok(id), Some(at)) = (
            Uuid::try_parse(&used.key_id),
            used.use_time.as_ref().and_then(from_timestamp),
        ) else {
            return Ok(());
        };
        api_keys::used(&self.app, &event.tenant, id, at).await
    }
}
