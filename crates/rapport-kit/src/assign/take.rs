//! The counters in SQL: every take is one conditional UPDATE that matches a member only while
//! it is available and has room, so no member goes over its capacity (or daily limit) however
//! many writers race; a writer that loses simply matches no row. On PostgreSQL a member whose
//! row another assigner holds is skipped rather than waited for, so concurrent assigners spread
//! over the members instead of queueing on the first.

use rapport_runtime::{Result, clock::Micros, dialect::Dialect};
use sqlx::{AnyConnection, Row, any::AnyRow};

use super::Strategy;

/// A table of members' assignment counters. Besides the columns named here it has `tenant_id`,
/// `id` and `team_id` (TEXT) and `weight`, `last_assign_time` and `assigned_total` (BIGINT),
/// which every take keeps. The names are spliced into SQL: constants, never input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    /// The table: "reps".
    pub table: &'static str,
    /// The BIGINT count of items a member holds: "open_leads".
    pub open: &'static str,
    /// The BIGINT most it may hold: "capacity".
    pub capacity: &'static str,
    /// The column a refusal reports as why a member takes nothing: "status".
    pub status: &'static str,
    /// The condition an available member meets: "status = 'ACTIVE'".
    pub available: &'static str,
}

/// A second limit on a named take (a claim): at most `limit` a day, counted in `count` for the
/// day stored in `day`. A limit of 0 allows none. BIGINT columns of the counters table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyLimit {
    /// "daily_claim_limit".
    pub limit: &'static str,
    /// "claims_today".
    pub count: &'static str,
    /// "claim_day".
    pub day: &'static str,
}

/// Restricts which members a take in order may choose. Columns are spliced into SQL; values
/// are bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Only<'a> {
    /// `column = value`: `Equals("team_id", team)`.
    Equals(&'a str, &'a str),
    /// `column <> value`: `NotEquals("id", former_holder)`.
    NotEquals(&'a str, &'a str),
    /// `column IN (select)`, where `select` reads the tenant as `$1` and `value` as `$v`:
    /// `In { column: "id", select: "SELECT agent_id FROM queue_members WHERE tenant_id = $1
    /// AND queue_id = $v", value: queue }`.
    In {
        column: &'a str,
        select: &'a str,
        value: &'a str,
    },
}

/// A member that took an item: its id and team, and its open items and capacity once it took
/// the item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    pub id: String,
    pub team: String,
    pub open: i64,
    pub capacity: i64,
}

/// Why a named member took nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No such member in the tenant.
    Unknown,
    /// Not available; its status as stored.
    Unavailable(String),
    /// At capacity.
    Full { capacity: i64 },
    /// Its daily limit reached (or 0).
    DailyLimit { limit: i64 },
}

impl Counters {
    /// The SQL order of preference of `strategy`, so a take can pick the member in the
    /// statement that gives it the item, without reading every member first. Ties go to the
    /// member waiting longest, then by id.
    pub fn sql_order(&self, strategy: Strategy) -> String {
        match strategy {
            Strategy::RoundRobin => "last_assign_time, id".to_owned(),
            Strategy::LeastLoaded => format!(
                "({} * 1000000) / {}, last_assign_time, id",
                self.open, self.capacity
            ),
            Strategy::Weighted => {
                "(assigned_total * 1000000) / weight, last_assign_time, id".to_owned()
            }
        }
    }

    /// Gives one item to the first member in the SQL `order` (from [`Counters::sql_order`])
    /// that is available, has room and passes every `only`; None when there is none.
    pub async fn take_in_order(
        &self,
        conn: &mut AnyConnection,
        dialect: Dialect,
        tenant: &str,
        order: &str,
        only: &[Only<'_>],
        now: Micros,
    ) -> Result<Option<Taken>> {
        let mut conditions = String::new();
        let mut values = Vec::with_capacity(only.len());
        for o in only {
            let n = 3 + values.len();
            let (condition, value) = match *o {
                Only::Equals(column, value) => (format!("{column} = ${n}"), value),
                Only::NotEquals(column, value) => (format!("{column} <> ${n}"), value),
                Only::In {
                    column,
                    select,
                    value,
                } => {
                    debug_assert_eq!(select.matches("$v").count(), 1, "{select}");
                    let select = select.replace("$v", &format!("${n}"));
                    (format!("{column} IN ({select})"), value)
                }
            };
            conditions.push_str(" AND ");
            conditions.push_str(&condition);
            values.push(value);
        }
        let choice = Choice {
            conditions,
            order: order.to_owned(),
            values,
        };
        self.take_first(conn, dialect, tenant, choice, now).await
    }

    /// Gives one item to the first of `candidates` (in list order, e.g. a [`super::Plan`]'s)
    /// that is available and has room; None when there is none.
    pub async fn take_first_of(
        &self,
        conn: &mut AnyConnection,
        dialect: Dialect,
        tenant: &str,
        candidates: &[String],
        now: Micros,
    ) -> Result<Option<Taken>> {
        if candidates.is_empty() {
            return Ok(None);
        }
        let list: Vec<String> = (0..candidates.len())
            .map(|i| format!("${}", 3 + i))
            .collect();
        let rank: String = (0..candidates.len())
            .map(|i| format!(" WHEN ${} THEN {i}", 3 + i))
            .collect();
        let choice = Choice {
            conditions: format!(" AND id IN ({})", list.join(", ")),
            order: format!("CASE id{rank} END"),
            values: candidates.iter().map(String::as_str).collect(),
        };
        self.take_first(conn, dialect, tenant, choice, now).await
    }

    /// Gives one item to the member `id` (a manager's pick, a member's own item) if it is
    /// available and has room; with `daily`, a claim on `day` (days since the epoch), also
    /// within that daily limit, which it counts. Otherwise says why not.
    pub async fn take_named(
        &self,
        conn: &mut AnyConnection,
        tenant: &str,
        id: &str,
        daily: Option<(&DailyLimit, i64)>,
        now: Micros,
    ) -> Result<std::result::Result<Taken, Refusal>> {
        let Counters {
            table,
            open,
            capacity,
            status,
            available,
        } = *self;
        let (set, within) = match daily {
            Some((d, _)) => (
                format!(
                    ", {count} = CASE WHEN {day} = $4 THEN {count} + 1 ELSE 1 END, {day} = $4",
                    count = d.count,
                    day = d.day
                ),
                format!(
                    " AND {limit} > 0 AND ({day} <> $4 OR {count} < {limit})",
                    limit = d.limit,
                    day = d.day,
                    count = d.count
                ),
            ),
            None => (String::new(), String::new()),
        };
        let sql = format!(
            "UPDATE {table} SET {open} = {open} + 1, last_assign_time = $3, \
             assigned_total = assigned_total + 1{set} \
             WHERE tenant_id = $1 AND id = $2 AND {available} AND {open} < {capacity}{within} \
             RETURNING id, team_id, {open}, {capacity}"
        );
        let mut q = sqlx::query(&sql).bind(tenant).bind(id).bind(now);
        if let Some((_, day)) = daily {
            q = q.bind(day);
        }
        if let Some(row) = q.fetch_optional(&mut *conn).await? {
            return Ok(Ok(taken(&row)?));
        }
        // Why not, read after the fact: the UPDATE says only that nothing matched.
        let limit = daily.map_or("0", |(d, _)| d.limit);
        let row = sqlx::query(&format!(
            "SELECT {status}, CAST(CASE WHEN {available} THEN 1 ELSE 0 END AS BIGINT), \
             {open}, {capacity}, CAST({limit} AS BIGINT) FROM {table} \
             WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant)
        .bind(id)
        .fetch_optional(conn)
        .await?;
        let Some(r) = row else {
            return Ok(Err(Refusal::Unknown));
        };
        let (is_available, open, capacity): (i64, i64, i64) =
            (r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
        Ok(Err(if is_available == 0 {
            Refusal::Unavailable(r.try_get(0)?)
        } else if open >= capacity || daily.is_none() {
            // Without a daily limit, only a take racing this one filled it.
            Refusal::Full { capacity }
        } else {
            Refusal::DailyLimit {
                limit: r.try_get(4)?,
            }
        }))
    }

    /// Takes `count` items off member `id` (released, handed over, closed); never below 0.
    /// Nothing for no member (an empty id) or no items.
    pub async fn give_back(
        &self,
        conn: &mut AnyConnection,
        tenant: &str,
        id: &str,
        count: i64,
    ) -> Result<()> {
        self.give_back_many(conn, tenant, &[(id, count)]).await
    }

    /// Takes items off several members in one statement (per 500): `counts` is (member, how
    /// many), as [`Counters::give_back`] for each.
    pub async fn give_back_many(
        &self,
        conn: &mut AnyConnection,
        tenant: &str,
        counts: &[(&str, i64)],
    ) -> Result<()> {
        let counts: Vec<(&str, i64)> = counts
            .iter()
            .copied()
            .filter(|(id, n)| !id.is_empty() && *n != 0)
            .collect();
        let Counters { table, open, .. } = *self;
        for chunk in counts.chunks(500) {
            let sql = if let [_] = chunk {
                format!(
                    "UPDATE {table} SET {open} = CASE WHEN {open} > $3 THEN {open} - $3 ELSE 0 END \
                     WHERE tenant_id = $1 AND id = $2"
                )
            } else {
                let by_id: String = (0..chunk.len())
                    .map(|i| format!(" WHEN ${} THEN ${}", 2 + i * 2, 3 + i * 2))
                    .collect();
                let ids: Vec<String> = (0..chunk.len())
                    .map(|i| format!("${}", 2 + i * 2))
                    .collect();
                let n = format!("(CASE id{by_id} ELSE 0 END)");
                format!(
                    "UPDATE {table} SET {open} = CASE WHEN {open} > {n} THEN {open} - {n} ELSE 0 END \
                     WHERE tenant_id = $1 AND id IN ({})",
                    ids.join(", ")
                )
            };
            let mut q = sqlx::query(&sql).bind(tenant);
            for (id, count) in chunk {
                q = q.bind(*id).bind(*count);
            }
            q.execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// Gives one item to the first member `choice` orders that is available and has room,
    /// skipping on PostgreSQL members another taker holds. The UPDATE checks room again: the
    /// row it locks is the truth.
    async fn take_first(
        &self,
        conn: &mut AnyConnection,
        dialect: Dialect,
        tenant: &str,
        choice: Choice<'_>,
        now: Micros,
    ) -> Result<Option<Taken>> {
        let Choice {
            conditions,
            order,
            values,
        } = choice;
        let Counters {
            table,
            open,
            capacity,
            available,
            ..
        } = *self;
        let sql = format!(
            "UPDATE {table} SET {open} = {open} + 1, last_assign_time = $2, \
             assigned_total = assigned_total + 1 \
             WHERE tenant_id = $1 AND {open} < {capacity} AND id = (SELECT id FROM {table} \
               WHERE tenant_id = $1{conditions} AND {available} AND {open} < {capacity} \
               ORDER BY {order} LIMIT 1{lock}) \
             RETURNING id, team_id, {open}, {capacity}",
            lock = dialect.for_update_skip_locked()
        );
        let mut q = sqlx::query(&sql).bind(tenant).bind(now);
        for v in values {
            q = q.bind(v);
        }
        q.fetch_optional(conn)
            .await?
            .as_ref()
            .map(taken)
            .transpose()
    }
}

/// Which members a take chooses among, beyond available with room, and in what order.
struct Choice<'a> {
    /// Conditions, each starting " AND ", reading `values` as `$3` on.
    conditions: String,
    /// The SQL order, best first.
    order: String,
    values: Vec<&'a str>,
}

/// A row RETURNING `id, team_id, open, capacity`.
fn taken(row: &AnyRow) -> Result<Taken> {
    Ok(Taken {
        id: row.try_get(0)?,
        team: row.try_get(1)?,
        open: row.try_get(2)?,
        capacity: row.try_get(3)?,
    })
}

#[cfg(test)]
mod tests {
    use rapport_runtime::storage::{Db, PoolSettings};
    use rapport_testkit::{Backend, TestStores};

    use super::*;

    /// A ticket desk's agents, and queues listing their members.
    const AGENTS: Counters = Counters {
        table: "agents",
        open: "open_tickets",
        capacity: "max_tickets",
        status: "status",
        available: "status = 'AVAILABLE'",
    };
    const PICKS: DailyLimit = DailyLimit {
        limit: "daily_pick_limit",
        count: "picks_today",
        day: "pick_day",
    };
    const IN_QUEUE: &str =
        "SELECT agent_id FROM queue_members WHERE tenant_id = $1 AND queue_id = $v";

    async fn desk(stores: &TestStores) -> Db {
        let db = match &stores.database_url {
            Some(url) => Db::connect(url, "kit_assign", PoolSettings::default()).await,
            None => {
                Db::open_sqlite_file(stores.dir.path(), "kit_assign", PoolSettings::default()).await
            }
        }
        .expect("a database");
        for ddl in [
            "CREATE TABLE agents (tenant_id TEXT NOT NULL, id TEXT NOT NULL, \
             team_id TEXT NOT NULL DEFAULT '', status TEXT NOT NULL, max_tickets BIGINT NOT NULL, \
             open_tickets BIGINT NOT NULL DEFAULT 0, weight BIGINT NOT NULL DEFAULT 1, \
             last_assign_time BIGINT NOT NULL DEFAULT 0, assigned_total BIGINT NOT NULL DEFAULT 0, \
             daily_pick_limit BIGINT NOT NULL DEFAULT 0, picks_today BIGINT NOT NULL DEFAULT 0, \
             pick_day BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (tenant_id, id))",
            "CREATE TABLE queue_members (tenant_id TEXT NOT NULL, queue_id TEXT NOT NULL, \
             agent_id TEXT NOT NULL, PRIMARY KEY (tenant_id, queue_id, agent_id))",
        ] {
            sqlx::query(ddl).execute(db.pool()).await.unwrap();
        }
        db
    }

    async fn agent(db: &Db, tenant: &str, id: &str, team: &str, status: &str, cap: i64, last: i64) {
        sqlx::query(
            "INSERT INTO agents (tenant_id, id, team_id, status, max_tickets, last_assign_time, \
             daily_pick_limit) VALUES ($1, $2, $3, $4, $5, $6, 2)",
        )
        .bind(tenant)
        .bind(id)
        .bind(team)
        .bind(status)
        .bind(cap)
        .bind(last)
        .execute(db.pool())
        .await
        .unwrap();
    }

    async fn member_of(db: &Db, queue: &str, agent: &str) {
        sqlx::query("INSERT INTO queue_members VALUES ('t1', $1, $2)")
            .bind(queue)
            .bind(agent)
            .execute(db.pool())
            .await
            .unwrap();
    }

    async fn open(db: &Db, id: &str) -> i64 {
        sqlx::query_scalar("SELECT open_tickets FROM agents WHERE tenant_id = 't1' AND id = $1")
            .bind(id)
            .fetch_one(db.pool())
            .await
            .unwrap()
    }

    /// Runs `test` on a fresh desk on every backend of this run.
    async fn each_desk(test: impl AsyncFn(&Db, Backend)) {
        for backend in Backend::all() {
            let stores = TestStores::new(backend).await;
            test(&desk(&stores).await, backend).await;
        }
    }

    async fn in_order(db: &Db, order: &str, only: &[Only<'_>], now: Micros) -> Option<Taken> {
        let mut tx = db.begin().await.unwrap();
        let t = AGENTS
            .take_in_order(&mut tx, db.dialect(), "t1", order, only, now)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        t
    }

    fn ids(taken: &[Option<Taken>]) -> Vec<&str> {
        taken
            .iter()
            .map(|t| t.as_ref().map_or("-", |t| t.id.as_str()))
            .collect()
    }

    #[tokio::test]
    async fn takes_go_in_order_to_available_members_with_room() {
        each_desk(async |db: &Db, backend| {
            agent(db, "t1", "a", "north", "AVAILABLE", 1, 0).await;
            agent(db, "t1", "b", "north", "AVAILABLE", 2, 1).await;
            agent(db, "t1", "c", "north", "ABSENT", 5, 0).await;
            agent(db, "t1", "d", "south", "AVAILABLE", 5, 2).await;
            // Another tenant's agent, first in every order, which no take may touch.
            agent(db, "t2", "a0", "north", "AVAILABLE", 9, -1).await;
            for a in ["a", "b", "c"] {
                member_of(db, "q1", a).await;
            }
            let rr = AGENTS.sql_order(Strategy::RoundRobin);
            let queue = [Only::In {
                column: "id",
                select: IN_QUEUE,
                value: "q1",
            }];
            let mut taken = Vec::new();
            for now in 10..14 {
                taken.push(in_order(db, &rr, &queue, now).await);
            }
            assert_eq!(ids(&taken), ["a", "b", "b", "-"], "{backend:?}");
            assert_eq!(
                taken[2],
                Some(Taken {
                    id: "b".into(),
                    team: "north".into(),
                    open: 2,
                    capacity: 2
                })
            );
            let south = [Only::Equals("team_id", "south"), Only::NotEquals("id", "x")];
            let least = AGENTS.sql_order(Strategy::LeastLoaded);
            let t = in_order(db, &least, &south, 20).await.unwrap();
            assert_eq!((t.id.as_str(), t.open), ("d", 1));
            let not_d = [Only::NotEquals("id", "d")];
            assert_eq!(in_order(db, &least, &not_d, 21).await, None, "a, b full");
            let weighted = AGENTS.sql_order(Strategy::Weighted);
            assert_eq!(in_order(db, &weighted, &[], 22).await.unwrap().id, "d");

            // A plan's list: the absent and the full are passed over.
            let list: Vec<String> = ["c", "a", "d"].map(String::from).into();
            let mut tx = db.begin().await.unwrap();
            let t = AGENTS
                .take_first_of(&mut tx, db.dialect(), "t1", &list, 30)
                .await
                .unwrap()
                .unwrap();
            assert_eq!((t.id.as_str(), t.open, t.capacity), ("d", 3, 5));
            assert_eq!(
                AGENTS
                    .take_first_of(&mut tx, db.dialect(), "t1", &list[..2], 31)
                    .await
                    .unwrap(),
                None
            );
            tx.commit().await.unwrap();
            let other: i64 = sqlx::query_scalar("SELECT open_tickets FROM agents WHERE id = 'a0'")
                .fetch_one(db.pool())
                .await
                .unwrap();
            assert_eq!(other, 0, "{backend:?}");
        })
        .await;
    }

    #[tokio::test]
    async fn a_named_take_says_why_not_and_counts_daily_picks() {
        each_desk(async |db: &Db, backend| {
            agent(db, "t1", "a", "north", "AVAILABLE", 3, 0).await;
            agent(db, "t1", "c", "", "ABSENT", 5, 0).await;
            let mut tx = db.begin().await.unwrap();
            let mut named = async |id: &str, daily: Option<(&DailyLimit, i64)>| {
                AGENTS
                    .take_named(&mut tx, "t1", id, daily, 5)
                    .await
                    .unwrap()
            };
            assert_eq!(named("nobody", None).await, Err(Refusal::Unknown));
            assert_eq!(
                named("c", None).await,
                Err(Refusal::Unavailable("ABSENT".into()))
            );
            // Two picks a day: the third on day 7 is refused, day 8 starts again.
            assert!(named("a", Some((&PICKS, 7))).await.is_ok());
            assert!(named("a", Some((&PICKS, 7))).await.is_ok());
            assert_eq!(
                named("a", Some((&PICKS, 7))).await,
                Err(Refusal::DailyLimit { limit: 2 })
            );
            let t = named("a", Some((&PICKS, 8))).await.unwrap();
            assert_eq!((t.team.as_str(), t.open), ("north", 3));
            assert_eq!(named("a", None).await, Err(Refusal::Full { capacity: 3 }));
            tx.commit().await.unwrap();

            // Giving back never goes below nothing; empty ids and zero counts do nothing.
            let mut tx = db.begin().await.unwrap();
            AGENTS.give_back(&mut tx, "t1", "a", 1).await.unwrap();
            AGENTS.give_back(&mut tx, "t1", "", 1).await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(open(db, "a").await, 2);
            agent(db, "t1", "b", "", "AVAILABLE", 3, 0).await;
            let mut tx = db.begin().await.unwrap();
            AGENTS
                .take_named(&mut tx, "t1", "b", None, 6)
                .await
                .unwrap()
                .unwrap();
            AGENTS
                .give_back_many(&mut tx, "t1", &[("a", 5), ("b", 1), ("c", 0)])
                .await
                .unwrap();
            tx.commit().await.unwrap();
            assert_eq!(
                (open(db, "a").await, open(db, "b").await),
                (0, 0),
                "{backend:?}"
            );
        })
        .await;
    }

    /// The guarantee: many takers at once fill every place and never one more.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_takes_never_overfill() {
        each_desk(async |db: &Db, backend| {
            for a in 0..4 {
                agent(db, "t1", &format!("a{a}"), "", "AVAILABLE", 3, 0).await;
            }
            let mut tasks = Vec::new();
            for worker in 0..24i64 {
                let db = db.clone();
                tasks.push(tokio::spawn(async move {
                    let strategy =
                        [Strategy::RoundRobin, Strategy::LeastLoaded][worker as usize % 2];
                    in_order(&db, &AGENTS.sql_order(strategy), &[], worker).await
                }));
            }
            let mut won = 0;
            for t in tasks {
                won += i64::from(t.await.unwrap().is_some());
            }
            // A taker finding every member with room held by others takes none; the places
            // it left are still there afterwards, and none more.
            let rr = AGENTS.sql_order(Strategy::RoundRobin);
            while in_order(db, &rr, &[], 99).await.is_some() {
                won += 1;
            }
            assert_eq!(won, 12, "{backend:?}");
            for a in 0..4 {
                assert_eq!(open(db, &format!("a{a}")).await, 3, "{backend:?}");
            }
        })
        .await;
    }
}
