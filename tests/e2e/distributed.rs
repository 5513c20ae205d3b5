//! `rapport migrate` then `rapport serve customers` against PostgreSQL and Redis, as one
//! Kubernetes Deployment runs it.

use std::time::{Duration, Instant};

use rapport_proto::customers as pb;
use sqlx::Connection;

use crate::support::*;

const SECRET: &str = "e2e-distributed-secret-e2e-distributed-secret";

async fn redis(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .expect("a Redis URL")
        .get_multiplexed_async_connection()
        .await
        .expect("connect to Redis")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_runs_alone_on_postgres_and_redis() {
    let (Some(pg), Some(redis_url)) = (
        env_var("RAPPORT_TEST_POSTGRES_URL"),
        env_var("RAPPORT_TEST_REDIS_URL"),
    ) else {
        eprintln!(
            "skipped: customers_runs_alone_on_postgres_and_redis (needs RAPPORT_TEST_POSTGRES_URL \
             and RAPPORT_TEST_REDIS_URL)"
        );
        return;
    };
    let stores = ScratchStores::create(&pg, &redis_url, "e2e").await;
    let (db, prefix) = (&stores.url, &stores.prefix);
    let data = tempfile::tempdir().expect("temp dir");

    run_ok(&["migrate", "customers", "--database-url", db]).await;
    // Migrating again changes nothing and succeeds.
    run_ok(&["migrate", "customers", "--database-url", db]).await;

    let mut server = Server::start(
        &[
            "customers",
            "--database-url",
            db,
            "--redis-url",
            &redis_url,
            "--redis-prefix",
            prefix,
            "--migrate-on-start",
            "false",
        ],
        &[
            ("RAPPORT_DATA_DIR", arg(data.path())),
            ("RAPPORT_JWT_SECRET", SECRET),
        ],
    );
    server.wait_serving().await;
    assert_eq!(
        health(server.addr, "rapport.customers.v1.CustomerService").await,
        Ok(tonic_health::pb::health_check_response::ServingStatus::Serving)
    );
    assert!(
        !server.output().contains("Admin token"),
        "with a configured secret no token is printed"
    );

    let token = run_ok(&[
        "token",
        "issue",
        "--tenant",
        "acme",
        "--subject",
        "ops",
        "--role",
        "admin",
        "--jwt-secret",
        SECRET,
    ])
    .await;
    let mut c = server.customers(token.trim()).await;
    let wei = create(&mut c, person("张伟", "13812345678")).await;
    let got = c
        .get_customer(pb::GetCustomerRequest {
            name: wei.name.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got, wei);
    assert_eq!(names(&mut c, "display_name:\"伟\"").await, ["张伟"]);

    // The row is in PostgreSQL, in the service's schema, and its event reached Redis.
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(db)
        .await
        .expect("connect to the test database");
    let in_schema: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'customers'",
    )
    .fetch_one(&mut conn)
    .await
    .expect("information_schema");
    assert!(in_schema > 0, "the customers schema holds the tables");
    let _ = conn.close().await;
    let stream = format!("{prefix}events:customers");
    let mut r = redis(&redis_url).await;
    let deadline = Instant::now() + STARTUP;
    loop {
        let len: i64 = redis::cmd("XLEN")
            .arg(&stream)
            .query_async(&mut r)
            .await
            .expect("XLEN");
        if len >= 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the created event never reached {stream}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    drop(c);
    let status = server.terminate().await;
    assert!(status.success(), "exit after SIGTERM: {status}");
    drop(stores);
}
