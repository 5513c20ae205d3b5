//! Consent and CheckContactPermission: proto <-> domain.

use std::collections::HashSet;

use rapport_proto::customers as pb;
use rapport_runtime::clock::{DAY, MAX_TIME, Micros, from_timestamp, to_timestamp};
use rapport_runtime::validation::{FieldViolation, Violations};
use uuid::Uuid;

use crate::domain::consent::{
    self, Channel, ChannelConsent, Consent, ConsentStatus, Decision, Outgoing, QuietHours,
};
use crate::domain::names;

/// The domain channel of a proto enum value; `None` for UNSPECIFIED and unknown values.
pub fn channel_from_proto(value: i32) -> Option<Channel> {
    match pb::Channel::try_from(value).ok()? {
        pb::Channel::Unspecified => None,
        pb::Channel::Sms => Some(Channel::Sms),
        pb::Channel::Email => Some(Channel::Email),
        pb::Channel::Phone => Some(Channel::Phone),
        pb::Channel::Im => Some(Channel::Im),
    }
}

/// The proto enum of a domain channel.
pub fn channel_to_proto(channel: Channel) -> pb::Channel {
    match channel {
        Channel::Sms => pb::Channel::Sms,
        Channel::Email => pb::Channel::Email,
        Channel::Phone => pb::Channel::Phone,
        Channel::Im => pb::Channel::Im,
    }
}

/// The domain status of a proto enum value; `None` for UNSPECIFIED and unknown values.
pub fn consent_status_from_proto(value: i32) -> Option<ConsentStatus> {
    match pb::ConsentStatus::try_from(value).ok()? {
        pb::ConsentStatus::Unspecified => None,
        pb::ConsentStatus::OptedIn => Some(ConsentStatus::OptedIn),
        pb::ConsentStatus::OptedOut => Some(ConsentStatus::OptedOut),
    }
}

/// The proto enum of a domain status.
pub fn consent_status_to_proto(status: ConsentStatus) -> pb::ConsentStatus {
    match status {
        ConsentStatus::OptedIn => pb::ConsentStatus::OptedIn,
        ConsentStatus::OptedOut => pb::ConsentStatus::OptedOut,
    }
}

/// Reads a customer's consent. Violations are reported relative to `v`'s prefix
/// (`channels[1].status`, `quiet_hours.end_minute`, …), so nest it under the consent field.
/// Every decision is stamped `now`; use [`Consent::keep_update_times`] to keep the time of
/// decisions that did not change.
pub fn consent_from_proto(proto: &pb::Consent, now: Micros, v: &mut Violations) -> Consent {
    let mut seen = HashSet::new();
    let mut channels = Vec::with_capacity(proto.channels.len());
    for (i, c) in proto.channels.iter().enumerate() {
        let path = |field: &str| format!("channels[{i}].{field}");
        let channel = channel_from_proto(c.channel);
        match channel {
            None => v.add(path("channel"), "is required: one of SMS, EMAIL, PHONE, IM"),
            Some(ch) if !seen.insert(ch) => v.add(
                path("channel"),
                format!(
                    "{} appears more than once",
                    channel_to_proto(ch).as_str_name()
                ),
            ),
            Some(_) => {}
        }
        let status = consent_status_from_proto(c.status);
        if status.is_none() {
            v.add(path("status"), "is required: OPTED_IN or OPTED_OUT");
        }
        let source = c.source.trim();
        let n = source.chars().count();
        if n > consent::MAX_SOURCE_CHARS {
            v.add(
                path("source"),
                format!(
                    "must be at most {} characters, got {n}",
                    consent::MAX_SOURCE_CHARS
                ),
            );
        }
        if let (Some(channel), Some(status)) = (channel, status) {
            channels.push(ChannelConsent {
                channel,
                status,
                source: source.to_owned(),
                update_time: now,
            });
        }
    }
    let quiet_hours = proto.quiet_hours.as_ref().and_then(|q| {
        let q = QuietHours {
            start_minute: q.start_minute,
            end_minute: q.end_minute,
            utc_offset_minutes: q.utc_offset_minutes,
        };
        for (field, problem) in q.problems() {
            v.add(format!("quiet_hours.{field}"), problem);
        }
        // An empty window means no quiet hours; store it as none so there is one spelling.
        (q.start_minute != q.end_minute).then_some(q)
    });
    Consent {
        channels,
        do_not_disturb: proto.do_not_disturb,
        quiet_hours,
    }
}

/// The proto of a customer's consent.
pub fn consent_to_proto(consent: &Consent) -> pb::Consent {
    pb::Consent {
        channels: consent
            .channels
            .iter()
            .map(|c| pb::ChannelConsent {
                channel: channel_to_proto(c.channel).into(),
                status: consent_status_to_proto(c.status).into(),
                source: c.source.clone(),
            })
            .collect(),
        do_not_disturb: consent.do_not_disturb,
        quiet_hours: consent.quiet_hours.map(|q| pb::QuietHours {
            start_minute: q.start_minute,
            end_minute: q.end_minute,
            utc_offset_minutes: q.utc_offset_minutes,
        }),
    }
}

/// A parsed CheckContactPermission request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContactPermissionQuery {
    pub customer_id: Uuid,
    /// The message asked about; sent now unless the request says when.
    pub message: Outgoing,
}

/// The latest send time asked about: 9999-12-30T00:00:00Z, two days before timestamps end.
const LAST_SEND_TIME: Micros = MAX_TIME - 2 * DAY + 1;

/// The message a contact check asks about, on `channel` (already read), at `send_time` or
/// `now`; a bad send time is reported on `send_time`.
pub fn parse_outgoing(
    v: &mut Violations,
    channel: Option<Channel>,
    send_time: Option<&prost_types::Timestamp>,
    transactional: bool,
    now: Micros,
) -> Option<Outgoing> {
    let at = match send_time {
        None => Some(now),
        Some(ts) => match from_timestamp(ts) {
            None => {
                v.add("send_time", "is not a valid timestamp");
                None
            }
            // The answer may name the end of a quiet period up to a day later, which must still
            // be a valid timestamp.
            Some(t) if t > LAST_SEND_TIME => {
                v.add(
                    "send_time",
                    "must be before 9999-12-30T00:00:00Z: a later time leaves no room for when \
                     sending is allowed",
                );
                None
            }
            Some(t) => Some(t),
        },
    };
    Some(Outgoing {
        channel: channel?,
        at: at?,
        transactional,
    })
}

/// Parses a CheckContactPermission request; `now` is the default send time.
pub fn parse_check_contact_permission(
    req: &pb::CheckContactPermissionRequest,
    now: Micros,
) -> Result<ContactPermissionQuery, Vec<FieldViolation>> {
    let mut v = Violations::new();
    let customer_id = names::parse_customer_name(&req.name)
        .map_err(|e| v.add("name", e))
        .ok();
    let channel = channel_from_proto(req.channel);
    if channel.is_none() {
        v.add("channel", "is required: one of SMS, EMAIL, PHONE, IM");
    }
    let message = parse_outgoing(
        &mut v,
        channel,
        req.send_time.as_ref(),
        req.transactional,
        now,
    );
    match (customer_id, message) {
        (Some(customer_id), Some(message)) => v.finish(ContactPermissionQuery {
            customer_id,
            message,
        }),
        _ => Err(v.into_vec()),
    }
}

/// The response for a decision.
pub fn decision_to_proto(decision: &Decision) -> pb::CheckContactPermissionResponse {
    pb::CheckContactPermissionResponse {
        allowed: decision.allowed,
        reason: decision.reason.unwrap_or_default().to_owned(),
        next_allowed_time: decision.next_allowed_time.map(to_timestamp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rapport_runtime::clock::SECOND;

    const NOW: Micros = 1_704_067_200 * SECOND;
    const ID: &str = "0190a5b2-7c3e-7d4f-8a1b-2c3d4e5f6a7b";

    fn fields(v: &[FieldViolation]) -> Vec<&str> {
        v.iter().map(|f| f.field.as_str()).collect()
    }

    fn channel_consent(channel: pb::Channel, status: pb::ConsentStatus) -> pb::ChannelConsent {
        pb::ChannelConsent {
            channel: channel.into(),
            status: status.into(),
            source: " store_form ".into(),
        }
    }

    #[test]
    fn enums_map_both_ways() {
        for c in Channel::ALL {
            assert_eq!(channel_from_proto(channel_to_proto(c).into()), Some(c));
        }
        assert_eq!(channel_from_proto(0), None);
        assert_eq!(channel_from_proto(99), None);
        for s in [ConsentStatus::OptedIn, ConsentStatus::OptedOut] {
            assert_eq!(
                consent_status_from_proto(consent_status_to_proto(s).into()),
                Some(s)
            );
        }
        assert_eq!(consent_status_from_proto(0), None);
        assert_eq!(consent_status_from_proto(-1), None);
    }

    #[test]
    fn consent_round_trips() {
        let proto = pb::Consent {
            channels: vec![
                channel_consent(pb::Channel::Sms, pb::ConsentStatus::OptedIn),
                channel_consent(pb::Channel::Email, pb::ConsentStatus::OptedOut),
            ],
            do_not_disturb: true,
            quiet_hours: Some(pb::QuietHours {
                start_minute: 1320,
                end_minute: 480,
                utc_offset_minutes: 480,
            }),
        };
        let mut v = Violations::new();
        let consent = consent_from_proto(&proto, NOW, &mut v);
        assert!(v.is_empty(), "{v:?}");
        assert_eq!(consent.channels[0].source, "store_form");
        assert_eq!(consent.channels[1].update_time, NOW);
        assert_eq!(
            consent.status(Channel::Email),
            Some(ConsentStatus::OptedOut)
        );
        let back = consent_to_proto(&consent);
        assert_eq!(back.channels[0].source, "store_form");
        let trimmed = pb::ChannelConsent {
            source: "store_form".into(),
            ..proto.channels[1].clone()
        };
        assert_eq!(back.channels[1], trimmed);
        assert_eq!(back.quiet_hours, proto.quiet_hours);
        assert!(back.do_not_disturb);
    }

    #[test]
    fn every_bad_consent_field_is_reported() {
        let proto = pb::Consent {
            channels: vec![
                pb::ChannelConsent {
                    channel: 0,
                    status: 0,
                    source: "x".repeat(65),
                },
                channel_consent(pb::Channel::Im, pb::ConsentStatus::OptedIn),
                channel_consent(pb::Channel::Im, pb::ConsentStatus::OptedOut),
            ],
            do_not_disturb: false,
            quiet_hours: Some(pb::QuietHours {
                start_minute: -1,
                end_minute: 1440,
                utc_offset_minutes: 900,
            }),
        };
        let mut v = Violations::with_prefix("customer.consent");
        consent_from_proto(&proto, NOW, &mut v);
        assert_eq!(
            fields(v.items()),
            [
                "customer.consent.channels[0].channel",
                "customer.consent.channels[0].status",
                "customer.consent.channels[0].source",
                "customer.consent.channels[2].channel",
                "customer.consent.quiet_hours.start_minute",
                "customer.consent.quiet_hours.end_minute",
                "customer.consent.quiet_hours.utc_offset_minutes",
            ]
        );
    }

    #[test]
    fn empty_quiet_hours_are_none() {
        let proto = pb::Consent {
            quiet_hours: Some(pb::QuietHours::default()),
            ..Default::default()
        };
        let mut v = Violations::new();
        assert_eq!(consent_from_proto(&proto, NOW, &mut v), Consent::default());
        assert!(v.is_empty());
    }

    #[test]
    fn check_request_defaults_send_time_to_now() {
        let req = pb::CheckContactPermissionRequest {
            name: format!("customers/{ID}"),
            channel: pb::Channel::Sms.into(),
            send_time: None,
            transactional: true,
        };
        let q = parse_check_contact_permission(&req, NOW).unwrap();
        assert_eq!(q.customer_id.to_string(), ID);
        assert_eq!(
            q.message,
            Outgoing {
                channel: Channel::Sms,
                at: NOW,
                transactional: true
            }
        );

        let later = pb::CheckContactPermissionRequest {
            send_time: Some(to_timestamp(NOW + SECOND)),
            ..req
        };
        assert_eq!(
            parse_check_contact_permission(&later, NOW)
                .unwrap()
                .message
                .at,
            NOW + SECOND
        );
    }

    #[test]
    fn a_send_time_at_the_end_of_time_is_refused() {
        let at = |seconds: i64| pb::CheckContactPermissionRequest {
            name: format!("customers/{ID}"),
            channel: pb::Channel::Sms.into(),
            send_time: Some(prost_types::Timestamp { seconds, nanos: 0 }),
            transactional: false,
        };
        // 9999-12-31T23:59:59Z: a quiet period's end would fall in year 10000.
        let v = parse_check_contact_permission(&at(253_402_300_799), NOW).unwrap_err();
        assert_eq!(v[0].field, "send_time");
        // 9999-12-29 is still fine.
        assert!(parse_check_contact_permission(&at(253_402_128_000), NOW).is_ok());
    }

    #[test]
    fn check_request_reports_every_bad_field() {
        let req = pb::CheckContactPermissionRequest {
            name: "customers/nope".into(),
            channel: 0,
            send_time: Some(prost_types::Timestamp {
                seconds: 0,
                nanos: -5,
            }),
            transactional: false,
        };
        let err = parse_check_contact_permission(&req, NOW).unwrap_err();
        assert_eq!(fields(&err), ["name", "channel", "send_time"]);
    }

    #[test]
    fn decisions_become_responses() {
        let quiet = consent::check(
            &Consent {
                channels: vec![ChannelConsent {
                    channel: Channel::Sms,
                    status: ConsentStatus::OptedIn,
                    source: String::new(),
                    update_time: NOW,
                }],
                do_not_disturb: false,
                quiet_hours: Some(QuietHours {
                    start_minute: 0,
                    end_minute: 60,
                    utc_offset_minutes: 0,
                }),
            },
            Channel::Sms,
            true,
            NOW,
            false,
        );
        let resp = decision_to_proto(&quiet);
        assert!(!resp.allowed);
        assert_eq!(resp.reason, "QUIET_HOURS");
        assert_eq!(
            resp.next_allowed_time,
            Some(to_timestamp(NOW + 3600 * SECOND))
        );

        let allowed = Decision {
            allowed: true,
            reason: None,
            next_allowed_time: None,
        };
        assert_eq!(
            decision_to_proto(&allowed),
            pb::CheckContactPermissionResponse {
                allowed: true,
                reason: String::new(),
                next_allowed_time: None,
            }
        );
    }
}
