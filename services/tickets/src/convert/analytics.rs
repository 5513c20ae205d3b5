//! Ticket reports: the request read, and the aggregates put together as the answer.

use std::collections::{BTreeMap, HashMap};

use chrono::Datelike;
use chrono_tz::Tz;
use rapport_kit::validate;
use rapport_proto::tickets as pb;
use rapport_runtime::validation::Violations;

use crate::{
    app::analytics::Ask,
    domain::analytics::{BUCKET, MAX_DAYS, Period, period_of, zone},
    store::analytics::Group,
};

/// What GetTicketReport asks for, every bad field reported.
pub fn parse_ask(m: &pb::GetTicketReportRequest, v: &mut Violations) -> Option<Ask> {
    let first = required_full_date(v, "start_date", m.start_date.as_ref());
    let last = required_full_date(v, "end_date", m.end_date.as_ref());
    let zone = zone(m.time_zone.trim())
        .map_err(|e| v.add("time_zone", e))
        .ok();
    let period = match pb::Period::try_from(m.period) {
        Ok(pb::Period::Unspecified | pb::Period::Day) => Some(Period::Day),
        Ok(pb::Period::Week) => Some(Period::Week),
        Ok(pb::Period::Month) => Some(Period::Month),
        Err(_) => {
            v.add("period", format!("{} is not a valid Period", m.period));
            None
        }
    };
    let team = validate::id(v, "team_id", m.team_id.trim());
    let to_naive = |d: time::Date| {
        chrono::NaiveDate::from_ymd_opt(
            d.year(),
            u32::from(u8::from(d.month())),
            u32::from(d.day()),
        )
    };
    let (first, last) = (first.and_then(to_naive), last.and_then(to_naive));
    if let (Some(a), Some(b)) = (first, last) {
        let days = (b - a).num_days();
        if days < 0 {
            v.add("end_date", "must not be before start_date");
        } else if days >= MAX_DAYS {
            v.add(
                "end_date",
                format!("at most {MAX_DAYS} days after start_date"),
            );
        }
    }
    Some(Ask {
        first: first?,
        last: last?,
        zone: zone?,
        period: period?,
        team: (!team.is_empty()).then_some(team),
    })
}

/// A date the request must give in full: absent (or all zero) is reported like a bad date, not
/// left for the caller to find as an incomplete request.
fn required_full_date(
    v: &mut Violations,
    field: &str,
    date: Option<&rapport_proto::types::Date>,
) -> Option<time::Date> {
    if date.is_none_or(|d| *d == rapport_proto::types::Date::default()) {
        v.add(field, "is required");
        return None;
    }
    validate::full_date(v, field, date)
}

/// The aggregates of a report.
pub struct Parts {
    pub zone: Tz,
    pub period: Period,
    pub groups: Vec<Group>,
    pub buckets: Vec<(i64, i64)>,
    /// (count, p50, p90) in seconds.
    pub first_response: (i64, i64, i64),
    pub resolution: (i64, i64, i64),
    pub categories: Vec<(String, i64)>,
    /// (agent, team, answers, sum of scores).
    pub satisfaction: Vec<(String, String, i64, i64)>,
}

fn counts(map: HashMap<String, i64>) -> Vec<pb::Count> {
    let mut out: Vec<pb::Count> = map
        .into_iter()
        .map(|(key, count)| pb::Count { key, count })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    out
}

fn groups(map: HashMap<String, (i64, i64)>) -> Vec<pb::SatisfactionGroup> {
    let mut out: Vec<pb::SatisfactionGroup> = map
        .into_iter()
        .filter(|(key, _)| !key.is_empty())
        .map(|(key, (n, total))| pb::SatisfactionGroup {
            key,
            answers: n,
            average_score: total as f64 / n.max(1) as f64,
        })
        .collect();
    out.sort_by(|a, b| {
        b.average_score
            .total_cmp(&a.average_score)
            .then_with(|| a.key.cmp(&b.key))
    });
    out
}

fn share(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The report.
pub fn report_to_proto(p: Parts) -> pb::TicketReport {
    let mut by_type = HashMap::new();
    let mut by_channel = HashMap::new();
    let mut sla = [(0i64, 0i64); 3];
    let (mut resolved, mut reopened, mut total) = (0, 0, 0);
    for g in &p.groups {
        *by_type.entry(g.ticket_type.clone()).or_insert(0) += g.count;
        *by_channel.entry(g.channel.clone()).or_insert(0) += g.count;
        for (i, (met, breached)) in g.sla.iter().enumerate() {
            sla[i].0 += met;
            sla[i].1 += breached;
        }
        resolved += g.resolved;
        reopened += g.reopened;
        total += g.count;
    }
    let mut periods = BTreeMap::new();
    for (bucket, n) in &p.buckets {
        *periods
            .entry(period_of(p.zone, bucket * BUCKET, p.period))
            .or_insert(0) += n;
    }
    let targets = [
        pb::SlaTargetKind::FirstResponse,
        pb::SlaTargetKind::NextResponse,
        pb::SlaTargetKind::Resolution,
    ];
    let mut agents = HashMap::new();
    let mut teams = HashMap::new();
    for (agent, team, n, sum) in &p.satisfaction {
        let a = agents.entry(agent.clone()).or_insert((0, 0));
        a.0 += n;
        a.1 += sum;
        let t = teams.entry(team.clone()).or_insert((0, 0));
        t.0 += n;
        t.1 += sum;
    }
    let durations = |(count, p50, p90): (i64, i64, i64)| pb::Durations {
        count,
        p50_seconds: p50,
        p90_seconds: p90,
    };
    pb::TicketReport {
        total,
        volume_by_type: counts(by_type),
        volume_by_channel: counts(by_channel),
        volume_by_period: periods
            .into_iter()
            .map(|(day, count)| pb::Count {
                key: format!("{:04}-{:02}-{:02}", day.year(), day.month(), day.day()),
                count,
            })
            .collect(),
        sla_compliance: targets
            .iter()
            .zip(sla)
            .map(|(kind, (met, breached))| pb::SlaCompliance {
                target: *kind as i32,
                total: met + breached,
                met,
                percent_met: share(met, met + breached),
            })
            .collect(),
        first_response: Some(durations(p.first_response)),
        resolution: Some(durations(p.resolution)),
        top_complaint_categories: p
            .categories
            .into_iter()
            .map(|(key, count)| pb::Count { key, count })
            .collect(),
        reopen_rate: share(reopened, resolved),
        satisfaction_by_agent: groups(agents),
        satisfaction_by_team: groups(teams),
    }
}
