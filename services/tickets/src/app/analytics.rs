//! Ticket reports (TK7): the aggregates run concurrently on their own connections, then are
//! put together in the report's time zone.

use chrono::NaiveDate;
use chrono_tz::Tz;
use rapport_proto::tickets as pb;
use rapport_runtime::{Result, auth::Principal};

use super::{App, Sees, sees};
use crate::{
    convert::analytics::{Parts, report_to_proto},
    domain::analytics::{BUCKET, Period, locate, range},
    store::analytics::{self as store, Scope},
};

/// What a report asks for, parsed.
#[derive(Debug, Clone)]
pub struct Ask {
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub zone: Tz,
    pub period: Period,
    pub team: Option<String>,
}

/// p50 and p90 of `column` with their count.
async fn durations(app: &App, s: &Scope, column: &'static str) -> Result<(i64, i64, i64)> {
    let mut conn = app.db().pool().acquire().await?;
    let histogram = store::minutes(&mut conn, s, column).await?;
    let count = histogram.iter().map(|(_, n)| n).sum();
    let at = |q: f64| locate(&histogram, q);
    let (p50, p90) = (at(0.5), at(0.9));
    let p50 = match p50 {
        Some(spot) => store::value_in_minute(&mut conn, s, column, spot).await?,
        None => 0,
    };
    let p90 = match p90 {
        Some(spot) => store::value_in_minute(&mut conn, s, column, spot).await?,
        None => 0,
    };
    Ok((count, p50, p90))
}

/// The report `p` asked for; supervisors always get their own team's.
pub async fn report(app: &App, p: &Principal, ask: Ask) -> Result<pb::TicketReport> {
    let team = match sees(p) {
        Sees::Team(team) => Some(team),
        _ => ask.team.clone(),
    };
    let (start, end) = range(ask.zone, ask.first, ask.last);
    let scope = Scope {
        tenant: p.tenant_id.clone(),
        start,
        end,
        team,
    };
    let settings = app.settings(&p.tenant_id).await?;
    let complaints = settings.complaint_types();
    let s = &scope;
    let (groups, buckets, first, resolution, categories, satisfaction) = futures::try_join!(
        async {
            let mut c = app.db().pool().acquire().await?;
            store::groups(&mut c, s).await
        },
        async {
            let mut c = app.db().pool().acquire().await?;
            store::by_bucket(&mut c, s, BUCKET).await
        },
        durations(app, s, "first_response_seconds"),
        durations(app, s, "resolution_seconds"),
        async {
            let mut c = app.db().pool().acquire().await?;
            store::top_categories(&mut c, s, &complaints).await
        },
        async {
            let mut c = app.db().pool().acquire().await?;
            store::satisfaction(&mut c, s).await
        },
    )?;
    Ok(report_to_proto(Parts {
        zone: ask.zone,
        period: ask.period,
        groups,
        buckets,
        first_response: first,
        resolution,
        categories,
        satisfaction,
    }))
}
