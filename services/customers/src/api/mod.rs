//! The gRPC face of the service: the `CustomerService` implementation. Each handler parses its
//! request into domain values (every bad field reported at once), checks the caller's role and
//! visibility, and commits the change, its events and its idempotency record together.

mod bulk;
pub mod convert;
mod create;
mod crud;
mod duplicates;
mod import;
mod ownership;
mod paging;
mod relationships;
mod settings;
mod support;
mod timeline;

use std::pin::Pin;

use futures::Stream;
use rapport_proto::customers::{self as pb, customer_service_server::CustomerService};
use tonic::{Request, Response, Status, Streaming};

pub use support::CustomersApi;

type Reply<T> = Result<Response<T>, Status>;
type ServerStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl CustomerService for CustomersApi {
    async fn create_customer(
        &self,
        req: Request<pb::CreateCustomerRequest>,
    ) -> Reply<pb::Customer> {
        create::create(self, req)
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn get_customer(&self, req: Request<pb::GetCustomerRequest>) -> Reply<pb::Customer> {
        crud::get(self, req)
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn list_customers(
        &self,
        req: Request<pb::ListCustomersRequest>,
    ) -> Reply<pb::ListCustomersResponse> {
        crud::list(self, req)
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn update_customer(
        &self,
        req: Request<pb::UpdateCustomerRequest>,
    ) -> Reply<pb::Customer> {
        crud::update(self, req)
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn delete_customer(
        &self,
        req: Request<pb::DeleteCustomerRequest>,
    ) -> Reply<pb::Customer> {
        crud::delete(self, req)
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn undelete_customer(
        &self,
        req: Request<pb::UndeleteCustomerRequest>,
    ) -> Reply<pb::Customer> {
        crud::undelete(self, req)
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn find_duplicates(
        &self,
        req: Request<pb::FindDuplicatesRequest>,
    ) -> Reply<pb::FindDuplicatesResponse> {
        duplicates::find(self, req)
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn merge_customers(
        &self,
        req: Request<pb::MergeCustomersRequest>,
    ) -> Reply<pb::Customer> {
        duplicates::merge(self, req)
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn batch_update_customers(
        &self,
        req: Request<pb::BatchUpdateCustomersRequest>,
    ) -> Reply<pb::BatchUpdateCustomersResponse> {
        bulk::batch_update(self, req)
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    type ImportCustomersStream = ServerStream<pb::ImportCustomersResponse>;

    async fn import_customers(
        &self,
        req: Request<Streaming<pb::ImportCustomersRequest>>,
    ) -> Reply<Self::ImportCustomersStream> {
        import::import(self, req)
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    type ExportCustomersStream = ServerStream<pb::ExportCustomersResponse>;

    async fn export_customers(
        &self,
        req: Request<pb::ExportCustomersRequest>,
    ) -> Reply<Self::ExportCustomersStream> {
        bulk::export(self, req)
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn transfer_customer_ownership(
        &self,
        req: Request<pb::TransferCustomerOwnershipRequest>,
    ) -> Reply<pb::Customer> {
        ownership::transfer(self, req)
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn list_ownership_transfers(
        &self,
        req: Request<pb::ListOwnershipTransfersRequest>,
    ) -> Reply<pb::ListOwnershipTransfersResponse> {
        ownership::list(self, req)
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn create_relationship(
        &self,
        req: Request<pb::CreateRelationshipRequest>,
    ) -> Reply<pb::Relationship> {
        relationships::create(self, req)
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn list_relationships(
        &self,
        req: Request<pb::ListRelationshipsRequest>,
    ) -> Reply<pb::ListRelationshipsResponse> {
        relationships::list(self, req)
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn delete_relationship(
        &self,
        req: Request<pb::DeleteRelationshipRequest>,
    ) -> Reply<pb::DeleteRelationshipResponse> {
        relationships::delete(self, req)
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn create_activity(
        &self,
        req: Request<pb::CreateActivityRequest>,
    ) -> Reply<pb::Activity> {
        timeline::create(self, req)
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn list_activities(
        &self,
        req: Request<pb::ListActivitiesRequest>,
    ) -> Reply<pb::ListActivitiesResponse> {
        timeline::list(self, req)
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn check_contact_permission(
        &self,
        req: Request<pb::CheckContactPermissionRequest>,
    ) -> Reply<pb::CheckContactPermissionResponse> {
        settings::check_contact(self, req)
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn get_customer_settings(
        &self,
        req: Request<pb::GetCustomerSettingsRequest>,
    ) -> Reply<pb::CustomerSettings> {
        settings::get(self, req)
            .await
            .map(Response::new)
            .map_err(Into::into)
    }

    async fn update_customer_settings(
        &self,
        req: Request<pb::UpdateCustomerSettingsRequest>,
    ) -> Reply<pb::CustomerSettings> {
        settings::update(self, req)
            .await
            .map(Response::new)
            .map_err(Into::into)
    }
}
