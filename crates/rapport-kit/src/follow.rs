//! Following another service's events: a consumer group reads the other service's stream,
//! picks the events of one kind whose payload concerns this service, and applies each once, in
//! a write that records the event as applied together with its effects
//! ([`ServiceContext::consume`]), so a redelivered event changes nothing twice. A service
//! implements [`Follow`] and gets the handler from [`handler`].

use std::sync::Arc;

use prost::{Message, Name};
use rapport_runtime::{
    Result,
    context::ServiceContext,
    events::{Event, EventHandler, Published},
    write::{EventSource, Write},
};

/// What a service does with the events it follows, whose payload is an `M`.
#[tonic::async_trait]
pub trait Follow<M>: Send + Sync + 'static {
    /// What the service takes from a payload.
    type Item: Send;
    /// What of `payload` concerns the service; `None` skips the event without a write (most
    /// of a stream is other services' business).
    fn pick(&self, payload: M) -> Option<Self::Item>;
    /// Applies `item` in `w`, made for the system in the event's tenant.
    async fn apply(&self, w: &mut Write, item: Self::Item) -> Result<()>;
}

/// Where a follower reads and writes.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// Its consumer group, unique per handler, e.g. `campaigns.order-events`.
    pub group: &'static str,
    /// The stream it reads, the producing service's, e.g. `orders`.
    pub stream: &'static str,
    /// The service's own stream, which its writes announce on.
    pub source: EventSource,
}

/// The handler that hands each event of `events` on `route` to `follow`.
pub fn handler<M, F>(
    ctx: ServiceContext,
    route: Route,
    events: Published<M>,
    follow: F,
) -> Arc<dyn EventHandler>
where
    M: Message + Name + Default + 'static,
    F: Follow<M>,
{
    Arc::new(Follower {
        ctx,
        route,
        events,
        follow,
    })
}

struct Follower<M, F> {
    ctx: ServiceContext,
    route: Route,
    events: Published<M>,
    follow: F,
}

#[tonic::async_trait]
impl<M, F> EventHandler for Follower<M, F>
where
    M: Message + Name + Default + 'static,
    F: Follow<M>,
{
    fn group(&self) -> &str {
        self.route.group
    }

    fn stream(&self) -> &str {
        self.route.stream
    }

    async fn handle(&self, event: &Event) -> Result<()> {
        let Some(item) = self
            .events
            .payload(event)?
            .and_then(|p| self.follow.pick(p))
        else {
            return Ok(());
        };
        let (group, source) = (self.route.group, self.route.source);
        let Some(mut w) = self.ctx.consume(group, event, source).await? else {
            return Ok(());
        };
        self.follow.apply(&mut w, item).await?;
        w.commit(()).await
    }
}
