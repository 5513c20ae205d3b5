//! The creates' batcher. Creates that arrive while others are being written are written
//! together (group commit, [`rapport_runtime::batch`]): one transaction holding all their
//! contact keys' locks and request ids, one lookup of their keys, one insert, one commit. Each
//! is judged against the stored customers and the creates before it in the batch, exactly as
//! alone, and each gets its own answer: a duplicate refused under REJECT fails only its own
//! request. If the batch's transaction fails, its creates run again one by one, so a failure
//! stays with the create that caused it.

use std::collections::HashSet;

use rapport_kit::duplicates::{Disclosure, DuplicatePolicy};
use rapport_proto::customers as pb;
use rapport_runtime::{
    Error, Result, auth::Principal, batch::Batcher, clock::Micros, context::ServiceContext,
    storage::Idempotency, write::Origin,
};

use super::{duplicate_policy, events::EVENTS};
use crate::{
    convert::customer::customer_to_proto,
    domain::{
        contact::ContactKey,
        duplicates::{self, Holders, Verdict},
        profile::{Customer, Profile},
    },
    store,
};

/// Creates written in one transaction at most. A create's keys take a few of the tenant's 256
/// contact lock slots, so bigger batches would hold most of them.
const MAX_BATCH: usize = 64;

/// The batcher creates go through.
pub type Creates = Batcher<NewCustomer, Result<pb::Customer>>;

/// A validated create, waiting for its batch.
pub struct NewCustomer {
    pub principal: Principal,
    /// The caller and its request's trace, for the created event.
    pub origin: Origin,
    pub idempotency: Option<Idempotency>,
    pub policy: DuplicatePolicy,
    /// What a refused create learns of a holder it may not see.
    pub disclosure: Disclosure,
    pub profile: Profile,
    pub now: Micros,
}

/// The creates' batcher over `ctx`. SQLite writes one transaction at a time, so one batch runs
/// and the next gathers meanwhile; PostgreSQL runs a few side by side, as far as their locks
/// allow.
pub fn batcher(ctx: ServiceContext) -> Creates {
    let lanes = if ctx.db.dialect().writers_take_turns() {
        1
    } else {
        4
    };
    Batcher::new(lanes, MAX_BATCH, move |jobs| {
        let ctx = ctx.clone();
        async move { write_all(&ctx, jobs).await }
    })
}

/// Writes a batch of creates: an answer per create, in order.
async fn write_all(ctx: &ServiceContext, jobs: Vec<NewCustomer>) -> Vec<Result<pb::Customer>> {
    let mut answers: Vec<Option<Result<pb::Customer>>> = jobs.iter().map(|_| None).collect();
    let mut pending: Vec<usize> = (0..jobs.len()).collect();
    while !pending.is_empty() {
        let (round, rest) = next_round(&jobs, &pending);
        let batch: Vec<&NewCustomer> = round.iter().map(|&i| &jobs[i]).collect();
        match write_together(ctx, &batch).await {
            Ok(out) => {
                for (&i, answer) in round.iter().zip(out) {
                    answers[i] = Some(answer);
                }
            }
            Err(e) if round.len() == 1 => answers[round[0]] = Some(Err(e)),
            Err(_) => {
                for &i in &round {
                    answers[i] = Some(write_alone(ctx, &jobs[i]).await);
                }
            }
        }
        pending = rest;
    }
    answers.into_iter().map(answered).collect()
}

/// A create's answer; every create gets one.
fn answered(answer: Option<Result<pb::Customer>>) -> Result<pb::Customer> {
    answer.unwrap_or_else(|| Err(Error::internal("a create was left unanswered")))
}

/// Of `pending`, the creates that can share a transaction: those of the first one's tenant,
/// each request id once (a repeat waits for the next round, where it finds the first answer).
fn next_round(jobs: &[NewCustomer], pending: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let tenant = &jobs[pending[0]].principal.tenant_id;
    let mut ids = HashSet::new();
    pending.iter().partition(|&&i| {
        let j = &jobs[i];
        j.principal.tenant_id == *tenant
            && j.idempotency
                .as_ref()
                .is_none_or(|k| ids.insert(k.lock_key()))
    })
}

async fn write_alone(ctx: &ServiceContext, job: &NewCustomer) -> Result<pb::Customer> {
    answered(write_together(ctx, &[job]).await?.pop())
}

/// Writes creates of one tenant, with distinct request ids, in one transaction.
async fn write_together(
    ctx: &ServiceContext,
    jobs: &[&NewCustomer],
) -> Result<Vec<Result<pb::Customer>>> {
    let first = &jobs[0].principal;
    let tenant = first.tenant_id.as_str();
    let dialect = ctx.db.dialect();
    let keys: Vec<ContactKey> = jobs.iter().flat_map(|j| j.profile.contact_keys()).collect();
    let mut locks = store::contact_locks(tenant, &keys);
    locks.extend(
        jobs.iter()
            .filter_map(|j| j.idempotency.as_ref().map(Idempotency::lock_key)),
    );
    let mut w = ctx.write_locking(first, EVENTS, locks).await?;
    // Earlier answers to the batch's request ids, all read in one statement.
    let mut answers: Vec<Option<Result<pb::Customer>>> = jobs.iter().map(|_| None).collect();
    let keyed: Vec<(usize, &Idempotency)> = jobs
        .iter()
        .enumerate()
        .filter_map(|(i, j)| j.idempotency.as_ref().map(|k| (i, k)))
        .collect();
    let request_ids: Vec<&Idempotency> = keyed.iter().map(|(_, k)| *k).collect();
    let replayed = Idempotency::replay_all(&request_ids, w.tx()).await?;
    for ((i, _), answer) in keyed.iter().zip(replayed) {
        answers[*i] = answer;
    }
    let mut holders =
        Holders::new(store::find_by_contacts(w.tx(), dialect, tenant, &keys, &[]).await?);
    let mut rows: Vec<usize> = Vec::with_capacity(jobs.len());
    let mut created: Vec<Customer> = Vec::with_capacity(jobs.len());
    for (i, j) in jobs.iter().enumerate() {
        if answers[i].is_some() {
            continue;
        }
        match duplicates::judge(j.policy, j.profile.clone(), &mut holders, j.now) {
            Verdict::Duplicate(hit, _) => {
                let refused =
                    duplicate_policy::refusal(w.tx(), &j.principal, j.disclosure, &hit).await;
                answers[i] = Some(Err(refused));
            }
            Verdict::Create(c) => {
                rows.push(i);
                created.push(c);
            }
        }
    }
    // Deferred: on PostgreSQL the customers, their contact keys and the events reach the
    // database in one round trip at commit.
    for s in store::customer_statements(dialect, tenant, &created)? {
        w.defer(s).await?;
    }
    for (&i, c) in rows.iter().zip(&created) {
        let out = customer_to_proto(c);
        let j = jobs[i];
        if let Some(k) = &j.idempotency {
            w.answer(k, &out).await?;
        }
        let event = pb::CustomerCreated {
            customer: Some(out.clone()),
        };
        w.emit_as(
            j.origin.clone(),
            "customer.created",
            c.resource_name(),
            &event,
        );
        answers[i] = Some(Ok(out));
    }
    // New ids have nothing cached to drop.
    w.commit(()).await?;
    store::note_created(&ctx.db, &created);
    Ok(answers.into_iter().map(answered).collect())
}

#[cfg(test)]
mod tests {
    use rapport_runtime::{auth::Role, clock::ManualClock};
    use rapport_testkit::{Backend, TestStores, outbox_events};

    use super::*;
    use crate::domain::{contact::EmailAddress, names, profile::Email};

    const T0: Micros = 1_714_521_600_000_000;

    fn job(tenant: &str, subject: &str, name: &str, email: &str, request_id: &str) -> NewCustomer {
        let principal = Principal {
            tenant_id: tenant.into(),
            subject: subject.into(),
            roles: vec![Role::Admin],
            team_id: None,
        };
        NewCustomer {
            idempotency: Idempotency::new(
                &principal,
                "CreateCustomer",
                request_id,
                &pb::CreateCustomerRequest {
                    customer: Some(pb::Customer {
                        display_name: name.into(),
                        emails: vec![rapport_proto::customers::Email {
                            address: email.into(),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )
            .expect("id"),
            origin: Origin::of(&principal),
            principal,
            policy: DuplicatePolicy::Reject,
            disclosure: Disclosure::Masked,
            profile: Profile {
                display_name: name.into(),
                emails: vec![Email {
                    address: EmailAddress::parse(email).expect("email"),
                    label: String::new(),
                }],
                ..Profile::default()
            },
            now: T0,
        }
    }

    fn flagging(mut j: NewCustomer) -> NewCustomer {
        j.policy = DuplicatePolicy::Flag;
        j
    }

    /// (tenant, actor, subject) of every event in the outbox (no relay runs here).
    async fn events(ctx: &ServiceContext) -> Vec<(String, String, String)> {
        outbox_events(&ctx.db)
            .await
            .into_iter()
            .map(|e| (e.tenant, e.actor, e.subject))
            .collect()
    }

    /// Runs `test` on a fresh customers database of each backend.
    async fn on_each_backend(test: impl AsyncFn(&ServiceContext)) {
        for backend in Backend::all() {
            eprintln!("-- on {backend:?}");
            let stores = TestStores::new(backend).await;
            test(
                &stores
                    .context::<crate::Customers>(&ManualClock::at(T0))
                    .await,
            )
            .await;
        }
    }

    fn name(answer: &Result<pb::Customer>) -> String {
        answer.as_ref().expect("created").name.clone()
    }

    #[tokio::test]
    async fn creates_written_together_are_answered_as_if_each_ran_alone() {
        on_each_backend(async |ctx| {
            let answers = write_all(
                ctx,
                vec![
                    job("t1", "admin-1", "甲", "a@x.cn", "r1"),
                    job("t1", "rep-1", "乙", "A@x.cn", ""),
                    job("t2", "admin-2", "丙", "a@x.cn", "r1"),
                    job("t1", "admin-1", "甲", "a@x.cn", "r1"),
                    job("t1", "rep-2", "丁", "d@x.cn", ""),
                    job("t1", "admin-1", "甲 again", "e@x.cn", "r1"),
                    job("t1", "admin-3", "戊", "f@x.cn", "r1"),
                ],
            )
            .await;
            assert_eq!(answers.len(), 7);
            let first = answers[0].as_ref().expect("the first is created");
            assert_eq!(first.display_name, "甲");
            // A copy of an earlier create of the batch is refused, naming it.
            match &answers[1] {
                Err(Error::AlreadyExists { existing, .. }) => assert_eq!(existing, &first.name),
                other => panic!("a copy must be refused: {other:?}"),
            }
            // Another tenant's customer and request id are its own.
            assert_ne!(name(&answers[2]), first.name);
            // A repeated request id gets the first answer.
            assert_eq!(answers[3].as_ref().expect("replayed"), first);
            let fourth = name(&answers[4]);
            // The same caller's id with a different request is refused, not replayed.
            match &answers[5] {
                Err(e @ Error::BadRequest { .. }) => assert_eq!(e.reason(), "REQUEST_ID_REUSED"),
                other => panic!("a reused request id must be refused: {other:?}"),
            }
            // Another caller's id is its own: no one else's answer comes back.
            let sixth = name(&answers[6]);
            assert_ne!(sixth, first.name);

            let mut got = events(ctx).await;
            got.sort();
            let mut want = vec![
                ("t1".to_owned(), "admin-1".to_owned(), first.name.clone()),
                ("t1".to_owned(), "rep-2".to_owned(), fourth),
                ("t1".to_owned(), "admin-3".to_owned(), sixth),
                ("t2".to_owned(), "admin-2".to_owned(), name(&answers[2])),
            ];
            want.sort();
            assert_eq!(
                got, want,
                "one event per customer created, by its own caller"
            );
        })
        .await;
    }

    #[tokio::test]
    async fn under_the_flag_policy_each_create_of_a_batch_flags_the_ones_before_it() {
        on_each_backend(async |ctx| {
            let stored = write_all(ctx, vec![flagging(job("t1", "a", "一", "a@x.cn", ""))]).await;
            let answers = write_all(
                ctx,
                vec![
                    flagging(job("t1", "a", "二", "a@x.cn", "")),
                    flagging(job("t1", "a", "三", "a@x.cn", "")),
                ],
            )
            .await;
            let (one, two, three) = (name(&stored[0]), name(&answers[0]), name(&answers[1]));
            assert_eq!(
                answers[0].as_ref().expect("created").possible_duplicates,
                [one.as_str()]
            );
            assert_eq!(
                answers[1].as_ref().expect("created").possible_duplicates,
                [one, two],
                "oldest first"
            );
            let mut conn = ctx.db.pool().acquire().await.expect("connection");
            let id = names::parse_customer_name(&three).expect("name");
            let c = store::get_customer(&mut conn, "t1", id)
                .await
                .expect("read")
                .expect("stored");
            assert_eq!(c.possible_duplicates.len(), 2);
        })
        .await;
    }
}
