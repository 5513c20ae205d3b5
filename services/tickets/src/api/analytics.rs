//! TicketAnalyticsService (TK7).

use rapport_proto::tickets as pb;
use rapport_runtime::{Result, validation::Violations};
use tonic::Request;

use super::support::{SUPERVISORS, authorize};
use crate::{
    app::{App, analytics},
    convert::analytics::parse_ask,
};

pub(super) async fn report(
    app: &App,
    req: Request<pb::GetTicketReportRequest>,
) -> Result<pb::TicketReport> {
    let p = authorize(&req, SUPERVISORS)?;
    let mut v = Violations::new();
    let ask = parse_ask(req.get_ref(), &mut v);
    let ask = v.finish(ask)?;
    let ask = ask.ok_or_else(|| {
        rapport_runtime::Error::internal("a report request read without a violation yet incomplete")
    })?;
    analytics::report(app, &p, ask).await
}
