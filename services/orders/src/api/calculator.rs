//! CalculatorService (OR5): loan schedules.

use rapport_proto::orders as pb;
use rapport_runtime::{Error, Result, validation::Violations};
use tonic::Request;

use super::support::{CATALOG_READERS, authorize};
use crate::{
    convert::loan::{parse_loan, schedule_to_proto},
    domain::loan::schedule,
};

pub(super) fn loan_schedule(
    req: Request<pb::ComputeLoanScheduleRequest>,
) -> Result<pb::LoanSchedule> {
    authorize(&req, CATALOG_READERS)?;
    let mut v = Violations::new();
    let parsed = parse_loan(req.get_ref(), &mut v);
    let Some(loan) = v.finish(parsed)? else {
        return Err(Error::invalid("principal", "is required"));
    };
    Ok(schedule_to_proto(&loan, &schedule(&loan.loan)))
}
