//! The gRPC adapters: each handler authorizes, parses through `convert/`, runs its use case in
//! `app/` and converts the answer. Nothing else imports this module.

mod analytics;
mod peers;
mod queues;
mod support;
mod tickets;

use rapport_kit::{Reply, reply};
use rapport_proto::tickets::{
    self as pb, queue_service_server::QueueService,
    ticket_analytics_service_server::TicketAnalyticsService, ticket_service_server::TicketService,
};
use tonic::Request;

use crate::app::App;

#[tonic::async_trait]
impl TicketService for App {
    async fn create_ticket(&self, req: Request<pb::CreateTicketRequest>) -> Reply<pb::Ticket> {
        reply(tickets::create(self, req).await)
    }

    async fn get_ticket(&self, req: Request<pb::GetTicketRequest>) -> Reply<pb::Ticket> {
        reply(tickets::get(self, req).await)
    }

    async fn list_tickets(
        &self,
        req: Request<pb::ListTicketsRequest>,
    ) -> Reply<pb::ListTicketsResponse> {
        reply(tickets::list(self, req).await)
    }

    async fn update_ticket(&self, req: Request<pb::UpdateTicketRequest>) -> Reply<pb::Ticket> {
        reply(tickets::update(self, req).await)
    }

    async fn assign_ticket(&self, req: Request<pb::AssignTicketRequest>) -> Reply<pb::Ticket> {
        reply(tickets::assign(self, req).await)
    }

    async fn change_ticket_state(
        &self,
        req: Request<pb::ChangeTicketStateRequest>,
    ) -> Reply<pb::Ticket> {
        reply(tickets::change_state(self, req).await)
    }

    async fn add_comment(&self, req: Request<pb::AddCommentRequest>) -> Reply<pb::Comment> {
        reply(tickets::add_comment(self, req).await)
    }

    async fn list_comments(
        &self,
        req: Request<pb::ListCommentsRequest>,
    ) -> Reply<pb::ListCommentsResponse> {
        reply(tickets::list_comments(self, req).await)
    }

    async fn list_ticket_events(
        &self,
        req: Request<pb::ListTicketEventsRequest>,
    ) -> Reply<pb::ListTicketEventsResponse> {
        reply(tickets::list_events(self, req).await)
    }

    async fn merge_tickets(&self, req: Request<pb::MergeTicketsRequest>) -> Reply<pb::Ticket> {
        reply(tickets::merge(self, req).await)
    }

    async fn approve_return_request(
        &self,
        req: Request<pb::ApproveReturnRequestRequest>,
    ) -> Reply<pb::Ticket> {
        reply(tickets::approve_return(self, req).await)
    }

    async fn submit_survey(
        &self,
        req: Request<pb::SubmitSurveyRequest>,
    ) -> Reply<pb::SubmitSurveyResponse> {
        reply(tickets::submit_survey(self, req).await)
    }

    async fn get_ticket_settings(
        &self,
        req: Request<pb::GetTicketSettingsRequest>,
    ) -> Reply<pb::TicketSettings> {
        reply(tickets::get_settings(self, req).await)
    }

    async fn update_ticket_settings(
        &self,
        req: Request<pb::UpdateTicketSettingsRequest>,
    ) -> Reply<pb::TicketSettings> {
        reply(tickets::update_settings(self, req).await)
    }
}

#[tonic::async_trait]
impl QueueService for App {
    async fn create_queue(&self, req: Request<pb::CreateQueueRequest>) -> Reply<pb::Queue> {
        reply(queues::create_queue(self, req).await)
    }

    async fn get_queue(&self, req: Request<pb::GetQueueRequest>) -> Reply<pb::Queue> {
        reply(queues::get_queue(self, req).await)
    }

    async fn list_queues(
        &self,
        req: Request<pb::ListQueuesRequest>,
    ) -> Reply<pb::ListQueuesResponse> {
        reply(queues::list_queues(self, req).await)
    }

    async fn update_queue(&self, req: Request<pb::UpdateQueueRequest>) -> Reply<pb::Queue> {
        reply(queues::update_queue(self, req).await)
    }

    async fn create_agent(&self, req: Request<pb::CreateAgentRequest>) -> Reply<pb::Agent> {
        reply(queues::create_agent(self, req).await)
    }

    async fn get_agent(&self, req: Request<pb::GetAgentRequest>) -> Reply<pb::Agent> {
        reply(queues::get_agent(self, req).await)
    }

    async fn list_agents(
        &self,
        req: Request<pb::ListAgentsRequest>,
    ) -> Reply<pb::ListAgentsResponse> {
        reply(queues::list_agents(self, req).await)
    }

    async fn update_agent(&self, req: Request<pb::UpdateAgentRequest>) -> Reply<pb::Agent> {
        reply(queues::update_agent(self, req).await)
    }
}

#[tonic::async_trait]
impl TicketAnalyticsService for App {
    async fn get_ticket_report(
        &self,
        req: Request<pb::GetTicketReportRequest>,
    ) -> Reply<pb::TicketReport> {
        reply(analytics::report(self, req).await)
    }
}
