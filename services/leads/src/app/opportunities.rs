//! Opportunities made or changed by more than one caller, with their events.

use rapport_proto::leads as pb;
use rapport_runtime::write::Write;

use crate::{
    convert::pipeline::{opportunity_to_proto, stage_change_to_proto},
    domain::opportunity::{Opportunity, StageChange},
};

/// Records `opportunity.created` for `o` in `w` (ConvertLead creates opportunities through
/// `store::opportunities::create_opportunity`); returns the opportunity's proto.
pub(crate) fn emit_created(w: &mut Write, o: &Opportunity) -> pb::Opportunity {
    emit(w, "created", o, None)
}

/// Records event `opportunity.{kind}` (created, updated, stage_changed, won, lost) about `o` in
/// `w`, with the move when there was one; returns the opportunity's proto.
pub(crate) fn emit(
    w: &mut Write,
    kind: &str,
    o: &Opportunity,
    change: Option<&StageChange>,
) -> pb::Opportunity {
    let out = opportunity_to_proto(o);
    let event = pb::OpportunityChanged {
        opportunity: Some(out.clone()),
        stage_change: change.map(stage_change_to_proto),
        transfer: None,
    };
    w.emit(&format!("opportunity.{kind}"), o.resource_name(), &event);
    out
}
