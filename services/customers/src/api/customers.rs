//! Customers: Create, Get, List, Update, Delete and Undelete.

use rapport_kit::mask;
use rapport_proto::customers as pb;
use rapport_runtime::{Error, Result, error::both, storage::Idempotency, validation::Violations};
use tonic::Request;

use super::support::{MANAGERS, READERS, WRITERS, authorize, customer_id};
use crate::{
    app::{
        App,
        customers::{self, ListParams},
    },
    convert::{
        customer::{customer_to_proto, parse_profile},
        customer_mask::apply_update_mask,
    },
};

pub(super) async fn create(
    app: &App,
    req: Request<pb::CreateCustomerRequest>,
) -> Result<pb::Customer> {
    let p = authorize(&req, WRITERS)?;
    let msg = req.into_inner();
    let settings = app.settings(&p.tenant_id).await?;
    let parsed = match &msg.customer {
        None => Err(Error::invalid("customer", "is required")),
        Some(input) => {
            let mut v = Violations::with_prefix("customer");
            let profile = parse_profile(input, &app.profile_context(&settings), &mut v);
            v.finish(profile).map_err(Error::from)
        }
    };
    // A bad request id is reported together with the customer's bad fields.
    let (idempotency, profile) = both(
        Idempotency::new(&p, "CreateCustomer", &msg.request_id, &msg),
        parsed,
    )?;
    customers::create(app, p, idempotency, profile, &settings).await
}

pub(super) async fn get(app: &App, req: Request<pb::GetCustomerRequest>) -> Result<pb::Customer> {
    let p = authorize(&req, READERS)?;
    let id = customer_id("name", &req.get_ref().name)?;
    app.get_visible(&p, id).await
}

pub(super) async fn list(
    app: &App,
    req: Request<pb::ListCustomersRequest>,
) -> Result<pb::ListCustomersResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.into_inner();
    let params = ListParams {
        filter: &msg.filter,
        order_by: &msg.order_by,
        page_size: msg.page_size,
        page_token: &msg.page_token,
        show_deleted: msg.show_deleted,
    };
    let (query, list) = customers::list_query(app, &p, &params)?;
    let (rows, next_page_token) = customers::list(app, &p, query, &list).await?;
    Ok(pb::ListCustomersResponse {
        customers: rows.iter().map(customer_to_proto).collect(),
        next_page_token,
    })
}

pub(super) async fn update(
    app: &App,
    req: Request<pb::UpdateCustomerRequest>,
) -> Result<pb::Customer> {
    let p = authorize(&req, WRITERS)?;
    let msg = req.into_inner();
    let Some(patch) = &msg.customer else {
        return Err(Error::invalid("customer", "is required"));
    };
    let paths = mask::paths(msg.update_mask);
    let id = match customer_id("customer.name", &patch.name) {
        Ok(id) => id,
        // Without the customer its values cannot be checked, but the mask can: report both.
        Err(Error::InvalidArgument(mut bad)) => {
            let mut v = Violations::new();
            apply_update_mask(&pb::Customer::default(), patch, &paths, &mut v);
            bad.extend(v.into_vec());
            return Err(Error::InvalidArgument(bad));
        }
        Err(e) => return Err(e),
    };
    customers::update(app, &p, id, patch, &paths).await
}

pub(super) async fn delete(
    app: &App,
    req: Request<pb::DeleteCustomerRequest>,
) -> Result<pb::Customer> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.get_ref();
    let id = customer_id("name", &msg.name)?;
    customers::delete(app, &p, id, &msg.etag).await
}

pub(super) async fn undelete(
    app: &App,
    req: Request<pb::UndeleteCustomerRequest>,
) -> Result<pb::Customer> {
    let p = authorize(&req, MANAGERS)?;
    let id = customer_id("name", &req.get_ref().name)?;
    customers::undelete(app, &p, id).await
}
