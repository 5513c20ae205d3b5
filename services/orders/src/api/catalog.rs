//! CatalogService (OR1, LE11): categories, products and recommendations.

use rapport_kit::{
    list_params, mask,
    query::{CursorValue, ListQuery, ListSpec, OrderBy, Page},
    validate,
};
use rapport_proto::orders as pb;
use rapport_runtime::{Error, Result, error::both, storage::Idempotency, validation::Violations};
use tonic::Request;

use super::support::{CATALOG_EDITORS, CATALOG_READERS, authorize, parse_id};
use crate::{
    app::{App, catalog},
    convert::{
        catalog::{
            CATEGORY_MASK, CategoryFields, PRODUCT_MASK, ProductFields, apply_category,
            apply_product, category_to_proto, product_to_proto,
        },
        recommend::{needs_of_customer, needs_of_lead, needs_to_proto, parse_needs},
    },
    domain::catalog::{CATEGORIES, PRODUCTS},
    store::catalog::{PRODUCT_FILTERS, Parent},
};

/// What ListProducts filters and sorts on.
const PRODUCT_LIST: ListSpec = ListSpec {
    filter_fields: PRODUCT_FILTERS,
    order_fields: &["display_name", "create_time", "update_time"],
    default_order: OrderBy::asc("display_name"),
    text_order_fields: &["display_name"],
};

pub(super) async fn create_category(
    app: &App,
    req: Request<pb::CreateCategoryRequest>,
) -> Result<pb::Category> {
    let p = authorize(&req, CATALOG_EDITORS)?;
    let msg = req.into_inner();
    let parsed = match &msg.category {
        None => Err(Error::invalid("category", "is required")),
        Some(c) => {
            let mut v = Violations::with_prefix("category");
            let mut fields = CategoryFields {
                display_name: String::new(),
                parent_id: None,
                description: String::new(),
            };
            apply_category(c, CATEGORY_MASK.updatable, &mut fields, &mut v);
            v.finish(fields).map_err(Error::from)
        }
    };
    let (idem, fields) = both(
        Idempotency::new(&p, "CreateCategory", &msg.request_id, &msg),
        parsed,
    )?;
    catalog::create_category(app, p, idem, fields).await
}

pub(super) async fn get_category(
    app: &App,
    req: Request<pb::GetCategoryRequest>,
) -> Result<pb::Category> {
    let p = authorize(&req, CATALOG_READERS)?;
    let id = parse_id("name", CATEGORIES, &req.get_ref().name)?;
    Ok(category_to_proto(
        &catalog::get_category(app, &p, id).await?,
    ))
}

pub(super) async fn list_categories(
    app: &App,
    req: Request<pb::ListCategoriesRequest>,
) -> Result<pb::ListCategoriesResponse> {
    let p = authorize(&req, CATALOG_READERS)?;
    let msg = req.get_ref();
    let parent = match msg.parent.trim() {
        "" => Ok(Parent::Any),
        "-" => Ok(Parent::Top),
        name => parse_id("parent", CATEGORIES, name).map(Parent::Of),
    };
    let fits = |c: &[CursorValue]| matches!(c, [CursorValue::Text(_), CursorValue::Text(_)]);
    let page = Page::parse(
        &[&p.tenant_id, CATEGORIES, msg.parent.trim()],
        msg.page_size,
        &msg.page_token,
        fits,
    )
    .map_err(Error::from);
    let (parent, page) = both(parent, page)?;
    let (rows, next_page_token) = catalog::list_categories(app, &p, &parent, &page).await?;
    Ok(pb::ListCategoriesResponse {
        categories: rows.iter().map(category_to_proto).collect(),
        next_page_token,
    })
}

pub(super) async fn update_category(
    app: &App,
    req: Request<pb::UpdateCategoryRequest>,
) -> Result<pb::Category> {
    let p = authorize(&req, CATALOG_EDITORS)?;
    let msg = req.into_inner();
    let Some(given) = msg.category else {
        return Err(Error::invalid("category", "is required"));
    };
    let mut v = Violations::new();
    let selected = mask::select(&CATEGORY_MASK, &mask::paths(msg.update_mask), &mut v);
    let fields = mask::fields(&CATEGORY_MASK, &selected);
    let id = crate::convert::id_in(CATEGORIES, &given.name, "category.name", &mut v);
    let id = v.finish(id)?.unwrap_or_default();
    catalog::update_category(app, &p, id, &given.etag, |into, v| {
        apply_category(&given, &fields, into, v)
    })
    .await
}

pub(super) async fn create_product(
    app: &App,
    req: Request<pb::CreateProductRequest>,
) -> Result<pb::Product> {
    let p = authorize(&req, CATALOG_EDITORS)?;
    let msg = req.into_inner();
    let parsed = match &msg.product {
        None => Err(Error::invalid("product", "is required")),
        Some(given) => {
            let mut v = Violations::with_prefix("product");
            let mut fields = ProductFields::empty();
            let all: Vec<mask::Selected> = PRODUCT_MASK
                .updatable
                .iter()
                .map(|f| mask::Selected::Field(f))
                .collect();
            apply_product(given, &all, &mut fields, &mut v);
            v.finish(fields).map_err(Error::from)
        }
    };
    let (idem, fields) = both(
        Idempotency::new(&p, "CreateProduct", &msg.request_id, &msg),
        parsed,
    )?;
    catalog::create_product(app, p, idem, fields).await
}

pub(super) async fn get_product(
    app: &App,
    req: Request<pb::GetProductRequest>,
) -> Result<pb::Product> {
    let p = authorize(&req, CATALOG_READERS)?;
    let id = parse_id("name", PRODUCTS, &req.get_ref().name)?;
    Ok(product_to_proto(&catalog::get_product(app, &p, id).await?))
}

pub(super) async fn list_products(
    app: &App,
    req: Request<pb::ListProductsRequest>,
) -> Result<pb::ListProductsResponse> {
    let p = authorize(&req, CATALOG_READERS)?;
    let msg = req.get_ref();
    let q = ListQuery::parse(
        &PRODUCT_LIST,
        list_params!(msg),
        app.db().dialect(),
        2,
        &[&p.tenant_id, PRODUCTS],
    )?;
    let (rows, next_page_token) = catalog::list_products(app, &p, &q).await?;
    Ok(pb::ListProductsResponse {
        products: rows.iter().map(product_to_proto).collect(),
        next_page_token,
    })
}

pub(super) async fn update_product(
    app: &App,
    req: Request<pb::UpdateProductRequest>,
) -> Result<pb::Product> {
    let p = authorize(&req, CATALOG_EDITORS)?;
    let msg = req.into_inner();
    let Some(given) = msg.product else {
        return Err(Error::invalid("product", "is required"));
    };
    let mut v = Violations::new();
    let selected = mask::select(&PRODUCT_MASK, &mask::paths(msg.update_mask), &mut v);
    let id = crate::convert::id_in(PRODUCTS, &given.name, "product.name", &mut v);
    let id = v.finish(id)?.unwrap_or_default();
    catalog::update_product(app, &p, id, &given.etag, |into, v| {
        apply_product(&given, &selected, into, v)
    })
    .await
}

pub(super) async fn recommend(
    app: &App,
    req: Request<pb::RecommendProductsRequest>,
) -> Result<pb::RecommendProductsResponse> {
    let p = authorize(&req, CATALOG_READERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let given = [
        msg.needs.is_some(),
        !msg.lead.trim().is_empty(),
        !msg.customer.trim().is_empty(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        v.add("needs", "give exactly one of needs, lead and customer");
    }
    let lead = crate::convert::optional_id_in("leads", &msg.lead, "lead", &mut v);
    let customer = crate::convert::optional_id_in("customers", &msg.customer, "customer", &mut v);
    let limit = match msg.limit {
        0 => 10,
        n @ 1..=50 => n as usize,
        _ => {
            v.add("limit", "must be 1..50 (0 means 10)");
            10
        }
    };
    if !msg.currency_code.is_empty() && !validate::is_currency(&msg.currency_code) {
        v.add("currency_code", "must be an ISO 4217 code, e.g. \"CNY\"");
    }
    v.finish(())?;
    let asked = match (lead, customer) {
        (Some(id), _) => needs_of_lead(&super::peers::lead(app, &req, id, "lead").await?),
        (_, Some(id)) => {
            needs_of_customer(&super::peers::customer(app, &req, id, "customer").await?)
        }
        _ => msg.needs.clone().unwrap_or_default(),
    };
    let mut v = Violations::new();
    let (needs, budget_currency) = parse_needs(&asked, &mut v);
    v.finish(())?;
    let currency = if msg.currency_code.is_empty() {
        budget_currency.unwrap_or_else(|| "CNY".to_owned())
    } else {
        msg.currency_code.clone()
    };
    let recommendations = catalog::recommend(app, &p, &needs, &currency, limit).await?;
    Ok(pb::RecommendProductsResponse {
        recommendations,
        needs: Some(needs_to_proto(&needs, &currency)),
    })
}
