//! Migrations, embedded in the binary. Versions 1..=99 belong to the runtime's own tables; a
//! service numbers its migrations from 100, so both lists share one history table.

use std::borrow::Cow;

use sqlx::migrate::{MigrateError, Migration as SqlxMigration, MigrationType, Migrator};

use super::Db;
use crate::{Error, Result, dialect::Dialect};

/// One migration of one backend.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Version, unique and increasing; services start at 100.
    pub version: i64,
    /// Short description, shown in the history table.
    pub description: &'static str,
    /// The SQL, usually `include_str!`-ed from `migrations/<backend>/`.
    pub sql: &'static str,
}

/// A service's migrations for both backends.
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    /// For PostgreSQL.
    pub postgres: &'static [Migration],
    /// For SQLite.
    pub sqlite: &'static [Migration],
}

// The outbox's auto-increment column is spelled differently per backend; the rest is shared.
const INBOX: Migration = Migration {
    version: 2,
    description: "runtime inbox and idempotency keys",
    sql: include_str!("../../migrations/0002_runtime_inbox.sql"),
};

const REQUEST_IDS: Migration = Migration {
    version: 5,
    description: "request ids scoped to the caller, with a fingerprint of the request",
    sql: include_str!("../../migrations/0005_request_ids.sql"),
};

const REVOCATIONS: Migration = Migration {
    version: 6,
    description: "revocation list",
    sql: include_str!("../../migrations/0006_revocations.sql"),
};

const API_KEYS: Migration = Migration {
    version: 7,
    description: "API keys, for authentication",
    sql: include_str!("../../migrations/0007_api_keys.sql"),
};

const RUNTIME_POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        description: "runtime outbox",
        sql: include_str!("../../migrations/postgres/0001_runtime.sql"),
    },
    INBOX,
    Migration {
        version: 3,
        description: "outbox rows carry batches of events",
        sql: include_str!("../../migrations/postgres/0003_outbox_batches.sql"),
    },
    Migration {
        version: 4,
        description: "outbox payloads stored uncompressed",
        sql: include_str!("../../migrations/postgres/0004_outbox_uncompressed.sql"),
    },
    REQUEST_IDS,
    REVOCATIONS,
    API_KEYS,
];

const RUNTIME_SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        description: "runtime outbox",
        sql: include_str!("../../migrations/sqlite/0001_runtime.sql"),
    },
    INBOX,
    Migration {
        version: 3,
        description: "outbox rows carry batches of events",
        sql: include_str!("../../migrations/sqlite/0003_outbox_batches.sql"),
    },
    REQUEST_IDS,
    REVOCATIONS,
    API_KEYS,
];

pub(super) async fn run(db: &Db, migrations: &Migrations) -> Result<()> {
    let (runtime, service) = match db.dialect() {
        Dialect::Postgres => (RUNTIME_POSTGRES, migrations.postgres),
        Dialect::Sqlite => (RUNTIME_SQLITE, migrations.sqlite),
    };
    if let Some(m) = service.iter().find(|m| m.version < 100) {
        return Err(Error::internal(format!(
            "service migration {} must be >= 100",
            m.version
        )));
    }
    let all: Vec<SqlxMigration> = runtime
        .iter()
        .chain(service)
        .map(|m| {
            SqlxMigration::new(
                m.version,
                Cow::Borrowed(m.description),
                MigrationType::Simple,
                Cow::Borrowed(m.sql),
                false,
            )
        })
        .collect();
    let migrator = Migrator {
        migrations: Cow::Owned(all),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    };
    let result = match db.dialect() {
        // sqlx holds an advisory lock while it migrates PostgreSQL.
        Dialect::Postgres => migrator.run(db.pool()).await,
        // It takes no lock on SQLite: one write transaction around the whole run makes another
        // process migrating the same file wait, then find the work done.
        Dialect::Sqlite => {
            async {
                let mut tx = db.pool().begin_with(db.dialect().begin_write()).await?;
                migrator.run(&mut *tx).await?;
                tx.commit().await?;
                Ok::<(), MigrateError>(())
            }
            .await
        }
    };
    result.map_err(|e| Error::internal(format!("migrating {}: {e}", db.service())))
}
