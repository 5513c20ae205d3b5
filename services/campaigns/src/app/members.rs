//! Campaigns' members: invitations, answers and attendance, each write adding what it changes
//! to the campaign's results in the same transaction.

use rapport_kit::{names, query::Page};
use rapport_proto::campaigns as pb;
use rapport_runtime::{
    Error, Result, auth::Principal, clock::Micros, storage::Idempotency, write::Write,
};
use uuid::Uuid;

use super::{
    App,
    campaigns::{self, lock, refused},
    events::EVENTS,
};
use crate::{
    convert::campaign::member_to_proto,
    domain::{
        campaign::{CAMPAIGNS, Results},
        member::{MEMBERS, Member, Response, Standing},
    },
    store::{campaigns as campaign_store, members as store},
};

fn not_found((campaign, customer): (Uuid, Uuid)) -> Error {
    Error::not_found(names::format_child_id(
        CAMPAIGNS, campaign, MEMBERS, customer,
    ))
}

/// Emits `member.<kind>` for `m`; its answer.
fn emit(w: &mut Write, kind: &str, m: &Member) -> pb::CampaignMember {
    let out = member_to_proto(m);
    w.emit(
        &format!("member.{kind}"),
        m.name(),
        &pb::CampaignMemberChanged {
            member: Some(out.clone()),
        },
    );
    out
}

/// Checks, before any customer is looked up, that campaign `id` exists and takes members now.
pub async fn check_open(app: &App, p: &Principal, id: Uuid) -> Result<()> {
    campaigns::get(app, p, id)
        .await?
        .check_members()
        .map_err(refused)
}

/// Invites `customers` (checked to exist and be visible to the caller) to campaign `id`; the
/// membership of each, those invited before as they are.
pub async fn invite(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    id: Uuid,
    customers: Vec<Uuid>,
) -> Result<pb::InviteCampaignMembersResponse> {
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    lock(&mut w, app, id)
        .await?
        .check_members()
        .map_err(refused)?;
    let existing = store::of(w.tx(), &p.tenant_id, id, &customers, None).await?;
    let now = w.now();
    let fresh: Vec<Member> = customers
        .iter()
        .filter(|c| !existing.iter().any(|m| m.customer_id == **c))
        .map(|c| Member::invited(id, *c, &p.subject, now))
        .collect();
    store::insert_invited(w.tx(), &p.tenant_id, &fresh).await?;
    let invited = Results {
        invited: i64::try_from(fresh.len()).unwrap_or(i64::MAX),
        ..Results::default()
    };
    campaign_store::add_results(w.tx(), &p.tenant_id, id, &invited).await?;
    let members = customers
        .iter()
        .map(|c| {
            let known = existing.iter().find(|m| m.customer_id == *c);
            match known {
                Some(m) => member_to_proto(m),
                None => {
                    let m = fresh.iter().find(|m| m.customer_id == *c);
                    m.map(|m| emit(&mut w, "invited", m)).unwrap_or_default()
                }
            }
        })
        .collect();
    let out = pb::InviteCampaignMembersResponse {
        members,
        invited: i32::try_from(fresh.len()).unwrap_or(i32::MAX),
    };
    w.commit(out).await
}

/// Runs `change` on member `key` of an open campaign: the member and the campaign's results
/// are written together, and `member.<kind>` is emitted when anything changed.
async fn change(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    key: (Uuid, Uuid),
    kind: &str,
    apply: impl FnOnce(&mut Member, Micros) -> Results,
) -> Result<pb::CampaignMember> {
    let (campaign, customer) = key;
    let mut w = rapport_runtime::begin_write!(app.ctx, p, idem, EVENTS);
    // The campaign's lock orders this write after any state change of it.
    let open = lock(&mut w, app, campaign).await;
    let dialect = app.db().dialect();
    let mut member = store::of(w.tx(), &p.tenant_id, campaign, &[customer], Some(dialect))
        .await?
        .pop()
        .ok_or_else(|| not_found(key))?;
    open.map_err(|_| not_found(key))?
        .check_members()
        .map_err(refused)?;
    let delta = apply(&mut member, w.now());
    if delta.is_zero() {
        return w.commit(member_to_proto(&member)).await;
    }
    store::update(w.tx(), &p.tenant_id, &member).await?;
    campaign_store::add_results(w.tx(), &p.tenant_id, campaign, &delta).await?;
    let out = emit(&mut w, kind, &member);
    w.commit(out).await
}

/// Records member `key`'s answer.
pub async fn respond(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    key: (Uuid, Uuid),
    response: Response,
) -> Result<pb::CampaignMember> {
    change(app, p, idem, key, "responded", |m, now| {
        m.respond(response, now)
    })
    .await
}

/// Records that member `key` attended.
pub async fn attend(
    app: &App,
    p: Principal,
    idem: Option<Idempotency>,
    key: (Uuid, Uuid),
) -> Result<pb::CampaignMember> {
    change(app, p, idem, key, "attended", |m, now| m.attend(now)).await
}

/// A page of campaign `id`'s members, of `standing` when given.
pub async fn list(
    app: &App,
    p: &Principal,
    id: Uuid,
    standing: Option<Standing>,
    page: &Page,
) -> Result<(Vec<Member>, String)> {
    campaigns::get(app, p, id).await?;
    let mut conn = app.db().pool().acquire().await?;
    let mut rows = store::list(&mut conn, &p.tenant_id, id, standing, page).await?;
    let next = page.next_token(&mut rows, store::cursor_of);
    Ok((rows, next))
}
