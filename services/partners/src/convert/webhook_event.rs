//! Events as webhooks: which partner an event is about, and the JSON body delivered.
//!
//! A partner receives only events about its own data, so every deliverable kind is one whose
//! payload names the partner: the partners service's own `partner.*` (`PartnerChanged`,
//! `PartnerTierChanged`), `registration.*` (`RegistrationChanged`), `commission.line_added`
//! (`CommissionLineAdded`) and `statement.*` (`StatementChanged`), the leads service's
//! `lead.*` carrying a `LeadChanged` whose lead is attributed to the partner, and the orders
//! service's `order.*` carrying an `OrderChanged` whose order names the partner. Any other
//! event, or one of those kinds naming no partner, is delivered to nobody.
//!
//! The body is the envelope the Standard Webhooks specification suggests:
//! `{"type": …, "timestamp": …, "data": …}`, the data being the event's payload in the proto3
//! JSON mapping (lowerCamelCase names, enums by name, RFC 3339 times, fields at their default
//! left out), read through the descriptors of every Rapport proto.

use std::sync::OnceLock;

use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};
use rapport_kit::names;
use rapport_proto::{leads as lpb, orders as opb, partners as pb};
use rapport_runtime::{
    Error, Result,
    clock::{from_timestamp, rfc3339},
    events::{Event, Published},
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::partner::PARTNERS;

const PARTNER: Published<pb::PartnerChanged> = Published::family("partner.");
const TIER_CHANGED: Published<pb::PartnerTierChanged> = Published::new("partner.tier_changed");
const REGISTRATION: Published<pb::RegistrationChanged> = Published::family("registration.");
const COMMISSION: Published<pb::CommissionLineAdded> = Published::new("commission.line_added");
const STATEMENT: Published<pb::StatementChanged> = Published::family("statement.");
const LEAD: Published<lpb::LeadChanged> = Published::family("lead.");
const ORDER: Published<opb::OrderChanged> = Published::family("order.");

/// The partner `event` is about, when it is of a deliverable kind and names one.
pub fn partner_of(event: &Event) -> Result<Option<Uuid>> {
    let name = if let Some(c) = PARTNER.payload(event)? {
        c.partner.map(|p| p.name)
    } else if let Some(c) = TIER_CHANGED.payload(event)? {
        Some(c.partner)
    } else if let Some(c) = REGISTRATION.payload(event)? {
        c.registration.map(|r| r.partner)
    } else if let Some(c) = COMMISSION.payload(event)? {
        Some(c.partner)
    } else if let Some(c) = STATEMENT.payload(event)? {
        Some(c.partner)
    } else if let Some(c) = LEAD.payload(event)? {
        c.lead.and_then(|l| l.attribution).map(|a| a.partner_id)
    } else if let Some(c) = ORDER.payload(event)? {
        c.order.map(|o| o.partner)
    } else {
        None
    };
    Ok(name.and_then(|n| names::parse_id(PARTNERS, &n).ok()))
}

/// Every Rapport message's descriptor, read once.
fn pool() -> Result<&'static DescriptorPool> {
    static POOL: OnceLock<Result<DescriptorPool, String>> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(rapport_proto::FILE_DESCRIPTOR_SET).map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| Error::internal(format!("the proto descriptors do not read: {e}")))
}

/// The payload of `event` in the proto3 JSON mapping.
pub fn data(event: &Event) -> Result<Value> {
    let any = event
        .data
        .as_ref()
        .ok_or_else(|| Error::internal(format!("event {} has no payload", event.id)))?;
    let full_name = any
        .type_url
        .rsplit_once('/')
        .map_or(any.type_url.as_str(), |(_, n)| n);
    let descriptor = pool()?.get_message_by_name(full_name).ok_or_else(|| {
        Error::internal(format!("event {}: unknown payload {full_name}", event.id))
    })?;
    let message =
        DynamicMessage::decode(descriptor, any.value.as_slice()).map_err(Error::internal)?;
    let options = SerializeOptions::new().stringify_64_bit_integers(true);
    message
        .serialize_with_options(serde_json::value::Serializer, &options)
        .map_err(Error::internal)
}

/// The body delivered for `event` with its `data`: type, time and data, as compact JSON.
pub fn body(event: &Event, data: Value) -> String {
    let time = event
        .time
        .as_ref()
        .and_then(from_timestamp)
        .unwrap_or_default();
    json!({
        "type": event.r#type,
        "timestamp": rfc3339(time),
        "data": data,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    fn any<M: Message + prost::Name>(m: &M) -> prost_types::Any {
        prost_types::Any {
            type_url: M::type_url(),
            value: m.encode_to_vec(),
        }
    }

    fn event<M: Message + prost::Name>(ty: &str, m: &M) -> Event {
        Event {
            id: "e1".into(),
            r#type: ty.into(),
            time: Some(prost_types::Timestamp {
                seconds: 1_767_225_600,
                nanos: 0,
            }),
            data: Some(any(m)),
            ..Default::default()
        }
    }

    const P: &str = "partners/0193f4a0-0000-7000-8000-000000000001";

    #[test]
    fn each_deliverable_kind_names_its_partner() {
        let id = names::parse_id(PARTNERS, P).unwrap();
        let registration = pb::RegistrationChanged {
            registration: Some(pb::Registration {
                partner: P.into(),
                ..Default::default()
            }),
        };
        let lead = lpb::LeadChanged {
            lead: Some(lpb::Lead {
                attribution: Some(lpb::Attribution {
                    partner_id: P.into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        };
        let order = opb::OrderChanged {
            order: Some(opb::Order {
                partner: P.into(),
                ..Default::default()
            }),
            revision: None,
        };
        let tier = pb::PartnerTierChanged {
            partner: P.into(),
            change: None,
        };
        let line = pb::CommissionLineAdded {
            partner: P.into(),
            line: None,
        };
        let statement = pb::StatementChanged {
            partner: P.into(),
            statement: None,
        };
        let cases = [
            event("rapport.partners.v1.commission.line_added", &line),
            event("rapport.partners.v1.statement.paid", &statement),
            event("rapport.partners.v1.registration.approved", &registration),
            event("rapport.leads.v1.lead.created", &lead),
            event("rapport.orders.v1.order.confirmed", &order),
            event("rapport.partners.v1.partner.tier_changed", &tier),
        ];
        for e in &cases {
            assert_eq!(partner_of(e).unwrap(), Some(id), "{}", e.r#type);
        }
        let unattributed = event(
            "rapport.leads.v1.lead.created",
            &lpb::LeadChanged::default(),
        );
        assert_eq!(partner_of(&unattributed).unwrap(), None);
        let tier_created = event(
            "rapport.partners.v1.tier.created",
            &pb::TierChanged::default(),
        );
        assert_eq!(partner_of(&tier_created).unwrap(), None);
    }

    #[test]
    fn the_body_is_the_envelope_with_proto3_json_data() {
        let e = event(
            "rapport.partners.v1.registration.approved",
            &pb::RegistrationChanged {
                registration: Some(pb::Registration {
                    partner: P.into(),
                    contact_name: "Zhao Lei".into(),
                    state: pb::RegistrationState::Approved.into(),
                    ..Default::default()
                }),
            },
        );
        let body: Value = serde_json::from_str(&body(&e, data(&e).unwrap())).unwrap();
        assert_eq!(body["type"], "rapport.partners.v1.registration.approved");
        assert_eq!(body["timestamp"], "2026-01-01T00:00:00Z");
        let r = &body["data"]["registration"];
        assert_eq!(r["contactName"], "Zhao Lei");
        assert_eq!(r["partner"], P);
        assert_eq!(r["state"], "REGISTRATION_STATE_APPROVED");
    }
}
