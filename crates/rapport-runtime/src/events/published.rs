//! A kind of event another service publishes, as its consumers name it: the kind and the
//! payload message, from which its full type follows (`activity.added` with an
//! `ActivityAdded` of `rapport.customers.v1` is `rapport.customers.v1.activity.added`). No
//! type string is written by hand on either side.

use std::marker::PhantomData;

use prost::{Message, Name};

use crate::{Error, Result, events::Event};

/// Events of `kind` carrying an `M`, or of every kind under a prefix that carries one.
pub struct Published<M> {
    kind: &'static str,
    /// `kind` is a prefix (`order.`): every kind under it whose payload is an `M`.
    family: bool,
    payload: PhantomData<fn() -> M>,
}

impl<M: Message + Name + Default> Published<M> {
    /// Events of `kind` (e.g. `activity.added`) with an `M` as their payload.
    pub const fn new(kind: &'static str) -> Self {
        Self {
            kind,
            family: false,
            payload: PhantomData,
        }
    }

    /// Events of every kind starting with `prefix` (e.g. `order.`) whose payload is an `M`: a
    /// consumer that reads every change of a resource needs no list of its kinds, and a kind
    /// the publisher adds later reaches it.
    pub const fn family(prefix: &'static str) -> Self {
        Self {
            kind: prefix,
            family: true,
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
        let in_package =
            ty.starts_with(M::PACKAGE) && ty.as_bytes().get(M::PACKAGE.len()) == Some(&b'.');
        let kind = if in_package {
            &ty[M::PACKAGE.len() + 1..]
        } else {
            ""
        };
        let this = in_package
            && if self.family {
                kind.starts_with(self.kind)
            } else {
                kind == self.kind
            };
        if !this {
            return Ok(None);
        }
        let data = event
            .data
            .as_ref()
            .ok_or_else(|| Error::internal(format!("event {} has no payload", event.id)))?;
        if self.family && data.type_url != super::type_url(&M::full_name()) {
            return Ok(None);
        }
        M::decode(data.value.as_slice())
            .map(Some)
            .map_err(Error::internal)
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;
    use rapport_proto::customers::{ActivityAdded, CustomersMerged};

    use super::*;

    fn event<M: Message + Name>(kind: &str, payload: &M) -> Event {
        Event {
            id: "e".into(),
            r#type: format!("{}.{kind}", M::PACKAGE),
            data: Some(prost_types::Any {
                type_url: crate::events::type_url(&M::full_name()),
                value: payload.encode_to_vec(),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_kind_matches_itself_and_a_family_every_kind_under_it_with_its_payload() {
        let merged = CustomersMerged {
            survivor: "customers/1".into(),
            merged: vec![],
        };
        let one: Published<CustomersMerged> = Published::new("customers.merged");
        let family: Published<CustomersMerged> = Published::family("customers.");
        assert!(
            one.payload(&event("customers.merged", &merged))
                .unwrap()
                .is_some()
        );
        assert!(
            one.payload(&event("customers.merged_more", &merged))
                .unwrap()
                .is_none()
        );
        assert!(
            family
                .payload(&event("customers.merged", &merged))
                .unwrap()
                .is_some()
        );
        assert!(
            family
                .payload(&event("customers.split", &merged))
                .unwrap()
                .is_some()
        );
        // Another payload under the prefix, or another prefix, is not the family's.
        let other = event("customers.noted", &ActivityAdded::default());
        assert!(family.payload(&other).unwrap().is_none());
        assert!(
            family
                .payload(&event("activity.added", &merged))
                .unwrap()
                .is_none()
        );
    }
}
