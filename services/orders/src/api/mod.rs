//! The gRPC adapters: each handler authorizes, parses through `convert/`, runs its use case in
//! `app/` and converts the answer. Nothing else imports this module.

mod analytics;
mod calculator;
mod catalog;
mod deliveries;
mod orders;
mod peers;
mod returns;
mod support;

use rapport_kit::{Reply, reply};
use rapport_proto::orders::{
    self as pb, calculator_service_server::CalculatorService,
    catalog_service_server::CatalogService, delivery_service_server::DeliveryService,
    order_analytics_service_server::OrderAnalyticsService, order_service_server::OrderService,
    return_service_server::ReturnService,
};
use tonic::Request;

use crate::app::App;

#[tonic::async_trait]
impl CatalogService for App {
    async fn create_category(
        &self,
        req: Request<pb::CreateCategoryRequest>,
    ) -> Reply<pb::Category> {
        reply(catalog::create_category(self, req).await)
    }

    async fn get_category(&self, req: Request<pb::GetCategoryRequest>) -> Reply<pb::Category> {
        reply(catalog::get_category(self, req).await)
    }

    async fn list_categories(
        &self,
        req: Request<pb::ListCategoriesRequest>,
    ) -> Reply<pb::ListCategoriesResponse> {
        reply(catalog::list_categories(self, req).await)
    }

    async fn update_category(
        &self,
        req: Request<pb::UpdateCategoryRequest>,
    ) -> Reply<pb::Category> {
        reply(catalog::update_category(self, req).await)
    }

    async fn create_product(&self, req: Request<pb::CreateProductRequest>) -> Reply<pb::Product> {
        reply(catalog::create_product(self, req).await)
    }

    async fn get_product(&self, req: Request<pb::GetProductRequest>) -> Reply<pb::Product> {
        reply(catalog::get_product(self, req).await)
    }

    async fn list_products(
        &self,
        req: Request<pb::ListProductsRequest>,
    ) -> Reply<pb::ListProductsResponse> {
        reply(catalog::list_products(self, req).await)
    }

    async fn update_product(&self, req: Request<pb::UpdateProductRequest>) -> Reply<pb::Product> {
        reply(catalog::update_product(self, req).await)
    }

    async fn recommend_products(
        &self,
        req: Request<pb::RecommendProductsRequest>,
    ) -> Reply<pb::RecommendProductsResponse> {
        reply(catalog::recommend(self, req).await)
    }
}

#[tonic::async_trait]
impl OrderService for App {
    async fn create_order(&self, req: Request<pb::CreateOrderRequest>) -> Reply<pb::Order> {
        reply(orders::create(self, req).await)
    }

    async fn get_order(&self, req: Request<pb::GetOrderRequest>) -> Reply<pb::Order> {
        reply(orders::get(self, req).await)
    }

    async fn list_orders(
        &self,
        req: Request<pb::ListOrdersRequest>,
    ) -> Reply<pb::ListOrdersResponse> {
        reply(orders::list(self, req).await)
    }

    async fn update_order(&self, req: Request<pb::UpdateOrderRequest>) -> Reply<pb::Order> {
        reply(orders::update(self, req).await)
    }

    async fn confirm_order(&self, req: Request<pb::ConfirmOrderRequest>) -> Reply<pb::Order> {
        reply(orders::confirm(self, req).await)
    }

    async fn cancel_order(&self, req: Request<pb::CancelOrderRequest>) -> Reply<pb::Order> {
        reply(orders::cancel(self, req).await)
    }

    async fn approve_order_discount(
        &self,
        req: Request<pb::ApproveOrderDiscountRequest>,
    ) -> Reply<pb::Order> {
        reply(orders::approve_discount(self, req).await)
    }

    async fn add_payment(&self, req: Request<pb::AddPaymentRequest>) -> Reply<pb::Order> {
        reply(orders::add_payment(self, req).await)
    }

    async fn list_order_revisions(
        &self,
        req: Request<pb::ListOrderRevisionsRequest>,
    ) -> Reply<pb::ListOrderRevisionsResponse> {
        reply(orders::revisions(self, req).await)
    }

    async fn get_order_settings(
        &self,
        req: Request<pb::GetOrderSettingsRequest>,
    ) -> Reply<pb::OrderSettings> {
        reply(orders::get_settings(self, req).await)
    }

    async fn update_order_settings(
        &self,
        req: Request<pb::UpdateOrderSettingsRequest>,
    ) -> Reply<pb::OrderSettings> {
        reply(orders::update_settings(self, req).await)
    }
}

#[tonic::async_trait]
impl CalculatorService for App {
    async fn compute_loan_schedule(
        &self,
        req: Request<pb::ComputeLoanScheduleRequest>,
    ) -> Reply<pb::LoanSchedule> {
        reply(calculator::loan_schedule(req))
    }
}

#[tonic::async_trait]
impl DeliveryService for App {
    async fn schedule_delivery(
        &self,
        req: Request<pb::ScheduleDeliveryRequest>,
    ) -> Reply<pb::Delivery> {
        reply(deliveries::schedule(self, req).await)
    }

    async fn get_delivery(&self, req: Request<pb::GetDeliveryRequest>) -> Reply<pb::Delivery> {
        reply(deliveries::get(self, req).await)
    }

    async fn list_deliveries(
        &self,
        req: Request<pb::ListDeliveriesRequest>,
    ) -> Reply<pb::ListDeliveriesResponse> {
        reply(deliveries::list(self, req).await)
    }

    async fn reschedule_delivery(
        &self,
        req: Request<pb::RescheduleDeliveryRequest>,
    ) -> Reply<pb::Delivery> {
        reply(deliveries::reschedule(self, req).await)
    }

    async fn complete_delivery(
        &self,
        req: Request<pb::CompleteDeliveryRequest>,
    ) -> Reply<pb::Delivery> {
        reply(deliveries::complete(self, req).await)
    }

    async fn cancel_delivery(
        &self,
        req: Request<pb::CancelDeliveryRequest>,
    ) -> Reply<pb::Delivery> {
        reply(deliveries::cancel(self, req).await)
    }

    async fn record_follow_up(&self, req: Request<pb::RecordFollowUpRequest>) -> Reply<pb::Order> {
        reply(deliveries::follow_up(self, req).await)
    }
}

#[tonic::async_trait]
impl ReturnService for App {
    async fn request_return(&self, req: Request<pb::RequestReturnRequest>) -> Reply<pb::Return> {
        reply(returns::request(self, req).await)
    }

    async fn get_return(&self, req: Request<pb::GetReturnRequest>) -> Reply<pb::Return> {
        reply(returns::get(self, req).await)
    }

    async fn list_returns(
        &self,
        req: Request<pb::ListReturnsRequest>,
    ) -> Reply<pb::ListReturnsResponse> {
        reply(returns::list(self, req).await)
    }

    async fn approve_return(&self, req: Request<pb::ApproveReturnRequest>) -> Reply<pb::Return> {
        reply(returns::approve(self, req).await)
    }

    async fn reject_return(&self, req: Request<pb::RejectReturnRequest>) -> Reply<pb::Return> {
        reply(returns::reject(self, req).await)
    }

    async fn receive_return(&self, req: Request<pb::ReceiveReturnRequest>) -> Reply<pb::Return> {
        reply(returns::receive(self, req).await)
    }

    async fn refund_return(&self, req: Request<pb::RefundReturnRequest>) -> Reply<pb::Return> {
        reply(returns::refund(self, req).await)
    }

    async fn replace_return(&self, req: Request<pb::ReplaceReturnRequest>) -> Reply<pb::Return> {
        reply(returns::replace(self, req).await)
    }
}

#[tonic::async_trait]
impl OrderAnalyticsService for App {
    async fn get_market_report(
        &self,
        req: Request<pb::GetMarketReportRequest>,
    ) -> Reply<pb::GetMarketReportResponse> {
        reply(analytics::market(self, req).await)
    }

    async fn get_deal_report(
        &self,
        req: Request<pb::GetDealReportRequest>,
    ) -> Reply<pb::GetDealReportResponse> {
        reply(analytics::deals(self, req).await)
    }

    async fn get_sales_performance(
        &self,
        req: Request<pb::GetSalesPerformanceRequest>,
    ) -> Reply<pb::GetSalesPerformanceResponse> {
        reply(analytics::sales(self, req).await)
    }

    async fn get_profitability(
        &self,
        req: Request<pb::GetProfitabilityRequest>,
    ) -> Reply<pb::GetProfitabilityResponse> {
        reply(analytics::profitability(self, req).await)
    }
}
