//! Following a merge of customers: every service that keeps references to customers moves
//! those of the merged-away customers onto the survivor when the customers service announces
//! `customers.merged`. The event is applied once per service ([`ServiceContext::consume`]),
//! and what the service moves is written in the same transaction, each change with its own
//! event, so a redelivered or replayed merge moves nothing twice.

use std::sync::Arc;

use rapport_proto::customers as cpb;
use rapport_runtime::{
    Result,
    auth::Principal,
    context::ServiceContext,
    events::{Event, EventHandler, Published},
    write::{EventSource, Write},
};
use uuid::Uuid;

use crate::names;

const MERGED: Published<cpb::CustomersMerged> = Published::new("customers.merged");

/// What a service does with a merge: moves its references to `merged` onto `survivor` in
/// `w`, acting as `p` (the service itself in the merge's tenant); how many it moved.
#[tonic::async_trait]
pub trait Repoint: Send + Sync + 'static {
    async fn repoint(
        &self,
        w: &mut Write,
        p: &Principal,
        merged: &[Uuid],
        survivor: Uuid,
    ) -> Result<usize>;
}

/// The consumer of the customers stream that hands each merge to `repoint`, in consumer
/// group `group`, writing on the service's stream `source` as `actor`.
pub fn handler<R: Repoint>(
    ctx: ServiceContext,
    (group, source, actor): (&'static str, EventSource, &'static str),
    repoint: R,
) -> Arc<dyn EventHandler> {
    Arc::new(Merges {
        ctx,
        group,
        source,
        actor,
        repoint,
    })
}

struct Merges<R> {
    ctx: ServiceContext,
    group: &'static str,
    source: EventSource,
    actor: &'static str,
    repoint: R,
}

#[tonic::async_trait]
impl<R: Repoint> EventHandler for Merges<R> {
    fn group(&self) -> &str {
        self.group
    }

    fn stream(&self) -> &str {
        "customers"
    }

    async fn handle(&self, event: &Event) -> Result<()> {
        let Some(merged) = MERGED.payload(event)? else {
            return Ok(());
        };
        // Names that do not parse name nothing a service keeps.
        let Ok(survivor) = names::parse_id("customers", &merged.survivor) else {
            return Ok(());
        };
        let gone: Vec<Uuid> = merged
            .merged
            .iter()
            .filter_map(|m| names::parse_id("customers", m).ok())
            .collect();
        let Some(mut w) = self.ctx.consume(self.group, event, self.source).await? else {
            return Ok(());
        };
        let system = Principal::system(&event.tenant, self.actor);
        self.repoint
            .repoint(&mut w, &system, &gone, survivor)
            .await?;
        w.commit(()).await
    }
}
