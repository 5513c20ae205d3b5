//! TaskService (LE9, X6) through gRPC on every backend: tasks, their due and overdue lists as
//! the clock moves, and alerts.

use crate::common::*;
use rapport_proto::leads as pb;
use rapport_runtime::{
    auth::Role,
    clock::{DAY, HOUR, MINUTE, Micros, to_timestamp},
    suite::open_db,
};
use rapport_testkit::{TestServer, each_backend, each_backend_at};
use tonic::Code;
use uuid::Uuid;

/// 2024-05-01T12:00:00Z.
const T0: Micros = 1_714_564_800_000_000;

fn ts(micros: Micros) -> Option<prost_types::Timestamp> {
    Some(to_timestamp(micros))
}

fn call(title: &str, due: Micros) -> pb::Task {
    pb::Task {
        kind: pb::TaskKind::Call.into(),
        title: title.into(),
        due_time: ts(due),
        ..Default::default()
    }
}

fn for_assignee(mut t: pb::Task, assignee: &str) -> pb::Task {
    t.assignee_id = assignee.into();
    t
}

async fn create(c: &mut Clients, t: pb::Task) -> pb::Task {
    c.tasks
        .create_task(pb::CreateTaskRequest {
            task: Some(t),
            request_id: String::new(),
        })
        .await
        .expect("create task")
        .into_inner()
}

async fn get(c: &mut Clients, name: &str) -> Result<pb::Task, tonic::Status> {
    c.tasks
        .get_task(pb::GetTaskRequest { name: name.into() })
        .await
        .map(|r| r.into_inner())
}

async fn titles(c: &mut Clients, assignee: &str, view: pb::TaskView) -> Vec<String> {
    let got = c
        .tasks
        .list_tasks(pb::ListTasksRequest {
            assignee_id: assignee.into(),
            view: view.into(),
            ..Default::default()
        })
        .await
        .expect("list tasks")
        .into_inner();
    got.tasks.iter().map(|t| t.title.clone()).collect()
}

async fn add_rep(c: &mut Clients, subject: &str, team: &str) {
    c.org
        .create_team(pb::CreateTeamRequest {
            team: Some(pb::Team {
                name: format!("teams/{team}"),
                display_name: team.into(),
                ..Default::default()
            }),
            request_id: format!("team-{team}"),
        })
        .await
        .expect("create team");
    c.org
        .create_rep(pb::CreateRepRequest {
            rep: Some(pb::Rep {
                name: format!("reps/{subject}"),
                display_name: subject.into(),
                team: format!("teams/{team}"),
                ..Default::default()
            }),
        })
        .await
        .expect("create rep");
}

fn marketer(s: &TestServer) -> Clients {
    as_user(s, "t1", "mkt-1", &[Role::Marketer])
}

fn partner(s: &TestServer) -> Clients {
    as_user(s, "t1", "partner-1", &[Role::Partner])
}

#[tokio::test]
async fn a_rep_makes_its_own_tasks_and_its_team_manager_sees_them() {
    each_backend(&services(), async |s| {
        let mut r1 = rep(s, "rep-1", "north");
        let lead = Uuid::now_v7();
        let input = pb::Task {
            kind: pb::TaskKind::Visit.into(),
            title: "  Home visit: measure the living room ".into(),
            subject: format!("leads/{}", lead.to_string().to_uppercase()),
            due_time: ts(T0 + DAY),
            remind_time: ts(T0 + DAY - HOUR),
            notes: "Bring the fabric samples".into(),
            ..Default::default()
        };
        let created = create(&mut r1, input).await;
        assert!(created.name.starts_with("tasks/"));
        assert_eq!(created.assignee_id, "rep-1");
        assert_eq!(created.title, "Home visit: measure the living room");
        assert_eq!(created.subject, format!("leads/{lead}"));
        assert_eq!(created.kind(), pb::TaskKind::Visit);
        assert_eq!(created.remind_time, ts(T0 + DAY - HOUR));
        assert!(created.complete_time.is_none());
        assert!(!created.etag.is_empty());
        assert_eq!(get(&mut r1, &created.name).await.expect("own"), created);

        for (who, mut c) in [
            ("manager of the team", manager(s, "mgr-1", "north")),
            ("admin", admin(s)),
            ("marketer", marketer(s)),
        ] {
            let got = get(&mut c, &created.name).await;
            assert_eq!(got.as_ref().ok(), Some(&created), "{who}");
        }
        for (who, mut c) in [
            ("another rep of the team", rep(s, "rep-2", "north")),
            ("a manager of another team", manager(s, "mgr-2", "south")),
            ("another tenant", stranger(s)),
        ] {
            let status = get(&mut c, &created.name).await.expect_err(who);
            assert_eq!(status.code(), Code::NotFound, "{who}");
        }
        assert_code(
            get(&mut partner(s), &created.name).await,
            Code::PermissionDenied,
        );
    })
    .await;
}

#[tokio::test]
async fn who_may_give_whom_a_task() {
    each_backend(&services(), async |s| {
        let mut a = admin(s);
        add_rep(&mut a, "rep-1", "north").await;
        add_rep(&mut a, "rep-3", "south").await;

        let mut r1 = rep(s, "rep-1", "north");
        let status = assert_code(
            r1.tasks
                .create_task(pb::CreateTaskRequest {
                    task: Some(for_assignee(call("for rep-2", T0), "rep-2")),
                    request_id: String::new(),
                })
                .await,
            Code::PermissionDenied,
        );
        assert_eq!(reason(&status), "PERMISSION_DENIED");
        // Naming oneself is fine.
        create(&mut r1, for_assignee(call("mine", T0), "rep-1")).await;

        let mut m = manager(s, "mgr-1", "north");
        let given = create(&mut m, for_assignee(call("for rep-1", T0), "rep-1")).await;
        assert_eq!(given.assignee_id, "rep-1");
        assert_eq!(
            get(&mut r1, &given.name).await.expect("the rep sees it"),
            given
        );
        create(&mut m, call("for myself", T0)).await;
        for other in ["rep-3", "ghost"] {
            assert_code(
                m.tasks
                    .create_task(pb::CreateTaskRequest {
                        task: Some(for_assignee(call("not my team", T0), other)),
                        request_id: String::new(),
                    })
                    .await,
                Code::PermissionDenied,
            );
        }

        // An admin gives anyone a task; it belongs to the assignee's team.
        let south = create(&mut a, for_assignee(call("for rep-3", T0), "rep-3")).await;
        assert!(
            get(&mut manager(s, "mgr-3", "south"), &south.name)
                .await
                .is_ok()
        );
        assert_code(get(&mut m, &south.name).await, Code::NotFound);

        assert_code(
            marketer(s)
                .tasks
                .create_task(pb::CreateTaskRequest {
                    task: Some(call("x", T0)),
                    request_id: String::new(),
                })
                .await,
            Code::PermissionDenied,
        );
    })
    .await;
}

#[tokio::test]
async fn a_retried_create_returns_the_first_task() {
    each_backend(&services(), async |s| {
        let mut r1 = rep(s, "rep-1", "north");
        let req = pb::CreateTaskRequest {
            task: Some(call("Call back", T0)),
            request_id: "req-1".into(),
        };
        let first = r1
            .tasks
            .create_task(req.clone())
            .await
            .expect("first")
            .into_inner();
        let again = r1.tasks.create_task(req).await.expect("retry").into_inner();
        assert_eq!(again, first);
        assert_eq!(titles(&mut r1, "", pb::TaskView::All).await, ["Call back"]);
    })
    .await;
}

#[tokio::test]
async fn task_requests_name_every_bad_field() {
    each_backend(&services(), async |s| {
        let mut a = admin(s);
        let status = assert_code(
            a.tasks
                .create_task(pb::CreateTaskRequest {
                    task: Some(pb::Task {
                        kind: 0,
                        title: "t".repeat(501),
                        assignee_id: "a/b".into(),
                        subject: "orders/1".into(),
                        due_time: ts(T0),
                        remind_time: ts(T0 + MINUTE),
                        notes: "n".repeat(2001),
                        ..Default::default()
                    }),
                    request_id: "r".repeat(129),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&status),
            [
                "request_id",
                "task.kind",
                "task.title",
                "task.assignee_id",
                "task.subject",
                "task.remind_time",
                "task.notes",
            ]
        );
        let status = assert_code(
            a.tasks
                .create_task(pb::CreateTaskRequest {
                    task: Some(pb::Task {
                        kind: 42,
                        title: String::new(),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&status),
            ["task.kind", "task.title", "task.due_time"]
        );
        let status = assert_code(
            a.tasks.create_task(pb::CreateTaskRequest::default()).await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["task"]);

        let status = assert_code(get(&mut a, "tasks/42").await, Code::InvalidArgument);
        assert_eq!(bad_fields(&status), ["name"]);

        let status = assert_code(
            a.tasks
                .list_tasks(pb::ListTasksRequest {
                    assignee_id: "a/b".into(),
                    view: 99,
                    due_before: Some(prost_types::Timestamp {
                        seconds: 0,
                        nanos: -1,
                    }),
                    page_size: -1,
                    page_token: "nope".into(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&status),
            [
                "assignee_id",
                "due_before",
                "view",
                "page_size",
                "page_token"
            ]
        );

        let status = assert_code(
            a.tasks
                .update_task(pb::UpdateTaskRequest {
                    task: Some(pb::Task {
                        name: "tasks/x".into(),
                        title: String::new(),
                        due_time: None,
                        ..Default::default()
                    }),
                    update_mask: mask(&["title", "due_time", "kind", "etag"]),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&status),
            [
                "update_mask",
                "update_mask",
                "task.name",
                "task.title",
                "task.due_time"
            ]
        );
        let status = assert_code(
            a.tasks
                .update_task(pb::UpdateTaskRequest {
                    task: Some(call("x", T0)),
                    update_mask: None,
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["update_mask", "task.name"]);

        let status = assert_code(
            a.tasks
                .complete_task(pb::CompleteTaskRequest {
                    name: "leads/0190a5b4-7c2e-7d3a-9f00-1234567890ab".into(),
                    etag: String::new(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["name"]);

        let status = assert_code(
            a.tasks
                .list_alerts(pb::ListAlertsRequest {
                    recipient_id: "a/b".into(),
                    kind: 99,
                    page_size: -1,
                    page_token: "nope".into(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            bad_fields(&status),
            ["recipient_id", "kind", "page_size", "page_token"]
        );
    })
    .await;
}

#[tokio::test]
async fn due_and_overdue_lists_move_with_the_clock() {
    each_backend_at(&services(), T0, async |s, clock| {
        let mut r1 = rep(s, "rep-1", "north");
        for (title, due) in [
            ("tomorrow", T0 + DAY),
            ("in five hours", T0 + 5 * HOUR),
            ("an hour ago", T0 - HOUR),
            ("in an hour", T0 + HOUR),
        ] {
            create(&mut r1, call(title, due)).await;
        }
        let done = create(&mut r1, call("done", T0 + 30 * MINUTE)).await;
        r1.tasks
            .complete_task(pb::CompleteTaskRequest {
                name: done.name.clone(),
                etag: done.etag.clone(),
            })
            .await
            .expect("complete");

        use pb::TaskView::*;
        assert_eq!(
            titles(&mut r1, "", All).await,
            [
                "an hour ago",
                "done",
                "in an hour",
                "in five hours",
                "tomorrow"
            ]
        );
        let open = ["an hour ago", "in an hour", "in five hours", "tomorrow"];
        assert_eq!(titles(&mut r1, "", Open).await, open);
        assert_eq!(titles(&mut r1, "rep-1", Unspecified).await, open);
        assert_eq!(
            titles(&mut r1, "", Due).await,
            ["in an hour", "in five hours"]
        );
        assert_eq!(titles(&mut r1, "", Overdue).await, ["an hour ago"]);
        let horizon = r1
            .tasks
            .list_tasks(pb::ListTasksRequest {
                view: Due.into(),
                due_before: ts(T0 + 2 * DAY),
                ..Default::default()
            })
            .await
            .expect("due within two days")
            .into_inner();
        let got: Vec<_> = horizon.tasks.iter().map(|t| t.title.as_str()).collect();
        assert_eq!(got, ["in an hour", "in five hours", "tomorrow"]);

        clock.advance(2 * HOUR);
        assert_eq!(
            titles(&mut r1, "", Overdue).await,
            ["an hour ago", "in an hour"]
        );
        assert_eq!(titles(&mut r1, "", Due).await, ["in five hours"]);

        // The next day: today's horizon moves to its end.
        clock.set(T0 + 13 * HOUR);
        assert_eq!(titles(&mut r1, "", Due).await, ["tomorrow"]);
        assert_eq!(
            titles(&mut r1, "", Overdue).await,
            ["an hour ago", "in an hour", "in five hours"]
        );

        // Pages by due time.
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let page = r1
                .tasks
                .list_tasks(pb::ListTasksRequest {
                    view: All.into(),
                    page_size: 2,
                    page_token: token.clone(),
                    ..Default::default()
                })
                .await
                .expect("page")
                .into_inner();
            seen.extend(page.tasks.into_iter().map(|t| t.title));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        assert_eq!(
            seen,
            [
                "an hour ago",
                "done",
                "in an hour",
                "in five hours",
                "tomorrow"
            ]
        );

        // Who may list rep-1's tasks.
        let status = assert_code(
            rep(s, "rep-2", "north")
                .tasks
                .list_tasks(pb::ListTasksRequest {
                    assignee_id: "rep-1".into(),
                    ..Default::default()
                })
                .await,
            Code::PermissionDenied,
        );
        assert_eq!(reason(&status), "PERMISSION_DENIED");
        assert_eq!(
            titles(&mut manager(s, "mgr-1", "north"), "rep-1", All)
                .await
                .len(),
            5
        );
        assert!(
            titles(&mut manager(s, "mgr-2", "south"), "rep-1", All)
                .await
                .is_empty()
        );
        assert_eq!(titles(&mut admin(s), "rep-1", Open).await.len(), 4);
        assert!(titles(&mut stranger(s), "rep-1", All).await.is_empty());
        assert_code(
            partner(s)
                .tasks
                .list_tasks(pb::ListTasksRequest::default())
                .await,
            Code::PermissionDenied,
        );
    })
    .await;
}

#[tokio::test]
async fn tasks_are_updated_by_mask_and_etag() {
    each_backend(&services(), async |s| {
        let mut r1 = rep(s, "rep-1", "north");
        let mut input = call("Call back", T0 + DAY);
        input.remind_time = ts(T0 + DAY - HOUR);
        let created = create(&mut r1, input).await;
        let updated = r1
            .tasks
            .update_task(pb::UpdateTaskRequest {
                task: Some(pb::Task {
                    name: created.name.clone(),
                    title: "Call back about the sofa".into(),
                    remind_time: ts(T0 + DAY - 2 * HOUR),
                    notes: "not in the mask".into(),
                    etag: created.etag.clone(),
                    ..Default::default()
                }),
                update_mask: mask(&["title", "remind_time"]),
            })
            .await
            .expect("update")
            .into_inner();
        assert_eq!(updated.title, "Call back about the sofa");
        assert_eq!(updated.remind_time, ts(T0 + DAY - 2 * HOUR));
        assert_eq!(updated.notes, "");
        assert_eq!(updated.due_time, created.due_time);
        assert_ne!(updated.etag, created.etag);

        let status = assert_code(
            r1.tasks
                .update_task(pb::UpdateTaskRequest {
                    task: Some(pb::Task {
                        name: created.name.clone(),
                        title: "stale".into(),
                        etag: created.etag.clone(),
                        ..Default::default()
                    }),
                    update_mask: mask(&["title"]),
                })
                .await,
            Code::Aborted,
        );
        assert_eq!(reason(&status), "ETAG_MISMATCH");

        // The reminder stays before the due time, whichever of the two moves.
        let status = assert_code(
            r1.tasks
                .update_task(pb::UpdateTaskRequest {
                    task: Some(pb::Task {
                        name: created.name.clone(),
                        remind_time: ts(T0 + 2 * DAY),
                        ..Default::default()
                    }),
                    update_mask: mask(&["remind_time"]),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["task.remind_time"]);
        let status = assert_code(
            r1.tasks
                .update_task(pb::UpdateTaskRequest {
                    task: Some(pb::Task {
                        name: created.name.clone(),
                        due_time: ts(T0),
                        ..Default::default()
                    }),
                    update_mask: mask(&["due_time"]),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["task.due_time"]);

        // "*" sets every updatable field: clearing the reminder and the notes.
        let star = r1
            .tasks
            .update_task(pb::UpdateTaskRequest {
                task: Some(pb::Task {
                    name: created.name.clone(),
                    title: "Visit instead".into(),
                    due_time: ts(T0 + 3 * DAY),
                    ..Default::default()
                }),
                update_mask: mask(&["*"]),
            })
            .await
            .expect("update with *")
            .into_inner();
        assert_eq!(star.title, "Visit instead");
        assert_eq!(star.remind_time, None);
        assert_eq!(star.due_time, ts(T0 + 3 * DAY));
        assert_eq!(star.kind(), pb::TaskKind::Call);

        let patch = pb::UpdateTaskRequest {
            task: Some(pb::Task {
                name: created.name.clone(),
                title: "x".into(),
                ..Default::default()
            }),
            update_mask: mask(&["title"]),
        };
        for (who, mut c) in [
            ("another rep", rep(s, "rep-2", "north")),
            ("another tenant", stranger(s)),
        ] {
            let status = c.tasks.update_task(patch.clone()).await.expect_err(who);
            assert_eq!(status.code(), Code::NotFound, "{who}");
        }
        assert_code(
            marketer(s).tasks.update_task(patch.clone()).await,
            Code::PermissionDenied,
        );

        r1.tasks
            .complete_task(pb::CompleteTaskRequest {
                name: created.name.clone(),
                etag: String::new(),
            })
            .await
            .expect("complete");
        let status = assert_code(r1.tasks.update_task(patch).await, Code::FailedPrecondition);
        assert_eq!(reason(&status), "TASK_COMPLETED");
    })
    .await;
}

#[tokio::test]
async fn a_task_is_completed_once() {
    each_backend_at(&services(), T0, async |s, clock| {
        let mut r1 = rep(s, "rep-1", "north");
        let created = create(&mut r1, call("Call back", T0 + HOUR)).await;
        let req = |etag: &str| pb::CompleteTaskRequest {
            name: created.name.clone(),
            etag: etag.into(),
        };
        for (who, mut c) in [
            ("another rep", rep(s, "rep-2", "north")),
            ("another tenant", stranger(s)),
        ] {
            let status = c.tasks.complete_task(req("")).await.expect_err(who);
            assert_eq!(status.code(), Code::NotFound, "{who}");
        }
        assert_code(
            marketer(s).tasks.complete_task(req("")).await,
            Code::PermissionDenied,
        );
        let renamed = r1
            .tasks
            .update_task(pb::UpdateTaskRequest {
                task: Some(pb::Task {
                    name: created.name.clone(),
                    title: "Call back today".into(),
                    ..Default::default()
                }),
                update_mask: mask(&["title"]),
            })
            .await
            .expect("rename")
            .into_inner();
        let status = assert_code(
            r1.tasks.complete_task(req(&created.etag)).await,
            Code::Aborted,
        );
        assert_eq!(reason(&status), "ETAG_MISMATCH");

        clock.advance(10 * MINUTE);
        // Its team's manager may complete it too.
        let done = manager(s, "mgr-1", "north")
            .tasks
            .complete_task(req(&renamed.etag))
            .await
            .expect("complete")
            .into_inner();
        assert_eq!(done.complete_time, ts(T0 + 10 * MINUTE));
        assert_eq!(done.title, "Call back today");
        let status = assert_code(
            r1.tasks.complete_task(req("")).await,
            Code::FailedPrecondition,
        );
        assert_eq!(reason(&status), "TASK_ALREADY_COMPLETED");
        assert_eq!(get(&mut r1, &created.name).await.expect("get"), done);
    })
    .await;
}

#[tokio::test]
async fn open_tasks_follow_a_rep_to_its_new_team() {
    each_backend(&services(), async |s| {
        let mut a = admin(s);
        add_rep(&mut a, "rep-1", "north").await;
        add_rep(&mut a, "rep-9", "south").await;
        let mut r1 = rep(s, "rep-1", "north");
        let open = create(&mut r1, call("open", T0)).await;
        let done = create(&mut r1, call("done", T0)).await;
        r1.tasks
            .complete_task(pb::CompleteTaskRequest {
                name: done.name.clone(),
                etag: String::new(),
            })
            .await
            .expect("complete");
        a.org
            .update_rep(pb::UpdateRepRequest {
                rep: Some(pb::Rep {
                    name: "reps/rep-1".into(),
                    team: "teams/south".into(),
                    ..Default::default()
                }),
                update_mask: mask(&["team"]),
            })
            .await
            .expect("move rep");
        let mut north = manager(s, "mgr-1", "north");
        let mut south = manager(s, "mgr-2", "south");
        assert!(get(&mut south, &open.name).await.is_ok());
        assert_code(get(&mut north, &open.name).await, Code::NotFound);
        // Done work stays with the team it was done in.
        assert!(get(&mut north, &done.name).await.is_ok());
        assert_code(get(&mut south, &done.name).await, Code::NotFound);
    })
    .await;
}

/// Alerts are raised by assignment, reclaim, dwell and reminder jobs; here they are written
/// as those would, to test the list on its own.
async fn seed_alert(
    s: &TestServer,
    tenant: &str,
    recipient: &str,
    team: &str,
    kind: &str,
    create_time: Micros,
) -> String {
    let db = open_db(&s.args, "leads").await.expect("open the leads db");
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO alerts (tenant_id, id, recipient_id, team_id, kind, subject, message, \
         due_time, dedupe_key, create_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(tenant)
    .bind(id.to_string())
    .bind(recipient)
    .bind(team)
    .bind(kind)
    .bind(format!("leads/{}", Uuid::now_v7()))
    .bind(format!("{kind} for {recipient}"))
    .bind(Some(create_time + HOUR))
    .bind(id.to_string())
    .bind(create_time)
    .execute(db.pool())
    .await
    .expect("seed alert");
    db.close().await;
    format!("alerts/{id}")
}

async fn alert_names(
    c: &mut Clients,
    recipient: &str,
    kind: pb::AlertKind,
) -> Result<Vec<String>, tonic::Status> {
    let got = c
        .tasks
        .list_alerts(pb::ListAlertsRequest {
            recipient_id: recipient.into(),
            kind: kind.into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    Ok(got.alerts.iter().map(|a| a.name.clone()).collect())
}

#[tokio::test]
async fn alerts_list_newest_first_for_whoever_may_see_them() {
    each_backend(&services(), async |s| {
        let r1_a = seed_alert(s, "t1", "rep-1", "north", "TASK_REMINDER", T0).await;
        let r1_b = seed_alert(s, "t1", "rep-1", "north", "ASSIGNED", T0 + 1).await;
        let r1_c = seed_alert(s, "t1", "rep-1", "north", "TASK_REMINDER", T0 + 2).await;
        let r3 = seed_alert(s, "t1", "rep-3", "south", "DWELL", T0).await;
        let mgr = seed_alert(s, "t1", "mgr-1", "north", "DWELL_ESCALATION", T0).await;
        let theirs = seed_alert(s, "t2", "rep-1", "north", "ASSIGNED", T0).await;
        use pb::AlertKind::*;

        let mut r1 = rep(s, "rep-1", "north");
        let all = r1
            .tasks
            .list_alerts(pb::ListAlertsRequest::default())
            .await
            .expect("own alerts")
            .into_inner();
        let names: Vec<_> = all.alerts.iter().map(|a| a.name.clone()).collect();
        assert_eq!(names, [r1_c.clone(), r1_b.clone(), r1_a.clone()]);
        let newest = &all.alerts[0];
        assert_eq!(newest.recipient_id, "rep-1");
        assert_eq!(newest.kind(), TaskReminder);
        assert_eq!(newest.message, "TASK_REMINDER for rep-1");
        assert!(newest.subject.starts_with("leads/"));
        assert_eq!(newest.create_time, ts(T0 + 2));
        assert_eq!(newest.due_time, ts(T0 + 2 + HOUR));
        assert_eq!(
            alert_names(&mut r1, "rep-1", TaskReminder)
                .await
                .expect("kind"),
            [r1_c.clone(), r1_a.clone()]
        );

        // Pages, newest first.
        let first = r1
            .tasks
            .list_alerts(pb::ListAlertsRequest {
                page_size: 2,
                ..Default::default()
            })
            .await
            .expect("page 1")
            .into_inner();
        assert_eq!(first.alerts.len(), 2);
        let second = r1
            .tasks
            .list_alerts(pb::ListAlertsRequest {
                page_size: 2,
                page_token: first.next_page_token.clone(),
                ..Default::default()
            })
            .await
            .expect("page 2")
            .into_inner();
        assert_eq!(second.alerts.len(), 1);
        assert_eq!(second.alerts[0].name, r1_a);
        assert!(second.next_page_token.is_empty());
        let status = assert_code(
            r1.tasks
                .list_alerts(pb::ListAlertsRequest {
                    kind: Assigned.into(),
                    page_size: 2,
                    page_token: first.next_page_token,
                    ..Default::default()
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(bad_fields(&status), ["page_token"]);

        // A rep asks only about itself.
        let status = assert_code(
            alert_names(&mut r1, "rep-3", Unspecified).await,
            Code::PermissionDenied,
        );
        assert_eq!(reason(&status), "PERMISSION_DENIED");

        // A manager sees its own and its team's.
        let mut m = manager(s, "mgr-1", "north");
        assert_eq!(
            alert_names(&mut m, "", Unspecified).await.expect("own"),
            [mgr]
        );
        assert_eq!(
            alert_names(&mut m, "rep-1", Unspecified)
                .await
                .expect("team")
                .len(),
            3
        );
        assert!(
            alert_names(&mut m, "rep-3", Unspecified)
                .await
                .expect("other team")
                .is_empty()
        );

        // Admins and marketers anyone's in their tenant; another tenant sees only its own.
        assert_eq!(
            alert_names(&mut admin(s), "rep-3", Unspecified)
                .await
                .expect("admin"),
            [r3]
        );
        assert_eq!(
            alert_names(&mut marketer(s), "rep-1", Unspecified)
                .await
                .expect("marketer")
                .len(),
            3
        );
        assert_eq!(
            alert_names(&mut stranger(s), "rep-1", Unspecified)
                .await
                .expect("stranger"),
            [theirs]
        );
        assert_code(
            alert_names(&mut partner(s), "", Unspecified).await,
            Code::PermissionDenied,
        );
    })
    .await;
}

/// How many reminder alerts each task has, as its assignee lists them.
async fn reminders(c: &mut Clients) -> std::collections::HashMap<String, usize> {
    let got = c
        .tasks
        .list_alerts(pb::ListAlertsRequest {
            kind: pb::AlertKind::TaskReminder.into(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("list alerts")
        .into_inner();
    let mut out = std::collections::HashMap::new();
    for a in got.alerts {
        *out.entry(a.subject).or_insert(0) += 1;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_fire_once_when_their_time_comes() {
    each_backend_at(&services(), T0, async |s, clock| {
        let mut r1 = rep(s, "rep-1", "north");
        let with_reminder = |title: &str, due: Micros, remind: Micros| pb::Task {
            remind_time: ts(remind),
            ..call(title, due)
        };
        let a = create(&mut r1, with_reminder("a", T0 + 2 * HOUR, T0 + HOUR)).await;
        let done = create(&mut r1, with_reminder("done", T0 + 2 * HOUR, T0 + HOUR)).await;
        let later = create(
            &mut r1,
            with_reminder("later", T0 + 4 * HOUR, T0 + 3 * HOUR),
        )
        .await;
        r1.tasks
            .complete_task(pb::CompleteTaskRequest {
                name: done.name.clone(),
                etag: String::new(),
            })
            .await
            .expect("complete");

        clock.advance(HOUR);
        eventually("a's reminder is raised", async || {
            reminders(&mut r1).await.contains_key(&a.name)
        })
        .await;
        let alert = r1
            .tasks
            .list_alerts(pb::ListAlertsRequest::default())
            .await
            .expect("alerts")
            .into_inner()
            .alerts
            .remove(0);
        assert_eq!(alert.recipient_id, "rep-1");
        assert_eq!(alert.kind(), pb::AlertKind::TaskReminder);
        assert_eq!(alert.subject, a.name);
        assert_eq!(alert.due_time, ts(T0 + 2 * HOUR));
        assert_eq!(alert.message, "Call: a (due 2024-05-01T14:00:00Z)");
        // Its team's manager sees it too.
        let mut m = manager(s, "mgr-1", "north");
        let seen = m
            .tasks
            .list_alerts(pb::ListAlertsRequest {
                recipient_id: "rep-1".into(),
                ..Default::default()
            })
            .await
            .expect("manager")
            .into_inner();
        assert_eq!(seen.alerts.len(), 1);

        // Moving the reminder arms it again.
        r1.tasks
            .update_task(pb::UpdateTaskRequest {
                task: Some(pb::Task {
                    name: a.name.clone(),
                    remind_time: ts(T0 + 90 * MINUTE),
                    ..Default::default()
                }),
                update_mask: mask(&["remind_time"]),
            })
            .await
            .expect("move the reminder");
        clock.advance(30 * MINUTE);
        eventually("a's moved reminder is raised", async || {
            reminders(&mut r1).await.get(&a.name) == Some(&2)
        })
        .await;
        clock.advance(2 * HOUR);
        eventually("the later reminder is raised", async || {
            reminders(&mut r1).await.contains_key(&later.name)
        })
        .await;

        // A few more sweeps change nothing: each reminder fired once; a done task never.
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        let counts = reminders(&mut r1).await;
        assert_eq!(counts.get(&a.name), Some(&2));
        assert_eq!(counts.get(&later.name), Some(&1));
        assert_eq!(counts.get(&done.name), None);
        assert_eq!(counts.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn every_task_rpc_needs_a_valid_credential() {
    each_backend(&services(), async |s| {
        for mut a in [anonymous(s, None), anonymous(s, Some("Bearer not-a-jwt"))] {
            let results = [
                a.tasks
                    .create_task(pb::CreateTaskRequest::default())
                    .await
                    .map(drop),
                a.tasks
                    .get_task(pb::GetTaskRequest::default())
                    .await
                    .map(drop),
                a.tasks
                    .list_tasks(pb::ListTasksRequest::default())
                    .await
                    .map(drop),
                a.tasks
                    .update_task(pb::UpdateTaskRequest::default())
                    .await
                    .map(drop),
                a.tasks
                    .complete_task(pb::CompleteTaskRequest::default())
                    .await
                    .map(drop),
                a.tasks
                    .list_alerts(pb::ListAlertsRequest::default())
                    .await
                    .map(drop),
            ];
            for (i, result) in results.into_iter().enumerate() {
                let status = result.expect_err("unauthenticated call succeeded");
                assert_eq!(status.code(), Code::Unauthenticated, "rpc #{i}: {status:?}");
            }
        }
    })
    .await;
}
