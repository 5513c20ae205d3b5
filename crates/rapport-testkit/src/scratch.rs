//! Scratch stores on real servers: a PostgreSQL database made for one test (or benchmark run)
//! and dropped after it, and Redis keys under a prefix of its own. Shared by the test kit, the
//! runtime's and the binary's tests, and the benchmark.

use std::future::Future;

use sqlx::{Connection, Executor};

/// A unique lower-case tag for database names and key prefixes.
pub fn tag() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// A PostgreSQL database of its own; dropped (with its connections) when this is dropped, or
/// earlier with [`ScratchDatabase::drop_now`].
#[derive(Debug)]
pub struct ScratchDatabase {
    admin_url: String,
    name: String,
    /// Its URL.
    pub url: String,
    dropped: bool,
}

impl ScratchDatabase {
    /// Creates `rapport_<label>_<tag>` on the server of `admin_url` (a user that may create
    /// databases).
    pub async fn create(admin_url: &str, label: &str) -> Result<ScratchDatabase, String> {
        sqlx::any::install_default_drivers();
        let tag = tag();
        let name = format!("rapport_{label}_{}", &tag[tag.len() - 16..]);
        let mut conn = sqlx::AnyConnection::connect(admin_url)
            .await
            .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))?;
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .map_err(|e| format!("cannot create database {name}: {e}"))?;
        let _ = conn.close().await;
        Ok(ScratchDatabase {
            url: with_database(admin_url, &name),
            admin_url: admin_url.to_owned(),
            name,
            dropped: false,
        })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL it was created through.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// Drops the database now, closing whatever is still connected to it.
    pub async fn drop_now(mut self) {
        self.dropped = true;
        drop_database(&self.admin_url, &self.name).await;
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if !self.dropped {
            let (admin, name) = (self.admin_url.clone(), self.name.clone());
            block_on_own_thread(async move { drop_database(&admin, &name).await });
        }
    }
}

/// Drops database `name` on the server of `admin_url`, closing whatever is connected to it.
pub async fn drop_database(admin_url: &str, name: &str) {
    if let Ok(mut conn) = sqlx::AnyConnection::connect(admin_url).await {
        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        if let Err(e) = conn.execute(sql.as_str()).await {
            eprintln!("warning: could not drop database {name}: {e}");
        }
        let _ = conn.close().await;
    }
}

/// Deletes every Redis key under `prefix`.
pub async fn clear_redis_prefix(url: &str, prefix: &str) -> redis::RedisResult<()> {
    let client = redis::Client::open(url)?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await?;
        if !keys.is_empty() {
            let _: () = redis::cmd("UNLINK")
                .arg(keys)
                .query_async(&mut conn)
                .await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

/// As [`clear_redis_prefix`], from a `Drop`.
pub fn clear_redis_prefix_blocking(url: &str, prefix: &str) {
    let (url, prefix) = (url.to_owned(), prefix.to_owned());
    block_on_own_thread(async move {
        let _ = clear_redis_prefix(&url, &prefix).await;
    });
}

/// Runs `cleanup` to completion from synchronous code such as `Drop`, which may itself run
/// inside an async runtime: on a thread and runtime of its own.
fn block_on_own_thread(cleanup: impl Future<Output = ()> + Send + 'static) {
    let done = std::thread::spawn(move || {
        if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            rt.block_on(cleanup);
        }
    });
    let _ = done.join();
}

/// `url` with its database replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
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
