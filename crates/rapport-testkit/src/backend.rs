//! Backends and per-test stores.

use std::sync::Once;

use sqlx::{Connection, Executor};

/// Environment variable naming a PostgreSQL server tests may create databases on.
pub const POSTGRES_ENV: &str = "RAPPORT_TEST_POSTGRES_URL";
/// Environment variable naming a Redis server tests may use.
pub const REDIS_ENV: &str = "RAPPORT_TEST_REDIS_URL";

/// Where a test's services keep their data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite files, in-process cache and bus (standalone).
    Sqlite,
    /// PostgreSQL, with Redis for cache and bus when configured (distributed).
    Postgres,
}

impl Backend {
    /// Every backend this run can use. Says once, plainly, what is skipped and why.
    pub fn all() -> Vec<Backend> {
        static SKIP: Once = Once::new();
        let pg = std::env::var(POSTGRES_ENV).is_ok_and(|v| !v.is_empty());
        let redis = std::env::var(REDIS_ENV).is_ok_and(|v| !v.is_empty());
        SKIP.call_once(|| {
            if !pg {
                eprintln!("note: {POSTGRES_ENV} is not set; PostgreSQL runs of the service tests are skipped");
            }
            if pg && !redis {
                eprintln!("note: {REDIS_ENV} is not set; PostgreSQL runs use the in-process cache and bus");
            }
        });
        if pg {
            vec![Backend::Sqlite, Backend::Postgres]
        } else {
            vec![Backend::Sqlite]
        }
    }
}

/// One test's stores: a fresh SQLite directory or PostgreSQL database, and a Redis prefix.
/// Dropping it removes them.
#[derive(Debug)]
pub struct TestStores {
    /// The backend.
    pub backend: Backend,
    /// The data directory (SQLite files and the JWT secret).
    pub dir: tempfile::TempDir,
    /// The PostgreSQL URL of the test's own database, when on PostgreSQL.
    pub database_url: Option<String>,
    /// The Redis URL, when on PostgreSQL with Redis.
    pub redis_url: Option<String>,
    /// The test's Redis key prefix.
    pub redis_prefix: String,
    pg_admin: Option<(String, String)>,
}

impl TestStores {
    /// Fresh stores on `backend`.
    pub async fn new(backend: Backend) -> TestStores {
        let dir = tempfile::tempdir().expect("temp dir");
        let tag = uuid::Uuid::now_v7().simple().to_string();
        let redis_prefix = format!("rapport-test:{tag}:");
        if backend == Backend::Sqlite {
            return TestStores {
                backend,
                dir,
                database_url: None,
                redis_url: None,
                redis_prefix,
                pg_admin: None,
            };
        }
        let admin = std::env::var(POSTGRES_ENV).expect("PostgreSQL backend without its URL");
        let name = format!("rapport_t_{tag}");
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&admin)
            .await
            .expect("connect to the test PostgreSQL");
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create test database");
        let _ = conn.close().await;
        let database_url = Some(with_database(&admin, &name));
        let redis_url = std::env::var(REDIS_ENV).ok().filter(|v| !v.is_empty());
        TestStores {
            backend,
            dir,
            database_url,
            redis_url,
            redis_prefix,
            pg_admin: Some((admin, name)),
        }
    }
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    format!("{}/{name}{query}", &base[..host_end])
}

impl Drop for TestStores {
    fn drop(&mut self) {
        let pg = self.pg_admin.take();
        let redis = self
            .redis_url
            .clone()
            .map(|u| (u, self.redis_prefix.clone()));
        if pg.is_none() && redis.is_none() {
            return;
        }
        // Drop runs outside any runtime's async context, so clean up on a thread of its own.
        let cleanup = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Some((admin, name)) = pg
                    && let Ok(mut conn) = sqlx::AnyConnection::connect(&admin).await
                {
                    let _ = conn
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await;
                }
                if let Some((url, prefix)) = redis {
                    let _ = delete_prefix(&url, &prefix).await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

async fn delete_prefix(url: &str, prefix: &str) -> redis::RedisResult<()> {
    let client = redis::Client::open(url)?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await?;
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL").arg(keys).query_async(&mut conn).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h:5432/postgres?sslmode=disable", "x"),
            "postgres://u@h:5432/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
