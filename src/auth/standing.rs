//! The current standing of an account (role, ban) for tokens already issued.
//!
//! A JWT carries the role it was issued with; authority must follow the account instead, so
//! every authenticated request and socket handshake asks [`Standing::check`]. It reads
//! `users.role` and `users.banned` through a small per-user cache whose entries live at most
//! `ttl`: the `warroom user promote` CLI writes the database from another process, so the
//! database stays the source, and the cache only bounds how often it is asked. Changes made in
//! this process (bans) drop the entry at once with [`Standing::forget`]; in multi-node mode
//! the other nodes hear of a ban at once too (`realtime::bans`), and at worst read the
//! database within `ttl`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use uuid::Uuid;

use super::{AuthUser, BanList, Role};
use crate::store::{Db, StoreError};

/// Why a token's user may not act, whatever the token says.
#[derive(Debug, thiserror::Error)]
pub enum StandingError {
    /// The account no longer exists.
    #[error("unknown account")]
    Unknown,
    /// The account is banned.
    #[error("account is banned")]
    Banned,
    /// The database could not be asked.
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    role: Role,
    banned: bool,
    read_at: Instant,
}

/// Per-user role and ban state, read from the database behind a short-lived cache.
pub struct Standing {
    db: Db,
    bans: Arc<BanList>,
    ttl: Duration,
    cache: DashMap<Uuid, Entry>,
}

impl Standing {
    /// Standing over `db`; the in-memory `bans` (kept by the ban path) win at once, and a
    /// cached row is trusted for at most `ttl`.
    pub fn new(db: Db, bans: Arc<BanList>, ttl: Duration) -> Arc<Self> {
        Arc::new(Self {
            db,
            bans,
            ttl,
            cache: DashMap::new(),
        })
    }

    /// The token's user with their current role, or why they may not act.
    pub async fn check(&self, user: AuthUser) -> Result<AuthUser, StandingError> {
        // A guest token names no account (its id is random); what it may do is the callers'
        // read-only rule, not a role in the database.
        if user.is_guest() {
            return Ok(user);
        }
        if self.bans.contains(&user.id) {
            return Err(StandingError::Banned);
        }
        let cached = self
            .cache
            .get(&user.id)
            .map(|e| *e)
            .filter(|e| e.read_at.elapsed() < self.ttl);
        let entry = match cached {
            Some(e) => e,
            None => {
                let (role, banned) = self
                    .db
                    .user_standing(user.id)
                    .await?
                    .ok_or(StandingError::Unknown)?;
                let e = Entry {
                    role,
                    banned,
                    read_at: Instant::now(),
                };
                if !self.ttl.is_zero() {
                    self.cache.insert(user.id, e);
                }
                e
            }
        };
        if entry.banned {
            return Err(StandingError::Banned);
        }
        Ok(AuthUser {
            id: user.id,
            role: entry.role,
        })
    }

    /// Drops the cached standing of `user` (after a change made in this process).
    pub(crate) fn forget(&self, user: Uuid) {
        self.cache.remove(&user);
    }

    /// Drops expired entries so the cache stays as small as the set of active users.
    pub(crate) fn sweep(&self) {
        let ttl = self.ttl;
        self.cache.retain(|_, e| e.read_at.elapsed() < ttl);
    }
}
