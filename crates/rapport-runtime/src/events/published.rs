//! A kind of event another service publishes, as its consumers name it: the kind and the
//! payload message, from which its full type follows (`activity.added` with an
//! `ActivityAdded` of `rapport.customers.v1` is `rapport.customers.v1.activity.added`). No
//! type string is written by hand on either side.

use std::marker::PhantomData;

use prost::{Message, Name};

use crate::{Error, Result, events::Event};

/// Events of `kind` carrying an `M`.
pub struct Published<M> {
    kind: &'static str,
    payload: PhantomData<fn() -> M>,
}

impl<M: Message + Name + Default> Published<M> {
    /// Events of `kind` (e.g. `activity.added`) with an `M` as their payload.
    pub const fn new(kind: &'static str) -> Self {
        Self {
            kind,
            payload: PhantomData,
        }
    }

    /// The full event type, e.g. `rapport.customers.v1.activity.added`.
    pub fn event_type(&self) -> String {
        format!("{}.{}", M::PACKAGE, self.kind)
    }

    /// The payload of `event` when it is of this kind; `None` when it is of another.
    pub fn payload(&self, event: &Event) -> Result<Option<M>> {
        let ty = &event.r#type;
        let this = ty.len() == M::PACKAGE.len() + 1 + self.kind.len()
            && ty.starts_with(M::PACKAGE)
            && ty.ends_with(self.kind)
            && ty.as_bytes()[M::PACKAGE.len()] == b'.';
        if !this {
            return Ok(None);
        }
        let data = event
            .data
            .as_ref()
            .ok_or_else(|| Error::internal(format!("event {} has no payload", event.id)))?;
        M::decode(data.value.as_slice())
            .map(Some)
            .map_err(Error::internal)
    }
}
