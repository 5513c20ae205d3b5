//! OrderAnalyticsService (OR6): the market, deals, sales performance and profitability of a
//! month. Admins, managers, marketers and service accounts; a manager's figures cover its
//! team; reps are refused.

use rapport_proto::orders as pb;
use rapport_runtime::{Result, auth::Role};
use tonic::Request;

use super::support::authorize;
use crate::{
    app::{App, analytics},
    convert::analytics::{
        deal_request, deals_to_proto, market_request, market_to_proto, profit_request,
        profit_to_proto, sales_request, sales_to_proto,
    },
};

/// Roles that read analytics.
const ANALYSTS: &[Role] = &[
    Role::Admin,
    Role::Manager,
    Role::Marketer,
    Role::ServiceAccount,
];

pub(super) async fn market(
    app: &App,
    req: Request<pb::GetMarketReportRequest>,
) -> Result<pb::GetMarketReportResponse> {
    let p = authorize(&req, ANALYSTS)?;
    let (period, bands) = market_request(req.get_ref())?;
    let report = analytics::market(app, &p, &period, &bands).await?;
    Ok(market_to_proto(&period, &bands, &report))
}

pub(super) async fn deals(
    app: &App,
    req: Request<pb::GetDealReportRequest>,
) -> Result<pb::GetDealReportResponse> {
    let p = authorize(&req, ANALYSTS)?;
    let (period, bands) = deal_request(req.get_ref())?;
    let report = analytics::deals(app, &p, &period, &bands).await?;
    Ok(deals_to_proto(&period, &bands, &report))
}

pub(super) async fn sales(
    app: &App,
    req: Request<pb::GetSalesPerformanceRequest>,
) -> Result<pb::GetSalesPerformanceResponse> {
    let p = authorize(&req, ANALYSTS)?;
    let (period, group, limit) = sales_request(req.get_ref())?;
    let board = analytics::sales(app, &p, &period, group, limit).await?;
    Ok(sales_to_proto(&period, &board))
}

pub(super) async fn profitability(
    app: &App,
    req: Request<pb::GetProfitabilityRequest>,
) -> Result<pb::GetProfitabilityResponse> {
    let p = authorize(&req, ANALYSTS)?;
    let (period, limit) = profit_request(req.get_ref())?;
    let report = analytics::profitability(app, &p, &period, limit).await?;
    Ok(profit_to_proto(&period, &report))
}
