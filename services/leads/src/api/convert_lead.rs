//! ConvertLead (LE3): the customer is created in the customers service (or the existing
//! duplicate linked), then the lead is converted and the opportunity created in one local
//! transaction. The customers call carries a request id derived from the lead and the caller's
//! request id, so a retry after a failure anywhere creates nothing twice: the customers service
//! answers a repeated id with the customer it created the first time.

use rapport_kit::{
    names,
    peer::{Refusal, Refused},
    validate::{full_date, money},
};
use rapport_proto::{customers as cpb, leads as pb};
use rapport_runtime::storage::Idempotency;
use rapport_runtime::{Error, Result, auth::Principal, peers::Peers, validation::Violations};
use tonic::Request;

use super::support::{self, WORKERS, authorize, begin, lead_id};
use crate::app::App;
use crate::app::check_lead_etag;
use crate::app::require_live;
use crate::app::scope;
use crate::convert::lead::lead_to_proto;
use crate::{
    domain::{
        conversion::{self, Claim, Reservation},
        lead::{Lead, State},
        visibility::Scope,
    },
    store::{self, opportunities::NewOpportunity},
};

/// The pipeline of an opportunity when the request names none.
const DEFAULT_PIPELINE: &str = "real-estate";

pub(super) async fn convert(
    api: &App,
    req: Request<pb::ConvertLeadRequest>,
) -> Result<pb::ConvertLeadResponse> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.get_ref().clone();
    let mut v = Violations::new();
    let id = v.take("name", lead_id("name", &msg.name));
    let pipeline = if msg.pipeline.is_empty() {
        Some(DEFAULT_PIPELINE.to_owned())
    } else {
        names::parse_key("pipelines", &msg.pipeline)
            .map_err(|e| v.add("pipeline", e))
            .ok()
            .map(str::to_owned)
    };
    if msg.opportunity_display_name.chars().count() > 200 {
        v.add("opportunity_display_name", "is longer than 200 characters");
    }
    let amount = money(&mut v, "amount", msg.amount.as_ref());
    let close = full_date(
        &mut v,
        "expected_close_date",
        msg.expected_close_date.as_ref(),
    );
    if msg.request_id.trim().is_empty() {
        v.add(
            "request_id",
            "is required: it makes the conversion safe to retry",
        );
    }
    let idem = v.take(
        "request_id",
        Idempotency::new(&p, "ConvertLead", &msg.request_id, &msg),
    );
    v.finish(())?;
    let (Some(id), Some(pipeline), Some(Some(idem))) = (id, pipeline, idem) else {
        return Err(Error::internal(
            "conversion fields missing after validation",
        ));
    };

    // Read and check the lead before calling out, so a bad request creates no customer.
    let lead = api.visible_lead(&p, id).await?;
    if let Some(done) = replayed(api, &idem).await? {
        return Ok(done);
    }
    check_convertible(&p, &lead, &msg.etag)?;
    check_pipeline(api, &p.tenant_id, &pipeline).await?;
    // The lead is decided before the customer exists: a second conversion by another request
    // is refused here, and never creates a customer nothing refers to.
    let holder = (p.subject.as_str(), idem.request_id());
    let reservation = reserve(api, &p, id, &msg.etag, holder.1).await?;
    let (customer, existing) = if reservation.customer.is_empty() {
        let (customer, existing) = ensure_customer(api, &req, &lead, &msg.request_id).await?;
        let mut conn = api.db().pool().acquire().await?;
        store::conversions::set_customer(&mut conn, &p.tenant_id, id, holder, &customer, existing)
            .await?;
        (customer, existing)
    } else {
        (reservation.customer, reservation.existing)
    };

    let mut w = begin!(api, p, Some(idem.clone()));
    let mut lead = api.lock_lead(w.tx(), &p, id).await?;
    check_convertible(&p, &lead, &msg.etag)?;
    // Held past its time and taken over by another conversion meanwhile: that one finishes.
    match store::conversions::get(w.tx(), &p.tenant_id, id).await? {
        Some(r) if r.subject == holder.0 && r.request_id == holder.1 => {}
        _ => return Err(converting(&lead)),
    }
    store::conversions::delete(w.tx(), &p.tenant_id, id).await?;
    let now = api.now();
    let display_name = if msg.opportunity_display_name.trim().is_empty() {
        lead.input.display_name.clone()
    } else {
        msg.opportunity_display_name.trim().to_owned()
    };
    let new = NewOpportunity {
        display_name,
        lead_id: Some(lead.id),
        customer: customer.clone(),
        pipeline_id: pipeline,
        amount: amount.or_else(|| lead.input.needs.budget.clone()),
        expected_close_date: close,
        owner_id: lead.owner_id.clone(),
        team_id: lead.team_id.clone(),
        source: lead.input.source.as_str().to_owned(),
    };
    let opportunity =
        store::opportunities::create_opportunity(w.tx(), &p.tenant_id, &new, &p.subject, now)
            .await
            .map_err(|e| match e {
                // The request names the pipeline as `pipeline`, not `opportunity.pipeline`.
                Error::InvalidArgument(items) => Error::InvalidArgument(
                    items
                        .into_iter()
                        .map(|mut f| {
                            f.field = f.field.trim_start_matches("opportunity.").to_owned();
                            f
                        })
                        .collect(),
                ),
                e => e,
            })?;
    lead.state = State::Converted;
    lead.state_change_time = now;
    lead.customer_id = customer.clone();
    lead.opportunity_id = opportunity.resource_name();
    let settings = api.settings(&p.tenant_id).await?;
    lead.rescore(&settings.grades());
    lead.touch(now);
    store::leads::update_lead(w.tx(), &p.tenant_id, &lead).await?;
    let opportunity = crate::app::opportunities::emit_created(&mut w, &opportunity);
    let out = pb::ConvertLeadResponse {
        lead: Some(lead_to_proto(&lead)),
        customer,
        existing_customer: existing,
        opportunity: Some(opportunity),
    };
    w.emit(
        "lead.converted",
        lead.resource_name(),
        &pb::LeadChanged {
            lead: out.lead.clone(),
        },
    );
    w.commit(out).await
}

/// The stored answer of an earlier ConvertLead with this request id, if any.
async fn replayed(api: &App, idem: &Idempotency) -> Result<Option<pb::ConvertLeadResponse>> {
    let mut conn = api.db().pool().acquire().await?;
    idem.replay(&mut conn).await
}

/// Reserves lead `id` for the conversion `request_id` of `p` (see `domain::conversion`); the
/// reservation, with the customer an earlier attempt recorded. ABORTED (`LEAD_CONVERTING`) while
/// another conversion holds the lead.
async fn reserve(
    api: &App,
    p: &Principal,
    id: uuid::Uuid,
    etag: &str,
    request_id: &str,
) -> Result<Reservation> {
    let mut w = api.ctx.write(p, crate::app::EVENTS).await?;
    let lead = api.lock_lead(w.tx(), p, id).await?;
    check_convertible(p, &lead, etag)?;
    let current = store::conversions::get(w.tx(), &p.tenant_id, id).await?;
    match conversion::reserve(current, &p.subject, request_id, api.now()) {
        Claim::Held => Err(converting(&lead)),
        Claim::Proceed(r) => {
            store::conversions::put(w.tx(), &p.tenant_id, id, &r).await?;
            w.commit(()).await?;
            Ok(r)
        }
    }
}

/// ABORTED: another conversion of `lead` is under way.
fn converting(lead: &Lead) -> Error {
    Error::Aborted {
        reason: "LEAD_CONVERTING",
        message: format!(
            "{} is being converted by another request; read it again in a moment",
            lead.resource_name()
        ),
    }
}

/// INVALID_ARGUMENT on `pipeline` unless the tenant has the pipeline, so an unknown one creates
/// no customer (creating the opportunity checks it again).
async fn check_pipeline(api: &App, tenant: &str, pipeline: &str) -> Result<()> {
    let mut conn = api.db().pool().acquire().await?;
    match store::pipelines::get(&mut conn, tenant, pipeline).await? {
        Some(p) if p.first_stage().is_some() => Ok(()),
        _ => Err(Error::invalid(
            "pipeline",
            format!("pipelines/{pipeline} does not exist"),
        )),
    }
}

/// FAILED_PRECONDITION unless the lead can be converted by `p`.
fn check_convertible(p: &Principal, lead: &Lead, etag: &str) -> Result<()> {
    check_lead_etag(etag, lead)?;
    require_live(lead)?;
    match lead.state {
        State::Converted => {
            return Err(Error::precondition(
                "LEAD_CONVERTED",
                format!(
                    "{} is already converted into {}",
                    lead.resource_name(),
                    lead.customer_id
                ),
            ));
        }
        State::Unqualified => {
            return Err(Error::precondition(
                "LEAD_UNQUALIFIED",
                format!(
                    "{} is unqualified; qualify it before converting",
                    lead.resource_name()
                ),
            ));
        }
        _ => {}
    }
    if lead.owner_id.is_empty() {
        return Err(Error::precondition(
            "LEAD_IN_POOL",
            format!(
                "{} is in a public pool; claim or assign it first",
                lead.resource_name()
            ),
        ));
    }
    if matches!(scope(p), Scope::Own { .. }) && lead.owner_id != p.subject {
        return Err(Error::not_found(lead.resource_name()));
    }
    Ok(())
}

/// Creates the lead's customer in the customers service, or finds the existing duplicate;
/// returns its name and whether it existed.
async fn ensure_customer(
    api: &App,
    req: &Request<pb::ConvertLeadRequest>,
    lead: &Lead,
    request_id: &str,
) -> Result<(String, bool)> {
    let channel = api.ctx.peers.channel("customers")?;
    let mut client = cpb::customer_service_client::CustomerServiceClient::new(channel);
    let i = &lead.input;
    let customer = cpb::Customer {
        kind: cpb::CustomerKind::Person.into(),
        display_name: i.display_name.clone(),
        phones: (!i.phone.is_empty())
            .then(|| cpb::Phone {
                number: i.phone.clone(),
                ..Default::default()
            })
            .into_iter()
            .collect(),
        emails: (!i.email.is_empty())
            .then(|| cpb::Email {
                address: i.email.clone(),
                ..Default::default()
            })
            .into_iter()
            .collect(),
        source_channel: if i.attribution.channel.is_empty() {
            i.source.as_str().to_lowercase()
        } else {
            i.attribution.channel.clone()
        },
        referrer: i.attribution.referrer.clone(),
        owner_id: lead.owner_id.clone(),
        team_id: lead.team_id.clone(),
        ..Default::default()
    };
    let call = Peers::request(
        req,
        cpb::CreateCustomerRequest {
            customer: Some(customer),
            // Bounded: the customers service accepts request ids up to 128 characters.
            request_id: format!(
                "convert:{}:{}",
                lead.id.simple(),
                support::truncate(request_id, 80)
            ),
        },
    );
    let refusal = match client.create_customer(call).await {
        Ok(c) => return Ok((c.into_inner().name, false)),
        Err(s) => Refusal::read("customers", &s),
    };
    match refusal.refused {
        Refused::Exists(Some(existing)) => Ok((existing, true)),
        // The tenant hides from the caller who holds the contact data.
        Refused::Exists(None) => Err(Error::precondition(
            "CUSTOMER_EXISTS",
            format!(
                "a customer you may not see already has the lead's contact data ({}); ask a \
                 manager to convert the lead",
                refusal.message
            ),
        )),
        Refused::Invalid(_) => Err(Error::precondition(
            "CUSTOMER_INVALID",
            format!(
                "the customers service refused the lead's contact data: {}",
                refusal.message
            ),
        )),
        _ => Err(refusal.into_error(
            "the customers service did not create the customer",
            "nothing was converted, retry with the same request_id",
        )),
    }
}
