//! Storage on both backends: migrations, request_id idempotency, one schema per service on
//! PostgreSQL, transaction-scoped key locks, and merged statements.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use prost_types::Timestamp;
use rapport_runtime::{
    Error,
    auth::{Principal, Role},
    dialect::Dialect,
    storage::{Db, Idempotency, Migration, PoolSettings, Statement, Tx, execute_all, lock_keys},
};
use sqlx::Connection;

const WAIT: Duration = Duration::from_secs(30);

const WIDGETS: &[Migration] = &[
    Migration {
        version: 100,
        description: "widgets",
        sql: "CREATE TABLE widgets (tenant_id TEXT NOT NULL, id TEXT NOT NULL, \
              PRIMARY KEY (tenant_id, id))",
    },
    Migration {
        version: 101,
        description: "widget colours",
        sql: "ALTER TABLE widgets ADD COLUMN colour TEXT NOT NULL DEFAULT 'red'",
    },
];

/// The service's applied migration versions (the runtime's own are below 100).
async fn versions(db: &Db) -> Vec<i64> {
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE version >= 100 ORDER BY version")
        .fetch_all(db.pool())
        .await
        .expect("read the migration history")
}

/// The runtime's applied migration versions.
async fn runtime_versions(db: &Db) -> Vec<i64> {
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE version < 100 ORDER BY version")
        .fetch_all(db.pool())
        .await
        .expect("read the migration history")
}

async fn count(db: &Db, table: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(db.pool())
        .await
}

#[tokio::test]
async fn migrations_apply_once_and_again_change_nothing() {
    for backend in backends("migrations_apply_once_and_again_change_nothing") {
        let store = TestDb::new(backend).await;
        let db = store.connect("widgets").await;
        assert_eq!(
            db.dialect() == Dialect::Postgres,
            backend == Backend::Postgres
        );
        db.migrate(&both(WIDGETS)).await.expect("first run");
        assert_eq!(versions(&db).await, [100, 101]);
        let runtime = runtime_versions(&db).await;
        assert_eq!(runtime.first(), Some(&1), "the runtime's tables come first");
        sqlx::query("INSERT INTO widgets (tenant_id, id) VALUES ('t', 'w1')")
            .execute(db.pool())
            .await
            .expect("the service table exists");
        for table in ["outbox", "processed_events", "request_ids", "widgets"] {
            count(&db, table).await.expect(table);
        }

        // Again, on the same pool and on a fresh one: nothing runs twice, nothing is lost.
        db.migrate(&both(WIDGETS)).await.expect("second run");
        let reopened = store.connect("widgets").await;
        reopened.migrate(&both(WIDGETS)).await.expect("third run");
        assert_eq!(versions(&reopened).await, [100, 101]);
        assert_eq!(runtime_versions(&reopened).await, runtime);
        let colour: String = sqlx::query_scalar("SELECT colour FROM widgets WHERE id = 'w1'")
            .fetch_one(reopened.pool())
            .await
            .expect("the row survived");
        assert_eq!(colour, "red");

        // A later release adds a migration: only it runs.
        const LATER: &[Migration] = &[
            WIDGETS[0],
            WIDGETS[1],
            Migration {
                version: 102,
                description: "widget sizes",
                sql: "ALTER TABLE widgets ADD COLUMN size BIGINT NOT NULL DEFAULT 1",
            },
        ];
        reopened.migrate(&both(LATER)).await.expect("upgrade");
        assert_eq!(versions(&reopened).await, [100, 101, 102]);
        assert_eq!(count(&reopened, "widgets").await.expect("widgets"), 1);
        db.close().await;
        reopened.close().await;
    }
}

#[tokio::test]
async fn service_migrations_below_100_are_refused() {
    for backend in backends("service_migrations_below_100_are_refused") {
        let store = TestDb::new(backend).await;
        let db = store.connect("widgets").await;
        const CLASH: &[Migration] = &[Migration {
            version: 1,
            description: "clashes with the runtime",
            sql: "CREATE TABLE clash (id TEXT)",
        }];
        let err = db.migrate(&both(CLASH)).await.expect_err("refused");
        assert!(err.to_string().contains(">= 100"), "{err}");
        assert!(count(&db, "clash").await.is_err(), "nothing ran");
    }
}

#[tokio::test]
async fn concurrent_migrations_of_one_database_both_succeed() {
    for backend in backends("concurrent_migrations_of_one_database_both_succeed") {
        let store = TestDb::new(backend).await;
        let a = store.connect("widgets").await;
        let b = store.connect("widgets").await;
        let migrations = both(WIDGETS);
        let (ra, rb) = tokio::join!(a.migrate(&migrations), b.migrate(&migrations));
        ra.expect("first replica");
        rb.expect("second replica");
        assert_eq!(versions(&a).await, [100, 101]);
    }
}

fn stamp(seconds: i64) -> Timestamp {
    Timestamp { seconds, nanos: 0 }
}

fn caller(tenant: &str, subject: &str) -> Principal {
    Principal {
        tenant_id: tenant.into(),
        subject: subject.into(),
        roles: vec![Role::Admin],
        team_id: None,
    }
}

/// The key of request `request` (any message stands for one) sent by `subject` of `tenant`.
fn key_of(
    tenant: &str,
    subject: &str,
    method: &'static str,
    id: &str,
    request: i64,
) -> Idempotency {
    Idempotency::new(&caller(tenant, subject), method, id, &stamp(request))
        .expect("valid")
        .expect("a key")
}

#[tokio::test]
async fn a_retried_request_id_replays_the_first_response() {
    for backend in backends("a_retried_request_id_replays_the_first_response") {
        let store = TestDb::new(backend).await;
        let db = store.migrated("things", &NO_MIGRATIONS).await;
        let u1 = caller("t1", "u1");

        assert!(
            Idempotency::new(&u1, "CreateThing", "  ", &stamp(7))
                .expect("blank")
                .is_none(),
            "no request id, no idempotency"
        );
        let too_long = "x".repeat(129);
        match Idempotency::new(&u1, "CreateThing", &too_long, &stamp(7)) {
            Err(Error::InvalidArgument(v)) => assert_eq!(v[0].field, "request_id"),
            other => panic!("a 129-character request id must be refused, got {other:?}"),
        }
        Idempotency::new(&u1, "CreateThing", &"é".repeat(128), &stamp(7))
            .expect("128 characters are fine")
            .expect("a key");

        let key = key_of("t1", "u1", "CreateThing", "req-1", 7);
        let mut conn = db.pool().acquire().await.expect("connection");
        assert_eq!(
            key.replay::<Timestamp>(&mut conn).await.expect("replay"),
            None
        );
        drop(conn);

        record(&db, &key, 1, 10).await.expect("record");

        let mut conn = db.pool().acquire().await.expect("connection");
        assert_eq!(
            key.replay::<Timestamp>(&mut conn).await.expect("replay"),
            Some(stamp(1))
        );

        // The key is the tenant, the caller, the method and the request id together: another
        // tenant, another user of the same tenant or another method never sees the answer.
        for (tenant, subject, method) in [
            ("t2", "u1", "CreateThing"),
            ("t1", "u2", "CreateThing"),
            ("t1", "u1", "UpdateThing"),
        ] {
            let other = key_of(tenant, subject, method, "req-1", 7);
            assert_eq!(
                other.replay::<Timestamp>(&mut conn).await.expect("replay"),
                None,
                "{tenant} {subject} {method} must not see t1 u1 CreateThing's response"
            );
        }
        // Surrounding blanks are not part of the id.
        let padded = Idempotency::new(&u1, "CreateThing", " req-1 ", &stamp(7))
            .expect("valid")
            .expect("a key");
        assert_eq!(
            padded.replay::<Timestamp>(&mut conn).await.expect("replay"),
            Some(stamp(1))
        );
        // The same caller's id with a different request is refused, not answered.
        let reused = key_of("t1", "u1", "CreateThing", "req-1", 8);
        match reused.replay::<Timestamp>(&mut conn).await {
            Err(e @ Error::BadRequest { .. }) => {
                assert_eq!(e.reason(), "REQUEST_ID_REUSED");
                assert_eq!(e.code(), tonic::Code::InvalidArgument);
            }
            other => panic!("a reused request id must be refused, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_batch_of_request_ids_replays_in_one_read() {
    for backend in backends("a_batch_of_request_ids_replays_in_one_read") {
        let store = TestDb::new(backend).await;
        let db = store.migrated("things", &NO_MIGRATIONS).await;
        let stored = [
            key_of("t1", "u1", "CreateThing", "a", 1),
            key_of("t1", "u2", "CreateThing", "a", 2),
        ];
        let mut tx = db.begin().await.expect("begin");
        let records: Vec<Statement> = stored
            .iter()
            .zip([stamp(10), stamp(20)])
            .map(|(k, answer)| k.record_statement(&answer, 5))
            .collect();
        execute_all(&mut tx, db.dialect(), &records)
            .await
            .expect("record");
        tx.commit().await.expect("commit");

        let asked = [
            key_of("t1", "u2", "CreateThing", "a", 2),
            key_of("t1", "u3", "CreateThing", "a", 2),
            key_of("t1", "u1", "CreateThing", "a", 1),
            key_of("t1", "u1", "CreateThing", "a", 9),
        ];
        let refs: Vec<&Idempotency> = asked.iter().collect();
        let mut tx = db.begin().await.expect("begin");
        let got = Idempotency::replay_all::<Timestamp>(&refs, &mut tx)
            .await
            .expect("replay");
        tx.rollback().await.expect("rollback");
        assert_eq!(got.len(), 4);
        assert_eq!(
            got[0].as_ref().map(|r| r.as_ref().ok()),
            Some(Some(&stamp(20)))
        );
        assert!(got[1].is_none(), "another caller's id is not answered");
        assert_eq!(
            got[2].as_ref().map(|r| r.as_ref().ok()),
            Some(Some(&stamp(10)))
        );
        match &got[3] {
            Some(Err(e)) => assert_eq!(e.reason(), "REQUEST_ID_REUSED"),
            other => panic!("a reused id must be refused, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_second_answer_to_one_request_id_fails_and_the_first_stays() {
    for backend in backends("a_second_answer_to_one_request_id_fails_and_the_first_stays") {
        let store = TestDb::new(backend).await;
        let db = store.migrated("things", &NO_MIGRATIONS).await;
        let key = key_of("t1", "u1", "CreateThing", "req-2", 7);

        record(&db, &key, 1, 10).await.expect("record");
        // A write holds its request id's lock and found no answer before it records one, so a
        // second answer is a bug: it fails that write rather than replacing the first.
        assert!(
            record(&db, &key, 2, 11).await.is_err(),
            "a second record of the same key must fail"
        );
        let mut conn = db.pool().acquire().await.expect("connection");
        assert_eq!(
            key.replay::<Timestamp>(&mut conn).await.expect("replay"),
            Some(stamp(1)),
            "the first response stays"
        );
    }
}

/// Stores `stamp(answer)` as `key`'s answer in a transaction of its own.
async fn record(db: &Db, key: &Idempotency, answer: i64, now: i64) -> rapport_runtime::Result<()> {
    let mut tx = db.begin().await?;
    execute_all(
        &mut tx,
        db.dialect(),
        &[key.record_statement(&stamp(answer), now)],
    )
    .await?;
    tx.commit().await
}

/// Waits until `n` sessions of this database wait for a lock.
async fn wait_for_lock_waiters(db: &Db, n: i64) {
    eventually("a transaction waiting for the lock", WAIT, || async {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(db.pool())
        .await
        .expect("read pg_stat_activity");
        (waiting >= n).then_some(())
    })
    .await;
}

#[tokio::test]
async fn services_sharing_a_postgres_database_keep_to_their_schemas() {
    let test = "services_sharing_a_postgres_database_keep_to_their_schemas";
    if postgres_url(test).is_none() {
        return;
    }
    let store = TestDb::new(Backend::Postgres).await;
    let alpha = store.migrated("alpha", &both(WIDGETS)).await;
    const ONLY_BETA: &[Migration] = &[Migration {
        version: 100,
        description: "gadgets",
        sql: "CREATE TABLE gadgets (id TEXT PRIMARY KEY)",
    }];
    let beta = store.migrated("beta", &both(ONLY_BETA)).await;

    sqlx::query(
        "INSERT INTO outbox (id, stream, payload, create_time) VALUES ('e1', 'alpha', $1, 1)",
    )
    .bind(Vec::<u8>::new())
    .execute(alpha.pool())
    .await
    .expect("alpha's outbox");
    assert_eq!(count(&alpha, "outbox").await.expect("alpha"), 1);
    assert_eq!(
        count(&beta, "outbox").await.expect("beta"),
        0,
        "each service has its own runtime tables"
    );
    assert!(
        count(&beta, "widgets").await.is_err(),
        "beta cannot see alpha's tables"
    );
    assert!(
        count(&alpha, "gadgets").await.is_err(),
        "alpha cannot see beta's tables"
    );
    assert_eq!(versions(&alpha).await, [100, 101]);
    assert_eq!(versions(&beta).await, [100]);

    let schemas: Vec<String> = sqlx::query_scalar(
        "SELECT table_schema::text FROM information_schema.tables WHERE table_name = 'outbox' \
         ORDER BY table_schema",
    )
    .fetch_all(alpha.pool())
    .await
    .expect("information_schema");
    assert_eq!(schemas, ["alpha", "beta"]);
}

#[tokio::test]
async fn bad_service_names_and_urls_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = rapport_runtime::storage::PoolSettings::default();
    for bad in ["Widgets", "widgets; DROP TABLE x", "wid-gets"] {
        assert!(
            Db::open_sqlite_file(dir.path(), bad, settings)
                .await
                .is_err(),
            "{bad:?} must be refused"
        );
    }
    assert!(
        Db::connect("mysql://localhost/x", "widgets", settings)
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_keys_makes_writers_of_one_key_take_turns() {
    let test = "lock_keys_makes_writers_of_one_key_take_turns";
    if postgres_url(test).is_none() {
        return;
    }
    let store = TestDb::new(Backend::Postgres).await;
    let db = store.migrated("locks", &NO_MIGRATIONS).await;

    let mut first = db.begin().await.expect("begin");
    let mut keys = vec!["phone:+8613800000001".to_owned(), "email:a@b.c".to_owned()];
    lock_keys(&mut first, &mut keys).await.expect("lock");
    assert_eq!(keys, ["email:a@b.c", "phone:+8613800000001"], "sorted");

    // Another key is free meanwhile.
    let mut unrelated = db.begin().await.expect("begin");
    lock_keys(&mut unrelated, &mut vec!["phone:other".into()])
        .await
        .expect("another key is not held");
    unrelated.commit().await.expect("commit");

    // The same key (listed twice, in another order) waits for the first transaction.
    let locked = second_writer_waits_for(
        &db,
        first,
        vec![
            "phone:+8613800000001".to_owned(),
            "phone:+8613800000001".to_owned(),
        ],
    )
    .await;
    assert_eq!(locked.len(), 1, "deduplicated");
}

/// Commits `first` once a second writer locking `keys` waits for it, and checks that the
/// second got its locks only then. Returns the keys as `lock_keys` left them.
async fn second_writer_waits_for(db: &Db, first: Tx, keys: Vec<String>) -> Vec<String> {
    let log = Arc::new(Mutex::new(Vec::<&'static str>::new()));
    let second = tokio::spawn({
        let (db, log) = (db.clone(), log.clone());
        async move {
            let mut tx = db.begin().await.expect("begin");
            let mut keys = keys;
            lock_keys(&mut tx, &mut keys).await.expect("lock");
            log.lock().expect("log").push("second locked");
            tx.commit().await.expect("commit");
            keys
        }
    });
    wait_for_lock_waiters(db, 1).await;
    log.lock().expect("log").push("first committing");
    first.commit().await.expect("commit");
    let keys = second.await.expect("join");
    assert_eq!(
        *log.lock().expect("log"),
        ["first committing", "second locked"]
    );
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_begun_with_locks_holds_them_as_lock_keys_takes_them() {
    let test = "a_write_begun_with_locks_holds_them_as_lock_keys_takes_them";
    if postgres_url(test).is_none() {
        return;
    }
    let store = TestDb::new(Backend::Postgres).await;
    let db = store.migrated("locks", &NO_MIGRATIONS).await;
    // Quotes and backslashes travel as literals; they must name the lock a bound key does.
    let key = r"it's a \ key";

    let first = db
        .begin_locked(vec![key.to_owned(), "other".to_owned(), key.to_owned()])
        .await
        .expect("begin with locks");
    second_writer_waits_for(&db, first, vec![key.to_owned()]).await;

    // More keys than one statement takes are locked chunk by chunk after BEGIN.
    let many: Vec<String> = (0..2500).map(|i| format!("key-{i}")).collect();
    let tx = db.begin_locked(many).await.expect("begin with many locks");
    let held: i64 =
        // Other tests' databases on the same server hold advisory locks of their own.
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
            .fetch_one(db.pool())
            .await
            .expect("read pg_locks");
    assert_eq!(held, 2500);
    tx.commit().await.expect("commit");
}

#[tokio::test]
async fn a_lock_that_fails_as_a_write_begins_leaves_no_transaction_open() {
    let test = "a_lock_that_fails_as_a_write_begins_leaves_no_transaction_open";
    let Some(_) = postgres_url(test) else {
        return;
    };
    let store = TestDb::new(Backend::Postgres).await;
    let db = store.migrated("locks", &NO_MIGRATIONS).await;
    let keys = vec!["held".to_owned()];
    let holder = db.begin_locked(keys.clone()).await.expect("hold the key");

    let url = store.url.clone().expect("a PostgreSQL test database");
    let mut conn = sqlx::AnyConnection::connect(&url).await.expect("connect");
    sqlx::raw_sql("SET lock_timeout = '50ms'")
        .execute(&mut conn)
        .await
        .expect("set lock_timeout");
    let begin = Dialect::Postgres
        .begin_locking(&keys)
        .expect("a literal key");
    let failed = sqlx::raw_sql(&begin).execute(&mut conn).await;
    assert!(failed.is_err(), "the held lock times out: {failed:?}");
    // Outside a transaction every statement is a transaction of its own, with its own id; in
    // an open one both would share an id, in an aborted one they would fail.
    let mut ids = Vec::new();
    for _ in 0..2 {
        let id: i64 = sqlx::query_scalar("SELECT CAST(txid_current() AS BIGINT)")
            .fetch_one(&mut conn)
            .await
            .expect("the connection is usable");
        ids.push(id);
    }
    assert_ne!(ids[0], ids[1], "no transaction is left open");
    holder.commit().await.expect("commit");
}

/// A request that gives up while its write's lock-and-BEGIN is in flight (its deadline passed,
/// its client went away) leaves no transaction open on the pooled connection it was using: the
/// next write on that connection is a transaction of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_cancelled_while_it_begins_leaves_no_transaction_behind() {
    let test = "a_write_cancelled_while_it_begins_leaves_no_transaction_behind";
    let Some(_) = postgres_url(test) else {
        return;
    };
    let store = TestDb::new(Backend::Postgres).await;
    let url = store.url.clone().expect("a PostgreSQL test database");
    let settings = PoolSettings {
        max_connections: 1,
        ..PoolSettings::default()
    };
    let db = Db::connect(&url, "locks", settings).await.expect("connect");
    db.migrate(&NO_MIGRATIONS).await.expect("migrate");
    // Another session holds the lock, so the write's BEGIN waits for it.
    let keys = vec!["held".to_owned()];
    let mut holder = sqlx::AnyConnection::connect(&url).await.expect("connect");
    let hold = Dialect::Postgres
        .begin_locking(&keys)
        .expect("a literal key");
    sqlx::raw_sql(&hold)
        .execute(&mut holder)
        .await
        .expect("hold the key");

    let cancelled =
        tokio::time::timeout(Duration::from_millis(300), db.begin_locked(keys.clone())).await;
    assert!(
        cancelled.is_err(),
        "the write waits for the lock and is given up"
    );
    sqlx::raw_sql("COMMIT")
        .execute(&mut holder)
        .await
        .expect("release the key");

    // The pool's one connection is free again, outside any transaction: two statements are
    // two transactions.
    eventually("the abandoned transaction rolled back", WAIT, || async {
        let mut ids = Vec::new();
        for _ in 0..2 {
            let id: i64 = sqlx::query_scalar("SELECT CAST(txid_current() AS BIGINT)")
                .fetch_one(db.pool())
                .await
                .expect("the connection is usable");
            ids.push(id);
        }
        (ids[0] != ids[1]).then_some(())
    })
    .await;
    let idle_in_transaction: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
    )
    .fetch_one(db.pool())
    .await
    .expect("read pg_stat_activity");
    assert_eq!(idle_in_transaction, 0);
}

#[tokio::test]
async fn lock_keys_is_a_no_op_on_sqlite() {
    let store = TestDb::new(Backend::Sqlite).await;
    let db = store.migrated("locks", &NO_MIGRATIONS).await;
    let mut tx = db.begin().await.expect("begin");
    let mut keys = vec!["b".to_owned(), "a".to_owned()];
    lock_keys(&mut tx, &mut keys).await.expect("lock");
    tx.commit().await.expect("commit");
}

#[tokio::test]
async fn merged_statements_bind_each_value_to_its_own_statement() {
    for backend in backends("merged_statements_bind_each_value_to_its_own_statement") {
        let store = TestDb::new(backend).await;
        let db = store.migrated("widgets", &both(WIDGETS)).await;
        // Placeholders out of order and used twice, as the stores write them.
        let stmts = vec![
            Statement::new("INSERT INTO widgets (colour, tenant_id, id) VALUES ($3, $1, $2)")
                .bind("t1")
                .bind("w1")
                .bind("blue"),
            Statement::new("INSERT INTO widgets (tenant_id, id, colour) VALUES ($1, $2, $1)")
                .bind("t2")
                .bind("w2"),
            Statement::new("UPDATE widgets SET colour = $2 WHERE tenant_id = $1 AND id = 'w0'")
                .bind("t1")
                .bind("green"),
            Statement::new("INSERT INTO widgets (tenant_id, id) VALUES ($1, $2)")
                .bind("t3")
                .bind("w3"),
        ];
        let mut tx = db.begin().await.expect("begin");
        sqlx::query("INSERT INTO widgets (tenant_id, id) VALUES ('t1', 'w0')")
            .execute(&mut *tx)
            .await
            .expect("seed");
        execute_all(&mut tx, db.dialect(), &stmts)
            .await
            .expect("merged statements run");
        tx.commit().await.expect("commit");
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT tenant_id, id, colour FROM widgets ORDER BY tenant_id, id")
                .fetch_all(db.pool())
                .await
                .expect("read back");
        let rows: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|(t, i, c)| (t.as_str(), i.as_str(), c.as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                ("t1", "w0", "green"),
                ("t1", "w1", "blue"),
                ("t2", "w2", "t2"),
                ("t3", "w3", "red"),
            ],
            "{backend:?}"
        );

        // A failing statement fails the whole merge, and the transaction keeps nothing.
        let bad = vec![
            Statement::new("INSERT INTO widgets (tenant_id, id) VALUES ($1, $2)")
                .bind("t4")
                .bind("w4"),
            Statement::new("INSERT INTO widgets (tenant_id, id) VALUES ($1, $2)")
                .bind("t1")
                .bind("w1"),
        ];
        let mut tx = db.begin().await.expect("begin");
        assert!(execute_all(&mut tx, db.dialect(), &bad).await.is_err());
        tx.rollback().await.expect("rollback");
        assert_eq!(count(&db, "widgets").await.expect("count"), 4);
    }
}

/// The size of `dir`'s `widgets.db-wal` after `commits` more single-row commits on `db`, once a
/// checkpoint they started has had time to finish.
async fn wal_after(db: &Db, dir: &std::path::Path, first: usize, commits: usize) -> u64 {
    for i in first..first + commits {
        let mut tx = db.begin().await.expect("begin");
        sqlx::query("INSERT INTO widgets (tenant_id, id, colour) VALUES ('t', $1, $2)")
            .bind(format!("w{i}"))
            .bind("x".repeat(16_000))
            .execute(&mut *tx)
            .await
            .expect("insert");
        tx.commit().await.expect("commit");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::fs::metadata(dir.join("widgets.db-wal"))
        .expect("the log")
        .len()
}

#[tokio::test]
async fn sqlites_log_is_checkpointed_beside_the_writers_and_stops_growing() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A small limit, so a few thousand commits pass it several times.
    let settings = rapport_runtime::storage::PoolSettings {
        sqlite_log_pages: 4096,
        ..Default::default()
    };
    let db = Db::open_sqlite_file(dir.path(), "widgets", settings)
        .await
        .expect("open");
    db.migrate(&both(WIDGETS)).await.expect("migrate");
    let automatic: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
        .fetch_one(db.pool())
        .await
        .expect("pragma");
    assert_eq!(automatic, 0, "no commit checkpoints on its own");
    // Each commit logs a few pages; without checkpoints the log would grow with every one,
    // and with checkpoints only beside the writers it would never be started over.
    let n = 1000;
    let once = wal_after(&db, dir.path(), 0, n).await;
    let thrice = wal_after(&db, dir.path(), n, 2 * n).await;
    assert!(once > 0);
    assert!(
        thrice < once * 2,
        "the log grew from {once} to {thrice} bytes: it is not being checkpointed"
    );
}

/// Statistics follow the tables (PostgreSQL): a migration leaves every table of the service
/// analyzed, and a table is analyzed again as the rows the process wrote to it double, so no
/// plan made for an empty table outlives its growth.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_are_analyzed_after_migrating_and_as_they_grow() {
    let test = "tables_are_analyzed_after_migrating_and_as_they_grow";
    if postgres_url(test).is_none() {
        return;
    }
    let store = TestDb::new(Backend::Postgres).await;
    let db = store.migrated("widgets", &both(WIDGETS)).await;
    let analyses = || async {
        let n: i64 = sqlx::query_scalar(
            "SELECT analyze_count FROM pg_stat_user_tables \
             WHERE schemaname = 'widgets' AND relname = 'widgets'",
        )
        .fetch_one(db.pool())
        .await
        .expect("read pg_stat_user_tables");
        n
    };
    let after_migration = eventually("the migrated table analyzed", WAIT, || async {
        let n = analyses().await;
        (n >= 1).then_some(n)
    })
    .await;
    // A few rows change nothing; once they reach the first threshold the table is analyzed.
    db.wrote("widgets", 10);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(analyses().await, after_migration);
    db.wrote("widgets", 600);
    eventually("the grown table analyzed", WAIT, || async {
        (analyses().await > after_migration).then_some(())
    })
    .await;
}
