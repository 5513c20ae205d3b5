//! PipelineService (LE2): pipelines here, opportunities in `opportunities`. Pipelines have no
//! events: nothing downstream follows their definition.

use rapport_kit::query::{CursorValue, Page};
use rapport_kit::{Reply, reply};
use rapport_proto::leads::{self as pb, pipeline_service_server::PipelineService};
use rapport_runtime::{Error, Result, validation::Violations};
use tonic::Request;

use super::{
    opportunities,
    support::{MANAGERS, READERS, authorize},
};
use crate::app::App;
use crate::app::check_etag;
use crate::convert::{
    mask,
    pipeline::{PIPELINE_MASK, parse_stages, pipeline_key, pipeline_to_proto},
};
use crate::{
    domain::pipeline::{self, EXAMPLE_ID, Pipeline, StageKind},
    store::pipelines as store,
};

#[tonic::async_trait]
impl PipelineService for App {
    async fn create_pipeline(
        &self,
        req: Request<pb::CreatePipelineRequest>,
    ) -> Reply<pb::Pipeline> {
        reply(create(self, req).await)
    }

    async fn get_pipeline(&self, req: Request<pb::GetPipelineRequest>) -> Reply<pb::Pipeline> {
        reply(get(self, req).await)
    }

    async fn list_pipelines(
        &self,
        req: Request<pb::ListPipelinesRequest>,
    ) -> Reply<pb::ListPipelinesResponse> {
        reply(list(self, req).await)
    }

    async fn update_pipeline(
        &self,
        req: Request<pb::UpdatePipelineRequest>,
    ) -> Reply<pb::Pipeline> {
        reply(update(self, req).await)
    }

    async fn create_opportunity(
        &self,
        req: Request<pb::CreateOpportunityRequest>,
    ) -> Reply<pb::Opportunity> {
        reply(opportunities::create(self, req).await)
    }

    async fn get_opportunity(
        &self,
        req: Request<pb::GetOpportunityRequest>,
    ) -> Reply<pb::Opportunity> {
        reply(opportunities::get(self, req).await)
    }

    async fn list_opportunities(
        &self,
        req: Request<pb::ListOpportunitiesRequest>,
    ) -> Reply<pb::ListOpportunitiesResponse> {
        reply(opportunities::list(self, req).await)
    }

    async fn update_opportunity(
        &self,
        req: Request<pb::UpdateOpportunityRequest>,
    ) -> Reply<pb::Opportunity> {
        reply(opportunities::update(self, req).await)
    }

    async fn move_opportunity_stage(
        &self,
        req: Request<pb::MoveOpportunityStageRequest>,
    ) -> Reply<pb::Opportunity> {
        reply(opportunities::move_stage(self, req).await)
    }

    async fn list_stage_changes(
        &self,
        req: Request<pb::ListStageChangesRequest>,
    ) -> Reply<pb::ListStageChangesResponse> {
        reply(opportunities::list_stage_changes(self, req).await)
    }

    async fn transfer_opportunity(
        &self,
        req: Request<pb::TransferOpportunityRequest>,
    ) -> Reply<pb::Opportunity> {
        reply(super::transfers::transfer_opportunity(self, req).await)
    }

    async fn list_opportunity_transfers(
        &self,
        req: Request<pb::ListOpportunityTransfersRequest>,
    ) -> Reply<pb::ListOpportunityTransfersResponse> {
        reply(super::transfers::list_opportunity_transfers(self, req).await)
    }
}

fn exists(name: String) -> Error {
    Error::AlreadyExists {
        reason: "PIPELINE_EXISTS",
        message: format!("{name} already exists"),
        existing: name,
        metadata: Vec::new(),
    }
}

async fn create(api: &App, req: Request<pb::CreatePipelineRequest>) -> Result<pb::Pipeline> {
    let p = authorize(&req, MANAGERS)?;
    let Some(input) = req.into_inner().pipeline else {
        return Err(Error::invalid("pipeline", "is required"));
    };
    let mut v = Violations::with_prefix("pipeline");
    let id = pipeline_key(&input.name, "name", &mut v);
    let display_name = pipeline::display_name(&mut v, "display_name", &input.display_name);
    let stages = parse_stages(&input.stages, &mut v);
    v.finish(())?;
    let now = api.now();
    let created = Pipeline {
        id,
        display_name,
        stages,
        create_time: now,
        update_time: now,
        version: 1,
    };
    // Every tenant has the example already; UpdatePipeline makes it the tenant's own.
    if created.id == EXAMPLE_ID {
        return Err(exists(created.resource_name()));
    }
    let mut w = api.write(&p).await?;
    if !store::insert(w.tx(), &p.tenant_id, &created).await? {
        return Err(exists(created.resource_name()));
    }
    w.commit(pipeline_to_proto(&created)).await
}

async fn get(api: &App, req: Request<pb::GetPipelineRequest>) -> Result<pb::Pipeline> {
    let p = authorize(&req, READERS)?;
    let mut v = Violations::new();
    let id = pipeline_key(&req.get_ref().name, "name", &mut v);
    v.finish(())?;
    let mut conn = api.db().pool().acquire().await?;
    store::get(&mut conn, &p.tenant_id, &id)
        .await?
        .map(|p| pipeline_to_proto(&p))
        .ok_or_else(|| Error::not_found(pipeline::pipeline_name(&id)))
}

async fn list(
    api: &App,
    req: Request<pb::ListPipelinesRequest>,
) -> Result<pb::ListPipelinesResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let fits = |c: &[CursorValue]| matches!(c, [CursorValue::Text(_)]);
    let page = Page::parse(
        &[&p.tenant_id, "pipelines"],
        msg.page_size,
        &msg.page_token,
        fits,
    )?;
    let after = match page.after.as_slice() {
        [CursorValue::Text(id)] => id.clone(),
        _ => String::new(),
    };
    let fetch = page.fetch();
    let mut conn = api.db().pool().acquire().await?;
    let mut rows = store::list_stored(&mut conn, &p.tenant_id, &after, fetch).await?;
    // The example joins the list in its place by name unless the tenant stored its own copy,
    // which then is among the rows fetched whenever the example's place is within them.
    let within =
        rows.len() < fetch as usize || rows.last().is_some_and(|r| r.id.as_str() > EXAMPLE_ID);
    if EXAMPLE_ID > after.as_str() && within && !rows.iter().any(|r| r.id == EXAMPLE_ID) {
        let at = rows.partition_point(|r| r.id.as_str() < EXAMPLE_ID);
        rows.insert(at, pipeline::example());
    }
    let next_page_token = page.next_token(&mut rows, |r| vec![CursorValue::Text(r.id.clone())]);
    Ok(pb::ListPipelinesResponse {
        pipelines: rows.iter().map(pipeline_to_proto).collect(),
        next_page_token,
    })
}

async fn update(api: &App, req: Request<pb::UpdatePipelineRequest>) -> Result<pb::Pipeline> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.into_inner();
    let Some(patch) = msg.pipeline else {
        return Err(Error::invalid("pipeline", "is required"));
    };
    let paths = msg.update_mask.map(|m| m.paths).unwrap_or_default();
    let mut v = Violations::new();
    let id = pipeline_key(&patch.name, "pipeline.name", &mut v);
    let fields = mask::selected(&PIPELINE_MASK, &paths, &mut v);
    let (display_name, stages) = v.nested("pipeline", |v| {
        let name = fields
            .contains(&"display_name")
            .then(|| pipeline::display_name(v, "display_name", &patch.display_name));
        let stages = fields
            .contains(&"stages")
            .then(|| parse_stages(&patch.stages, v));
        (name, stages)
    });
    v.finish(())?;

    let mut w = api.write(&p).await?;
    store::lock(w.tx(), &p.tenant_id, &id, true).await?;
    let current = store::get(w.tx(), &p.tenant_id, &id)
        .await?
        .ok_or_else(|| Error::not_found(pipeline::pipeline_name(&id)))?;
    check_etag(&patch.etag, &current.resource_name(), current.version)?;
    let now = api.now();
    let next = Pipeline {
        display_name: display_name.unwrap_or_else(|| current.display_name.clone()),
        stages: stages.unwrap_or_else(|| current.stages.clone()),
        create_time: if current.is_builtin() {
            now
        } else {
            current.create_time
        },
        update_time: now,
        version: current.version + 1,
        ..current.clone()
    };
    // Stages that open opportunities are in may neither go nor close under them.
    let mut leaving = current.removed_stages(&next.stages);
    leaving.extend(
        next.stages
            .iter()
            .filter(|s| {
                s.kind != StageKind::Open && current.stage(&s.id).is_some_and(|c| c.is_open())
            })
            .map(|s| s.id.clone()),
    );
    let in_use = store::stages_in_use(w.tx(), &p.tenant_id, &id, &leaving).await?;
    if !in_use.is_empty() {
        return Err(Error::precondition(
            "STAGE_IN_USE",
            format!(
                "open opportunities are in stage(s) {} of {}; move them first",
                in_use.join(", "),
                current.resource_name()
            ),
        ));
    }
    // The example becomes the tenant's own on its first change.
    let written = if current.is_builtin() {
        store::insert(w.tx(), &p.tenant_id, &next).await?
    } else {
        store::update(w.tx(), &p.tenant_id, &next, current.version).await?
    };
    if !written {
        return Err(Error::stale_etag(&next.resource_name()));
    }
    w.commit(pipeline_to_proto(&next)).await
}
