//! The gRPC face of the service: the `CustomerService` and `SegmentService` implementations.
//! Each handler checks the caller's role, parses its request into domain values (every bad
//! field reported at once), calls the use case in `crate::app` and converts its answer.

mod bulk;
mod customers;
mod duplicates;
mod ownership;
mod paging;
mod relationships;
mod segments;
mod settings;
mod support;
mod timeline;

use std::pin::Pin;

use futures::Stream;
use rapport_kit::{Reply, reply};
use rapport_proto::customers::{
    self as pb, customer_service_server::CustomerService, segment_service_server::SegmentService,
};
use tonic::{Request, Status, Streaming};

use crate::app::App;

type ServerStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl CustomerService for App {
    async fn create_customer(
        &self,
        req: Request<pb::CreateCustomerRequest>,
    ) -> Reply<pb::Customer> {
        reply(customers::create(self, req).await)
    }

    async fn get_customer(&self, req: Request<pb::GetCustomerRequest>) -> Reply<pb::Customer> {
        reply(customers::get(self, req).await)
    }

    async fn list_customers(
        &self,
        req: Request<pb::ListCustomersRequest>,
    ) -> Reply<pb::ListCustomersResponse> {
        reply(customers::list(self, req).await)
    }

    async fn update_customer(
        &self,
        req: Request<pb::UpdateCustomerRequest>,
    ) -> Reply<pb::Customer> {
        reply(customers::update(self, req).await)
    }

    async fn delete_customer(
        &self,
        req: Request<pb::DeleteCustomerRequest>,
    ) -> Reply<pb::Customer> {
        reply(customers::delete(self, req).await)
    }

    async fn undelete_customer(
        &self,
        req: Request<pb::UndeleteCustomerRequest>,
    ) -> Reply<pb::Customer> {
        reply(customers::undelete(self, req).await)
    }

    async fn find_duplicates(
        &self,
        req: Request<pb::FindDuplicatesRequest>,
    ) -> Reply<pb::FindDuplicatesResponse> {
        reply(duplicates::find(self, req).await)
    }

    async fn merge_customers(
        &self,
        req: Request<pb::MergeCustomersRequest>,
    ) -> Reply<pb::Customer> {
        reply(duplicates::merge(self, req).await)
    }

    async fn batch_update_customers(
        &self,
        req: Request<pb::BatchUpdateCustomersRequest>,
    ) -> Reply<pb::BatchUpdateCustomersResponse> {
        reply(bulk::batch_update(self, req).await)
    }

    type ImportCustomersStream = ServerStream<pb::ImportCustomersResponse>;

    async fn import_customers(
        &self,
        req: Request<Streaming<pb::ImportCustomersRequest>>,
    ) -> Reply<Self::ImportCustomersStream> {
        reply(bulk::import(self, req).await)
    }

    type ExportCustomersStream = ServerStream<pb::ExportCustomersResponse>;

    async fn export_customers(
        &self,
        req: Request<pb::ExportCustomersRequest>,
    ) -> Reply<Self::ExportCustomersStream> {
        reply(bulk::export(self, req).await)
    }

    async fn transfer_customer_ownership(
        &self,
        req: Request<pb::TransferCustomerOwnershipRequest>,
    ) -> Reply<pb::Customer> {
        reply(ownership::transfer(self, req).await)
    }

    async fn list_ownership_transfers(
        &self,
        req: Request<pb::ListOwnershipTransfersRequest>,
    ) -> Reply<pb::ListOwnershipTransfersResponse> {
        reply(ownership::list(self, req).await)
    }

    async fn create_relationship(
        &self,
        req: Request<pb::CreateRelationshipRequest>,
    ) -> Reply<pb::Relationship> {
        reply(relationships::create(self, req).await)
    }

    async fn list_relationships(
        &self,
        req: Request<pb::ListRelationshipsRequest>,
    ) -> Reply<pb::ListRelationshipsResponse> {
        reply(relationships::list(self, req).await)
    }

    async fn delete_relationship(
        &self,
        req: Request<pb::DeleteRelationshipRequest>,
    ) -> Reply<pb::DeleteRelationshipResponse> {
        reply(relationships::delete(self, req).await)
    }

    async fn create_activity(
        &self,
        req: Request<pb::CreateActivityRequest>,
    ) -> Reply<pb::Activity> {
        reply(timeline::create(self, req).await)
    }

    async fn list_activities(
        &self,
        req: Request<pb::ListActivitiesRequest>,
    ) -> Reply<pb::ListActivitiesResponse> {
        reply(timeline::list(self, req).await)
    }

    async fn check_contact_permission(
        &self,
        req: Request<pb::CheckContactPermissionRequest>,
    ) -> Reply<pb::CheckContactPermissionResponse> {
        reply(settings::check_contact(self, req).await)
    }

    async fn get_customer_settings(
        &self,
        req: Request<pb::GetCustomerSettingsRequest>,
    ) -> Reply<pb::CustomerSettings> {
        reply(settings::get(self, req).await)
    }

    async fn update_customer_settings(
        &self,
        req: Request<pb::UpdateCustomerSettingsRequest>,
    ) -> Reply<pb::CustomerSettings> {
        reply(settings::update(self, req).await)
    }
}

#[tonic::async_trait]
impl SegmentService for App {
    async fn create_segment(&self, req: Request<pb::CreateSegmentRequest>) -> Reply<pb::Segment> {
        reply(segments::create(self, req).await)
    }

    async fn get_segment(&self, req: Request<pb::GetSegmentRequest>) -> Reply<pb::Segment> {
        reply(segments::get(self, req).await)
    }

    async fn list_segments(
        &self,
        req: Request<pb::ListSegmentsRequest>,
    ) -> Reply<pb::ListSegmentsResponse> {
        reply(segments::list(self, req).await)
    }

    async fn update_segment(&self, req: Request<pb::UpdateSegmentRequest>) -> Reply<pb::Segment> {
        reply(segments::update(self, req).await)
    }

    async fn delete_segment(&self, req: Request<pb::DeleteSegmentRequest>) -> Reply<pb::Segment> {
        reply(segments::delete(self, req).await)
    }

    async fn count_segment_members(
        &self,
        req: Request<pb::CountSegmentMembersRequest>,
    ) -> Reply<pb::CountSegmentMembersResponse> {
        reply(segments::count(self, req).await)
    }

    type StreamSegmentMembersStream = ServerStream<pb::SegmentMembersBatch>;

    async fn stream_segment_members(
        &self,
        req: Request<pb::StreamSegmentMembersRequest>,
    ) -> Reply<Self::StreamSegmentMembersStream> {
        reply(segments::stream(self, req).await)
    }
}
