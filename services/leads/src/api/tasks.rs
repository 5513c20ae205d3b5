//! TaskService (LE9): tasks here, alerts in `alerts`. A rep sees and makes its own tasks; a
//! manager also its team's (the team of the assignee when the task was made); admins,
//! marketers and service accounts all of the tenant's.

use rapport_kit::{Reply, reply};
use rapport_kit::{
    names,
    query::{CursorValue, Page},
};
use rapport_proto::leads::{self as pb, task_service_server::TaskService};
use rapport_runtime::storage::Idempotency;
use rapport_runtime::{Error, Result, auth::Principal, error::both, validation::Violations};
use tonic::Request;
use uuid::Uuid;

use super::{
    alerts,
    support::{self, READERS, WORKERS, authorize, begin, due_cursor, only_own_for_reps, whose},
};
use crate::app::App;
use crate::app::check_etag;
use crate::app::scope;
use crate::convert::{
    mask,
    task::{NewTask, TASK_MASK, TaskPatch, optional_time, parse_new_task, task_to_proto},
};
use crate::{
    domain::{
        task::{self, Task, TaskView},
        visibility::Scope,
    },
    store::{self, tasks::TaskQuery},
};

#[tonic::async_trait]
impl TaskService for App {
    async fn create_task(&self, req: Request<pb::CreateTaskRequest>) -> Reply<pb::Task> {
        reply(create(self, req).await)
    }

    async fn get_task(&self, req: Request<pb::GetTaskRequest>) -> Reply<pb::Task> {
        reply(get(self, req).await)
    }

    async fn list_tasks(&self, req: Request<pb::ListTasksRequest>) -> Reply<pb::ListTasksResponse> {
        reply(list(self, req).await)
    }

    async fn update_task(&self, req: Request<pb::UpdateTaskRequest>) -> Reply<pb::Task> {
        reply(update(self, req).await)
    }

    async fn complete_task(&self, req: Request<pb::CompleteTaskRequest>) -> Reply<pb::Task> {
        reply(complete(self, req).await)
    }

    async fn list_alerts(
        &self,
        req: Request<pb::ListAlertsRequest>,
    ) -> Reply<pb::ListAlertsResponse> {
        reply(alerts::list(self, req).await)
    }

    async fn reassign_task(&self, req: Request<pb::ReassignTaskRequest>) -> Reply<pb::Task> {
        reply(super::transfers::reassign_task(self, req).await)
    }

    async fn list_task_transfers(
        &self,
        req: Request<pb::ListTaskTransfersRequest>,
    ) -> Reply<pb::ListTaskTransfersResponse> {
        reply(super::transfers::list_task_transfers(self, req).await)
    }
}

/// The team a new task of `assignee` belongs to, after checking the caller may give it one:
/// reps only to themselves, managers to themselves and their team's reps.
async fn assignee_team(api: &App, p: &Principal, assignee: &str) -> Result<String> {
    let mut conn = api.db().pool().acquire().await?;
    let rep = store::org::get_rep(&mut conn, &p.tenant_id, assignee).await?;
    let rep_team = rep.map(|r| r.team_id).filter(|t| !t.is_empty());
    let allowed = match scope(p) {
        Scope::All => true,
        Scope::Own { subject } => subject == assignee,
        Scope::Team { subject, team } => {
            subject == assignee || (team.is_some() && team == rep_team)
        }
    };
    if !allowed {
        return Err(Error::PermissionDenied(format!(
            "you may not give {assignee} a task: reps make their own tasks, managers those of \
             their team"
        )));
    }
    Ok(rep_team.or_else(|| p.team_id.clone()).unwrap_or_default())
}

async fn create(api: &App, req: Request<pb::CreateTaskRequest>) -> Result<pb::Task> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.into_inner();
    let parsed = match &msg.task {
        None => Err(Error::invalid("task", "is required")),
        Some(input) => {
            let mut v = Violations::with_prefix("task");
            let new = parse_new_task(input, &mut v);
            v.finish(new).map_err(Error::from)
        }
    };
    let (idem, new) = both(
        Idempotency::new(&p, "CreateTask", &msg.request_id, &msg),
        parsed,
    )?;
    let NewTask {
        kind,
        title,
        assignee_id,
        subject,
        due_time,
        remind_time,
        notes,
    } = new;
    let assignee_id = if assignee_id.is_empty() {
        p.subject.clone()
    } else {
        assignee_id
    };
    let team_id = assignee_team(api, &p, &assignee_id).await?;

    let mut w = begin!(api, p, idem);
    let now = api.now();
    let created = Task {
        id: Uuid::now_v7(),
        kind,
        title,
        assignee_id,
        team_id,
        subject,
        due_time,
        remind_time,
        reminded: false,
        complete_time: None,
        notes,
        create_time: now,
        update_time: now,
        version: 1,
    };
    store::tasks::insert_task(w.tx(), &p.tenant_id, &created).await?;
    let out = task_to_proto(&created);
    emit(&mut w, "task.created", &created, &out);
    w.commit(out).await
}

fn emit(w: &mut rapport_runtime::write::Write, kind: &str, t: &Task, out: &pb::Task) {
    let event = pb::TaskChanged {
        task: Some(out.clone()),
        transfer: None,
    };
    w.emit(kind, t.name(), &event);
}

/// NOT_FOUND unless the caller may see `t`.
fn visible(p: &Principal, t: Option<Task>, id: Uuid) -> Result<Task> {
    t.filter(|t| scope(p).sees_owned(&t.assignee_id, &t.team_id))
        .ok_or_else(|| Error::not_found(names::format_id("tasks", id)))
}

async fn get(api: &App, req: Request<pb::GetTaskRequest>) -> Result<pb::Task> {
    let p = authorize(&req, READERS)?;
    let id = support::parse_id("name", "tasks", &req.get_ref().name)?;
    let mut conn = api.db().pool().acquire().await?;
    let found = store::tasks::get_task(&mut conn, &p.tenant_id, id).await?;
    Ok(task_to_proto(&visible(&p, found, id)?))
}

async fn list(api: &App, req: Request<pb::ListTasksRequest>) -> Result<pb::ListTasksResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let now = api.now();
    let mut v = Violations::new();
    let assignee = whose(&p, &msg.assignee_id, "assignee_id", &mut v);
    let due_before = optional_time(msg.due_before.as_ref(), "due_before", &mut v);
    let view = match pb::TaskView::try_from(msg.view) {
        Ok(pb::TaskView::All) => TaskView::All,
        Ok(pb::TaskView::Unspecified | pb::TaskView::Open) => TaskView::Open,
        Ok(pb::TaskView::Due) => TaskView::Due {
            before: due_before.unwrap_or_else(|| task::end_of_day(now)),
        },
        Ok(pb::TaskView::Overdue) => TaskView::Overdue,
        Err(_) => {
            v.add("view", format!("{} is not a TaskView", msg.view));
            TaskView::Open
        }
    };
    // The view and its horizon as asked (not as resolved against the clock) define the query.
    let view_key = format!("{}|{:?}", msg.view, due_before);
    let page = Page::parse(
        &[&p.tenant_id, "tasks", &assignee, &view_key],
        msg.page_size,
        &msg.page_token,
        due_cursor,
    );
    let page = both(v.finish(()).map_err(Error::from), page.map_err(Error::from))?.1;
    only_own_for_reps(&p, &assignee, "tasks")?;
    let scope = scope(&p);
    let q = TaskQuery {
        assignee: &assignee,
        view,
        now,
        scope: &scope,
        after: &page.after,
        limit: page.fetch(),
    };
    let mut conn = api.db().pool().acquire().await?;
    let mut rows = store::tasks::list_tasks(&mut conn, &p.tenant_id, &q).await?;
    let next_page_token = page.next_token(&mut rows, |t| {
        vec![
            CursorValue::Int(t.due_time),
            CursorValue::Text(t.id.to_string()),
        ]
    });
    Ok(pb::ListTasksResponse {
        tasks: rows.iter().map(task_to_proto).collect(),
        next_page_token,
    })
}

async fn update(api: &App, req: Request<pb::UpdateTaskRequest>) -> Result<pb::Task> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.into_inner();
    let Some(input) = &msg.task else {
        return Err(Error::invalid("task", "is required"));
    };
    let mut v = Violations::new();
    let fields = mask::selected(&TASK_MASK, &mask::paths(msg.update_mask), &mut v);
    let (id, patch) = v.nested("task", |v| {
        let id = names::parse_id("tasks", &input.name).unwrap_or_else(|e| {
            v.add("name", e);
            Uuid::nil()
        });
        (id, TaskPatch::parse(input, &fields, v))
    });
    v.finish(())?;

    let mut w = api.write(&p).await?;
    let found = store::tasks::lock_task(w.tx(), api.db().dialect(), &p.tenant_id, id).await?;
    let current = visible(&p, found, id)?;
    check_etag(&input.etag, &current.name(), current.version)?;
    if !current.is_open() {
        return Err(Error::precondition(
            "TASK_COMPLETED",
            format!("{} is completed; it can no longer change", current.name()),
        ));
    }
    let order_field = format!("task.{}", patch.order_field());
    let updated = Task {
        update_time: api.now(),
        version: current.version + 1,
        ..patch.apply(current.clone())
    };
    let mut v = Violations::new();
    task::check_remind_time(updated.due_time, updated.remind_time, &order_field, &mut v);
    v.finish(())?;
    if !store::tasks::update_task(w.tx(), &p.tenant_id, &updated, current.version).await? {
        return Err(Error::stale_etag(&updated.name()));
    }
    let out = task_to_proto(&updated);
    emit(&mut w, "task.updated", &updated, &out);
    w.commit(out).await
}

async fn complete(api: &App, req: Request<pb::CompleteTaskRequest>) -> Result<pb::Task> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.get_ref();
    let id = support::parse_id("name", "tasks", &msg.name)?;
    let mut w = api.write(&p).await?;
    let found = store::tasks::lock_task(w.tx(), api.db().dialect(), &p.tenant_id, id).await?;
    let current = visible(&p, found, id)?;
    check_etag(&msg.etag, &current.name(), current.version)?;
    if !current.is_open() {
        return Err(Error::precondition(
            "TASK_ALREADY_COMPLETED",
            format!("{} is already completed", current.name()),
        ));
    }
    let now = api.now();
    let done = Task {
        complete_time: Some(now),
        update_time: now,
        version: current.version + 1,
        ..current.clone()
    };
    if !store::tasks::update_task(w.tx(), &p.tenant_id, &done, current.version).await? {
        return Err(Error::stale_etag(&done.name()));
    }
    let out = task_to_proto(&done);
    emit(&mut w, "task.completed", &done, &out);
    w.commit(out).await
}
