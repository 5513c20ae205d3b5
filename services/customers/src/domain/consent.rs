//! A customer's contact consent and the decision whether a message may be sent now.
//!
//! The order of the checks matters: an explicit opt-out beats everything, including
//! transactional messages (an order confirmation is still not sent by SMS to someone who
//! refused SMS); then the channel must have an address; transactional messages skip the
//! marketing rules (do-not-disturb, opt-in, quiet hours).

use rapport_runtime::clock::{DAY, MINUTE, Micros};
use serde::{Deserialize, Serialize};

/// A contact channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Sms,
    Email,
    Phone,
    Im,
}

impl Channel {
    /// Every channel, in declaration order.
    pub const ALL: [Channel; 4] = [Channel::Sms, Channel::Email, Channel::Phone, Channel::Im];

    /// The stable name used in storage and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
            Channel::Phone => "phone",
            Channel::Im => "im",
        }
    }

    /// The channel with a stable name, if any.
    pub fn parse(name: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// A customer's decision for one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentStatus {
    OptedIn,
    OptedOut,
}

impl ConsentStatus {
    /// The stable name used in storage and events.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentStatus::OptedIn => "opted_in",
            ConsentStatus::OptedOut => "opted_out",
        }
    }

    /// The status with a stable name, if any.
    pub fn parse(name: &str) -> Option<ConsentStatus> {
        match name {
            "opted_in" => Some(ConsentStatus::OptedIn),
            "opted_out" => Some(ConsentStatus::OptedOut),
            _ => None,
        }
    }
}

/// What a filter calls a channel never asked about (`consent.sms = unknown`).
pub const UNKNOWN: &str = "unknown";

/// Every value of a channel's consent, as filters name them: a decision, or [`UNKNOWN`].
pub const STATUS_NAMES: &[&str] = &["opted_in", "opted_out", UNKNOWN];

/// The longest `ChannelConsent::source`, in characters.
pub const MAX_SOURCE_CHARS: usize = 64;

/// The decision recorded for one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelConsent {
    pub channel: Channel,
    pub status: ConsentStatus,
    /// Where the decision was recorded, e.g. "store_form".
    #[serde(default)]
    pub source: String,
    /// When the decision was recorded; kept as evidence of consent.
    pub update_time: Micros,
}

/// Minutes in a day.
const MINUTES_PER_DAY: i32 = 24 * 60;
/// The widest real-world UTC offsets, in minutes (UTC-12:00 .. UTC+14:00).
pub const MIN_UTC_OFFSET_MINUTES: i32 = -720;
pub const MAX_UTC_OFFSET_MINUTES: i32 = 840;

/// Daily quiet hours `[start_minute, end_minute)` in the customer's local time, given as a
/// fixed UTC offset (no DST rules: the customer states the offset they live by).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHours {
    pub start_minute: i32,
    pub end_minute: i32,
    pub utc_offset_minutes: i32,
}

impl QuietHours {
    /// Problems with each field, as (field name, description); empty when valid.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (field, minute) in [
            ("start_minute", self.start_minute),
            ("end_minute", self.end_minute),
        ] {
            if !(0..MINUTES_PER_DAY).contains(&minute) {
                out.push((field, format!("must be within 0..1439, got {minute}")));
            }
        }
        if !(MIN_UTC_OFFSET_MINUTES..=MAX_UTC_OFFSET_MINUTES).contains(&self.utc_offset_minutes) {
            out.push((
                "utc_offset_minutes",
                format!("must be within -720..840, got {}", self.utc_offset_minutes),
            ));
        }
        out
    }

    /// Whether `at` falls inside the window. `start == end` means no quiet hours.
    pub fn contains(&self, at: Micros) -> bool {
        let m = self.local_minute_of_day(at);
        let (s, e) = (self.start_minute, self.end_minute);
        match s.cmp(&e) {
            std::cmp::Ordering::Equal => false,
            std::cmp::Ordering::Less => s <= m && m < e,
            // Spans midnight, e.g. 22:00..08:00.
            std::cmp::Ordering::Greater => m >= s || m < e,
        }
    }

    /// The first instant strictly after `at` at which local time is `end_minute`.
    pub fn next_end(&self, at: Micros) -> Micros {
        let offset = i64::from(self.utc_offset_minutes) * MINUTE;
        let local = at + offset;
        let mut end = local.div_euclid(DAY) * DAY + i64::from(self.end_minute) * MINUTE;
        if end <= local {
            end += DAY;
        }
        end - offset
    }

    fn local_minute_of_day(&self, at: Micros) -> i32 {
        let local_minutes = at.div_euclid(MINUTE) + i64::from(self.utc_offset_minutes);
        // The remainder is below 1440, so it fits.
        local_minutes.rem_euclid(i64::from(MINUTES_PER_DAY)) as i32
    }
}

/// Everything a customer said about being contacted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    /// Per-channel decisions, each channel at most once; an absent channel was never asked.
    #[serde(default)]
    pub channels: Vec<ChannelConsent>,
    /// No marketing message on any channel.
    #[serde(default)]
    pub do_not_disturb: bool,
    #[serde(default)]
    pub quiet_hours: Option<QuietHours>,
}

impl Consent {
    /// The decision recorded for `channel`, if any.
    pub fn status(&self, channel: Channel) -> Option<ConsentStatus> {
        self.channels
            .iter()
            .find(|c| c.channel == channel)
            .map(|c| c.status)
    }

    /// The decision for `channel` as filters name it: one of [`STATUS_NAMES`].
    pub fn status_name(&self, channel: Channel) -> &'static str {
        self.status(channel).map_or(UNKNOWN, ConsentStatus::as_str)
    }

    /// Keeps the recorded time of every channel decision that `previous` already had
    /// unchanged, so re-saving a profile does not rewrite when consent was given.
    pub fn keep_update_times(&mut self, previous: &Consent) {
        for c in &mut self.channels {
            if let Some(old) = previous.channels.iter().find(|o| o.channel == c.channel)
                && old.status == c.status
                && old.source == c.source
            {
                c.update_time = old.update_time;
            }
        }
    }
}

/// A message about to be sent, as a contact check asks about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outgoing {
    pub channel: Channel,
    /// When it would be sent.
    pub at: Micros,
    /// A receipt or a delivery notice: needs no opt-in, ignores do-not-disturb and quiet
    /// hours, never an explicit opt-out.
    pub transactional: bool,
}

/// Whether a message may be sent, and if not why and when it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// A stable UPPER_SNAKE reason when not allowed.
    pub reason: Option<&'static str>,
    /// When the message becomes allowed, if waiting is all it takes (quiet hours).
    pub next_allowed_time: Option<Micros>,
}

impl Decision {
    const ALLOWED: Decision = Decision {
        allowed: true,
        reason: None,
        next_allowed_time: None,
    };

    fn denied(reason: &'static str) -> Decision {
        Decision {
            allowed: false,
            reason: Some(reason),
            next_allowed_time: None,
        }
    }
}

pub const REASON_OPTED_OUT: &str = "OPTED_OUT";
pub const REASON_NO_ADDRESS: &str = "NO_ADDRESS";
pub const REASON_DO_NOT_DISTURB: &str = "DO_NOT_DISTURB";
pub const REASON_NO_CONSENT: &str = "NO_CONSENT";
pub const REASON_QUIET_HOURS: &str = "QUIET_HOURS";

/// Whether a message on `channel` may be sent at `at` to a customer with `consent`.
/// `has_address` says whether the customer has a phone / email / handle for the channel;
/// `transactional` messages (receipts, delivery notices) need no opt-in and ignore
/// do-not-disturb and quiet hours, but still respect an explicit opt-out.
pub fn check(
    consent: &Consent,
    channel: Channel,
    has_address: bool,
    at: Micros,
    transactional: bool,
) -> Decision {
    let status = consent.status(channel);
    if status == Some(ConsentStatus::OptedOut) {
        return Decision::denied(REASON_OPTED_OUT);
    }
    if !has_address {
        return Decision::denied(REASON_NO_ADDRESS);
    }
    if transactional {
        return Decision::ALLOWED;
    }
    if consent.do_not_disturb {
        return Decision::denied(REASON_DO_NOT_DISTURB);
    }
    if status != Some(ConsentStatus::OptedIn) {
        return Decision::denied(REASON_NO_CONSENT);
    }
    if let Some(q) = consent.quiet_hours.filter(|q| q.contains(at)) {
        return Decision {
            allowed: false,
            reason: Some(REASON_QUIET_HOURS),
            next_allowed_time: Some(q.next_end(at)),
        };
    }
    Decision::ALLOWED
}

#[cfg(test)]
mod tests {
    use super::*;
    use rapport_runtime::clock::{HOUR, SECOND};

    /// 2024-01-01T00:00:00Z.
    const JAN1: Micros = 1_704_067_200 * SECOND;

    fn opted(channel: Channel, status: ConsentStatus) -> ChannelConsent {
        ChannelConsent {
            channel,
            status,
            source: "store_form".into(),
            update_time: JAN1,
        }
    }

    fn opted_in_sms() -> Consent {
        Consent {
            channels: vec![opted(Channel::Sms, ConsentStatus::OptedIn)],
            ..Consent::default()
        }
    }

    fn quiet(start_minute: i32, end_minute: i32, utc_offset_minutes: i32) -> QuietHours {
        QuietHours {
            start_minute,
            end_minute,
            utc_offset_minutes,
        }
    }

    #[test]
    fn channel_and_status_names_round_trip() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        assert_eq!(Channel::parse("fax"), None);
        for s in [ConsentStatus::OptedIn, ConsentStatus::OptedOut] {
            assert_eq!(ConsentStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(ConsentStatus::parse("maybe"), None);
    }

    #[test]
    fn filters_name_every_status_and_unknown() {
        let consent = Consent {
            channels: vec![opted(Channel::Email, ConsentStatus::OptedOut)],
            ..opted_in_sms()
        };
        let names: Vec<_> = Channel::ALL
            .iter()
            .map(|c| consent.status_name(*c))
            .collect();
        assert_eq!(names, ["unknown", "opted_out", "unknown", "unknown"]);
        assert_eq!(opted_in_sms().status_name(Channel::Sms), "opted_in");
        assert!(names.iter().all(|n| STATUS_NAMES.contains(n)));
    }

    #[test]
    fn consent_serde_round_trips_and_defaults() {
        let c = Consent {
            channels: vec![opted(Channel::Email, ConsentStatus::OptedOut)],
            do_not_disturb: true,
            quiet_hours: Some(quiet(1320, 480, 480)),
        };
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Consent>(&json).unwrap(), c);
        assert_eq!(
            serde_json::from_str::<Consent>("{}").unwrap(),
            Consent::default()
        );
    }

    #[test]
    fn opt_out_wins_even_for_transactional() {
        let consent = Consent {
            channels: vec![opted(Channel::Sms, ConsentStatus::OptedOut)],
            ..Consent::default()
        };
        for transactional in [false, true] {
            let d = check(&consent, Channel::Sms, true, JAN1, transactional);
            assert!(!d.allowed);
            assert_eq!(d.reason, Some("OPTED_OUT"));
            assert_eq!(d.next_allowed_time, None);
        }
        // Opt-out is per channel.
        let d = check(&consent, Channel::Email, true, JAN1, true);
        assert!(d.allowed);
    }

    #[test]
    fn opt_out_is_reported_before_missing_address() {
        let consent = Consent {
            channels: vec![opted(Channel::Sms, ConsentStatus::OptedOut)],
            ..Consent::default()
        };
        let d = check(&consent, Channel::Sms, false, JAN1, false);
        assert_eq!(d.reason, Some("OPTED_OUT"));
    }

    #[test]
    fn no_address_denies_both_kinds() {
        for transactional in [false, true] {
            let d = check(&opted_in_sms(), Channel::Sms, false, JAN1, transactional);
            assert!(!d.allowed);
            assert_eq!(d.reason, Some("NO_ADDRESS"));
        }
    }

    #[test]
    fn transactional_ignores_marketing_rules() {
        let consent = Consent {
            channels: vec![],
            do_not_disturb: true,
            quiet_hours: Some(quiet(0, 1439, 0)),
        };
        let d = check(&consent, Channel::Email, true, JAN1 + HOUR, true);
        assert_eq!(d, Decision::ALLOWED);
    }

    #[test]
    fn do_not_disturb_denies_marketing_even_when_opted_in() {
        let consent = Consent {
            do_not_disturb: true,
            ..opted_in_sms()
        };
        let d = check(&consent, Channel::Sms, true, JAN1, false);
        assert!(!d.allowed);
        assert_eq!(d.reason, Some("DO_NOT_DISTURB"));
    }

    #[test]
    fn marketing_needs_explicit_opt_in() {
        let d = check(&Consent::default(), Channel::Sms, true, JAN1, false);
        assert!(!d.allowed);
        assert_eq!(d.reason, Some("NO_CONSENT"));
        // Opt-in on another channel does not count.
        let d = check(&opted_in_sms(), Channel::Im, true, JAN1, false);
        assert_eq!(d.reason, Some("NO_CONSENT"));
        let d = check(&opted_in_sms(), Channel::Sms, true, JAN1, false);
        assert_eq!(d, Decision::ALLOWED);
    }

    #[test]
    fn quiet_hours_within_one_day() {
        // 12:00..14:00 UTC.
        let consent = Consent {
            quiet_hours: Some(quiet(720, 840, 0)),
            ..opted_in_sms()
        };
        let before = check(
            &consent,
            Channel::Sms,
            true,
            JAN1 + 12 * HOUR - SECOND,
            false,
        );
        assert!(before.allowed);
        let at_start = check(&consent, Channel::Sms, true, JAN1 + 12 * HOUR, false);
        assert_eq!(at_start.reason, Some("QUIET_HOURS"));
        assert_eq!(at_start.next_allowed_time, Some(JAN1 + 14 * HOUR));
        let inside = check(&consent, Channel::Sms, true, JAN1 + 14 * HOUR - 1, false);
        assert_eq!(inside.next_allowed_time, Some(JAN1 + 14 * HOUR));
        // The end is exclusive.
        let at_end = check(&consent, Channel::Sms, true, JAN1 + 14 * HOUR, false);
        assert!(at_end.allowed);
    }

    #[test]
    fn quiet_hours_spanning_midnight_with_china_offset() {
        // 22:00..08:00 local at UTC+8 is 14:00..00:00 UTC.
        let consent = Consent {
            quiet_hours: Some(quiet(22 * 60, 8 * 60, 480)),
            ..opted_in_sms()
        };
        let sms = |at| check(&consent, Channel::Sms, true, at, false);

        // 13:59 UTC = 21:59 local: allowed.
        assert!(sms(JAN1 + 14 * HOUR - MINUTE).allowed);
        // 14:00 UTC = 22:00 local: quiet until 08:00 local on Jan 2 = Jan 2 00:00 UTC.
        let d = sms(JAN1 + 14 * HOUR);
        assert_eq!(d.reason, Some("QUIET_HOURS"));
        assert_eq!(d.next_allowed_time, Some(JAN1 + DAY));
        // 17:30 UTC = 01:30 local on Jan 2 (after local midnight): same end.
        let d = sms(JAN1 + 17 * HOUR + 30 * MINUTE);
        assert_eq!(d.reason, Some("QUIET_HOURS"));
        assert_eq!(d.next_allowed_time, Some(JAN1 + DAY));
        // Jan 1 23:59:59 UTC = Jan 2 07:59:59 local: still quiet, one second to go.
        let d = sms(JAN1 + DAY - SECOND);
        assert_eq!(d.next_allowed_time, Some(JAN1 + DAY));
        // Jan 2 00:00 UTC = 08:00 local: allowed.
        assert!(sms(JAN1 + DAY).allowed);
        // Jan 1 00:00 UTC = 08:00 local: allowed; Dec 31 23:00 UTC = 07:00 local: quiet.
        assert!(sms(JAN1).allowed);
        let d = sms(JAN1 - HOUR);
        assert_eq!(d.reason, Some("QUIET_HOURS"));
        assert_eq!(d.next_allowed_time, Some(JAN1));
    }

    #[test]
    fn quiet_hours_with_negative_offset() {
        // 20:00..06:00 local at UTC-5 is 01:00..11:00 UTC.
        let q = quiet(20 * 60, 6 * 60, -300);
        assert!(!q.contains(JAN1 + HOUR - SECOND));
        assert!(q.contains(JAN1 + HOUR));
        assert!(q.contains(JAN1 + 10 * HOUR));
        assert!(!q.contains(JAN1 + 11 * HOUR));
        assert_eq!(q.next_end(JAN1 + HOUR), JAN1 + 11 * HOUR);
    }

    #[test]
    fn quiet_hours_before_the_epoch() {
        let q = quiet(0, 60, 0);
        assert!(q.contains(-DAY));
        assert!(!q.contains(-DAY - SECOND));
        assert_eq!(q.next_end(-DAY), -DAY + HOUR);
    }

    #[test]
    fn equal_start_and_end_means_no_quiet_hours() {
        let consent = Consent {
            quiet_hours: Some(quiet(600, 600, 480)),
            ..opted_in_sms()
        };
        for h in 0..24 {
            assert!(check(&consent, Channel::Sms, true, JAN1 + h * HOUR, false).allowed);
        }
    }

    #[test]
    fn quiet_hours_problems() {
        assert!(quiet(0, 1439, 840).problems().is_empty());
        assert!(quiet(0, 0, -720).problems().is_empty());
        let p = quiet(-1, 1440, 841).problems();
        let fields: Vec<_> = p.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["start_minute", "end_minute", "utc_offset_minutes"]);
        assert_eq!(quiet(0, 0, -721).problems().len(), 1);
    }

    #[test]
    fn keep_update_times_only_for_unchanged_decisions() {
        let previous = Consent {
            channels: vec![
                opted(Channel::Sms, ConsentStatus::OptedIn),
                opted(Channel::Email, ConsentStatus::OptedIn),
            ],
            ..Consent::default()
        };
        let later = JAN1 + DAY;
        let mut next = Consent {
            channels: vec![
                ChannelConsent {
                    update_time: later,
                    ..opted(Channel::Sms, ConsentStatus::OptedIn)
                },
                ChannelConsent {
                    update_time: later,
                    ..opted(Channel::Email, ConsentStatus::OptedOut)
                },
                ChannelConsent {
                    update_time: later,
                    ..opted(Channel::Im, ConsentStatus::OptedIn)
                },
            ],
            ..Consent::default()
        };
        next.keep_update_times(&previous);
        let times: Vec<_> = next.channels.iter().map(|c| c.update_time).collect();
        assert_eq!(times, [JAN1, later, later]);
    }
}
