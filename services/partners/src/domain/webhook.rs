//! Webhooks (PA6), free of I/O: a partner's endpoints and which events each wants, and the
//! deliveries with their log of attempts, moved along by the kit's retry schedule.

use rapport_kit::{
    names,
    webhooks::{Secret, Step},
};
use rapport_runtime::clock::Micros;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::partner::PARTNERS;

/// The collection of endpoints under a partner.
pub const ENDPOINTS: &str = "webhookEndpoints";
/// The collection of deliveries under a partner.
pub const DELIVERIES: &str = "webhookDeliveries";

/// Most event types one endpoint subscribes to.
pub const MAX_EVENT_TYPES: usize = 50;
/// Most filters of one endpoint.
pub const MAX_FILTERS: usize = 10;
/// Most values of one filter.
pub const MAX_FILTER_VALUES: usize = 20;
/// Longest filter path or value.
pub const MAX_FILTER_TEXT: usize = 200;
/// Longest event type pattern.
pub const MAX_EVENT_TYPE: usize = 200;
/// Attempts kept in a delivery's log, across replays (a round has at most 8).
pub const MAX_LOGGED_ATTEMPTS: usize = 50;

/// The event types a partner can receive, by prefix: those whose payload names the partner
/// they are about (see `convert::webhook_event`). Anything else is never delivered.
pub const DELIVERABLE: &[&str] = &[
    "rapport.partners.v1.partner.",
    "rapport.partners.v1.registration.",
    "rapport.partners.v1.commission.",
    "rapport.partners.v1.statement.",
    "rapport.leads.v1.lead.",
    "rapport.orders.v1.order.",
];

/// Whether an endpoint receives deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointState {
    /// Receives deliveries.
    Enabled,
    /// Receives nothing; its deliveries wait.
    Disabled,
}

impl EndpointState {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
        }
    }

    /// The state stored as `s`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "enabled" => Some(Self::Enabled),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

/// A condition on an event's data: the value at `path` is one of `values`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// Dot-separated names into the data (`order.state`).
    pub path: String,
    /// The accepted values, as text.
    pub values: Vec<String>,
}

impl Filter {
    /// Whether `data` holds one of the values at the path. A missing value is the field's
    /// default, which proto3 JSON leaves out, so it matches "" ("0", "false" for those types
    /// are given as they are).
    pub fn matches(&self, data: &Value) -> bool {
        let mut at = data;
        for part in self.path.split('.') {
            match at.get(part) {
                Some(v) => at = v,
                None => return self.values.iter().any(String::is_empty),
            }
        }
        let text = match at {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        self.values.contains(&text)
    }
}

/// Why an event type pattern is refused; `None` when it is one an endpoint may subscribe to:
/// `*`, a full type of a deliverable kind, or a prefix ending in `.*` that covers some.
pub fn event_type_refusal(pattern: &str) -> Option<String> {
    if pattern == "*" {
        return None;
    }
    if pattern.is_empty() {
        return Some("must not be empty".into());
    }
    if pattern.len() > MAX_EVENT_TYPE {
        return Some(format!("must be at most {MAX_EVENT_TYPE} characters"));
    }
    let bad_char = |c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_');
    let (stem, wildcard) = match pattern.strip_suffix('*') {
        Some(stem) if stem.ends_with('.') => (stem, true),
        _ => (pattern, false),
    };
    if stem.chars().any(bad_char) || stem.contains("..") || stem.starts_with('.') {
        return Some(format!(
            "{pattern:?} is not an event type: dot-separated names, or a prefix ending in \".*\""
        ));
    }
    let covered = DELIVERABLE.iter().any(|family| {
        if wildcard {
            family.starts_with(stem) || stem.starts_with(family)
        } else {
            pattern.starts_with(family) && pattern.len() > family.len()
        }
    });
    if covered {
        None
    } else {
        Some(format!(
            "{pattern:?} is not a deliverable event type; deliverable are {}",
            DELIVERABLE
                .iter()
                .map(|f| format!("{f}*"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// Whether `event_type` is of `pattern`.
pub fn type_matches(pattern: &str, event_type: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(stem) => event_type.starts_with(stem),
        None => pattern == event_type,
    }
}

/// A partner's webhook endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Its id.
    pub id: Uuid,
    /// The partner it belongs to.
    pub partner_id: Uuid,
    /// Where deliveries go.
    pub url: String,
    /// What it is for.
    pub description: String,
    /// What it subscribes to (see [`event_type_refusal`]).
    pub event_types: Vec<String>,
    /// Conditions on the data, all of which must hold.
    pub filters: Vec<Filter>,
    /// Whether it receives deliveries.
    pub state: EndpointState,
    /// Why it is disabled.
    pub disabled_reason: String,
    /// The signing secret, `whsec_…`.
    pub secret: String,
    /// The secret the last rotation replaced, `""` when none.
    pub previous_secret: String,
    /// Until when the previous secret signs too.
    pub previous_secret_expire_time: Micros,
    /// When it was created.
    pub create_time: Micros,
    /// When it last changed.
    pub update_time: Micros,
    /// Its version, for etags.
    pub version: i64,
}

impl Endpoint {
    /// `partners/{partner}/webhookEndpoints/{endpoint}`.
    pub fn name(&self) -> String {
        names::format_child_id(PARTNERS, self.partner_id, ENDPOINTS, self.id)
    }

    /// Its etag.
    pub fn etag(&self) -> String {
        names::etag(self.id.as_bytes(), self.version)
    }

    /// Whether the endpoint wants an event of `event_type` with `data`.
    pub fn wants(&self, event_type: &str, data: &Value) -> bool {
        self.state == EndpointState::Enabled
            && self.event_types.iter().any(|p| type_matches(p, event_type))
            && self.filters.iter().all(|f| f.matches(data))
    }

    /// The secrets that sign at `now`: the current one, then the one rotated out while its
    /// overlap lasts. A stored secret that does not read is left out (the sender refuses to
    /// send unsigned, so the attempt fails visibly).
    pub fn signing_secrets(&self, now: Micros) -> Vec<Secret> {
        let mut out: Vec<Secret> = Secret::parse(&self.secret).into_iter().collect();
        if !self.previous_secret.is_empty() && self.previous_secret_expire_time > now {
            out.extend(Secret::parse(&self.previous_secret));
        }
        out
    }

    /// Replaces the secret with `next`; the current one signs beside it until `until`.
    pub fn rotate(&mut self, next: &Secret, until: Micros) {
        self.previous_secret = std::mem::replace(&mut self.secret, next.expose());
        self.previous_secret_expire_time = until;
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Not attempted in this round yet.
    Pending,
    /// Answered 2xx.
    Delivered,
    /// Failed; another attempt is due.
    Retrying,
    /// Every attempt failed: a dead letter.
    Dead,
    /// Answered 410 Gone: not retried.
    Discarded,
}

impl DeliveryState {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Retrying => "retrying",
            Self::Dead => "dead",
            Self::Discarded => "discarded",
        }
    }

    /// The state stored as `s`.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Delivered,
            Self::Retrying,
            Self::Dead,
            Self::Discarded,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }

    /// Whether more attempts are to come.
    pub fn is_live(self) -> bool {
        matches!(self, Self::Pending | Self::Retrying)
    }
}

/// One attempt, as the log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptLog {
    /// When it was made, by the service clock.
    pub time: Micros,
    /// Its number in its round, from 1.
    pub attempt: u32,
    /// The status answered; 0 for none.
    pub status: u16,
    /// How long it took, microseconds.
    pub latency: i64,
    /// Why there was no answer.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
    /// The start of the answer's body.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub body: String,
}

/// One event to one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Its id.
    pub id: Uuid,
    /// The partner the event is about, whose endpoint it is.
    pub partner_id: Uuid,
    /// The endpoint.
    pub endpoint_id: Uuid,
    /// The event's id.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// The webhook-id.
    pub msg_id: String,
    /// The JSON body, exactly as signed and sent.
    pub body: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts made in this round.
    pub tries: u32,
    /// When an attempt is due (or the lease of one being made ends).
    pub next_attempt_time: Option<Micros>,
    /// The latest attempts, oldest first.
    pub attempts: Vec<AttemptLog>,
    /// When it was made.
    pub create_time: Micros,
    /// When it last changed.
    pub update_time: Micros,
    /// Moves on with every claim, record and replay.
    pub version: i64,
}

impl Delivery {
    /// `partners/{partner}/webhookDeliveries/{delivery}`.
    pub fn name(&self) -> String {
        names::format_child_id(PARTNERS, self.partner_id, DELIVERIES, self.id)
    }

    /// The endpoint's name.
    pub fn endpoint_name(&self) -> String {
        names::format_child_id(PARTNERS, self.partner_id, ENDPOINTS, self.endpoint_id)
    }

    /// Records an attempt and what the schedule makes of it (`Outcome::then`).
    pub fn record(&mut self, attempt: AttemptLog, step: Step) {
        self.tries = attempt.attempt;
        self.update_time = attempt.time;
        self.attempts.push(attempt);
        let excess = self.attempts.len().saturating_sub(MAX_LOGGED_ATTEMPTS);
        self.attempts.drain(..excess);
        (self.state, self.next_attempt_time) = match step {
            Step::Delivered => (DeliveryState::Delivered, None),
            Step::DisableEndpoint => (DeliveryState::Discarded, None),
            Step::RetryAt(at) => (DeliveryState::Retrying, Some(at)),
            Step::DeadLetter => (DeliveryState::Dead, None),
        };
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn event_types_are_full_types_or_prefixes_of_deliverable_kinds() {
        for ok in [
            "*",
            "rapport.partners.v1.registration.approved",
            "rapport.orders.v1.order.*",
            "rapport.partners.v1.*",
            "rapport.*",
        ] {
            assert_eq!(event_type_refusal(ok), None, "{ok}");
        }
        for bad in [
            "",
            "rapport.partners.v1.tier.created",
            "rapport.customers.v1.*",
            "rapport.orders.v1.order.",
            "rapport..x",
            "rapport.orders.v1.order*",
            "rapport orders",
        ] {
            assert!(event_type_refusal(bad).is_some(), "{bad}");
        }
        assert!(type_matches(
            "rapport.orders.v1.order.*",
            "rapport.orders.v1.order.created"
        ));
        assert!(type_matches("*", "rapport.leads.v1.lead.created"));
        assert!(!type_matches(
            "rapport.leads.v1.lead.created",
            "rapport.leads.v1.lead.created2"
        ));
    }

    #[test]
    fn filters_compare_the_value_at_their_path_as_text() {
        let data = json!({"order": {"state": "ORDER_STATE_CONFIRMED", "lines": 2, "paid": true}});
        let f = |path: &str, values: &[&str]| Filter {
            path: path.into(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        };
        assert!(f("order.state", &["ORDER_STATE_CONFIRMED", "X"]).matches(&data));
        assert!(!f("order.state", &["ORDER_STATE_DRAFT"]).matches(&data));
        assert!(f("order.lines", &["2"]).matches(&data));
        assert!(f("order.paid", &["true"]).matches(&data));
        assert!(f("order.region", &[""]).matches(&data));
        assert!(!f("order.region", &["Shanghai"]).matches(&data));
    }

    fn delivery() -> Delivery {
        Delivery {
            id: Uuid::nil(),
            partner_id: Uuid::nil(),
            endpoint_id: Uuid::nil(),
            event_id: "e".into(),
            event_type: "t".into(),
            msg_id: "msg_1".into(),
            body: "{}".into(),
            state: DeliveryState::Pending,
            tries: 0,
            next_attempt_time: Some(0),
            attempts: Vec::new(),
            create_time: 0,
            update_time: 0,
            version: 1,
        }
    }

    fn attempt(n: u32) -> AttemptLog {
        AttemptLog {
            time: i64::from(n),
            attempt: n,
            status: 500,
            latency: 1,
            error: String::new(),
            body: String::new(),
        }
    }

    #[test]
    fn a_recorded_attempt_moves_the_delivery_and_the_log_stays_short() {
        let mut d = delivery();
        d.record(attempt(1), Step::RetryAt(99));
        assert_eq!(
            (d.state, d.tries, d.next_attempt_time),
            (DeliveryState::Retrying, 1, Some(99))
        );
        d.record(attempt(2), Step::DeadLetter);
        assert_eq!((d.state, d.next_attempt_time), (DeliveryState::Dead, None));
        d.record(attempt(1), Step::DisableEndpoint);
        assert_eq!(d.state, DeliveryState::Discarded);
        for n in 0..60 {
            d.record(attempt(n % 8 + 1), Step::Delivered);
        }
        assert_eq!(d.attempts.len(), MAX_LOGGED_ATTEMPTS);
        assert_eq!(d.state, DeliveryState::Delivered);
    }

    #[test]
    fn a_rotated_out_secret_signs_until_its_overlap_ends() {
        let first = Secret::generate();
        let mut e = Endpoint {
            id: Uuid::nil(),
            partner_id: Uuid::nil(),
            url: String::new(),
            description: String::new(),
            event_types: vec!["*".into()],
            filters: Vec::new(),
            state: EndpointState::Enabled,
            disabled_reason: String::new(),
            secret: first.expose(),
            previous_secret: String::new(),
            previous_secret_expire_time: 0,
            create_time: 0,
            update_time: 0,
            version: 1,
        };
        assert_eq!(e.signing_secrets(5), std::slice::from_ref(&first));
        let second = Secret::generate();
        e.rotate(&second, 10);
        assert_eq!(e.signing_secrets(5), [second.clone(), first]);
        assert_eq!(e.signing_secrets(10), [second]);
        assert!(e.wants("rapport.leads.v1.lead.created", &json!({})));
        e.state = EndpointState::Disabled;
        assert!(!e.wants("rapport.leads.v1.lead.created", &json!({})));
    }
}
