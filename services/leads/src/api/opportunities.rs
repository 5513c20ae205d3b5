//! Opportunities of PipelineService (LE2): create in the first stage, read, list, update, move
//! between stages (WON and LOST close them) and the stage history. Reps see their own, managers
//! their team's and their own, admins, marketers and service accounts all; what a caller may
//! not see reads as not found.

use rapport_kit::{
    list_params,
    query::{CursorValue, ListQuery, ListSpec, OrderBy, Page},
};
use rapport_proto::leads as pb;
use rapport_runtime::storage::Idempotency;
use rapport_runtime::{
    Error, Result, auth::Principal, error::both, validation::Violations, write::Write,
};
use tonic::Request;
use uuid::Uuid;

use super::support::{READERS, WORKERS, authorize, begin};
use crate::app::App;
use crate::app::check_etag;
use crate::app::opportunities::{apply_move, emit};
use crate::app::scope;
use crate::convert::{
    mask,
    pipeline::{
        OPPORTUNITY_MASK, OpportunityPatch, check_lost_reason, name_of, opportunity_id,
        opportunity_to_proto, parse_draft, stage_change_to_proto,
    },
};
use crate::{
    domain::{
        opportunity::{MAX_LOST_REASON, MoveError, Opportunity},
        pipeline::pipeline_name,
        visibility::Scope,
    },
    store::{
        opportunities::{self as store, NewOpportunity},
        pipelines,
    },
};

/// Orders ListOpportunities accepts.
const LIST: ListSpec = ListSpec {
    filter_fields: store::FILTER_FIELDS,
    order_fields: &["create_time", "update_time", "stage_enter_time"],
    default_order: OrderBy::desc("create_time"),
    text_order_fields: &[],
};

fn sees(p: &Principal, o: &Opportunity) -> bool {
    scope(p).sees_owned(&o.owner_id, &o.team_id)
}

/// An opportunity the caller may see; NOT_FOUND otherwise (also for another tenant's).
async fn visible(api: &App, p: &Principal, id: Uuid) -> Result<Opportunity> {
    let mut conn = api.db().pool().acquire().await?;
    store::get(&mut conn, &p.tenant_id, id)
        .await?
        .filter(|o| sees(p, o))
        .ok_or_else(|| Error::not_found(name_of(id)))
}

/// An opportunity the caller may see, locked in `w`; NOT_FOUND otherwise.
async fn lock_visible(w: &mut Write, p: &Principal, id: Uuid) -> Result<Opportunity> {
    store::lock(w.tx(), &p.tenant_id, id)
        .await?
        .filter(|o| sees(p, o))
        .ok_or_else(|| Error::not_found(name_of(id)))
}

pub(super) async fn create(
    api: &App,
    req: Request<pb::CreateOpportunityRequest>,
) -> Result<pb::Opportunity> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.into_inner();
    let draft = match &msg.opportunity {
        None => Err(Error::invalid("opportunity", "is required")),
        Some(o) => {
            let mut v = Violations::with_prefix("opportunity");
            let d = parse_draft(o, &mut v);
            v.finish(d).map_err(Error::from)
        }
    };
    let (idem, draft) = both(
        Idempotency::new(&p, "CreateOpportunity", &msg.request_id, &msg),
        draft,
    )?;
    let owner_id = if draft.owner_id.is_empty() {
        p.subject.clone()
    } else {
        draft.owner_id.clone()
    };
    if matches!(scope(&p), Scope::Own { .. }) && owner_id != p.subject {
        return Err(Error::PermissionDenied(
            "a rep creates opportunities it owns: leave owner_id empty or set it to yourself"
                .into(),
        ));
    }
    let mut w = begin!(api, p, idem);
    let source = match draft.lead_id {
        None => String::new(),
        Some(lead) => store::lead_source(w.tx(), &p.tenant_id, lead)
            .await?
            .ok_or_else(|| {
                Error::invalid(
                    "opportunity.lead",
                    format!(
                        "{} does not exist",
                        rapport_kit::names::format_id("leads", lead)
                    ),
                )
            })?,
    };
    let team_id = match store::rep_team(w.tx(), &p.tenant_id, &owner_id).await? {
        Some(team) => team,
        None => p.team_id.clone().unwrap_or_default(),
    };
    if !scope(&p).sees_owned(&owner_id, &team_id) {
        return Err(Error::PermissionDenied(format!(
            "{owner_id} is not in your team; a manager creates opportunities for its team"
        )));
    }
    let new = NewOpportunity {
        display_name: draft.display_name,
        lead_id: draft.lead_id,
        customer: draft.customer,
        pipeline_id: draft.pipeline_id,
        amount: draft.amount,
        expected_close_date: draft.expected_close,
        owner_id,
        team_id,
        source,
    };
    let o = store::create_opportunity(w.tx(), &p.tenant_id, &new, &p.subject, api.now()).await?;
    let out = emit(&mut w, "created", &o, None);
    w.commit(out).await
}

pub(super) async fn get(
    api: &App,
    req: Request<pb::GetOpportunityRequest>,
) -> Result<pb::Opportunity> {
    let p = authorize(&req, READERS)?;
    let mut v = Violations::new();
    let id = opportunity_id(&req.get_ref().name, "name", &mut v);
    let id = v.finish(id)?.unwrap_or_default();
    Ok(opportunity_to_proto(&visible(api, &p, id).await?))
}

pub(super) async fn list(
    api: &App,
    req: Request<pb::ListOpportunitiesRequest>,
) -> Result<pb::ListOpportunitiesResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let scope = scope(&p);
    let scope_key = format!("{scope:?}");
    let q = ListQuery::parse(
        &LIST,
        list_params!(msg),
        api.db().dialect(),
        2,
        &[&p.tenant_id, "opportunities", &scope_key],
    )?;
    let mut conn = api.db().pool().acquire().await?;
    let mut rows = store::list(&mut conn, &p.tenant_id, &q, &scope).await?;
    let next_page_token = q.next_token(&mut rows, |o| store::cursor_of(o, &q.order));
    Ok(pb::ListOpportunitiesResponse {
        opportunities: rows.iter().map(opportunity_to_proto).collect(),
        next_page_token,
    })
}

pub(super) async fn update(
    api: &App,
    req: Request<pb::UpdateOpportunityRequest>,
) -> Result<pb::Opportunity> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.into_inner();
    let Some(patch) = msg.opportunity else {
        return Err(Error::invalid("opportunity", "is required"));
    };
    let paths = msg.update_mask.map(|m| m.paths).unwrap_or_default();
    let mut v = Violations::new();
    let id = opportunity_id(&patch.name, "opportunity.name", &mut v);
    let fields = mask::selected(&OPPORTUNITY_MASK, &paths, &mut v);
    let changes = OpportunityPatch::parse(&patch, &fields, &mut v);
    let id = v.finish(id)?.unwrap_or_default();

    let mut w = api.write(&p).await?;
    let current = lock_visible(&mut w, &p, id).await?;
    check_etag(&patch.etag, &current.resource_name(), current.version)?;
    let mut next = changes.apply(&current);
    next.update_time = api.now();
    next.version = current.version + 1;
    if !store::update(w.tx(), &p.tenant_id, &next, current.version).await? {
        return Err(Error::stale_etag(&next.resource_name()));
    }
    let out = emit(&mut w, "updated", &next, None);
    w.commit(out).await
}

pub(super) async fn move_stage(
    api: &App,
    req: Request<pb::MoveOpportunityStageRequest>,
) -> Result<pb::Opportunity> {
    let p = authorize(&req, WORKERS)?;
    let msg = req.into_inner();
    let mut v = Violations::new();
    let id = opportunity_id(&msg.name, "name", &mut v);
    if msg.stage.trim().is_empty() {
        v.add(
            "stage",
            "is required: the id of a stage of the opportunity's pipeline",
        );
    }
    let n = msg.lost_reason.chars().count();
    if n > MAX_LOST_REASON {
        v.add(
            "lost_reason",
            format!("must be at most {MAX_LOST_REASON} characters, got {n}"),
        );
    }
    let (idem, id) = both(
        Idempotency::new(&p, "MoveOpportunityStage", &msg.request_id, &msg),
        v.finish(id).map_err(Error::from),
    )?;
    let id = id.unwrap_or_default();

    let mut w = begin!(api, p, idem);
    let current = lock_visible(&mut w, &p, id).await?;
    check_etag(&msg.etag, &current.resource_name(), current.version)?;
    pipelines::lock(w.tx(), &p.tenant_id, &current.pipeline_id, false).await?;
    let pipeline = pipelines::get(w.tx(), &p.tenant_id, &current.pipeline_id)
        .await?
        .ok_or_else(|| Error::internal(format!("{} has no pipeline", current.resource_name())))?;
    let stage = msg.stage.trim();
    let Some(to) = pipeline.stage(stage) else {
        return Err(Error::invalid(
            "stage",
            format!(
                "{stage:?} is not a stage of {}",
                pipeline_name(&current.pipeline_id)
            ),
        ));
    };
    let mut v = Violations::new();
    check_lost_reason(to.kind, &msg.lost_reason, &mut v);
    v.finish(())?;
    let now = api.now();
    let (moved, change) = current
        .move_to(to, msg.lost_reason.trim(), &p.subject, now)
        .map_err(|e| match e {
            MoveError::Closed(state) => Error::precondition(
                "OPPORTUNITY_CLOSED",
                format!(
                    "{} is {} and no longer moves",
                    current.resource_name(),
                    state.as_str()
                ),
            ),
            MoveError::SameStage => Error::precondition(
                "ALREADY_IN_STAGE",
                format!("{} is in stage {stage} already", current.resource_name()),
            ),
        })?;
    let out = apply_move(&mut w, &p.tenant_id, &current, &moved, &change).await?;
    w.commit(out).await
}

pub(super) async fn list_stage_changes(
    api: &App,
    req: Request<pb::ListStageChangesRequest>,
) -> Result<pb::ListStageChangesResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let id = opportunity_id(&msg.parent, "parent", &mut v);
    let fits = |c: &[CursorValue]| matches!(c, [CursorValue::Int(_), CursorValue::Text(id)] if Uuid::parse_str(id).is_ok());
    // A token of one opportunity (or tenant) is refused by another.
    let page = Page::parse(
        &[&p.tenant_id, "stageChanges", msg.parent.trim()],
        msg.page_size,
        &msg.page_token,
        fits,
    )
    .map_err(Error::from);
    let (id, page) = both(v.finish(id).map_err(Error::from), page)?;
    let id = id.unwrap_or_default();
    visible(api, &p, id).await?;
    let mut conn = api.db().pool().acquire().await?;
    let mut rows =
        store::list_stage_changes(&mut conn, &p.tenant_id, id, &page.after, page.fetch()).await?;
    let next_page_token = page.next_token(&mut rows, |c| {
        vec![
            CursorValue::Int(c.create_time),
            CursorValue::Text(c.id.to_string()),
        ]
    });
    Ok(pb::ListStageChangesResponse {
        stage_changes: rows.iter().map(stage_change_to_proto).collect(),
        next_page_token,
    })
}
