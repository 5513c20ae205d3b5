//! ConvertLead (LE3) through gRPC on every backend: the customer is created in the customers
//! service (or the existing duplicate linked), the opportunity in the lead's pipeline, and the
//! lead marked CONVERTED; retries and refusals create nothing twice.

use rapport_proto::{customers as cpb, types as pt};
use rapport_runtime::auth::Role;
use rapport_testkit::{TestServer, each_backend};
use tonic::{Code, Status};

use super::*;

/// The customers service, as the admin of tenant t1.
fn customers(s: &TestServer) -> Customers {
    customers_as(s, s.admin())
}

/// Every customer of tenant t1.
async fn all_customers(s: &TestServer) -> Vec<cpb::Customer> {
    customers(s)
        .list_customers(cpb::ListCustomersRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("list customers")
        .into_inner()
        .customers
}

/// Every opportunity of tenant t1.
async fn all_opportunities(s: &TestServer) -> Vec<pb::Opportunity> {
    admin(s)
        .pipelines
        .list_opportunities(pb::ListOpportunitiesRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("list opportunities")
        .into_inner()
        .opportunities
}

/// Team north with the reps rep-1 and rep-2.
async fn add_org(s: &TestServer) {
    let mut a = admin(s);
    a.org
        .create_team(pb::CreateTeamRequest {
            team: Some(pb::Team {
                name: "teams/north".into(),
                display_name: "North".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("create team");
    for subject in ["rep-1", "rep-2"] {
        a.org
            .create_rep(pb::CreateRepRequest {
                rep: Some(pb::Rep {
                    name: format!("reps/{subject}"),
                    display_name: format!("Rep {subject}"),
                    team: "teams/north".into(),
                    ..Default::default()
                }),
            })
            .await
            .expect("create rep");
    }
}

fn new_lead(display_name: &str, phone: &str) -> pb::Lead {
    pb::Lead {
        display_name: display_name.into(),
        phone: phone.into(),
        source: pb::LeadSource::WalkIn.into(),
        ..Default::default()
    }
}

/// Creates `lead` in the public pool (as the admin).
async fn pooled(s: &TestServer, lead: pb::Lead) -> pb::Lead {
    admin(s)
        .leads
        .create_lead(pb::CreateLeadRequest {
            lead: Some(lead),
            request_id: String::new(),
        })
        .await
        .expect("create lead")
        .into_inner()
}

/// Creates `lead` and assigns it to rep-1; the lead as assigned.
async fn owned(s: &TestServer, lead: pb::Lead) -> pb::Lead {
    let created = pooled(s, lead).await;
    admin(s)
        .leads
        .assign_lead(pb::AssignLeadRequest {
            name: created.name,
            rep: "reps/rep-1".into(),
            ..Default::default()
        })
        .await
        .expect("assign lead")
        .into_inner()
        .lead
        .expect("assigned lead")
}

async fn set_state(s: &TestServer, name: &str, state: pb::LeadState, reason: &str) -> pb::Lead {
    admin(s)
        .leads
        .update_lead(pb::UpdateLeadRequest {
            lead: Some(pb::Lead {
                name: name.into(),
                state: state.into(),
                unqualified_reason: reason.into(),
                ..Default::default()
            }),
            update_mask: mask(&["state", "unqualified_reason"]),
        })
        .await
        .expect("update state")
        .into_inner()
}

/// An owned, QUALIFIED lead, ready to convert.
async fn qualified(s: &TestServer, lead: pb::Lead) -> pb::Lead {
    let lead = owned(s, lead).await;
    set_state(s, &lead.name, pb::LeadState::Qualified, "").await
}

fn convert_req(name: &str, request_id: &str) -> pb::ConvertLeadRequest {
    pb::ConvertLeadRequest {
        name: name.into(),
        request_id: request_id.into(),
        ..Default::default()
    }
}

async fn convert(
    c: &mut Clients,
    req: pb::ConvertLeadRequest,
) -> Result<pb::ConvertLeadResponse, Status> {
    c.leads
        .convert_lead(req)
        .await
        .map(tonic::Response::into_inner)
}

async fn fetch(s: &TestServer, name: &str) -> pb::Lead {
    admin(s)
        .leads
        .get_lead(pb::GetLeadRequest { name: name.into() })
        .await
        .expect("get lead")
        .into_inner()
}

/// Asserts nothing was converted: the lead as it was, no customer, no opportunity.
async fn assert_untouched(s: &TestServer, lead: &pb::Lead) {
    assert_eq!(&fetch(s, &lead.name).await, lead);
    assert!(all_customers(s).await.is_empty());
    assert!(all_opportunities(s).await.is_empty());
}

#[tokio::test]
async fn conversion_creates_the_customer_and_an_opportunity_in_the_first_stage() {
    each_backend(&services(), async |s| {
        add_org(s).await;
        let lead = qualified(
            s,
            pb::Lead {
                email: "Wei@Example.com".into(),
                attribution: Some(pb::Attribution {
                    channel: "wechat".into(),
                    ..Default::default()
                }),
                needs: Some(pb::Needs {
                    budget: money("CNY", 1_000_000),
                    ..Default::default()
                }),
                ..new_lead("张伟", "138 1234 5678")
            },
        )
        .await;
        assert_eq!(lead.owner_id, "rep-1");
        let done = convert(
            &mut admin(s),
            pb::ConvertLeadRequest {
                etag: lead.etag.clone(),
                ..convert_req(&lead.name, "conv-1")
            },
        )
        .await
        .expect("convert");

        assert!(done.customer.starts_with("customers/"));
        assert!(!done.existing_customer);
        let opportunity = done.opportunity.clone().expect("opportunity");
        assert!(opportunity.name.starts_with("opportunities/"));
        assert_eq!(opportunity.display_name, "张伟");
        assert_eq!(opportunity.pipeline, "pipelines/real-estate");
        assert_eq!(opportunity.stage, "online_viewing");
        assert_eq!(opportunity.state, i32::from(pb::OpportunityState::Open));
        assert_eq!(opportunity.lead, lead.name);
        assert_eq!(opportunity.customer, done.customer);
        assert_eq!(
            opportunity.amount,
            money("CNY", 1_000_000),
            "the lead's budget"
        );
        assert_eq!(opportunity.owner_id, "rep-1");
        assert_eq!(opportunity.team_id, "north");
        assert_eq!(opportunity.source, i32::from(pb::LeadSource::WalkIn));

        let converted = done.lead.clone().expect("lead");
        assert_eq!(converted.state, i32::from(pb::LeadState::Converted));
        assert_eq!(converted.customer, done.customer);
        assert_eq!(converted.opportunity, opportunity.name);
        assert_eq!(converted.owner_id, "rep-1");
        assert!(!converted.recall && !converted.call_flag);
        assert_ne!(converted.etag, lead.etag);
        assert_eq!(fetch(s, &lead.name).await, converted);

        // The customer lives in the customers service, with the lead's contact data and owner.
        let customer = customers(s)
            .get_customer(cpb::GetCustomerRequest {
                name: done.customer.clone(),
            })
            .await
            .expect("get customer")
            .into_inner();
        assert_eq!(customer.display_name, "张伟");
        assert_eq!(customer.phones[0].number, "+8613812345678");
        assert_eq!(customer.emails[0].address, "wei@example.com");
        assert_eq!(customer.kind, i32::from(cpb::CustomerKind::Person));
        assert_eq!(customer.source_channel, "wechat");
        assert_eq!(
            (customer.owner_id.as_str(), customer.team_id.as_str()),
            ("rep-1", "north")
        );
        assert_eq!(all_customers(s).await, [customer]);
        assert_eq!(all_opportunities(s).await, [opportunity]);
    })
    .await;
}

#[tokio::test]
async fn the_request_names_the_opportunity_its_amount_and_close_date() {
    each_backend(&services(), async |s| {
        add_org(s).await;
        let lead = qualified(s, new_lead("张伟", "13812345678")).await;
        let done = convert(
            &mut admin(s),
            pb::ConvertLeadRequest {
                pipeline: "pipelines/real-estate".into(),
                opportunity_display_name: " 张伟的新房 ".into(),
                amount: money("CNY", 2_000_000),
                expected_close_date: Some(pt::Date {
                    year: 2030,
                    month: 6,
                    day: 30,
                }),
                ..convert_req(&lead.name, "conv-1")
            },
        )
        .await
        .expect("convert");
        let opportunity = done.opportunity.expect("opportunity");
        assert_eq!(opportunity.display_name, "张伟的新房");
        assert_eq!(opportunity.amount, money("CNY", 2_000_000));
        assert_eq!(
            opportunity.expected_close_date,
            Some(pt::Date {
                year: 2030,
                month: 6,
                day: 30
            })
        );
        // A lead being contacted converts too; without a budget or amount there is no amount.
        let contacting = owned(s, new_lead("李娜", "13900001111")).await;
        let contacting = set_state(s, &contacting.name, pb::LeadState::Contacting, "").await;
        let done = convert(&mut admin(s), convert_req(&contacting.name, "conv-2"))
            .await
            .expect("convert a lead being contacted");
        assert_eq!(done.opportunity.expect("opportunity").amount, None);
        assert_eq!(all_customers(s).await.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_retry_answers_the_same_and_creates_nothing_more() {
    each_backend(&services(), async |s| {
        add_org(s).await;
        let lead = qualified(s, new_lead("张伟", "13812345678")).await;
        let mut c = admin(s);
        let first = convert(&mut c, convert_req(&lead.name, "conv-1"))
            .await
            .expect("convert");
        let again = convert(&mut c, convert_req(&lead.name, "conv-1"))
            .await
            .expect("retry");
        assert_eq!(again, first);
        assert_eq!(all_customers(s).await.len(), 1);
        assert_eq!(all_opportunities(s).await.len(), 1);

        // Another request id is another conversion, of a converted lead.
        let status = assert_code(
            convert(&mut c, convert_req(&lead.name, "conv-2")).await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&status), "LEAD_CONVERTED");
        assert_eq!(all_customers(s).await.len(), 1);
        assert_eq!(all_opportunities(s).await.len(), 1);
        assert_eq!(Some(fetch(s, &lead.name).await), first.lead);
    })
    .await;
}

#[tokio::test]
async fn an_existing_customer_with_the_same_phone_is_linked() {
    each_backend(&services(), async |s| {
        add_org(s).await;
        let existing = customers(s)
            .create_customer(cpb::CreateCustomerRequest {
                customer: Some(cpb::Customer {
                    kind: cpb::CustomerKind::Person.into(),
                    display_name: "张先生".into(),
                    phones: vec![cpb::Phone {
                        number: "+86 138 1234 5678".into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("create customer")
            .into_inner();
        let lead = qualified(s, new_lead("张伟", "138-1234-5678")).await;
        let done = convert(&mut admin(s), convert_req(&lead.name, "conv-1"))
            .await
            .expect("convert");
        assert!(done.existing_customer);
        assert_eq!(done.customer, existing.name);
        assert_eq!(done.lead.expect("lead").customer, existing.name);
        assert_eq!(
            done.opportunity.expect("opportunity").customer,
            existing.name
        );
        assert_eq!(all_customers(s).await, [existing]);
        assert_eq!(all_opportunities(s).await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn only_owned_open_live_leads_convert() {
    each_backend(&services(), async |s| {
        add_org(s).await;
        let mut c = admin(s);
        let in_pool = pooled(s, new_lead("公海", "13800000001")).await;
        let status = assert_code(
            convert(&mut c, convert_req(&in_pool.name, "conv-pool")).await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&status), "LEAD_IN_POOL");
        assert_untouched(s, &in_pool).await;

        let unqualified = owned(s, new_lead("无效", "13800000002")).await;
        let unqualified =
            set_state(s, &unqualified.name, pb::LeadState::Unqualified, "预算不足").await;
        let status = assert_code(
            convert(&mut c, convert_req(&unqualified.name, "conv-unq")).await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&status), "LEAD_UNQUALIFIED");
        assert_untouched(s, &unqualified).await;

        let lead = qualified(s, new_lead("张伟", "13812345678")).await;
        let stale = lead.etag.clone();
        let lead = set_state(s, &lead.name, pb::LeadState::Contacting, "").await;
        let status = assert_code(
            convert(
                &mut c,
                pb::ConvertLeadRequest {
                    etag: stale,
                    ..convert_req(&lead.name, "conv-stale")
                },
            )
            .await,
            Code::Aborted,
        );
        assert_eq!(reason(&status), "ETAG_MISMATCH");
        assert_untouched(s, &lead).await;

        let deleted = c
            .leads
            .delete_lead(pb::DeleteLeadRequest {
                name: lead.name.clone(),
                etag: String::new(),
            })
            .await
            .expect("delete")
            .into_inner();
        let status = assert_code(
            convert(&mut c, convert_req(&lead.name, "conv-deleted")).await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&status), "LEAD_DELETED");
        assert_untouched(s, &deleted).await;
    })
    .await;
}

#[tokio::test]
async fn convert_names_every_bad_field_at_once() {
    each_backend(&services(), async |s| {
        add_org(s).await;
        let mut c = admin(s);
        let status = assert_code(
            convert(
                &mut c,
                pb::ConvertLeadRequest {
                    name: "leads/x".into(),
                    pipeline: "stages/x".into(),
                    opportunity_display_name: "o".repeat(201),
                    amount: money("cny", -5),
                    expected_close_date: Some(pt::Date {
                        year: 2030,
                        month: 13,
                        day: 1,
                    }),
                    request_id: " ".into(),
                    etag: String::new(),
                },
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&status),
            [
                "name",
                "pipeline",
                "opportunity_display_name",
                "amount.currency_code",
                "amount.minor_units",
                "expected_close_date",
                "request_id",
            ]
        );

        let lead = qualified(s, new_lead("张伟", "13812345678")).await;
        let status = assert_code(
            convert(&mut c, convert_req(&lead.name, "")).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["request_id"]);
        let status = assert_code(
            convert(&mut c, convert_req(&lead.name, &"r".repeat(129))).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["request_id"]);
        let status = assert_code(
            convert(
                &mut c,
                pb::ConvertLeadRequest {
                    expected_close_date: Some(pt::Date {
                        year: 2030,
                        month: 2,
                        day: 30,
                    }),
                    ..convert_req(&lead.name, "conv-1")
                },
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["expected_close_date"]);
        // A pipeline the tenant does not have is refused before any customer is created.
        let status = assert_code(
            convert(
                &mut c,
                pb::ConvertLeadRequest {
                    pipeline: "pipelines/nope".into(),
                    ..convert_req(&lead.name, "conv-1")
                },
            )
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["pipeline"]);
        assert_untouched(s, &lead).await;
    })
    .await;
}

#[tokio::test]
async fn owners_managers_and_admins_convert_and_nobody_else() {
    each_backend(&services(), async |s| {
        add_org(s).await;
        let lead = qualified(s, new_lead("张伟", "13812345678")).await;
        for r in [Role::Marketer, Role::Partner, Role::ServiceAgent] {
            let mut c = as_user(s, "t1", "someone", &[r]);
            assert_code(
                convert(&mut c, convert_req(&lead.name, "conv-1")).await,
                Code::PermissionDenied,
            );
        }
        for authorization in [None, Some("Bearer not-a-jwt")] {
            assert_code(
                convert(
                    &mut anonymous(s, authorization),
                    convert_req(&lead.name, "conv-1"),
                )
                .await,
                Code::Unauthenticated,
            );
        }
        assert_code(
            convert(&mut stranger(s), convert_req(&lead.name, "conv-1")).await,
            Code::NotFound,
        );
        // Another rep, even of the same team, does not see the lead.
        assert_code(
            convert(
                &mut rep(s, "rep-2", "north"),
                convert_req(&lead.name, "conv-1"),
            )
            .await,
            Code::NotFound,
        );
        // Nor does the manager of another team.
        assert_code(
            convert(
                &mut manager(s, "mgr-s", "south"),
                convert_req(&lead.name, "conv-1"),
            )
            .await,
            Code::NotFound,
        );
        assert_untouched(s, &lead).await;

        // The owner converts its lead; the customer is its own.
        let done = convert(
            &mut rep(s, "rep-1", "north"),
            convert_req(&lead.name, "conv-1"),
        )
        .await
        .expect("the owner converts");
        assert_eq!(
            done.lead.expect("lead").state,
            i32::from(pb::LeadState::Converted)
        );
        let customer = customers(s)
            .get_customer(cpb::GetCustomerRequest {
                name: done.customer.clone(),
            })
            .await
            .expect("get customer")
            .into_inner();
        assert_eq!(customer.owner_id, "rep-1");

        // The owner's manager converts another of its leads.
        let other = qualified(s, new_lead("李娜", "13900001111")).await;
        let done = convert(
            &mut manager(s, "mgr-n", "north"),
            convert_req(&other.name, "conv-2"),
        )
        .await
        .expect("the manager converts");
        assert_eq!(done.opportunity.expect("opportunity").owner_id, "rep-1");
        assert_eq!(all_customers(s).await.len(), 2);
        assert_eq!(all_opportunities(s).await.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_refusal_of_the_customers_service_changes_nothing_and_a_retry_completes() {
    each_backend(&services(), async |s| {
        add_org(s).await;
        // The tenant requires a field of every customer that a lead cannot give.
        let require = async |required: bool| {
            customers(s)
                .update_customer_settings(cpb::UpdateCustomerSettingsRequest {
                    settings: Some(cpb::CustomerSettings {
                        custom_fields: vec![cpb::CustomFieldDefinition {
                            key: "house_size".into(),
                            display_name: "House size".into(),
                            r#type: cpb::CustomFieldType::String.into(),
                            required,
                            options: Vec::new(),
                        }],
                        ..Default::default()
                    }),
                    update_mask: mask(&["custom_fields"]),
                })
                .await
                .expect("update customer settings");
        };
        require(true).await;
        let lead = qualified(s, new_lead("张伟", "13812345678")).await;
        let mut c = admin(s);
        let status = assert_code(
            convert(&mut c, convert_req(&lead.name, "conv-1")).await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&status), "CUSTOMER_INVALID");
        // Nothing moved: still QUALIFIED in rep-1's pool, no customer, no opportunity.
        assert_untouched(s, &lead).await;

        // Once the customers service accepts it, the same request completes, once.
        require(false).await;
        let done = convert(&mut c, convert_req(&lead.name, "conv-1"))
            .await
            .expect("retry after the refusal");
        assert!(!done.existing_customer);
        let again = convert(&mut c, convert_req(&lead.name, "conv-1"))
            .await
            .expect("retry after the success");
        assert_eq!(again, done);
        assert_eq!(all_customers(s).await.len(), 1);
        assert_eq!(all_opportunities(s).await.len(), 1);
        assert_eq!(Some(fetch(s, &lead.name).await), done.lead);
    })
    .await;
}

/// A request id belongs to whoever sent it: an attacker in the tenant who sends the ids another
/// user used (the README's, say) runs requests of its own and never receives that user's
/// answers, in every method that takes a request id; the same id sent again by its owner with a
/// different request is refused.
#[tokio::test]
async fn another_users_request_id_never_replays_their_answer() {
    each_backend(&services(), async |s| {
        add_org(s).await;
        let mut a = admin(s);
        let mut victim = rep(s, "rep-1", "north");
        let mut attacker = rep(s, "rep-2", "north");
        let mut attacker_customers = customers_as(s, s.rep("rep-2", "north"));
        let person = |name: &str, phone: &str| cpb::Customer {
            kind: cpb::CustomerKind::Person.into(),
            display_name: name.into(),
            phones: vec![cpb::Phone {
                number: phone.into(),
                ..Default::default()
            }],
            ..Default::default()
        };

        // CreateCustomer and CreateActivity: the admin's customer is not the attacker's to see.
        let zhang = customers(s)
            .create_customer(cpb::CreateCustomerRequest {
                customer: Some(person("张伟", "13812345678")),
                request_id: "walkthrough-zhang-wei".into(),
            })
            .await
            .expect("the admin creates 张伟")
            .into_inner();
        let x = attacker_customers
            .create_customer(cpb::CreateCustomerRequest {
                customer: Some(person("x", "13900000001")),
                request_id: "walkthrough-zhang-wei".into(),
            })
            .await
            .expect("the attacker's own create")
            .into_inner();
        assert_eq!(x.display_name, "x");
        assert_ne!(x.name, zhang.name);
        let activity = |parent: &str, content: &str| cpb::CreateActivityRequest {
            parent: parent.into(),
            activity: Some(cpb::Activity {
                kind: cpb::ActivityKind::Note.into(),
                content: content.into(),
                ..Default::default()
            }),
            request_id: "visit-1".into(),
        };
        let visit = customers(s)
            .create_activity(activity(&zhang.name, "量房：客厅和主卧"))
            .await
            .expect("the admin's visit")
            .into_inner();
        let note = attacker_customers
            .create_activity(activity(&x.name, "mine"))
            .await
            .expect("the attacker's own note")
            .into_inner();
        assert_eq!(note.content, "mine");
        assert_ne!(note.name, visit.name);

        // CreateLead, CreateTask, CreateOpportunity.
        let lead_req = |name: &str, phone: &str| pb::CreateLeadRequest {
            lead: Some(new_lead(name, phone)),
            request_id: "lead-1".into(),
        };
        let theirs = a.leads.create_lead(lead_req("王芳", "13700000001")).await;
        let theirs = theirs.expect("the admin's lead").into_inner();
        let mine = attacker
            .leads
            .create_lead(lead_req("x", "13700000002"))
            .await;
        let mine = mine.expect("the attacker's own lead").into_inner();
        assert_eq!(mine.display_name, "x");
        assert_ne!(mine.name, theirs.name);

        let task_req = |title: &str| pb::CreateTaskRequest {
            task: Some(pb::Task {
                kind: pb::TaskKind::Call.into(),
                title: title.into(),
                due_time: Some(prost_types::Timestamp {
                    seconds: 1_900_000_000,
                    nanos: 0,
                }),
                ..Default::default()
            }),
            request_id: "task-1".into(),
        };
        let their_task = victim.tasks.create_task(task_req("call 王芳")).await;
        let their_task = their_task.expect("the victim's task").into_inner();
        let my_task = attacker.tasks.create_task(task_req("x")).await;
        let my_task = my_task.expect("the attacker's own task").into_inner();
        assert_eq!(
            (my_task.title.as_str(), my_task.assignee_id.as_str()),
            ("x", "rep-2")
        );
        assert_ne!(my_task.name, their_task.name);

        let opportunity_req = |name: &str| pb::CreateOpportunityRequest {
            opportunity: Some(pb::Opportunity {
                display_name: name.into(),
                pipeline: "pipelines/real-estate".into(),
                ..Default::default()
            }),
            request_id: "opp-1".into(),
        };
        let their_deal = victim
            .pipelines
            .create_opportunity(opportunity_req("别墅"))
            .await;
        let their_deal = their_deal.expect("the victim's deal").into_inner();
        let my_deal = attacker
            .pipelines
            .create_opportunity(opportunity_req("x"))
            .await;
        let my_deal = my_deal.expect("the attacker's own deal").into_inner();
        assert_eq!(my_deal.display_name, "x");
        assert_ne!(my_deal.name, their_deal.name);

        // ClaimLead: a different lead would come back if the id were the tenant's.
        let first = pooled(s, new_lead("甲", "13600000001")).await;
        let second = pooled(s, new_lead("乙", "13600000002")).await;
        let claim = |name: &str| pb::ClaimLeadRequest {
            name: name.into(),
            request_id: "claim-1".into(),
            ..Default::default()
        };
        let claimed = victim.leads.claim_lead(claim(&first.name)).await;
        assert_eq!(
            claimed.expect("the victim's claim").into_inner().owner_id,
            "rep-1"
        );
        let claimed = attacker.leads.claim_lead(claim(&second.name)).await;
        let claimed = claimed.expect("the attacker's own claim").into_inner();
        assert_eq!(
            (claimed.name.as_str(), claimed.owner_id.as_str()),
            (second.name.as_str(), "rep-2")
        );

        // ConvertLead: the caller's lead is converted, not someone else's conversion returned.
        for lead in [&first, &second] {
            set_state(s, &lead.name, pb::LeadState::Qualified, "").await;
        }
        let victims = convert(&mut victim, convert_req(&first.name, "conv-1")).await;
        let victims = victims.expect("the victim's conversion");
        let attackers = convert(&mut attacker, convert_req(&second.name, "conv-1")).await;
        let attackers = attackers.expect("the attacker's own conversion");
        let converted = attackers.lead.expect("the converted lead");
        assert_eq!(converted.name, second.name);
        assert_eq!(converted.state, i32::from(pb::LeadState::Converted));
        assert_ne!(attackers.customer, victims.customer);
        assert_eq!(
            fetch(s, &second.name).await.state,
            i32::from(pb::LeadState::Converted),
            "the attacker's lead is converted"
        );

        // The owner of an id sending it with another request is refused, and nothing is made.
        let status = assert_code(
            attacker
                .leads
                .create_lead(lead_req("y", "13700000003"))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(reason(&status), "REQUEST_ID_REUSED");
        assert_eq!(bad_fields(&status), ["request_id"]);
        let mut renamed = convert_req(&second.name, "conv-1");
        renamed.opportunity_display_name = "another deal".into();
        let status = assert_code(convert(&mut attacker, renamed).await, Code::InvalidArgument);
        assert_eq!(reason(&status), "REQUEST_ID_REUSED");
        // The same request again is a retry: its first answer.
        let again = attacker
            .leads
            .create_lead(lead_req("x", "13700000002"))
            .await;
        assert_eq!(again.expect("a retry").into_inner(), mine);
    })
    .await;
}

/// Concurrent conversions of one lead with different request ids, under the FLAG policy (which
/// would let every one of them create a customer): one converts, the others are refused, and
/// exactly one customer exists, the one the lead names.
#[tokio::test]
async fn concurrent_conversions_of_one_lead_leave_one_customer() {
    each_backend(&services(), async |s| {
        add_org(s).await;
        customers(s)
            .update_customer_settings(cpb::UpdateCustomerSettingsRequest {
                settings: Some(cpb::CustomerSettings {
                    duplicate_policy: cpb::DuplicatePolicy::Flag.into(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["duplicate_policy".into()],
                }),
            })
            .await
            .expect("flag duplicates");
        let lead = qualified(s, new_lead("张伟", "13812345678")).await;
        let attempts = (0..6).map(|i| {
            let name = lead.name.clone();
            async move {
                let mut c = if i % 2 == 0 {
                    rep(s, "rep-1", "north")
                } else {
                    admin(s)
                };
                convert(&mut c, convert_req(&name, &format!("conv-{i}"))).await
            }
        });
        let results = futures::future::join_all(attempts).await;
        let won: Vec<&pb::ConvertLeadResponse> =
            results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(won.len(), 1, "exactly one conversion: {results:?}");
        for r in results.iter().filter_map(|r| r.as_ref().err()) {
            let why = reason(r);
            assert!(
                why == "LEAD_CONVERTED" || why == "LEAD_CONVERTING",
                "a losing conversion is refused, not failed: {r:?}"
            );
        }
        let all = all_customers(s).await;
        assert_eq!(all.len(), 1, "one customer, no orphan: {all:?}");
        assert_eq!(all[0].name, won[0].customer);
        assert_eq!(fetch(s, &lead.name).await.customer, won[0].customer);
    })
    .await;
}
