//! SQL storage: one portable code path over sqlx `Any` (SQLite by default, Postgres to scale).
//!
//! SQL here is kept portable: `$N` placeholders (SQLite accepts them), TEXT ids and JSON,
//! BIGINT unix-ms timestamps and BIGINT money. Migrations live per backend in `migrations/`.

pub mod admin;
pub mod algorithms;
pub mod armies;
pub mod audit;
pub mod batch;
pub(crate) mod battle_rows;
mod battle_shapes;
pub mod economy;
pub(crate) mod idempotency;
pub mod leaderboard;
pub mod ledger;
pub mod lockout;
pub mod pilots;
pub(crate) mod queue_inputs;
pub mod robot_battles;
pub mod roster;
pub mod stats;
pub mod tokens;
pub mod tournaments;
pub mod tracker;
pub mod users;
pub mod wallet;

use std::time::Duration;

use sqlx::{any::AnyPoolOptions, AnyPool};

/// Where the database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// `sqlite://...` URL (a file, created if missing).
    Sqlite(String),
    /// `postgres://...` URL.
    Postgres(String),
}

/// Which engine is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// Storage error. Unique violations are surfaced so callers map them to 409/400.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint rejected the write.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The row does not exist.
    #[error("not found")]
    NotFound,
    /// Anything else from the database.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// Migration failure.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Maps a sqlx error, turning unique violations into [`StoreError::Conflict`].
    pub(crate) fn from_sqlx(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return StoreError::Conflict(db.message().to_string());
            }
        }
        StoreError::Db(e)
    }
}

/// The shared database handle.
#[derive(Clone, Debug)]
pub struct Db {
    /// Connection pool.
    pub pool: AnyPool,
    /// Engine behind it.
    pub backend: Backend,
}

impl Db {
    /// Connects (creating the SQLite file if needed) without migrating.
    #[tracing::instrument(skip_all)]
    pub async fn connect(target: &DatabaseTarget) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let (url, backend, max) = match target {
            DatabaseTarget::Sqlite(u) => (u.clone(), Backend::Sqlite, 8),
            DatabaseTarget::Postgres(u) => (u.clone(), Backend::Postgres, 16),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // Concurrent readers beside the one writer; wait instead of failing on locks.
                        sqlx::query("PRAGMA busy_timeout = 5000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await?;
        }
        Ok(Self { pool, backend })
    }

    /// Applies pending migrations for this backend.
    #[tracing::instrument(skip_all)]
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => {
                sqlx::migrate!("./migrations/sqlite")
                    .run(&self.pool)
                    .await?
            }
            Backend::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        Ok(())
    }

    /// SQLite: copies the WAL into the database every `every` (PASSIVE: never blocks a writer
    /// or a reader), off the commit path. SQLite's own automatic checkpoint still runs inside
    /// the commit that crosses the WAL threshold (and is what lets the WAL restart instead of
    /// growing), but it now finds the pages already copied: that commit used to take 100+ ms
    /// copying megabytes into the database under load. Call once, inside a runtime. No-op on
    /// Postgres, whose checkpointer already works in the background.
    pub(crate) fn spawn_wal_checkpointer(&self, every: Duration) {
        if self.backend != Backend::Sqlite {
            return;
        }
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let mut t = tokio::time::interval(every);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                t.tick().await;
                if pool.is_closed() {
                    return;
                }
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&pool)
                    .await
                {
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                }
            }
        });
    }

    /// Readiness probe: one round trip.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

/// Current unix time in milliseconds (the store's timestamp unit).
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Formats unix ms as RFC 3339 UTC (`2026-01-01T00:00:00Z`), the APIs' timestamp format.
pub(crate) fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
