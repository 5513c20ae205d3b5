//! WebhookService (PA6): a partner's webhook endpoints and their deliveries.

use rapport_kit::{Reply, mask, names, reply};
use rapport_proto::partners::{self as pb, webhook_service_server::WebhookService};
use rapport_runtime::{
    Error, Result,
    auth::Role,
    clock::{SECOND, from_timestamp},
    error::both,
    storage::Idempotency,
    validation::Violations,
};
use tonic::Request;
use uuid::Uuid;

use super::support::{authorize, page, parse_id};
use crate::{
    app::webhooks::{self, DEFAULT_OVERLAP, MAX_OVERLAP, Webhooks},
    convert::webhook::{
        ENDPOINT_MASK, FIELD, apply_endpoint, delivery_state, delivery_to_proto, endpoint_to_proto,
        parse_endpoint,
    },
    domain::{
        partner::PARTNERS,
        webhook::{DELIVERIES, ENDPOINTS},
    },
};

/// Who manages webhooks: staff for any partner, a partner for itself.
const WEBHOOK_MANAGERS: &[Role] = &[
    Role::Admin,
    Role::Manager,
    Role::ServiceAccount,
    Role::Partner,
];

const ENDPOINT_PATTERN: &str = "partners/{partner}/webhookEndpoints/{endpoint}";
const DELIVERY_PATTERN: &str = "partners/{partner}/webhookDeliveries/{delivery}";

/// The (partner, endpoint) ids of an endpoint's name in `field`.
fn endpoint_name(field: &str, name: &str) -> Result<(Uuid, Uuid)> {
    names::parse_child_id(PARTNERS, ENDPOINTS, name, ENDPOINT_PATTERN)
        .map_err(|e| Error::invalid(field, e))
}

/// As [`endpoint_name`], reported with the request's other violations.
fn endpoint_name_in(v: &mut Violations, field: &str, name: &str) -> Option<(Uuid, Uuid)> {
    names::parse_child_id(PARTNERS, ENDPOINTS, name, ENDPOINT_PATTERN)
        .map_err(|e| v.add(field, e))
        .ok()
}

async fn create(
    hooks: &Webhooks,
    req: Request<pb::CreateWebhookEndpointRequest>,
) -> Result<pb::WebhookEndpoint> {
    let p = authorize(&req, WEBHOOK_MANAGERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let partner = rapport_kit::validate::id_in(PARTNERS, &msg.parent, "parent", &mut v);
    let (e, target) = parse_endpoint(msg.webhook_endpoint.as_ref(), hooks.policy(), &mut v);
    let (idem, (partner, target)) = both(
        Idempotency::new(&p, "CreateWebhookEndpoint", &msg.request_id, msg),
        v.finish((partner, target)).map_err(Error::from),
    )?;
    let (Some(partner), Some(target)) = (partner, target) else {
        return Err(Error::invalid("parent", "is required"));
    };
    webhooks::create(hooks, p, idem, partner, e, &target).await
}

async fn get(
    hooks: &Webhooks,
    req: Request<pb::GetWebhookEndpointRequest>,
) -> Result<pb::WebhookEndpoint> {
    let p = authorize(&req, WEBHOOK_MANAGERS)?;
    let (partner, id) = endpoint_name("name", &req.get_ref().name)?;
    let e = webhooks::get(hooks, &p, partner, id).await?;
    Ok(endpoint_to_proto(&e, None))
}

async fn list(
    hooks: &Webhooks,
    req: Request<pb::ListWebhookEndpointsRequest>,
) -> Result<pb::ListWebhookEndpointsResponse> {
    let p = authorize(&req, WEBHOOK_MANAGERS)?;
    let msg = req.get_ref();
    let (partner, page) = both(
        parse_id("parent", PARTNERS, &msg.parent),
        page(
            &p,
            &[ENDPOINTS, &msg.parent],
            msg.page_size,
            &msg.page_token,
        ),
    )?;
    let (rows, next_page_token) = webhooks::list(hooks, &p, partner, &page).await?;
    Ok(pb::ListWebhookEndpointsResponse {
        webhook_endpoints: rows.iter().map(|e| endpoint_to_proto(e, None)).collect(),
        next_page_token,
    })
}

async fn update(
    hooks: &Webhooks,
    req: Request<pb::UpdateWebhookEndpointRequest>,
) -> Result<pb::WebhookEndpoint> {
    let p = authorize(&req, WEBHOOK_MANAGERS)?;
    let msg = req.get_ref();
    let Some(given) = msg.webhook_endpoint.as_ref() else {
        return Err(Error::invalid(FIELD, "is required"));
    };
    let mut v = Violations::new();
    let selected = mask::select(
        &ENDPOINT_MASK,
        &mask::paths(msg.update_mask.clone()),
        &mut v,
    );
    let fields = mask::fields(&ENDPOINT_MASK, &selected);
    let name = endpoint_name_in(&mut v, &format!("{FIELD}.name"), &given.name);
    let (mut probe, _) = parse_endpoint(None, hooks.policy(), &mut Violations::new());
    let target = apply_endpoint(given, &fields, &mut probe, hooks.policy(), &mut v);
    let (idem, name) = both(
        Idempotency::new(&p, "UpdateWebhookEndpoint", &msg.request_id, msg),
        v.finish(name).map_err(Error::from),
    )?;
    let name = name.ok_or_else(|| Error::invalid(format!("{FIELD}.name"), "is required"))?;
    let policy = hooks.policy().clone();
    webhooks::update(hooks, p, idem, name, &given.etag, target.as_ref(), |e| {
        apply_endpoint(given, &fields, e, &policy, &mut Violations::new());
    })
    .await
}

async fn delete(hooks: &Webhooks, req: Request<pb::DeleteWebhookEndpointRequest>) -> Result<()> {
    let p = authorize(&req, WEBHOOK_MANAGERS)?;
    let msg = req.get_ref();
    let (idem, name) = both(
        Idempotency::new(&p, "DeleteWebhookEndpoint", &msg.request_id, msg),
        endpoint_name("name", &msg.name),
    )?;
    webhooks::delete(hooks, p, idem, name, &msg.etag).await
}

/// The overlap a rotation asks for, in microseconds.
fn overlap(v: &mut Violations, d: Option<&prost_types::Duration>) -> i64 {
    let Some(d) = d else {
        return DEFAULT_OVERLAP;
    };
    let micros = d
        .seconds
        .saturating_mul(SECOND)
        .saturating_add(i64::from(d.nanos) / 1000);
    if !(0..=MAX_OVERLAP).contains(&micros) || d.nanos < 0 {
        v.add("overlap", "must be 0 to 7 days");
    }
    micros
}

async fn rotate(
    hooks: &Webhooks,
    req: Request<pb::RotateWebhookSecretRequest>,
) -> Result<pb::WebhookEndpoint> {
    let p = authorize(&req, WEBHOOK_MANAGERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let overlap = overlap(&mut v, msg.overlap.as_ref());
    let name = endpoint_name_in(&mut v, "name", &msg.name);
    let (idem, name) = both(
        Idempotency::new(&p, "RotateWebhookSecret", &msg.request_id, msg),
        v.finish(name).map_err(Error::from),
    )?;
    let name = name.ok_or_else(|| Error::invalid("name", "is required"))?;
    webhooks::rotate(hooks, p, idem, name, &msg.etag, overlap).await
}

async fn deliveries(
    hooks: &Webhooks,
    req: Request<pb::ListWebhookDeliveriesRequest>,
) -> Result<pb::ListWebhookDeliveriesResponse> {
    let p = authorize(&req, WEBHOOK_MANAGERS)?;
    let msg = req.get_ref();
    let state = delivery_state(msg.state).ok_or_else(|| {
        Error::invalid(
            "state",
            format!("{} is not a WebhookDeliveryState", msg.state),
        )
    });
    let state_key = msg.state.to_string();
    let ((name, state), page) = both(
        both(endpoint_name("parent", &msg.parent), state),
        page(
            &p,
            &[DELIVERIES, &msg.parent, &state_key],
            msg.page_size,
            &msg.page_token,
        ),
    )?;
    let (rows, next_page_token) = webhooks::deliveries(hooks, &p, name, state, &page).await?;
    Ok(pb::ListWebhookDeliveriesResponse {
        webhook_deliveries: rows.iter().map(delivery_to_proto).collect(),
        next_page_token,
    })
}

async fn replay(
    hooks: &Webhooks,
    req: Request<pb::ReplayWebhookDeliveryRequest>,
) -> Result<pb::WebhookDelivery> {
    let p = authorize(&req, WEBHOOK_MANAGERS)?;
    let msg = req.get_ref();
    let (idem, name) = both(
        Idempotency::new(&p, "ReplayWebhookDelivery", &msg.request_id, msg),
        names::parse_child_id(PARTNERS, DELIVERIES, &msg.name, DELIVERY_PATTERN)
            .map_err(|e| Error::invalid("name", e)),
    )?;
    webhooks::replay(hooks, p, idem, name).await
}

async fn replay_since(
    hooks: &Webhooks,
    req: Request<pb::ReplayWebhookDeliveriesRequest>,
) -> Result<pb::ReplayWebhookDeliveriesResponse> {
    let p = authorize(&req, WEBHOOK_MANAGERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let name = endpoint_name_in(&mut v, "parent", &msg.parent);
    let since = match msg.since.as_ref() {
        None => {
            v.add("since", "is required");
            None
        }
        Some(ts) => from_timestamp(ts).or_else(|| {
            v.add("since", "is not a valid time");
            None
        }),
    };
    let (idem, (name, since)) = both(
        Idempotency::new(&p, "ReplayWebhookDeliveries", &msg.request_id, msg),
        v.finish((name, since)).map_err(Error::from),
    )?;
    let (Some(name), Some(since)) = (name, since) else {
        return Err(Error::invalid("parent", "is required"));
    };
    webhooks::replay_since(hooks, p, idem, name, since).await
}

#[tonic::async_trait]
impl WebhookService for Webhooks {
    async fn create_webhook_endpoint(
        &self,
        req: Request<pb::CreateWebhookEndpointRequest>,
    ) -> Reply<pb::WebhookEndpoint> {
        reply(create(self, req).await)
    }

    async fn get_webhook_endpoint(
        &self,
        req: Request<pb::GetWebhookEndpointRequest>,
    ) -> Reply<pb::WebhookEndpoint> {
        reply(get(self, req).await)
    }

    async fn list_webhook_endpoints(
        &self,
        req: Request<pb::ListWebhookEndpointsRequest>,
    ) -> Reply<pb::ListWebhookEndpointsResponse> {
        reply(list(self, req).await)
    }

    async fn update_webhook_endpoint(
        &self,
        req: Request<pb::UpdateWebhookEndpointRequest>,
    ) -> Reply<pb::WebhookEndpoint> {
        reply(update(self, req).await)
    }

    async fn delete_webhook_endpoint(
        &self,
        req: Request<pb::DeleteWebhookEndpointRequest>,
    ) -> Reply<()> {
        reply(delete(self, req).await)
    }

    async fn rotate_webhook_secret(
        &self,
        req: Request<pb::RotateWebhookSecretRequest>,
    ) -> Reply<pb::WebhookEndpoint> {
        reply(rotate(self, req).await)
    }

    async fn list_webhook_deliveries(
        &self,
        req: Request<pb::ListWebhookDeliveriesRequest>,
    ) -> Reply<pb::ListWebhookDeliveriesResponse> {
        reply(deliveries(self, req).await)
    }

    async fn replay_webhook_delivery(
        &self,
        req: Request<pb::ReplayWebhookDeliveryRequest>,
    ) -> Reply<pb::WebhookDelivery> {
        reply(replay(self, req).await)
    }

    async fn replay_webhook_deliveries(
        &self,
        req: Request<pb::ReplayWebhookDeliveriesRequest>,
    ) -> Reply<pb::ReplayWebhookDeliveriesResponse> {
        reply(replay_since(self, req).await)
    }
}
