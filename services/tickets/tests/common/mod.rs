//! Shared helpers of the tickets service tests: clients of its gRPC services (and of the
//! customers and orders services) for each caller of the test kit, agents and queues, and
//! customers to raise tickets for.

use rapport_customers::Customers;
use rapport_orders::Orders;
use rapport_proto::{
    customers::{self as cpb, customer_service_client::CustomerServiceClient},
    orders::{
        catalog_service_client::CatalogServiceClient,
        delivery_service_client::DeliveryServiceClient, order_service_client::OrderServiceClient,
        return_service_client::ReturnServiceClient,
    },
    tickets::{
        self as pb, queue_service_client::QueueServiceClient,
        ticket_analytics_service_client::TicketAnalyticsServiceClient,
        ticket_service_client::TicketServiceClient,
    },
};
use rapport_runtime::{auth::Role, context::ServiceEntry};
use rapport_testkit::{Bearer, TestServer};
pub use rapport_testkit::{
    status::{assert_code, bad_fields, reason, sorted_bad_fields},
    values::mask,
};
use rapport_tickets::Tickets;
use tonic::{codegen::InterceptedService, transport::Channel};

/// The services under test: tickets, with customers (ticket customers are checked there) and
/// orders (orders and returns), and the survey inbox that reads survey tokens off the events
/// as a care channel would.
pub fn services() -> Vec<ServiceEntry> {
    vec![
        ServiceEntry::of::<Customers>(),
        ServiceEntry::of::<Orders>(),
        ServiceEntry::of::<Tickets>(),
        ServiceEntry::of::<SurveyInbox>(),
    ]
}

/// The survey tokens announced, by ticket name.
static SURVEYS: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

/// The survey tokens announced for `ticket`, oldest first.
pub fn survey_tokens(ticket: &str) -> Vec<String> {
    SURVEYS
        .lock()
        .expect("surveys")
        .iter()
        .filter(|(t, _)| t == ticket)
        .map(|(_, token)| token.clone())
        .collect()
}

/// A consumer of the tickets stream that keeps each survey's token: what a care channel
/// (campaigns' messages) does with `ticket.survey_requested`.
pub struct SurveyInbox;

impl rapport_runtime::context::Service for SurveyInbox {
    const NAME: &'static str = "surveyinbox";

    fn migrations() -> rapport_runtime::storage::Migrations {
        rapport_runtime::storage::Migrations {
            postgres: &[],
            sqlite: &[],
        }
    }

    fn build(
        ctx: rapport_runtime::context::ServiceContext,
    ) -> rapport_runtime::context::ServiceBundle {
        let mut bundle = rapport_kit::service::Bundle::new(Self::NAME, &ctx);
        bundle.handler(std::sync::Arc::new(SurveyInbox));
        bundle.finish()
    }
}

const SURVEY: rapport_runtime::events::Published<pb::SurveyRequested> =
    rapport_runtime::events::Published::new("ticket.survey_requested");

#[tonic::async_trait]
impl rapport_runtime::events::EventHandler for SurveyInbox {
    fn group(&self) -> &'static str {
        "surveyinbox.tickets"
    }

    fn stream(&self) -> &'static str {
        "tickets"
    }

    async fn handle(&self, event: &rapport_runtime::events::Event) -> rapport_runtime::Result<()> {
        if let Some(s) = SURVEY.payload(event)? {
            SURVEYS.lock().expect("surveys").push((s.ticket, s.token));
        }
        Ok(())
    }
}

type Ch = InterceptedService<Channel, Bearer>;

/// Clients of every tickets gRPC service and of its peers, for one caller.
pub struct Clients {
    pub tickets: TicketServiceClient<Ch>,
    pub queues: QueueServiceClient<Ch>,
    pub analytics: TicketAnalyticsServiceClient<Ch>,
    pub customers: CustomerServiceClient<Ch>,
    pub catalog: CatalogServiceClient<Ch>,
    pub orders: OrderServiceClient<Ch>,
    pub deliveries: DeliveryServiceClient<Ch>,
    pub returns: ReturnServiceClient<Ch>,
}

/// Clients authenticated with `bearer`.
pub fn clients_with(s: &TestServer, bearer: Bearer) -> Clients {
    let ch = s.channel.clone();
    Clients {
        tickets: TicketServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        queues: QueueServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        analytics: TicketAnalyticsServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        customers: CustomerServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        catalog: CatalogServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        orders: OrderServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        deliveries: DeliveryServiceClient::with_interceptor(ch.clone(), bearer.clone()),
        returns: ReturnServiceClient::with_interceptor(ch, bearer),
    }
}

/// The admin of tenant `t1`.
pub fn admin(s: &TestServer) -> Clients {
    clients_with(s, s.admin())
}

/// A service supervisor of `team` in tenant `t1`: a manager of the team who is a service agent
/// too, so the orders service shows it the orders its tickets are about.
pub fn supervisor(s: &TestServer, subject: &str, team: &str) -> Clients {
    clients_with(
        s,
        s.auth_in_team("t1", subject, &[Role::Manager, Role::ServiceAgent], team),
    )
}

/// A service agent of `team` in tenant `t1`.
pub fn agent(s: &TestServer, subject: &str, team: &str) -> Clients {
    clients_with(
        s,
        s.auth_in_team("t1", subject, &[Role::ServiceAgent], team),
    )
}

/// A rep of `team` in tenant `t1`.
pub fn rep(s: &TestServer, subject: &str, team: &str) -> Clients {
    clients_with(s, s.rep(subject, team))
}

/// The service account of tenant `t1` (the channel that shows surveys).
pub fn service_account(s: &TestServer) -> Clients {
    clients_with(s, s.auth("t1", "web-portal", &[Role::ServiceAccount]))
}

/// The admin of another tenant.
pub fn stranger(s: &TestServer) -> Clients {
    clients_with(s, s.stranger())
}

/// `subject` of tenant `t1` with `roles` (no team).
pub fn as_user(s: &TestServer, subject: &str, roles: &[Role]) -> Clients {
    clients_with(s, s.auth("t1", subject, roles))
}

/// Registers agent `id` of `team` with `capacity` and `skills`, as the admin.
pub async fn register_agent(
    s: &TestServer,
    id: &str,
    team: &str,
    capacity: i32,
    skills: &[&str],
) -> pb::Agent {
    admin(s)
        .queues
        .create_agent(pb::CreateAgentRequest {
            agent_id: id.into(),
            agent: Some(pb::Agent {
                display_name: format!("Agent {id}"),
                team_id: team.into(),
                supervisor_id: format!("{team}-lead"),
                capacity,
                skills: skills.iter().map(|s| (*s).to_owned()).collect(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("create agent")
        .into_inner()
}

/// Creates a queue of `members` with `strategy` as the admin; its name.
pub async fn create_queue(
    s: &TestServer,
    name: &str,
    team: &str,
    strategy: pb::RoutingStrategy,
    members: &[&str],
) -> String {
    admin(s)
        .queues
        .create_queue(pb::CreateQueueRequest {
            queue: Some(pb::Queue {
                display_name: name.into(),
                strategy: strategy.into(),
                members: members.iter().map(|m| (*m).to_owned()).collect(),
                team_id: team.into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("create queue")
        .into_inner()
        .name
}

/// A customer owned by `owner` in `team`, created by the admin; its name.
pub async fn customer(s: &TestServer, name: &str, phone: &str, owner: &str, team: &str) -> String {
    admin(s)
        .customers
        .create_customer(cpb::CreateCustomerRequest {
            customer: Some(cpb::Customer {
                kind: cpb::CustomerKind::Person.into(),
                display_name: name.into(),
                phones: vec![cpb::Phone {
                    number: phone.into(),
                    ..Default::default()
                }],
                owner_id: owner.into(),
                team_id: team.into(),
                grade: "A".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("create customer")
        .into_inner()
        .name
}

/// A complaint of `customer` in `queue` (empty: the tenant's routing).
pub fn complaint(customer: &str, queue: &str) -> pb::Ticket {
    pb::Ticket {
        r#type: "product_complaint".into(),
        subject: "The sofa arrived scratched".into(),
        description: "Deep scratch on the left armrest.".into(),
        channel: pb::Channel::Store.into(),
        customer: customer.into(),
        category: "delivery damage".into(),
        queue: queue.into(),
        ..Default::default()
    }
}

/// Creates `t` as `c`.
pub async fn create(
    c: &mut Clients,
    t: pb::Ticket,
    request_id: &str,
) -> Result<pb::Ticket, tonic::Status> {
    c.tickets
        .create_ticket(pb::CreateTicketRequest {
            ticket: Some(t),
            request_id: request_id.into(),
        })
        .await
        .map(|r| r.into_inner())
}

/// Reads ticket `name` as `c`.
pub async fn get(c: &mut Clients, name: &str) -> Result<pb::Ticket, tonic::Status> {
    c.tickets
        .get_ticket(pb::GetTicketRequest { name: name.into() })
        .await
        .map(|r| r.into_inner())
}

/// Moves ticket `name` to `state` as `c`.
pub async fn set_state(
    c: &mut Clients,
    name: &str,
    state: pb::TicketState,
    reason: &str,
) -> Result<pb::Ticket, tonic::Status> {
    c.tickets
        .change_ticket_state(pb::ChangeTicketStateRequest {
            name: name.into(),
            state: state.into(),
            reason: reason.into(),
            etag: String::new(),
            request_id: String::new(),
        })
        .await
        .map(|r| r.into_inner())
}

/// Adds a comment as `c`.
pub async fn comment(
    c: &mut Clients,
    ticket: &str,
    body: &str,
    public: bool,
    from_customer: bool,
) -> Result<pb::Comment, tonic::Status> {
    c.tickets
        .add_comment(pb::AddCommentRequest {
            parent: ticket.into(),
            comment: Some(pb::Comment {
                body: body.into(),
                public,
                from_customer,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .map(|r| r.into_inner())
}

/// The ticket's history kinds, oldest first.
pub async fn history(c: &mut Clients, ticket: &str) -> Vec<pb::TicketEvent> {
    c.tickets
        .list_ticket_events(pb::ListTicketEventsRequest {
            parent: ticket.into(),
            page_size: 1000,
            page_token: String::new(),
        })
        .await
        .expect("history")
        .into_inner()
        .events
}

/// Replaces the tenant's settings fields in `paths` with `settings`, as the admin.
pub async fn set_settings(
    s: &TestServer,
    settings: pb::TicketSettings,
    paths: &[&str],
) -> pb::TicketSettings {
    admin(s)
        .tickets
        .update_ticket_settings(pb::UpdateTicketSettingsRequest {
            settings: Some(settings),
            update_mask: mask(paths),
            etag: String::new(),
        })
        .await
        .expect("update settings")
        .into_inner()
}

/// The SLA target `kind` of `t`.
pub fn target(t: &pb::Ticket, kind: pb::SlaTargetKind) -> pb::SlaTarget {
    t.sla_targets
        .iter()
        .find(|x| x.kind == kind as i32)
        .cloned()
        .unwrap_or_else(|| panic!("{} has no {kind:?} target", t.name))
}

/// A working interval "HH:MM"–"HH:MM".
fn hours(start: &str, end: &str) -> pb::WorkInterval {
    pb::WorkInterval {
        start: start.into(),
        end: end.into(),
    }
}

/// The store chain's service hours in Shanghai: 09:00–12:00 and 13:30–18:00 on weekdays;
/// National Day 2026 (October 1–7) closed, and the make-up days Sunday September 27 and
/// Saturday October 10 worked.
pub fn shanghai_calendar() -> pb::BusinessCalendar {
    let weekday = pb::DayHours {
        intervals: vec![hours("09:00", "12:00"), hours("13:30", "18:00")],
    };
    let mut week = vec![weekday; 5];
    week.extend([pb::DayHours::default(), pb::DayHours::default()]);
    let day = |m, d| rapport_testkit::values::date(2026, m, d).expect("date");
    pb::BusinessCalendar {
        key: "shanghai".into(),
        time_zone: "Asia/Shanghai".into(),
        week,
        holidays: (1..=7).map(|d| day(10, d)).collect(),
        extra_working_days: vec![day(9, 27), day(10, 10)],
        extra_day_hours: None,
    }
}

/// Complaints timed on the Shanghai calendar (first response in 60 working minutes,
/// resolution in 480, at risk at 75%), with escalation rules: at risk → notify the assignee
/// (level 1); breached → raise the priority and escalate to the supervisor (level 2).
pub async fn complaint_sla(s: &TestServer) {
    set_settings(
        s,
        pb::TicketSettings {
            calendars: vec![shanghai_calendar()],
            sla_policies: vec![pb::SlaPolicy {
                display_name: "Complaints".into(),
                conditions: Some(pb::TicketConditions {
                    types: vec!["product_complaint".into()],
                    ..Default::default()
                }),
                calendar: "shanghai".into(),
                first_response_minutes: 60,
                next_response_minutes: 120,
                resolution_minutes: 480,
                warning_percent: 75,
            }],
            escalation_rules: vec![
                pb::EscalationRule {
                    display_name: "Warn the agent".into(),
                    on: pb::SlaState::AtRisk.into(),
                    target: pb::SlaTargetKind::Resolution.into(),
                    level: 1,
                    actions: vec![pb::EscalationAction {
                        kind: pb::EscalationActionKind::Notify.into(),
                        ..Default::default()
                    }],
                    conditions: None,
                },
                pb::EscalationRule {
                    display_name: "To the supervisor".into(),
                    on: pb::SlaState::Breached.into(),
                    target: pb::SlaTargetKind::Resolution.into(),
                    level: 2,
                    actions: vec![
                        pb::EscalationAction {
                            kind: pb::EscalationActionKind::RaisePriority.into(),
                            ..Default::default()
                        },
                        pb::EscalationAction {
                            kind: pb::EscalationActionKind::EscalateToSupervisor.into(),
                            ..Default::default()
                        },
                    ],
                    conditions: None,
                },
            ],
            ..Default::default()
        },
        &["calendars", "sla_policies", "escalation_rules"],
    )
    .await;
}
