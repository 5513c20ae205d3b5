//! Alerts for people (X6): reminders, reclaim warnings, dwell alerts. Raising one is keyed by a
//! dedupe key, so a sweep that runs twice, or on two replicas at once, raises it once.

use rapport_runtime::clock::Micros;
use uuid::Uuid;

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertKind {
    /// A lead will be reclaimed soon unless followed up (LE7).
    ReclaimWarning,
    /// A lead was reclaimed from the recipient.
    Reclaimed,
    /// A lead was assigned to the recipient.
    Assigned,
    /// An opportunity stayed in its stage longer than normal (LE8).
    Dwell,
    /// A dwell alert escalated to the owner's manager.
    DwellEscalation,
    /// A task's reminder time came (LE9).
    TaskReminder,
    /// A high-intent lead should get a call (LE10).
    HighIntent,
}

impl AlertKind {
    /// Every kind, in declaration order.
    pub const ALL: [AlertKind; 7] = [
        AlertKind::ReclaimWarning,
        AlertKind::Reclaimed,
        AlertKind::Assigned,
        AlertKind::Dwell,
        AlertKind::DwellEscalation,
        AlertKind::TaskReminder,
        AlertKind::HighIntent,
    ];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::ReclaimWarning => "RECLAIM_WARNING",
            AlertKind::Reclaimed => "RECLAIMED",
            AlertKind::Assigned => "ASSIGNED",
            AlertKind::Dwell => "DWELL",
            AlertKind::DwellEscalation => "DWELL_ESCALATION",
            AlertKind::TaskReminder => "TASK_REMINDER",
            AlertKind::HighIntent => "HIGH_INTENT",
        }
    }

    /// The kind stored as `text`.
    pub fn parse(text: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// An alert to raise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlert {
    /// Who it is for (a subject).
    pub recipient_id: String,
    /// The recipient's team, so its manager sees the alert; may be empty.
    pub team_id: String,
    /// What it is about.
    pub kind: AlertKind,
    /// The resource it is about, e.g. `leads/{id}` or `tasks/{id}`.
    pub subject: String,
    /// For people to read.
    pub message: String,
    /// When the thing it warns about happens, if anything.
    pub due_time: Option<Micros>,
    /// Equal keys raise one alert per tenant, e.g. `task-reminder:{task}:{remind_time}`.
    pub dedupe_key: String,
}

impl NewAlert {
    /// The alert as stored, raised at `now` with id `id`.
    pub fn raised(&self, id: Uuid, now: Micros) -> Alert {
        Alert {
            id,
            recipient_id: self.recipient_id.clone(),
            team_id: self.team_id.clone(),
            kind: self.kind,
            subject: self.subject.clone(),
            message: self.message.clone(),
            due_time: self.due_time,
            dedupe_key: self.dedupe_key.clone(),
            create_time: now,
        }
    }
}

/// A raised alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Server-assigned.
    pub id: Uuid,
    /// Who it is for.
    pub recipient_id: String,
    /// The recipient's team, or empty.
    pub team_id: String,
    /// What it is about.
    pub kind: AlertKind,
    /// The resource it is about.
    pub subject: String,
    /// For people to read.
    pub message: String,
    /// When the thing it warns about happens, if anything.
    pub due_time: Option<Micros>,
    /// What made it unique.
    pub dedupe_key: String,
    /// When it was raised.
    pub create_time: Micros,
}

impl Alert {
    /// `alerts/{id}`.
    pub fn name(&self) -> String {
        rapport_kit::names::format_id("alerts", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for k in AlertKind::ALL {
            assert_eq!(AlertKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(AlertKind::parse("NOPE"), None);
    }

    #[test]
    fn a_raised_alert_keeps_what_was_asked() {
        let new = NewAlert {
            recipient_id: "rep-1".into(),
            team_id: "north".into(),
            kind: AlertKind::Dwell,
            subject: "opportunities/x".into(),
            message: "stuck".into(),
            due_time: Some(5),
            dedupe_key: "k".into(),
        };
        let id = Uuid::now_v7();
        let a = new.raised(id, 7);
        assert_eq!(a.create_time, 7);
        assert_eq!(a.kind, AlertKind::Dwell);
        assert_eq!(a.due_time, Some(5));
        assert!(a.name().starts_with("alerts/"));
    }
}
