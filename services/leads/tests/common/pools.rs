//! Pools and assignment fixtures: a team of reps with room for a few leads, leads in the public
//! pool, and requests to claim and assign them.

use rapport_proto::leads as pb;
use rapport_testkit::TestServer;

use super::{Clients, admin, new_lead};

/// Adds the team `teams/{key}` (as `c`).
pub async fn team(c: &mut Clients, key: &str) {
    c.org
        .create_team(pb::CreateTeamRequest {
            team: Some(pb::Team {
                name: format!("teams/{key}"),
                display_name: key.into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("create team");
}

/// Adds the rep `reps/{id}` of `teams/{team}` with room for `capacity` leads and two claims a
/// day (as `c`).
pub async fn rep_in(c: &mut Clients, id: &str, team: &str, capacity: i32) {
    c.org
        .create_rep(pb::CreateRepRequest {
            rep: Some(pb::Rep {
                name: format!("reps/{id}"),
                display_name: id.into(),
                team: format!("teams/{team}"),
                capacity,
                daily_claim_limit: 2,
                ..Default::default()
            }),
        })
        .await
        .expect("create rep");
}

/// Creates a lead from a form in the public pool (as `c`).
pub async fn lead(c: &mut Clients, name: &str, phone: &str) -> pb::Lead {
    c.leads
        .create_lead(pb::CreateLeadRequest {
            lead: Some(new_lead(name, phone)),
            request_id: String::new(),
        })
        .await
        .expect("create lead")
        .into_inner()
}

/// A ClaimLeadRequest for `name`.
pub fn claim(name: &str) -> pb::ClaimLeadRequest {
    pb::ClaimLeadRequest {
        name: name.into(),
        ..Default::default()
    }
}

/// An AssignLeadRequest of `name` to `rep` (or by `strategy`).
pub fn assign(name: &str, rep: &str, strategy: pb::AssignmentStrategy) -> pb::AssignLeadRequest {
    pb::AssignLeadRequest {
        name: name.into(),
        rep: rep.into(),
        strategy: strategy.into(),
        ..Default::default()
    }
}

/// The lead `name`, as `c` sees it.
pub async fn get(c: &mut Clients, name: &str) -> pb::Lead {
    c.leads
        .get_lead(pb::GetLeadRequest { name: name.into() })
        .await
        .expect("get lead")
        .into_inner()
}

/// How many open leads rep `rep` holds.
pub async fn open_leads(c: &mut Clients, rep: &str) -> i32 {
    c.org
        .get_rep(pb::GetRepRequest {
            name: format!("reps/{rep}"),
        })
        .await
        .expect("get rep")
        .into_inner()
        .open_leads
}

/// Team north with reps alice and bob, room for three leads each; the admin's clients.
pub async fn setup(s: &TestServer) -> Clients {
    let mut a = admin(s);
    team(&mut a, "north").await;
    rep_in(&mut a, "alice", "north", 3).await;
    rep_in(&mut a, "bob", "north", 3).await;
    a
}
