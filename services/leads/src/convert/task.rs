//! Tasks and alerts between proto and domain.

use rapport_kit::names;
use rapport_proto::leads as pb;
use rapport_runtime::{
    clock::{Micros, to_timestamp},
    validation::Violations,
};

use crate::domain::{
    alert::{Alert, AlertKind},
    org,
    task::{self, Task, TaskKind},
};
use rapport_kit::mask::Rules;

/// What UpdateTask's mask accepts.
pub(crate) const TASK_MASK: Rules = Rules {
    updatable: &["title", "due_time", "remind_time", "notes"],
    immutable: &["name", "kind", "assignee_id", "subject"],
    output_only: &["complete_time", "create_time", "update_time", "etag"],
    ..Rules::new("Task")
};

/// A task as the API shows it.
pub(crate) fn task_to_proto(t: &Task) -> pb::Task {
    let kind = match t.kind {
        TaskKind::Visit => pb::TaskKind::Visit,
        TaskKind::Call => pb::TaskKind::Call,
        TaskKind::Appointment => pb::TaskKind::Appointment,
        TaskKind::Other => pb::TaskKind::Other,
    };
    pb::Task {
        name: t.name(),
        kind: kind.into(),
        title: t.title.clone(),
        assignee_id: t.assignee_id.clone(),
        subject: t.subject.clone(),
        due_time: Some(to_timestamp(t.due_time)),
        remind_time: t.remind_time.map(to_timestamp),
        complete_time: t.complete_time.map(to_timestamp),
        notes: t.notes.clone(),
        create_time: Some(to_timestamp(t.create_time)),
        update_time: Some(to_timestamp(t.update_time)),
        etag: names::etag(t.name(), t.version),
    }
}

/// An alert kind as the API spells it.
pub(crate) fn alert_kind_to_proto(k: AlertKind) -> pb::AlertKind {
    match k {
        AlertKind::ReclaimWarning => pb::AlertKind::ReclaimWarning,
        AlertKind::Reclaimed => pb::AlertKind::Reclaimed,
        AlertKind::Assigned => pb::AlertKind::Assigned,
        AlertKind::Dwell => pb::AlertKind::Dwell,
        AlertKind::DwellEscalation => pb::AlertKind::DwellEscalation,
        AlertKind::TaskReminder => pb::AlertKind::TaskReminder,
        AlertKind::HighIntent => pb::AlertKind::HighIntent,
    }
}

/// The alert kind a request names: `None` for unset, a violation of `field` when unknown.
pub(crate) fn parse_alert_kind(raw: i32, field: &str, v: &mut Violations) -> Option<AlertKind> {
    match pb::AlertKind::try_from(raw) {
        Ok(pb::AlertKind::Unspecified) => None,
        Ok(k) => AlertKind::ALL
            .into_iter()
            .find(|d| alert_kind_to_proto(*d) == k),
        Err(_) => {
            v.add(field, format!("{raw} is not an AlertKind"));
            None
        }
    }
}

/// An alert as the API shows it.
pub(crate) fn alert_to_proto(a: &Alert) -> pb::Alert {
    pb::Alert {
        name: a.name(),
        recipient_id: a.recipient_id.clone(),
        kind: alert_kind_to_proto(a.kind).into(),
        subject: a.subject.clone(),
        message: a.message.clone(),
        due_time: a.due_time.map(to_timestamp),
        create_time: Some(to_timestamp(a.create_time)),
    }
}

/// A time the request must set, reported on `field`.
pub(crate) fn required_time(
    ts: Option<&prost_types::Timestamp>,
    field: &str,
    v: &mut Violations,
) -> Micros {
    match ts {
        None => {
            v.add(field, "is required");
            0
        }
        Some(ts) => optional_time(Some(ts), field, v).unwrap_or(0),
    }
}

pub(crate) use rapport_kit::validate::optional_time;

/// What CreateTask asks for, parsed; the assignee is empty when the caller left it out.
#[derive(Debug)]
pub(crate) struct NewTask {
    /// What to do.
    pub kind: TaskKind,
    /// The title.
    pub title: String,
    /// Who does it, or empty for the caller.
    pub assignee_id: String,
    /// What it is about, or empty.
    pub subject: String,
    /// When it is due.
    pub due_time: Micros,
    /// When to remind.
    pub remind_time: Option<Micros>,
    /// Notes.
    pub notes: String,
}

/// Parses a task to create; violations are reported relative to the task.
pub(crate) fn parse_new_task(input: &pb::Task, v: &mut Violations) -> NewTask {
    let kind = match pb::TaskKind::try_from(input.kind) {
        Ok(pb::TaskKind::Visit) => TaskKind::Visit,
        Ok(pb::TaskKind::Call) => TaskKind::Call,
        Ok(pb::TaskKind::Appointment) => TaskKind::Appointment,
        Ok(pb::TaskKind::Other) => TaskKind::Other,
        Ok(pb::TaskKind::Unspecified) => {
            v.add("kind", "is required: VISIT, CALL, APPOINTMENT or OTHER");
            TaskKind::Other
        }
        Err(_) => {
            v.add("kind", format!("{} is not a TaskKind", input.kind));
            TaskKind::Other
        }
    };
    let title = task::parse_title(&input.title, "title", v);
    let assignee_id = org::parse_subject(&input.assignee_id, "assignee_id", v);
    let subject = task::parse_subject(&input.subject).unwrap_or_else(|e| {
        v.add("subject", e);
        String::new()
    });
    let due_time = required_time(input.due_time.as_ref(), "due_time", v);
    let remind_time = optional_time(input.remind_time.as_ref(), "remind_time", v);
    if input.due_time.is_some() {
        task::check_remind_time(due_time, remind_time, "remind_time", v);
    }
    let notes = task::parse_notes(&input.notes, "notes", v);
    NewTask {
        kind,
        title,
        assignee_id,
        subject,
        due_time,
        remind_time,
        notes,
    }
}

/// The fields of a task an update sets.
#[derive(Debug, Default)]
pub(crate) struct TaskPatch {
    title: Option<String>,
    due_time: Option<Micros>,
    remind_time: Option<Option<Micros>>,
    notes: Option<String>,
}

impl TaskPatch {
    /// Parses the `fields` of `input`; violations are reported relative to the task.
    pub(crate) fn parse(input: &pb::Task, fields: &[&str], v: &mut Violations) -> Self {
        let mut patch = TaskPatch::default();
        for field in fields {
            match *field {
                "title" => patch.title = Some(task::parse_title(&input.title, "title", v)),
                "due_time" => {
                    patch.due_time = Some(required_time(input.due_time.as_ref(), "due_time", v));
                }
                "remind_time" => {
                    patch.remind_time =
                        Some(optional_time(input.remind_time.as_ref(), "remind_time", v));
                }
                "notes" => patch.notes = Some(task::parse_notes(&input.notes, "notes", v)),
                _ => {}
            }
        }
        patch
    }

    /// The field a reminder that is not before the due time is reported on: the one the
    /// update changed (the reminder when both).
    pub(crate) fn order_field(&self) -> &'static str {
        if self.remind_time.is_some() || self.due_time.is_none() {
            "remind_time"
        } else {
            "due_time"
        }
    }

    /// `t` with the patch applied; a changed reminder time fires again.
    pub(crate) fn apply(self, t: Task) -> Task {
        let remind_time = self.remind_time.unwrap_or(t.remind_time);
        Task {
            title: self.title.unwrap_or(t.title),
            due_time: self.due_time.unwrap_or(t.due_time),
            notes: self.notes.unwrap_or(t.notes),
            ..t
        }
        .with_remind_time(remind_time)
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn ts(seconds: i64) -> Option<prost_types::Timestamp> {
        Some(prost_types::Timestamp { seconds, nanos: 0 })
    }

    fn fields(v: &Violations) -> Vec<&str> {
        v.items().iter().map(|i| i.field.as_str()).collect()
    }

    #[test]
    fn every_bad_task_field_is_reported() {
        let input = pb::Task {
            kind: 0,
            title: " ".into(),
            assignee_id: "a/b".into(),
            subject: "tasks/1".into(),
            due_time: ts(100),
            remind_time: ts(100),
            notes: "n".repeat(task::NOTES_MAX + 1),
            ..Default::default()
        };
        let mut v = Violations::with_prefix("task");
        parse_new_task(&input, &mut v);
        assert_eq!(
            fields(&v),
            [
                "task.kind",
                "task.title",
                "task.assignee_id",
                "task.subject",
                "task.remind_time",
                "task.notes",
            ]
        );
        let mut v = Violations::with_prefix("task");
        parse_new_task(
            &pb::Task {
                kind: 9,
                title: "t".into(),
                remind_time: Some(prost_types::Timestamp {
                    seconds: 0,
                    nanos: -1,
                }),
                ..Default::default()
            },
            &mut v,
        );
        assert_eq!(
            fields(&v),
            ["task.kind", "task.due_time", "task.remind_time"]
        );
    }

    #[test]
    fn a_patch_moving_the_reminder_rearms_it() {
        let t = Task {
            id: Uuid::now_v7(),
            kind: TaskKind::Visit,
            title: "Visit".into(),
            assignee_id: "rep-1".into(),
            team_id: String::new(),
            subject: String::new(),
            due_time: 10_000_000,
            remind_time: Some(5_000_000),
            reminded: true,
            complete_time: None,
            notes: String::new(),
            create_time: 0,
            update_time: 0,
            version: 1,
        };
        let mut v = Violations::new();
        let notes = TaskPatch::parse(
            &pb::Task {
                notes: "n".into(),
                ..Default::default()
            },
            &["notes"],
            &mut v,
        );
        assert_eq!(notes.order_field(), "remind_time");
        let same = notes.apply(t.clone());
        assert!(same.reminded);
        assert_eq!(same.notes, "n");
        let moved = TaskPatch::parse(
            &pb::Task {
                remind_time: ts(6),
                ..Default::default()
            },
            &["remind_time"],
            &mut v,
        )
        .apply(t.clone());
        assert!(!moved.reminded);
        assert_eq!(moved.remind_time, Some(6_000_000));
        let due = TaskPatch::parse(
            &pb::Task {
                due_time: ts(1),
                ..Default::default()
            },
            &["due_time"],
            &mut v,
        );
        assert_eq!(due.order_field(), "due_time");
        assert!(v.is_empty());
        let cleared = TaskPatch::parse(&pb::Task::default(), &["remind_time"], &mut v).apply(t);
        assert_eq!(cleared.remind_time, None);
    }

    #[test]
    fn alert_kinds_map_both_ways() {
        let mut v = Violations::new();
        for k in AlertKind::ALL {
            let raw: i32 = alert_kind_to_proto(k).into();
            assert_eq!(parse_alert_kind(raw, "kind", &mut v), Some(k));
        }
        assert_eq!(parse_alert_kind(0, "kind", &mut v), None);
        assert!(v.is_empty());
        assert_eq!(parse_alert_kind(99, "kind", &mut v), None);
        assert_eq!(fields(&v), ["kind"]);
    }
}
