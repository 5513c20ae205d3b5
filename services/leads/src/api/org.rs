//! SalesOrgService (LE4): stores and teams here, reps in `reps`. Everyone of the tenant reads
//! the organization; admins, managers and service accounts change it.

use rapport_kit::query::{CursorValue, Page};
use rapport_kit::{Reply, reply};
use rapport_proto::leads::{self as pb, sales_org_service_server::SalesOrgService};
use rapport_runtime::storage::Idempotency;
use rapport_runtime::{Error, Result, error::both, validation::Violations};
use tonic::Request;

use super::{
    reps,
    support::{
        MANAGERS, READERS, after_id, authorize, begin, check_refs, exists, id_cursor, optional_key,
        parse_key,
    },
};
use crate::app::App;
use crate::app::check_etag;
use crate::convert::{
    mask,
    org::{STORE_MASK, StorePatch, TEAM_MASK, TeamPatch, store_to_proto, team_to_proto},
};
use crate::{
    domain::org::{self, Store, Team},
    store,
};

#[tonic::async_trait]
impl SalesOrgService for App {
    async fn create_store(&self, req: Request<pb::CreateStoreRequest>) -> Reply<pb::Store> {
        reply(create_store(self, req).await)
    }

    async fn get_store(&self, req: Request<pb::GetStoreRequest>) -> Reply<pb::Store> {
        reply(get_store(self, req).await)
    }

    async fn list_stores(
        &self,
        req: Request<pb::ListStoresRequest>,
    ) -> Reply<pb::ListStoresResponse> {
        reply(list_stores(self, req).await)
    }

    async fn update_store(&self, req: Request<pb::UpdateStoreRequest>) -> Reply<pb::Store> {
        reply(update_store(self, req).await)
    }

    async fn create_team(&self, req: Request<pb::CreateTeamRequest>) -> Reply<pb::Team> {
        reply(create_team(self, req).await)
    }

    async fn get_team(&self, req: Request<pb::GetTeamRequest>) -> Reply<pb::Team> {
        reply(get_team(self, req).await)
    }

    async fn list_teams(&self, req: Request<pb::ListTeamsRequest>) -> Reply<pb::ListTeamsResponse> {
        reply(list_teams(self, req).await)
    }

    async fn update_team(&self, req: Request<pb::UpdateTeamRequest>) -> Reply<pb::Team> {
        reply(update_team(self, req).await)
    }

    async fn create_rep(&self, req: Request<pb::CreateRepRequest>) -> Reply<pb::Rep> {
        reply(reps::create(self, req).await)
    }

    async fn get_rep(&self, req: Request<pb::GetRepRequest>) -> Reply<pb::Rep> {
        reply(reps::get(self, req).await)
    }

    async fn list_reps(&self, req: Request<pb::ListRepsRequest>) -> Reply<pb::ListRepsResponse> {
        reply(reps::list(self, req).await)
    }

    async fn update_rep(&self, req: Request<pb::UpdateRepRequest>) -> Reply<pb::Rep> {
        reply(reps::update(self, req).await)
    }
}

/// The key of `collection/{key}` in a Get request's `name`.
fn name_key(collection: &str, name: &str) -> Result<String> {
    let mut v = Violations::new();
    let key = parse_key(collection, name, "name", &mut v);
    v.finish(key).map_err(Error::from)
}

async fn create_store(api: &App, req: Request<pb::CreateStoreRequest>) -> Result<pb::Store> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.into_inner();
    let parsed = match &msg.store {
        None => Err(Error::invalid("store", "is required")),
        Some(input) => {
            let mut v = Violations::with_prefix("store");
            let id = parse_key("stores", &input.name, "name", &mut v);
            let patch = StorePatch::parse(input, STORE_MASK.updatable, &mut v);
            v.finish((id, patch)).map_err(Error::from)
        }
    };
    let (idem, (id, patch)) = both(
        Idempotency::new(&p, "CreateStore", &msg.request_id, &msg),
        parsed,
    )?;
    let mut w = begin!(api, p, idem);
    let now = api.now();
    let created = patch.apply(Store {
        id,
        display_name: String::new(),
        region: String::new(),
        create_time: now,
        update_time: now,
        version: 1,
    });
    if !store::org::insert_store(w.tx(), &p.tenant_id, &created).await? {
        return Err(exists("STORE_EXISTS", created.name()));
    }
    let out = store_to_proto(&created);
    let event = pb::StoreChanged {
        store: Some(out.clone()),
    };
    w.emit("store.created", created.name(), &event);
    w.commit(out).await
}

async fn get_store(api: &App, req: Request<pb::GetStoreRequest>) -> Result<pb::Store> {
    let p = authorize(&req, READERS)?;
    let id = name_key("stores", &req.get_ref().name)?;
    let mut conn = api.db().pool().acquire().await?;
    let found = store::org::get_store(&mut conn, &p.tenant_id, &id)
        .await?
        .ok_or_else(|| Error::not_found(org::store_name(&id)))?;
    Ok(store_to_proto(&found))
}

async fn list_stores(
    api: &App,
    req: Request<pb::ListStoresRequest>,
) -> Result<pb::ListStoresResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let page = Page::parse(
        &[&p.tenant_id, "stores"],
        msg.page_size,
        &msg.page_token,
        id_cursor,
    )?;
    let mut conn = api.db().pool().acquire().await?;
    let mut rows =
        store::org::list_stores(&mut conn, &p.tenant_id, after_id(&page), page.fetch()).await?;
    let next_page_token = page.next_token(&mut rows, |s| vec![CursorValue::Text(s.id.clone())]);
    Ok(pb::ListStoresResponse {
        stores: rows.iter().map(store_to_proto).collect(),
        next_page_token,
    })
}

async fn update_store(api: &App, req: Request<pb::UpdateStoreRequest>) -> Result<pb::Store> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.into_inner();
    let Some(input) = &msg.store else {
        return Err(Error::invalid("store", "is required"));
    };
    let mut v = Violations::new();
    let fields = mask::selected(&STORE_MASK, &mask::paths(msg.update_mask), &mut v);
    let (id, patch) = v.nested("store", |v| {
        (
            parse_key("stores", &input.name, "name", v),
            StorePatch::parse(input, &fields, v),
        )
    });
    v.finish(())?;

    let mut w = api.write(&p).await?;
    let current = store::org::lock_store(w.tx(), api.db().dialect(), &p.tenant_id, &id)
        .await?
        .ok_or_else(|| Error::not_found(org::store_name(&id)))?;
    check_etag(&input.etag, &current.name(), current.version)?;
    let updated = Store {
        update_time: api.now(),
        version: current.version + 1,
        ..patch.apply(current.clone())
    };
    if !store::org::update_store(w.tx(), &p.tenant_id, &updated, current.version).await? {
        return Err(Error::stale_etag(&updated.name()));
    }
    let out = store_to_proto(&updated);
    let event = pb::StoreChanged {
        store: Some(out.clone()),
    };
    w.emit("store.updated", updated.name(), &event);
    w.commit(out).await
}

async fn create_team(api: &App, req: Request<pb::CreateTeamRequest>) -> Result<pb::Team> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.into_inner();
    let parsed = match &msg.team {
        None => Err(Error::invalid("team", "is required")),
        Some(input) => {
            let mut v = Violations::with_prefix("team");
            let id = parse_key("teams", &input.name, "name", &mut v);
            let patch = TeamPatch::parse(input, TEAM_MASK.updatable, &mut v);
            check_refs(api, &p.tenant_id, None, patch.store_id(), &mut v).await?;
            v.finish((id, patch)).map_err(Error::from)
        }
    };
    let (idem, (id, patch)) = both(
        Idempotency::new(&p, "CreateTeam", &msg.request_id, &msg),
        parsed,
    )?;
    let mut w = begin!(api, p, idem);
    let now = api.now();
    let created = patch.apply(Team {
        id,
        display_name: String::new(),
        store_id: String::new(),
        manager_id: String::new(),
        create_time: now,
        update_time: now,
        version: 1,
    });
    if !store::org::insert_team(w.tx(), &p.tenant_id, &created).await? {
        return Err(exists("TEAM_EXISTS", created.name()));
    }
    let out = team_to_proto(&created);
    let event = pb::TeamChanged {
        team: Some(out.clone()),
    };
    w.emit("team.created", created.name(), &event);
    w.commit(out).await
}

async fn get_team(api: &App, req: Request<pb::GetTeamRequest>) -> Result<pb::Team> {
    let p = authorize(&req, READERS)?;
    let id = name_key("teams", &req.get_ref().name)?;
    let mut conn = api.db().pool().acquire().await?;
    let found = store::org::get_team(&mut conn, &p.tenant_id, &id)
        .await?
        .ok_or_else(|| Error::not_found(org::team_name(&id)))?;
    Ok(team_to_proto(&found))
}

async fn list_teams(
    api: &App,
    req: Request<pb::ListTeamsRequest>,
) -> Result<pb::ListTeamsResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let store_id = optional_key("stores", &msg.store, "store", &mut v);
    // A token of one store's teams is refused for another's.
    let page = Page::parse(
        &[&p.tenant_id, "teams", store_id.as_deref().unwrap_or("")],
        msg.page_size,
        &msg.page_token,
        id_cursor,
    );
    let page = both(v.finish(()).map_err(Error::from), page.map_err(Error::from))?.1;
    let mut conn = api.db().pool().acquire().await?;
    let mut rows = store::org::list_teams(
        &mut conn,
        &p.tenant_id,
        store_id.as_deref(),
        after_id(&page),
        page.fetch(),
    )
    .await?;
    let next_page_token = page.next_token(&mut rows, |t| vec![CursorValue::Text(t.id.clone())]);
    Ok(pb::ListTeamsResponse {
        teams: rows.iter().map(team_to_proto).collect(),
        next_page_token,
    })
}

async fn update_team(api: &App, req: Request<pb::UpdateTeamRequest>) -> Result<pb::Team> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.into_inner();
    let Some(input) = &msg.team else {
        return Err(Error::invalid("team", "is required"));
    };
    let mut v = Violations::new();
    let fields = mask::selected(&TEAM_MASK, &mask::paths(msg.update_mask), &mut v);
    let mut team_v = Violations::with_prefix("team");
    let id = parse_key("teams", &input.name, "name", &mut team_v);
    let patch = TeamPatch::parse(input, &fields, &mut team_v);
    check_refs(api, &p.tenant_id, None, patch.store_id(), &mut team_v).await?;
    v.extend(team_v);
    v.finish(())?;

    let mut w = api.write(&p).await?;
    let current = store::org::lock_team(w.tx(), api.db().dialect(), &p.tenant_id, &id)
        .await?
        .ok_or_else(|| Error::not_found(org::team_name(&id)))?;
    check_etag(&input.etag, &current.name(), current.version)?;
    let updated = Team {
        update_time: api.now(),
        version: current.version + 1,
        ..patch.apply(current.clone())
    };
    if !store::org::update_team(w.tx(), &p.tenant_id, &updated, current.version).await? {
        return Err(Error::stale_etag(&updated.name()));
    }
    let out = team_to_proto(&updated);
    let event = pb::TeamChanged {
        team: Some(out.clone()),
    };
    w.emit("team.updated", updated.name(), &event);
    w.commit(out).await
}
