//! What a registration collides with in the other services, asked on the approver's behalf
//! so each applies its own visibility and duplicate disclosure: open leads holding the
//! prospect's phone, email or organization name, and customers holding its phone or email.

use rapport_kit::peer::Refusal;
use rapport_proto::{
    customers::{self as cpb, customer_service_client::CustomerServiceClient},
    leads::{self as lpb, lead_service_client::LeadServiceClient},
};
use rapport_runtime::{Error, Result, peers::Peers};
use tonic::Request;

use crate::{
    app::App,
    domain::registration::{Conflict, Registration, normalize_organization},
};

/// Most leads looked at per check.
const MAX_LEADS: i32 = 50;

/// A filter value in double quotes, its quotes and backslashes escaped.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// UNAVAILABLE (or the peer's denial) when `service` could not be asked.
fn failed(service: &'static str, status: &tonic::Status) -> Error {
    Refusal::read(service, status).into_error(
        &format!("conflicts could not be checked with the {service} service"),
        "nothing was recorded; try again",
    )
}

/// The open leads `r` collides with.
async fn leads<T>(app: &App, req: &Request<T>, r: &Registration) -> Result<Vec<Conflict>> {
    let mut terms = Vec::new();
    if !r.phone.is_empty() {
        terms.push(format!("phone = {}", quoted(&r.phone)));
    }
    if !r.email.is_empty() {
        terms.push(format!("email = {}", quoted(&r.email)));
    }
    if !r.organization.trim().is_empty() {
        terms.push(format!("display_name = {}", quoted(r.organization.trim())));
    }
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let mut client = LeadServiceClient::new(app.ctx.peers.channel("leads")?);
    let call = Peers::request(
        req,
        lpb::ListLeadsRequest {
            page_size: MAX_LEADS,
            filter: format!("({}) AND state != \"CONVERTED\"", terms.join(" OR ")),
            ..Default::default()
        },
    );
    let found = client
        .list_leads(call)
        .await
        .map_err(|s| failed("leads", &s))?
        .into_inner();
    let org = normalize_organization(&r.organization);
    Ok(found
        .leads
        .into_iter()
        .map(|l| {
            let mut matched_on = Vec::new();
            if !r.phone.is_empty() && l.phone == r.phone {
                matched_on.push(format!("phone:{}", r.phone));
            }
            if !r.email.is_empty() && l.email == r.email {
                matched_on.push(format!("email:{}", r.email));
            }
            if !org.is_empty() && normalize_organization(&l.display_name) == org {
                matched_on.push(format!("organization:{org}"));
            }
            Conflict {
                resource: l.name,
                display_name: l.display_name,
                matched_on,
                categories: Vec::new(),
                partner: l.attribution.map(|a| a.partner_id).unwrap_or_default(),
            }
        })
        .filter(|c| !c.matched_on.is_empty())
        .collect())
}

/// The customers `r` collides with, as much of each as the caller may learn.
async fn customers<T>(app: &App, req: &Request<T>, r: &Registration) -> Result<Vec<Conflict>> {
    if r.phone.is_empty() && r.email.is_empty() {
        return Ok(Vec::new());
    }
    let contacts = cpb::Customer {
        phones: (!r.phone.is_empty())
            .then(|| cpb::Phone {
                number: r.phone.clone(),
                ..Default::default()
            })
            .into_iter()
            .collect(),
        emails: (!r.email.is_empty())
            .then(|| cpb::Email {
                address: r.email.clone(),
                ..Default::default()
            })
            .into_iter()
            .collect(),
        ..Default::default()
    };
    let mut client = CustomerServiceClient::new(app.ctx.peers.channel("customers")?);
    let call = Peers::request(
        req,
        cpb::FindDuplicatesRequest {
            name: String::new(),
            contacts: Some(contacts),
        },
    );
    let found = client
        .find_duplicates(call)
        .await
        .map_err(|s| failed("customers", &s))?
        .into_inner();
    Ok(found
        .matches
        .into_iter()
        .map(|m| Conflict {
            resource: m.customer,
            display_name: m.display_name,
            matched_on: m.matched_on,
            categories: Vec::new(),
            partner: String::new(),
        })
        .collect())
}

/// What `r` collides with among the leads and customers the caller of `req` may learn of.
pub(super) async fn outside_conflicts<T>(
    app: &App,
    req: &Request<T>,
    r: &Registration,
) -> Result<Vec<Conflict>> {
    let (leads, customers) = futures::try_join!(leads(app, req, r), customers(app, req, r))?;
    Ok(leads.into_iter().chain(customers).collect())
}
