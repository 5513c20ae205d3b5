//! The reps of SalesOrgService. A rep's id is its JWT subject. Writes here change the profile
//! only; the counters on the same row (open leads, claims) belong to assignment.

use rapport_kit::{
    names,
    query::{self, CursorValue, Page},
};
use rapport_proto::leads as pb;
use rapport_runtime::access::{self, Revocation};
use rapport_runtime::{Error, Result, validation::Violations};
use tonic::Request;

use super::support::after_id;
use super::support::check_refs;
use super::support::exists;
use super::support::id_cursor;
use super::support::{MANAGERS, READERS, authorize};
use crate::app::App;
use crate::app::check_etag;
use crate::convert::{
    mask,
    org::{REP_MASK, RepPatch, rep_to_proto},
};
use crate::{
    domain::org::{self, Rep, RepStatus},
    store,
};

/// The subject of `reps/{subject}` named in `field`.
fn parse_rep_name(name: &str, field: &str, v: &mut Violations) -> String {
    match names::parse_subject("reps", name) {
        Ok(id) => id.to_owned(),
        Err(e) => {
            v.add(field, e);
            String::new()
        }
    }
}

pub(super) async fn create(api: &App, req: Request<pb::CreateRepRequest>) -> Result<pb::Rep> {
    let p = authorize(&req, MANAGERS)?;
    let Some(input) = &req.get_ref().rep else {
        return Err(Error::invalid("rep", "is required"));
    };
    let mut v = Violations::with_prefix("rep");
    let id = parse_rep_name(&input.name, "name", &mut v);
    let patch = RepPatch::parse(input, REP_MASK.updatable, true, &mut v);
    let (team, store_id) = patch.refs();
    check_refs(api, &p.tenant_id, team, store_id, &mut v).await?;
    v.finish(())?;

    let mut w = api.write(&p).await?;
    let now = api.now();
    let created = patch.apply(Rep {
        id,
        display_name: String::new(),
        team_id: String::new(),
        store_id: String::new(),
        skills: Vec::new(),
        regions: Vec::new(),
        languages: Vec::new(),
        product_lines: Vec::new(),
        capacity: org::DEFAULT_CAPACITY,
        daily_claim_limit: org::DEFAULT_DAILY_CLAIM_LIMIT,
        weight: org::DEFAULT_WEIGHT,
        status: RepStatus::Active,
        open_leads: 0,
        create_time: now,
        update_time: now,
        version: 1,
    });
    if !store::org::insert_rep(w.tx(), &p.tenant_id, &created).await? {
        return Err(exists("REP_EXISTS", created.name()));
    }
    let out = rep_to_proto(&created);
    let event = pb::RepChanged {
        rep: Some(out.clone()),
    };
    w.emit("rep.created", created.name(), &event);
    w.commit(out).await
}

pub(super) async fn get(api: &App, req: Request<pb::GetRepRequest>) -> Result<pb::Rep> {
    let p = authorize(&req, READERS)?;
    let mut v = Violations::new();
    let id = parse_rep_name(&req.get_ref().name, "name", &mut v);
    v.finish(())?;
    let mut conn = api.db().pool().acquire().await?;
    let found = store::org::get_rep(&mut conn, &p.tenant_id, &id)
        .await?
        .ok_or_else(|| Error::not_found(org::rep_name(&id)))?;
    Ok(rep_to_proto(&found))
}

pub(super) async fn list(
    api: &App,
    req: Request<pb::ListRepsRequest>,
) -> Result<pb::ListRepsResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    // $1 is the tenant and $2 the key the page starts after.
    let filter = match query::parse(&msg.filter) {
        Err(e) => {
            v.add(&e.field, e.description);
            None
        }
        Ok(None) => None,
        Ok(Some(expr)) => {
            match query::to_sql(&expr, store::org::REP_FILTER_FIELDS, api.db().dialect(), 3) {
                Ok(f) => Some(f),
                Err(errors) => {
                    for e in errors {
                        v.add(&e.field, e.description);
                    }
                    None
                }
            }
        }
    };
    let page = Page::parse(
        &[&p.tenant_id, "reps", msg.filter.trim()],
        msg.page_size,
        &msg.page_token,
        id_cursor,
    );
    let page = match page {
        Ok(page) => v.finish(page)?,
        Err(errors) => {
            for e in errors {
                v.add(&e.field, e.description);
            }
            return Err(v.into_vec().into());
        }
    };
    let mut conn = api.db().pool().acquire().await?;
    let mut rows = store::org::list_reps(
        &mut conn,
        &p.tenant_id,
        filter.as_ref(),
        after_id(&page),
        page.fetch(),
    )
    .await?;
    let next_page_token = page.next_token(&mut rows, |r| vec![CursorValue::Text(r.id.clone())]);
    Ok(pb::ListRepsResponse {
        reps: rows.iter().map(rep_to_proto).collect(),
        next_page_token,
    })
}

pub(super) async fn update(api: &App, req: Request<pb::UpdateRepRequest>) -> Result<pb::Rep> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.into_inner();
    let Some(input) = &msg.rep else {
        return Err(Error::invalid("rep", "is required"));
    };
    let mut v = Violations::new();
    let fields = mask::selected(&REP_MASK, &mask::paths(msg.update_mask), &mut v);
    let mut rep_v = Violations::with_prefix("rep");
    let id = parse_rep_name(&input.name, "name", &mut rep_v);
    let patch = RepPatch::parse(input, &fields, false, &mut rep_v);
    let (team, store_id) = patch.refs();
    check_refs(api, &p.tenant_id, team, store_id, &mut rep_v).await?;
    v.extend(rep_v);
    v.finish(())?;

    let mut w = api.write(&p).await?;
    let current = store::org::lock_rep(w.tx(), api.db().dialect(), &p.tenant_id, &id)
        .await?
        .ok_or_else(|| Error::not_found(org::rep_name(&id)))?;
    check_etag(&input.etag, &current.name(), current.version)?;
    let updated = Rep {
        update_time: api.now(),
        version: current.version + 1,
        ..patch.apply(current.clone())
    };
    if !store::org::update_rep(w.tx(), &p.tenant_id, &updated, current.version).await? {
        return Err(Error::stale_etag(&updated.name()));
    }
    // An inactive rep's tokens stop working at once, everywhere; back to work, it signs in anew.
    let revocation = match (current.status, updated.status) {
        (RepStatus::Inactive, RepStatus::Inactive) => None,
        (_, RepStatus::Inactive) => Some((Revocation::Disabled, "deactivated")),
        (RepStatus::Inactive, _) => Some((Revocation::TokensSoFar, "reactivated")),
        _ => None,
    };
    if let Some((what, reason)) = revocation {
        access::revoke(&mut w, &updated.id, what, reason).await?;
    }
    if updated.team_id != current.team_id {
        // The rep's open work follows it, so the new team's manager sees it.
        store::tasks::move_open_tasks(w.tx(), &p.tenant_id, &updated.id, &updated.team_id).await?;
        store::leads::move_owned_to_team(w.tx(), &p.tenant_id, &updated.id, &updated.team_id)
            .await?;
    }
    let out = rep_to_proto(&updated);
    let event = pb::RepChanged {
        rep: Some(out.clone()),
    };
    w.emit("rep.updated", updated.name(), &event);
    w.commit(out).await
}
