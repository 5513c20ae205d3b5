//! Tasks and reminders (LE9): visits, calls and appointments with a due time and an optional
//! reminder time. A task is overdue once its due time passes uncompleted; its reminder fires
//! once, when the reminder time comes, unless the task was completed first.

use rapport_kit::names;
use rapport_runtime::{
    clock::{DAY, Micros, to_datetime},
    validation::Violations,
};
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::alert::{AlertKind, NewAlert};

/// Longest title, in characters.
pub const TITLE_MAX: usize = 500;
/// Longest notes, in characters.
pub const NOTES_MAX: usize = 2000;
/// Collections a task may be about.
pub const SUBJECT_COLLECTIONS: [&str; 3] = ["leads", "opportunities", "customers"];

/// What a task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskKind {
    /// Visit the customer.
    Visit,
    /// Call the customer.
    Call,
    /// An appointment.
    Appointment,
    /// Anything else.
    Other,
}

impl TaskKind {
    /// Every kind, in declaration order.
    pub const ALL: [TaskKind; 4] = [
        TaskKind::Visit,
        TaskKind::Call,
        TaskKind::Appointment,
        TaskKind::Other,
    ];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Visit => "VISIT",
            TaskKind::Call => "CALL",
            TaskKind::Appointment => "APPOINTMENT",
            TaskKind::Other => "OTHER",
        }
    }

    /// The kind stored as `text`.
    pub fn parse(text: &str) -> Option<TaskKind> {
        TaskKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// How people call it, in messages.
    fn label(self) -> &'static str {
        match self {
            TaskKind::Visit => "Visit",
            TaskKind::Call => "Call",
            TaskKind::Appointment => "Appointment",
            TaskKind::Other => "Task",
        }
    }
}

/// A task of a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Server-assigned.
    pub id: Uuid,
    /// What to do.
    pub kind: TaskKind,
    /// 1..500 characters.
    pub title: String,
    /// Who does it (a subject).
    pub assignee_id: String,
    /// The assignee's team when the task was made, for manager visibility; may be empty.
    pub team_id: String,
    /// `leads/{id}`, `opportunities/{id}` or `customers/{id}`, or empty.
    pub subject: String,
    /// When it is due.
    pub due_time: Micros,
    /// When to remind the assignee, before `due_time`.
    pub remind_time: Option<Micros>,
    /// Whether the reminder for `remind_time` was raised.
    pub reminded: bool,
    /// When it was completed.
    pub complete_time: Option<Micros>,
    /// Up to 2000 characters.
    pub notes: String,
    /// When it was created.
    pub create_time: Micros,
    /// When it last changed.
    pub update_time: Micros,
    /// Bumped by every change (etags).
    pub version: i64,
}

impl Task {
    /// `tasks/{id}`.
    pub fn name(&self) -> String {
        names::format_id("tasks", self.id)
    }

    /// Whether it is still to do.
    pub fn is_open(&self) -> bool {
        self.complete_time.is_none()
    }

    /// Whether it is still to do and past its due time at `now`.
    pub fn is_overdue(&self, now: Micros) -> bool {
        self.is_open() && self.due_time < now
    }

    /// Whether its reminder should fire at `now`: set, come, not fired yet, task still open.
    pub fn needs_reminder(&self, now: Micros) -> bool {
        self.is_open() && !self.reminded && self.remind_time.is_some_and(|r| r <= now)
    }

    /// The reminder alert of this task, if it has a reminder time. The dedupe key includes the
    /// reminder time, so moving the reminder raises a new alert and repeating one does not.
    pub fn reminder(&self) -> Option<NewAlert> {
        let remind_time = self.remind_time?;
        let due = to_datetime(self.due_time)
            .format(&Rfc3339)
            .unwrap_or_default();
        Some(NewAlert {
            recipient_id: self.assignee_id.clone(),
            team_id: self.team_id.clone(),
            kind: AlertKind::TaskReminder,
            subject: self.name(),
            message: format!("{}: {} (due {due})", self.kind.label(), self.title),
            due_time: Some(self.due_time),
            dedupe_key: format!("task-reminder:{}:{remind_time}", self.id),
        })
    }

    /// The task with `remind_time` changed; a new reminder time fires again.
    pub fn with_remind_time(mut self, remind_time: Option<Micros>) -> Task {
        if remind_time != self.remind_time {
            self.reminded = false;
        }
        self.remind_time = remind_time;
        self
    }
}

/// Which tasks a list returns; every view is ordered by due time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskView {
    /// Every task.
    All,
    /// Not completed.
    Open,
    /// Not completed, not overdue, due before `before`.
    Due {
        /// Exclusive upper bound of the due time.
        before: Micros,
    },
    /// Not completed and past due.
    Overdue,
}

impl TaskView {
    /// Whether `task` belongs to this view at `now` (the SQL of the list says the same).
    pub fn contains(self, task: &Task, now: Micros) -> bool {
        match self {
            TaskView::All => true,
            TaskView::Open => task.is_open(),
            TaskView::Due { before } => {
                task.is_open() && task.due_time >= now && task.due_time < before
            }
            TaskView::Overdue => task.is_overdue(now),
        }
    }
}

/// The first instant of the UTC day after `now`: the default horizon of the DUE view.
pub fn end_of_day(now: Micros) -> Micros {
    (now.div_euclid(DAY) + 1) * DAY
}

/// A title, trimmed: 1..500 characters, reported on `field`.
pub fn parse_title(raw: &str, field: &str, v: &mut Violations) -> String {
    let title = raw.trim();
    if title.is_empty() {
        v.add(field, "is required");
    } else if title.chars().count() > TITLE_MAX {
        v.add(field, format!("must be at most {TITLE_MAX} characters"));
    }
    title.to_owned()
}

/// Notes: at most 2000 characters, reported on `field`.
pub fn parse_notes(raw: &str, field: &str, v: &mut Violations) -> String {
    if raw.chars().count() > NOTES_MAX {
        v.add(field, format!("must be at most {NOTES_MAX} characters"));
    }
    raw.to_owned()
}

/// What a task is about, as `collection/{uuid}` with the id in lower case, or empty.
pub fn parse_subject(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(String::new());
    }
    let collection = raw.split_once('/').map(|(c, _)| c).unwrap_or_default();
    if !SUBJECT_COLLECTIONS.contains(&collection) {
        return Err(format!(
            "{raw:?} must be \"leads/{{id}}\", \"opportunities/{{id}}\" or \"customers/{{id}}\""
        ));
    }
    let id = names::parse_id(collection, raw)?;
    Ok(names::format_id(collection, id))
}

/// Reports a reminder that is not before the due time, on `field`.
pub fn check_remind_time(
    due_time: Micros,
    remind_time: Option<Micros>,
    field: &str,
    v: &mut Violations,
) {
    if remind_time.is_some_and(|r| r >= due_time) {
        v.add(field, "must be before due_time");
    }
}

#[cfg(test)]
mod tests {
    use rapport_runtime::clock::{HOUR, MINUTE};

    use super::*;

    const T0: Micros = 1_714_521_600_000_000; // 2024-05-01T00:00:00Z

    fn task(due: Micros, remind: Option<Micros>) -> Task {
        Task {
            id: Uuid::now_v7(),
            kind: TaskKind::Call,
            title: "Call back about the sofa".into(),
            assignee_id: "rep-1".into(),
            team_id: "north".into(),
            subject: String::new(),
            due_time: due,
            remind_time: remind,
            reminded: false,
            complete_time: None,
            notes: String::new(),
            create_time: T0,
            update_time: T0,
            version: 1,
        }
    }

    #[test]
    fn reminders_fire_once_when_their_time_comes() {
        let mut t = task(T0 + 2 * HOUR, Some(T0 + HOUR));
        assert!(!t.needs_reminder(T0));
        assert!(t.needs_reminder(T0 + HOUR));
        assert!(t.needs_reminder(T0 + 3 * HOUR));
        t.reminded = true;
        assert!(!t.needs_reminder(T0 + 3 * HOUR));
        assert!(!task(T0, None).needs_reminder(T0 + DAY));
    }

    #[test]
    fn completed_tasks_are_not_reminded_or_overdue() {
        let mut t = task(T0 + HOUR, Some(T0));
        t.complete_time = Some(T0 - MINUTE);
        assert!(!t.needs_reminder(T0 + DAY));
        assert!(!t.is_overdue(T0 + DAY));
    }

    #[test]
    fn moving_the_reminder_rearms_it_and_changes_its_key() {
        let mut t = task(T0 + 2 * HOUR, Some(T0 + HOUR));
        let first = t.reminder().expect("reminder").dedupe_key;
        t.reminded = true;
        let same = t.clone().with_remind_time(Some(T0 + HOUR));
        assert!(same.reminded, "an unchanged reminder stays fired");
        let moved = t.with_remind_time(Some(T0 + 90 * MINUTE));
        assert!(!moved.reminded);
        let second = moved.reminder().expect("reminder").dedupe_key;
        assert_ne!(first, second);
        assert!(second.starts_with(&format!("task-reminder:{}:", moved.id)));
    }

    #[test]
    fn the_reminder_alert_goes_to_the_assignee_and_its_team() {
        let t = task(T0 + 2 * HOUR, Some(T0 + HOUR));
        let a = t.reminder().expect("reminder");
        assert_eq!(a.recipient_id, "rep-1");
        assert_eq!(a.team_id, "north");
        assert_eq!(a.kind, AlertKind::TaskReminder);
        assert_eq!(a.subject, t.name());
        assert_eq!(a.due_time, Some(T0 + 2 * HOUR));
        assert!(
            a.message.contains("Call back about the sofa"),
            "{}",
            a.message
        );
        assert!(a.message.contains("2024-05-01T02:00:00Z"), "{}", a.message);
        assert_eq!(task(T0, None).reminder(), None);
    }

    #[test]
    fn views_split_open_tasks_by_due_time() {
        let now = T0 + 12 * HOUR;
        let overdue = task(now - MINUTE, None);
        let due_today = task(now + HOUR, None);
        let tomorrow = task(end_of_day(now) + HOUR, None);
        let mut done = task(now - HOUR, None);
        done.complete_time = Some(now - 2 * HOUR);
        let due = TaskView::Due {
            before: end_of_day(now),
        };
        let pick = |view: TaskView| -> Vec<bool> {
            [&overdue, &due_today, &tomorrow, &done]
                .iter()
                .map(|t| view.contains(t, now))
                .collect()
        };
        assert_eq!(pick(TaskView::All), [true, true, true, true]);
        assert_eq!(pick(TaskView::Open), [true, true, true, false]);
        assert_eq!(pick(due), [false, true, false, false]);
        assert_eq!(pick(TaskView::Overdue), [true, false, false, false]);
        // Time passes: the task due today becomes overdue.
        assert!(TaskView::Overdue.contains(&due_today, now + 2 * HOUR));
    }

    #[test]
    fn the_day_ends_at_utc_midnight() {
        assert_eq!(end_of_day(T0), T0 + DAY);
        assert_eq!(end_of_day(T0 + DAY - 1), T0 + DAY);
        assert_eq!(end_of_day(-1), 0);
    }

    #[test]
    fn subjects_name_a_lead_opportunity_or_customer() {
        let id = Uuid::now_v7();
        let upper = format!("leads/{}", id.hyphenated().to_string().to_uppercase());
        assert_eq!(parse_subject(&upper), Ok(format!("leads/{id}")));
        assert_eq!(
            parse_subject(&format!("opportunities/{id}")),
            Ok(format!("opportunities/{id}"))
        );
        assert_eq!(parse_subject(""), Ok(String::new()));
        assert!(parse_subject(&format!("tasks/{id}")).is_err());
        assert!(parse_subject("customers/123").is_err());
        assert!(parse_subject("lead").is_err());
    }

    #[test]
    fn titles_notes_and_reminder_order_are_checked() {
        let mut v = Violations::with_prefix("task");
        assert_eq!(parse_title("  Visit ", "title", &mut v), "Visit");
        parse_title(" ", "title", &mut v);
        parse_title(&"x".repeat(TITLE_MAX + 1), "title", &mut v);
        parse_notes(&"n".repeat(NOTES_MAX + 1), "notes", &mut v);
        check_remind_time(T0, Some(T0), "remind_time", &mut v);
        check_remind_time(T0, Some(T0 - 1), "remind_time", &mut v);
        check_remind_time(T0, None, "remind_time", &mut v);
        let fields: Vec<_> = v.items().iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            ["task.title", "task.title", "task.notes", "task.remind_time"]
        );
    }
}
