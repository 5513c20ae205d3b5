//! Opportunities made or changed by more than one caller, with their events.

use rapport_proto::leads as pb;
use rapport_runtime::{Error, Result, write::Write};
use uuid::Uuid;

use crate::{
    convert::pipeline::{opportunity_to_proto, stage_change_to_proto},
    domain::{
        opportunity::{Opportunity, StageChange, State},
        pipeline::StageKind,
    },
    store::{opportunities as store, pipelines},
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

/// Writes the move of `current` (locked in `w`) as `moved` with its stage `change`: the
/// opportunity, the change, the lead it came from when it is won, and the events
/// (`stage_changed`, then `won` or `lost` when it closes); returns the opportunity's proto.
pub(crate) async fn apply_move(
    w: &mut Write,
    tenant: &str,
    current: &Opportunity,
    moved: &Opportunity,
    change: &StageChange,
) -> Result<pb::Opportunity> {
    if !store::update(w.tx(), tenant, moved, current.version).await? {
        return Err(Error::stale_etag(&moved.resource_name()));
    }
    store::insert_stage_change(w.tx(), tenant, change).await?;
    if let (State::Won, Some(lead)) = (moved.state, moved.lead_id) {
        store::mark_lead_won(w.tx(), tenant, lead, change.create_time).await?;
    }
    let out = emit(w, "stage_changed", moved, Some(change));
    match moved.state {
        State::Won => {
            emit(w, "won", moved, Some(change));
        }
        State::Lost => {
            emit(w, "lost", moved, Some(change));
        }
        State::Open => {}
    }
    Ok(out)
}

/// Wins opportunity `id` because an order closing it was confirmed: moves it to its
/// pipeline's first WON stage, as `actor`. An opportunity already won or lost, unknown, or in
/// a pipeline without a WON stage is left as it is, so a repeated order event changes nothing.
pub(crate) async fn win_by_order(w: &mut Write, tenant: &str, id: Uuid, actor: &str) -> Result<()> {
    let Some(current) = store::lock(w.tx(), tenant, id).await? else {
        return Ok(());
    };
    if current.state != State::Open {
        return Ok(());
    }
    pipelines::lock(w.tx(), tenant, &current.pipeline_id, false).await?;
    let Some(pipeline) = pipelines::get(w.tx(), tenant, &current.pipeline_id).await? else {
        return Ok(());
    };
    let Some(won) = pipeline.stages.iter().find(|s| s.kind == StageKind::Won) else {
        return Ok(());
    };
    let now = w.now();
    let Ok((moved, change)) = current.move_to(won, "", actor, now) else {
        return Ok(());
    };
    apply_move(w, tenant, &current, &moved, &change).await?;
    Ok(())
}
