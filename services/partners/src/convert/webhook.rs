//! Webhook endpoints and deliveries: parsing what a caller sends and building answers.

use rapport_kit::{
    mask::Rules,
    validate,
    webhooks::{Policy, Target},
};
use rapport_proto::partners as pb;
use rapport_runtime::{
    clock::{SECOND, to_timestamp},
    validation::Violations,
};
use uuid::Uuid;

use super::time;
use crate::domain::webhook::{
    AttemptLog, Delivery, DeliveryState, Endpoint, EndpointState, Filter, MAX_EVENT_TYPES,
    MAX_FILTER_TEXT, MAX_FILTER_VALUES, MAX_FILTERS, event_type_refusal,
};

/// The request field an endpoint comes in.
pub const FIELD: &str = "webhook_endpoint";
/// Where its URL is reported.
pub const URL_FIELD: &str = "webhook_endpoint.url";

/// What UpdateWebhookEndpoint accepts.
pub const ENDPOINT_MASK: Rules = Rules {
    updatable: &["url", "description", "event_types", "filters", "state"],
    immutable: &["name"],
    explained: &[("secret", "changes with RotateWebhookSecret")],
    output_only: &[
        "disabled_reason",
        "previous_secret_expire_time",
        "create_time",
        "update_time",
        "etag",
    ],
    ..Rules::new("WebhookEndpoint")
};

fn event_types(v: &mut Violations, given: &[String]) -> Vec<String> {
    let field = format!("{FIELD}.event_types");
    if given.is_empty() {
        v.add(&field, "is required: at least one event type");
    }
    let given = validate::capped(v, &field, given, MAX_EVENT_TYPES);
    let mut out: Vec<String> = Vec::new();
    for (i, t) in given.iter().enumerate() {
        let t = t.trim();
        match event_type_refusal(t) {
            Some(why) => v.add(format!("{field}[{i}]"), why),
            None if !out.iter().any(|x| x == t) => out.push(t.to_owned()),
            None => {}
        }
    }
    out
}

fn filters(v: &mut Violations, given: &[pb::WebhookFilter]) -> Vec<Filter> {
    let field = format!("{FIELD}.filters");
    let given = validate::capped(v, &field, given, MAX_FILTERS);
    let mut out = Vec::new();
    for (i, f) in given.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let path = validate::required_text(v, &format!("{at}.path"), &f.path, MAX_FILTER_TEXT);
        if path.split('.').any(str::is_empty) && !path.is_empty() {
            v.add(
                format!("{at}.path"),
                "must be names separated by single dots",
            );
        }
        if f.values.is_empty() {
            v.add(format!("{at}.values"), "is required: at least one value");
        }
        let values = validate::capped(v, &format!("{at}.values"), &f.values, MAX_FILTER_VALUES);
        for (j, value) in values.iter().enumerate() {
            if value.chars().count() > MAX_FILTER_TEXT {
                v.add(
                    format!("{at}.values[{j}]"),
                    format!("must be at most {MAX_FILTER_TEXT} characters"),
                );
            }
        }
        out.push(Filter {
            path,
            values: values.to_vec(),
        });
    }
    out
}

/// The URL given, read against `policy` (an address in it is checked here; a host name is
/// resolved by the caller).
pub fn url(v: &mut Violations, policy: &Policy, raw: &str) -> Option<Target> {
    policy
        .parse_url(URL_FIELD, raw)
        .map_err(|e| v.add(e.field, e.description))
        .ok()
}

/// Copies the `fields` named from `given` into `into`, reporting what is wrong; the URL's
/// target when `url` is among them and reads.
pub fn apply_endpoint(
    given: &pb::WebhookEndpoint,
    fields: &[&str],
    into: &mut Endpoint,
    policy: &Policy,
    v: &mut Violations,
) -> Option<Target> {
    let mut target = None;
    for field in fields {
        match *field {
            "url" => {
                target = url(v, policy, &given.url);
                into.url = given.url.trim().to_owned();
            }
            "description" => {
                into.description =
                    validate::text(v, &format!("{FIELD}.description"), &given.description, 500)
            }
            "event_types" => into.event_types = event_types(v, &given.event_types),
            "filters" => into.filters = filters(v, &given.filters),
            "state" => {
                use pb::WebhookEndpointState as S;
                match S::try_from(given.state) {
                    Ok(S::Enabled) => into.state = EndpointState::Enabled,
                    Ok(S::Disabled) => into.state = EndpointState::Disabled,
                    _ => v.add(
                        format!("{FIELD}.state"),
                        format!(
                            "must be WEBHOOK_ENDPOINT_STATE_ENABLED or _DISABLED, got {}",
                            given.state
                        ),
                    ),
                }
            }
            _ => {}
        }
    }
    target
}

/// A new endpoint from CreateWebhookEndpoint (state ENABLED unless DISABLED is asked), and its
/// URL's target.
pub fn parse_endpoint(
    given: Option<&pb::WebhookEndpoint>,
    policy: &Policy,
    v: &mut Violations,
) -> (Endpoint, Option<Target>) {
    let mut out = Endpoint {
        id: Uuid::nil(),
        partner_id: Uuid::nil(),
        url: String::new(),
        description: String::new(),
        event_types: Vec::new(),
        filters: Vec::new(),
        state: EndpointState::Enabled,
        disabled_reason: String::new(),
        secret: String::new(),
        previous_secret: String::new(),
        previous_secret_expire_time: 0,
        create_time: 0,
        update_time: 0,
        version: 1,
    };
    let Some(given) = given else {
        v.add(FIELD, "is required");
        return (out, None);
    };
    let mut fields = vec!["url", "description", "event_types", "filters"];
    if given.state != 0 {
        fields.push("state");
    }
    let target = apply_endpoint(given, &fields, &mut out, policy, v);
    (out, target)
}

/// The answer for `e`; `secret` only in the answers that hand it out.
pub fn endpoint_to_proto(e: &Endpoint, secret: Option<&str>) -> pb::WebhookEndpoint {
    pb::WebhookEndpoint {
        name: e.name(),
        url: e.url.clone(),
        description: e.description.clone(),
        event_types: e.event_types.clone(),
        filters: e
            .filters
            .iter()
            .map(|f| pb::WebhookFilter {
                path: f.path.clone(),
                values: f.values.clone(),
            })
            .collect(),
        state: match e.state {
            EndpointState::Enabled => pb::WebhookEndpointState::Enabled,
            EndpointState::Disabled => pb::WebhookEndpointState::Disabled,
        }
        .into(),
        disabled_reason: e.disabled_reason.clone(),
        secret: secret.unwrap_or_default().to_owned(),
        previous_secret_expire_time: time(
            (!e.previous_secret.is_empty()).then_some(e.previous_secret_expire_time),
        ),
        create_time: Some(to_timestamp(e.create_time)),
        update_time: Some(to_timestamp(e.update_time)),
        etag: e.etag(),
    }
}

/// The delivery state a caller names, `None` for unset.
pub fn delivery_state(raw: i32) -> Option<Option<DeliveryState>> {
    use pb::WebhookDeliveryState as S;
    match S::try_from(raw).ok()? {
        S::Unspecified => Some(None),
        S::Pending => Some(Some(DeliveryState::Pending)),
        S::Delivered => Some(Some(DeliveryState::Delivered)),
        S::FailedRetrying => Some(Some(DeliveryState::Retrying)),
        S::Dead => Some(Some(DeliveryState::Dead)),
        S::Discarded => Some(Some(DeliveryState::Discarded)),
    }
}

fn delivery_state_to_proto(s: DeliveryState) -> pb::WebhookDeliveryState {
    use pb::WebhookDeliveryState as S;
    match s {
        DeliveryState::Pending => S::Pending,
        DeliveryState::Delivered => S::Delivered,
        DeliveryState::Retrying => S::FailedRetrying,
        DeliveryState::Dead => S::Dead,
        DeliveryState::Discarded => S::Discarded,
    }
}

fn attempt_to_proto(a: &AttemptLog) -> pb::WebhookAttempt {
    pb::WebhookAttempt {
        time: Some(to_timestamp(a.time)),
        attempt: i32::try_from(a.attempt).unwrap_or(i32::MAX),
        status_code: i32::from(a.status),
        latency: Some(prost_types::Duration {
            seconds: a.latency / SECOND,
            nanos: i32::try_from(a.latency % SECOND * 1000).unwrap_or_default(),
        }),
        error: a.error.clone(),
        response_body: a.body.clone(),
    }
}

/// The answer for `d`. While an attempt is in flight, next_attempt_time is the end of its lease.
pub fn delivery_to_proto(d: &Delivery) -> pb::WebhookDelivery {
    pb::WebhookDelivery {
        name: d.name(),
        endpoint: d.endpoint_name(),
        event_id: d.event_id.clone(),
        event_type: d.event_type.clone(),
        webhook_id: d.msg_id.clone(),
        state: delivery_state_to_proto(d.state).into(),
        attempt_count: i32::try_from(d.tries).unwrap_or(i32::MAX),
        attempts: d.attempts.iter().map(attempt_to_proto).collect(),
        next_attempt_time: time(d.next_attempt_time),
        payload: d.body.clone(),
        create_time: Some(to_timestamp(d.create_time)),
        update_time: Some(to_timestamp(d.update_time)),
    }
}
