//! The staff inbox (X6) on every backend, with the services whose alerts it delivers running
//! beside it: real reminders and warnings of the leads, orders and tickets services reach the
//! person they are for once each; an inbox is listed, counted and marked read by its owner
//! (read by admins and managers), never by anyone else or another tenant; a watch sees what is
//! written after it connected, and on reconnecting what it missed.

use std::time::Duration;

use rapport_campaigns::Campaigns;
use rapport_customers::Customers;
use rapport_leads::Leads;
use rapport_orders::Orders;
use rapport_proto::{
    campaigns::{self as pb, inbox_service_client::InboxServiceClient},
    leads as lpb, orders as opb, tickets as tpb,
};
use rapport_runtime::{
    auth::Role,
    clock::{DAY, HOUR, MINUTE, ManualClock, Micros, to_timestamp},
    context::ServiceEntry,
};
use rapport_testkit::{
    Backend, Bearer, TestServer, each_backend_at,
    status::{assert_code, sorted_bad_fields},
    wait::eventually,
};
use rapport_tickets::Tickets;
use tonic::{Code, Streaming, codegen::InterceptedService, transport::Channel};

use crate::{leads_common, orders_common, tickets_common};

/// 2024-05-01T12:00:00Z.
const T0: Micros = 1_714_564_800_000_000;

/// Campaigns, and the services whose alerts reach the inbox.
fn services() -> Vec<ServiceEntry> {
    vec![
        ServiceEntry::of::<Customers>(),
        ServiceEntry::of::<Leads>(),
        ServiceEntry::of::<Orders>(),
        ServiceEntry::of::<Tickets>(),
        ServiceEntry::of::<Campaigns>(),
    ]
}

type Inbox = InboxServiceClient<InterceptedService<Channel, Bearer>>;

fn inbox(s: &TestServer, bearer: Bearer) -> Inbox {
    InboxServiceClient::with_interceptor(s.channel.clone(), bearer)
}

fn ts(micros: Micros) -> Option<prost_types::Timestamp> {
    Some(to_timestamp(micros))
}

/// Every item of `parent` (the caller's own when empty), newest first.
async fn items(c: &mut Inbox, parent: &str) -> Vec<pb::InboxItem> {
    c.list_inbox_items(pb::ListInboxItemsRequest {
        parent: parent.into(),
        page_size: 1000,
        ..Default::default()
    })
    .await
    .expect("list inbox items")
    .into_inner()
    .inbox_items
}

/// Marks `names` read as `c`.
async fn mark(
    c: &mut Inbox,
    names: &[&str],
) -> Result<pb::MarkInboxItemsReadResponse, tonic::Status> {
    c.mark_inbox_items_read(pb::MarkInboxItemsReadRequest {
        names: names.iter().map(|n| (*n).to_owned()).collect(),
        up_to: None,
    })
    .await
    .map(|r| r.into_inner())
}

/// How many of `items` are of `kind`.
fn count(items: &[pb::InboxItem], kind: pb::InboxItemKind) -> usize {
    items.iter().filter(|i| i.kind() == kind).count()
}

/// Waits until `c`'s own inbox holds `n` items of `kind`.
async fn until(c: &mut Inbox, kind: pb::InboxItemKind, n: usize) {
    eventually(&format!("{n} {kind:?} items"), async || {
        count(&items(c, "").await, kind) >= n
    })
    .await;
}

/// A task of `c`'s caller whose reminder comes at `remind`.
async fn task_reminded_at(c: &mut leads_common::Clients, title: &str, remind: Micros) {
    c.tasks
        .create_task(lpb::CreateTaskRequest {
            task: Some(lpb::Task {
                kind: lpb::TaskKind::Call.into(),
                title: title.into(),
                due_time: ts(remind + HOUR),
                remind_time: ts(remind),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("create task");
}

/// Tickets: agent ag-1 of team care (its supervisor is care-lead) in a queue, complaints timed
/// around the clock (first response in an hour, resolution in eight, at risk at 75%), and a
/// rule telling care-lead when the first response is at risk. A complaint routed to ag-1.
async fn complaint_for_ag1(s: &TestServer) -> tpb::Ticket {
    tickets_common::register_agent(s, "ag-1", "care", 10, &[]).await;
    let queue = tickets_common::create_queue(
        s,
        "Complaints",
        "care",
        tpb::RoutingStrategy::RoundRobin,
        &["ag-1"],
    )
    .await;
    tickets_common::set_settings(
        s,
        tpb::TicketSettings {
            sla_policies: vec![tpb::SlaPolicy {
                display_name: "Complaints".into(),
                conditions: Some(tpb::TicketConditions {
                    types: vec!["product_complaint".into()],
                    ..Default::default()
                }),
                first_response_minutes: 60,
                next_response_minutes: 120,
                resolution_minutes: 480,
                warning_percent: 75,
                ..Default::default()
            }],
            escalation_rules: vec![tpb::EscalationRule {
                display_name: "Tell the lead".into(),
                on: tpb::SlaState::AtRisk.into(),
                target: tpb::SlaTargetKind::FirstResponse.into(),
                level: 1,
                actions: vec![tpb::EscalationAction {
                    kind: tpb::EscalationActionKind::Notify.into(),
                    notify: vec!["care-lead".into()],
                    ..Default::default()
                }],
                conditions: None,
            }],
            ..Default::default()
        },
        &["sla_policies", "escalation_rules"],
    )
    .await;
    let customer = tickets_common::customer(s, "Li Lei", "+8613900000009", "rep-1", "north").await;
    let t = tickets_common::create(
        &mut tickets_common::admin(s),
        tickets_common::complaint(&customer, &queue),
        "",
    )
    .await
    .expect("create ticket");
    assert_eq!(t.assignee, "ag-1");
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_source_alerts_the_person_it_is_for_once() {
    each_backend_at(&services(), T0, async |s, clock| {
        // Leads: a task of rep-1 reminded in an hour; an opportunity of rep-1 in the example
        // pipeline's first stage, which alerts after three days.
        let mut l1 = leads_common::rep(s, "rep-1", "north");
        task_reminded_at(&mut l1, "Call back", T0 + HOUR).await;
        let opportunity = l1
            .pipelines
            .create_opportunity(lpb::CreateOpportunityRequest {
                opportunity: Some(lpb::Opportunity {
                    display_name: "Villa fit-out".into(),
                    pipeline: "pipelines/real-estate".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("create opportunity")
            .into_inner();
        // Orders: a confirmed order of rep-1 with a delivery the day after tomorrow, whose
        // reminder comes a day before.
        let order = orders_common::confirmed_order(s, 0).await;
        let mut o1 = orders_common::rep(s, "rep-1", "north");
        let delivery = o1
            .deliveries
            .schedule_delivery(opb::ScheduleDeliveryRequest {
                parent: order.name.clone(),
                delivery: Some(opb::Delivery {
                    lines: vec![opb::DeliveryLine {
                        line_id: order.lines[0].id.clone(),
                        quantity: 1,
                    }],
                    window_start: ts(T0 + 30 * HOUR),
                    window_end: ts(T0 + 32 * HOUR),
                    address: "12 Garden Road, Hangzhou".into(),
                    installation: true,
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("schedule delivery")
            .into_inner();
        // Tickets: a complaint held by ag-1.
        let ticket = complaint_for_ag1(s).await;

        let mut rep1 = inbox(s, s.rep("rep-1", "north"));
        let mut ag1 = inbox(s, s.auth("t1", "ag-1", &[Role::ServiceAgent]));
        let mut lead = inbox(s, s.manager("care-lead", "care"));

        // 50 minutes: the first response is at risk and its rule tells care-lead.
        clock.advance(50 * MINUTE);
        until(&mut ag1, pb::InboxItemKind::SlaAtRisk, 1).await;
        until(&mut lead, pb::InboxItemKind::Escalation, 1).await;
        // 65 minutes: the first response is breached; rep-1's task reminder is due.
        clock.advance(15 * MINUTE);
        until(&mut ag1, pb::InboxItemKind::SlaBreached, 1).await;
        until(&mut rep1, pb::InboxItemKind::TaskDue, 1).await;
        // Seven hours: the delivery's reminder; the resolution is at risk (no rule: the
        // ticket's own warning).
        clock.advance(6 * HOUR);
        until(&mut rep1, pb::InboxItemKind::DeliveryReminder, 1).await;
        until(&mut ag1, pb::InboxItemKind::SlaAtRisk, 2).await;
        // Three days: the opportunity dwells.
        clock.advance(3 * DAY);
        until(&mut rep1, pb::InboxItemKind::LeadDwell, 1).await;
        until(&mut ag1, pb::InboxItemKind::SlaBreached, 2).await;

        // A few more sweeps and consumer passes: nothing comes twice.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let mine = items(&mut rep1, "").await;
        let kinds: Vec<pb::InboxItemKind> = mine.iter().map(|i| i.kind()).collect();
        assert_eq!(
            kinds,
            [
                pb::InboxItemKind::LeadDwell,
                pb::InboxItemKind::DeliveryReminder,
                pb::InboxItemKind::TaskDue,
            ],
            "newest first"
        );
        assert!(
            mine.iter()
                .all(|i| i.name.starts_with("users/rep-1/inboxItems/"))
        );
        assert_eq!(mine[0].resource, opportunity.name);
        assert_eq!(mine[1].resource, delivery.name);
        assert_eq!(mine[1].due_time, ts(T0 + 30 * HOUR));
        assert!(mine[1].body.contains(&order.name), "{}", mine[1].body);
        assert!(!mine[1].body.contains("Garden Road"), "no address");
        assert!(mine[2].resource.starts_with("tasks/"));
        assert!(mine.iter().all(|i| !i.title.is_empty()
            && !i.source_event_id.is_empty()
            && i.read_time.is_none()));

        let agent = items(&mut ag1, "").await;
        assert_eq!(agent.len(), 4, "{agent:?}");
        assert_eq!(count(&agent, pb::InboxItemKind::SlaAtRisk), 2);
        assert_eq!(count(&agent, pb::InboxItemKind::SlaBreached), 2);
        assert!(agent.iter().all(|i| i.resource == ticket.name));
        let told = items(&mut lead, "").await;
        assert_eq!(told.len(), 1);
        assert!(told[0].body.contains("Tell the lead"), "{}", told[0].body);

        let summary = rep1
            .get_inbox_summary(pb::GetInboxSummaryRequest::default())
            .await
            .expect("summary")
            .into_inner();
        assert_eq!(summary.parent, "users/rep-1");
        assert_eq!(summary.unread_count, 3);
        let by_kind: Vec<(pb::InboxItemKind, i64)> = summary
            .unread_by_kind
            .iter()
            .map(|k| (k.kind(), k.unread_count))
            .collect();
        assert_eq!(
            by_kind,
            [
                (pb::InboxItemKind::LeadDwell, 1),
                (pb::InboxItemKind::TaskDue, 1),
                (pb::InboxItemKind::DeliveryReminder, 1),
            ]
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_inbox_is_paged_counted_and_marked_read_by_its_owner_alone() {
    each_backend_at(&services(), T0, async |s, clock| {
        let mut l1 = leads_common::rep(s, "rep-1", "north");
        for i in 0..5 {
            task_reminded_at(&mut l1, &format!("Call {i}"), T0 + HOUR + i * MINUTE).await;
        }
        let mut l2 = leads_common::rep(s, "rep-2", "north");
        task_reminded_at(&mut l2, "Theirs", T0 + HOUR).await;
        clock.advance(HOUR + 10 * MINUTE);
        let mut rep1 = inbox(s, s.rep("rep-1", "north"));
        let mut rep2 = inbox(s, s.rep("rep-2", "north"));
        until(&mut rep1, pb::InboxItemKind::TaskDue, 5).await;
        until(&mut rep2, pb::InboxItemKind::TaskDue, 1).await;
        let all = items(&mut rep1, "").await;
        assert_eq!(all.len(), 5);
        let theirs = items(&mut rep2, "").await.remove(0);

        // Pages of two, newest first, through the kit's tokens.
        let mut paged = Vec::new();
        let mut token = String::new();
        loop {
            let page = rep1
                .list_inbox_items(pb::ListInboxItemsRequest {
                    page_size: 2,
                    page_token: token.clone(),
                    ..Default::default()
                })
                .await
                .expect("page")
                .into_inner();
            assert!(page.inbox_items.len() <= 2);
            paged.extend(page.inbox_items);
            token = page.next_page_token;
            if token.is_empty() {
                break;
            }
        }
        assert_eq!(paged, all);
        let times: Vec<_> = all.iter().map(|i| i.create_time.unwrap().seconds).collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");

        // Marking two read by name; again changes nothing.
        let two = [all[0].name.as_str(), all[1].name.as_str()];
        let marked = mark(&mut rep1, &two).await.expect("mark");
        assert_eq!(marked.read_count, 2);
        assert_eq!(marked.summary.as_ref().unwrap().unread_count, 3);
        let again = mark(&mut rep1, &two).await.expect("mark again");
        assert_eq!(again.read_count, 0);
        assert_eq!(again.summary.unwrap().unread_count, 3);
        let unread = rep1
            .list_inbox_items(pb::ListInboxItemsRequest {
                unread_only: true,
                kind: pb::InboxItemKind::TaskDue.into(),
                ..Default::default()
            })
            .await
            .expect("unread")
            .into_inner()
            .inbox_items;
        assert_eq!(unread.len(), 3);
        assert!(unread.iter().all(|i| i.read_time.is_none()));
        let other_kind = rep1
            .list_inbox_items(pb::ListInboxItemsRequest {
                kind: pb::InboxItemKind::SlaBreached.into(),
                ..Default::default()
            })
            .await
            .expect("by kind")
            .into_inner();
        assert!(other_kind.inbox_items.is_empty());

        // Another user's item reads as missing, and nothing of the request is marked.
        let status = assert_code(
            mark(&mut rep1, &[&all[2].name, &theirs.name]).await,
            Code::NotFound,
        );
        assert!(status.message().contains(&theirs.name), "{status:?}");
        let made_up = theirs.name.replace("rep-2", "rep-1");
        assert_code(mark(&mut rep1, &[&made_up]).await, Code::NotFound);
        assert_eq!(
            count(&items(&mut rep2, "").await, pb::InboxItemKind::TaskDue),
            1
        );
        assert!(items(&mut rep2, "").await[0].read_time.is_none());

        // Everything up to a time.
        let all_read = rep1
            .mark_inbox_items_read(pb::MarkInboxItemsReadRequest {
                names: Vec::new(),
                up_to: ts(T0 + 2 * HOUR),
            })
            .await
            .expect("mark all")
            .into_inner();
        assert_eq!(all_read.read_count, 3);
        assert_eq!(all_read.summary.unwrap().unread_count, 0);

        // Admins and managers read another user's inbox, but do not mark it.
        let mut admin = inbox(s, s.admin());
        assert_eq!(
            items(&mut admin, "users/rep-2").await,
            std::slice::from_ref(&theirs)
        );
        let mut manager = inbox(s, s.manager("mgr-1", "north"));
        let counted = manager
            .get_inbox_summary(pb::GetInboxSummaryRequest {
                parent: "users/rep-2".into(),
            })
            .await
            .expect("summary of rep-2")
            .into_inner();
        assert_eq!(
            (counted.parent.as_str(), counted.unread_count),
            ("users/rep-2", 1)
        );
        assert_code(mark(&mut manager, &[&theirs.name]).await, Code::NotFound);
        // A rep reads its own alone.
        assert_code(
            rep1.list_inbox_items(pb::ListInboxItemsRequest {
                parent: "users/rep-2".into(),
                ..Default::default()
            })
            .await,
            Code::PermissionDenied,
        );
        assert_code(
            rep1.get_inbox_summary(pb::GetInboxSummaryRequest {
                parent: "users/rep-2".into(),
            })
            .await,
            Code::PermissionDenied,
        );
        // Another tenant's admin sees none of it, naming the same user.
        let mut stranger = inbox(s, s.stranger());
        assert!(items(&mut stranger, "users/rep-2").await.is_empty());
        assert_code(mark(&mut stranger, &[&theirs.name]).await, Code::NotFound);
        // Partners have no inbox; a missing credential is refused.
        let mut partner = inbox(s, s.auth("t1", "partners/p1", &[Role::Partner]));
        assert_code(
            partner
                .get_inbox_summary(pb::GetInboxSummaryRequest::default())
                .await,
            Code::PermissionDenied,
        );
        assert_code(
            inbox(s, Bearer::none())
                .list_inbox_items(pb::ListInboxItemsRequest::default())
                .await,
            Code::Unauthenticated,
        );

        // Bad input names every bad field.
        let bad = assert_code(
            rep1.list_inbox_items(pb::ListInboxItemsRequest {
                parent: "teams/north".into(),
                kind: 99,
                page_size: -1,
                page_token: "garbage".into(),
                ..Default::default()
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&bad),
            ["kind", "page_size", "page_token", "parent"]
        );
        let bad = assert_code(
            rep1.mark_inbox_items_read(pb::MarkInboxItemsReadRequest {
                names: vec!["users/rep-1/inboxItems/nope".into(), "tasks/1".into()],
                up_to: ts(T0),
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(sorted_bad_fields(&bad), ["names[0]", "names[1]", "up_to"]);
        let bad = assert_code(
            rep1.mark_inbox_items_read(pb::MarkInboxItemsReadRequest {
                names: (0..101).map(|_| all[0].name.clone()).collect(),
                up_to: Some(prost_types::Timestamp {
                    seconds: 300_000_000_000,
                    nanos: 0,
                }),
            })
            .await,
            Code::InvalidArgument,
        );
        assert_eq!(sorted_bad_fields(&bad), ["names", "up_to"]);
        let bad = assert_code(
            rep1.mark_inbox_items_read(pb::MarkInboxItemsReadRequest::default())
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(sorted_bad_fields(&bad), ["names"]);
        let bad = assert_code(
            watch(&mut rep1, "users/", "items/1").await,
            Code::InvalidArgument,
        );
        assert_eq!(sorted_bad_fields(&bad), ["last_item", "parent"]);
        assert_code(
            watch(&mut rep1, "users/rep-2", "").await,
            Code::PermissionDenied,
        );
        assert_code(watch(&mut rep1, "", &theirs.name).await, Code::NotFound);
    })
    .await;
}

async fn watch(
    c: &mut Inbox,
    parent: &str,
    last_item: &str,
) -> Result<Streaming<pb::WatchInboxResponse>, tonic::Status> {
    c.watch_inbox(pb::WatchInboxRequest {
        parent: parent.into(),
        last_item: last_item.into(),
    })
    .await
    .map(|r| r.into_inner())
}

/// The next message of a watch.
async fn next(w: &mut Streaming<pb::WatchInboxResponse>) -> pb::watch_inbox_response::Update {
    tokio::time::timeout(Duration::from_secs(20), w.message())
        .await
        .expect("a message in time")
        .expect("the watch goes on")
        .expect("a message")
        .update
        .expect("an update")
}

fn item(u: pb::watch_inbox_response::Update) -> pb::InboxItem {
    match u {
        pb::watch_inbox_response::Update::Item(i) => i,
        other => panic!("an item expected, got {other:?}"),
    }
}

fn unread(u: pb::watch_inbox_response::Update) -> i64 {
    match u {
        pb::watch_inbox_response::Update::Summary(s) => s.unread_count,
        other => panic!("a summary expected, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_watch_gets_new_items_live_and_what_it_missed_on_reconnect() {
    for backend in Backend::all() {
        eprintln!("-- on {backend:?}");
        let clock = ManualClock::at(T0);
        let s = TestServer::builder()
            .clock(clock.clone())
            .start(backend, &services())
            .await;
        let mut l1 = leads_common::rep(&s, "rep-1", "north");
        let mut rep1 = inbox(&s, s.rep("rep-1", "north"));
        let mut live = watch(&mut rep1, "", "").await.expect("watch");
        assert_eq!(unread(next(&mut live).await), 0);

        // An item written after the watch connected reaches it.
        task_reminded_at(&mut l1, "First", T0 + HOUR).await;
        clock.advance(HOUR);
        let first = item(next(&mut live).await);
        assert_eq!(first.kind(), pb::InboxItemKind::TaskDue);
        assert!(first.name.starts_with("users/rep-1/inboxItems/"));
        // A manager watching rep-1's inbox sees it too; marking read sends new counts.
        let mut manager = inbox(&s, s.manager("mgr-1", "north"));
        let mut overseen = watch(&mut manager, "users/rep-1", "").await.expect("watch");
        assert_eq!(unread(next(&mut overseen).await), 1);
        drop(overseen);
        mark(&mut rep1, &[&first.name]).await.expect("mark");
        assert_eq!(unread(next(&mut live).await), 0);
        drop(live);

        // Two items while disconnected: a reconnect with the last item seen gets them first,
        // oldest first, after the counts; then what comes live.
        task_reminded_at(&mut l1, "Second", T0 + 2 * HOUR).await;
        task_reminded_at(&mut l1, "Third", T0 + 3 * HOUR).await;
        clock.advance(HOUR);
        until(&mut rep1, pb::InboxItemKind::TaskDue, 2).await;
        clock.advance(HOUR);
        until(&mut rep1, pb::InboxItemKind::TaskDue, 3).await;
        let mut again = watch(&mut rep1, "", &first.name).await.expect("reconnect");
        assert_eq!(unread(next(&mut again).await), 2);
        let missed = [item(next(&mut again).await), item(next(&mut again).await)];
        assert!(missed[0].body.contains("Second"), "{:?}", missed[0]);
        assert!(missed[1].body.contains("Third"), "{:?}", missed[1]);
        task_reminded_at(&mut l1, "Fourth", T0 + 4 * HOUR).await;
        clock.advance(HOUR);
        let fourth = item(next(&mut again).await);
        assert!(fourth.body.contains("Fourth"), "{fourth:?}");
        drop(again);

        // Distributed: a client of another replica sees the items whichever replica consumed
        // their events, through the stream both tail.
        if backend == Backend::Postgres {
            let replica = s.start_replica().await;
            let channel = Channel::from_shared(format!("http://{}", replica.addr))
                .expect("uri")
                .connect()
                .await
                .expect("connect to the replica");
            let mut there = InboxServiceClient::with_interceptor(channel, s.rep("rep-1", "north"));
            let mut remote = watch(&mut there, "", "").await.expect("watch there");
            assert_eq!(unread(next(&mut remote).await), 3);
            for i in 0..4 {
                task_reminded_at(&mut l1, &format!("Remote {i}"), T0 + 5 * HOUR).await;
            }
            clock.advance(HOUR);
            let mut seen = Vec::new();
            for _ in 0..4 {
                seen.push(item(next(&mut remote).await).body);
            }
            seen.sort();
            assert!(
                seen[0].contains("Remote 0") && seen[3].contains("Remote 3"),
                "{seen:?}"
            );
            drop(remote);
            replica.shutdown().await.expect("stop the replica");
        }
        s.stop().await;
    }
}
