//! Frequency caps and resting (CA5): whether one more marketing message may reach a customer
//! on a channel now, given what already reached them. Transactional messages are never capped
//! and never rest a customer; an explicit opt-out is the customers service's to enforce.

use rapport_runtime::clock::Micros;

use super::{channel::Channel, settings::Settings};

/// What already reached one customer, as the ledger keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contacts {
    /// Times of the marketing messages on the channel asked about, within the cap's period
    /// (older ones may be given; they are ignored).
    pub recent: Vec<Micros>,
    /// Marketing messages on any channel since the customer last answered (a response or an
    /// order).
    pub unanswered: i32,
    /// When the last marketing message on any channel reached them.
    pub last_marketing: Option<Micros>,
}

/// The judgement on one more message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It may go now.
    Allowed,
    /// The channel's cap is reached until this time.
    Capped { until: Micros },
    /// The customer rests (too many unanswered messages) until this time.
    Resting { until: Micros },
}

impl Verdict {
    /// The stored reason of a message held back, None when allowed.
    pub fn reason(self) -> Option<&'static str> {
        match self {
            Verdict::Allowed => None,
            Verdict::Capped { .. } => Some("CAPPED"),
            Verdict::Resting { .. } => Some("RESTING"),
        }
    }
}

/// Whether a marketing message (`transactional` false) may reach a customer with `contacts`
/// on `channel` at `now` under `settings`.
pub fn judge(
    settings: &Settings,
    channel: Channel,
    transactional: bool,
    now: Micros,
    contacts: &Contacts,
) -> Verdict {
    if transactional {
        return Verdict::Allowed;
    }
    if settings.rest_after_unanswered > 0
        && contacts.unanswered >= settings.rest_after_unanswered
        && let Some(last) = contacts.last_marketing
    {
        let until = last.saturating_add(settings.rest_micros());
        if now < until {
            return Verdict::Resting { until };
        }
    }
    if let Some(cap) = settings.cap(channel) {
        let since = now.saturating_sub(cap.period_micros());
        let mut within: Vec<Micros> = contacts
            .recent
            .iter()
            .copied()
            .filter(|t| *t > since && *t <= now)
            .collect();
        if within.len() >= cap.max_messages as usize {
            // The cap frees up when the oldest message that fills it leaves the period.
            within.sort_unstable();
            let oldest = within[within.len() - cap.max_messages as usize];
            return Verdict::Capped {
                until: oldest.saturating_add(cap.period_micros()),
            };
        }
    }
    Verdict::Allowed
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Micros = 86_400_000_000;

    #[test]
    fn the_cap_counts_only_the_period_and_says_when_it_frees() {
        let s = Settings::default(); // SMS: 2 per 7 days.
        let now = 100 * DAY;
        let mut c = Contacts {
            recent: vec![now - 8 * DAY, now - 3 * DAY],
            ..Contacts::default()
        };
        assert_eq!(judge(&s, Channel::Sms, false, now, &c), Verdict::Allowed);
        c.recent.push(now - DAY);
        assert_eq!(
            judge(&s, Channel::Sms, false, now, &c),
            Verdict::Capped {
                until: now - 3 * DAY + 7 * DAY
            }
        );
        // Transactional messages and uncapped channels pass.
        assert_eq!(judge(&s, Channel::Sms, true, now, &c), Verdict::Allowed);
        assert_eq!(judge(&s, Channel::InApp, false, now, &c), Verdict::Allowed);
    }

    #[test]
    fn unanswered_customers_rest_then_come_back() {
        let s = Settings::default(); // Rest 30 days after 3 unanswered.
        let now = 100 * DAY;
        let c = Contacts {
            recent: Vec::new(),
            unanswered: 3,
            last_marketing: Some(now - 10 * DAY),
        };
        let v = judge(&s, Channel::Email, false, now, &c);
        assert_eq!(
            v,
            Verdict::Resting {
                until: now + 20 * DAY
            }
        );
        assert_eq!(v.reason(), Some("RESTING"));
        assert_eq!(
            judge(&s, Channel::Email, false, now + 21 * DAY, &c),
            Verdict::Allowed
        );
        let off = Settings {
            rest_after_unanswered: 0,
            ..Settings::default()
        };
        assert_eq!(
            judge(&off, Channel::Email, false, now, &c),
            Verdict::Allowed
        );
    }
}
