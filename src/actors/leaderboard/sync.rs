//! Incremental sync: every second the actor reads the live season's `ratings` rows changed
//! since its watermark and applies them with deltas. The boards so follow every writer
//! (settlement on this node or another, an operator's fix) even when no `Update` is sent;
//! an `Update` only makes a change visible sooner.
//!
//! Two steps: read the changed rows, keep those newer than what the actor holds, then look up
//! the favourite element of just those players (one indexed query each) and apply them.

use std::time::Duration;

use actix::prelude::*;
use uuid::Uuid;

use super::{messages::Update, Leaderboard, Mode, Replay};
use crate::store::leaderboard::LoadedRating;

/// How often the actor pulls changed rating rows.
pub(crate) const SYNC_EVERY: Duration = Duration::from_secs(1);
/// The sync re-reads this far behind its watermark: a transaction may commit after a later one
/// with an earlier `updated_at`. Rows already applied are skipped by `seen`.
const SYNC_OVERLAP_MS: i64 = 5_000;

impl Leaderboard {
    /// Starts one sync unless one is in flight or a rebuild is loading.
    pub(super) fn sync(&mut self, ctx: &mut Context<Self>) {
        if self.syncing || self.refreshing > 0 {
            return;
        }
        self.syncing = true;
        let (db, season) = (self.db.clone(), self.season);
        let since = self.synced_to.saturating_sub(SYNC_OVERLAP_MS);
        let read = async move { db.season_ratings(season, Some(since)).await };
        ctx.spawn(read.into_actor(self).then(|rows, act, _| {
            let fresh: Vec<LoadedRating> = match rows {
                // A rebuild started meanwhile reads everything anyway.
                Ok(_) if act.refreshing > 0 => Vec::new(),
                Ok(rows) => rows.into_iter().filter(|r| act.is_newer(r)).collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "leaderboard sync failed");
                    Vec::new()
                }
            };
            let db = act.db.clone();
            async move {
                let users: Vec<Uuid> = fresh.iter().map(|r| r.entry.user_id).collect();
                let favs = db.favorite_elements_of(&users).await.unwrap_or_default();
                let mut out = fresh;
                for r in &mut out {
                    r.entry.favorite_element = favs.get(&r.entry.user_id).cloned();
                }
                out
            }
            .into_actor(act)
            .map(|rows, act, _| {
                act.syncing = false;
                let touched = std::mem::take(&mut act.touched);
                if act.refreshing > 0 {
                    return;
                }
                for r in rows {
                    // A message changed this player after the read: the row may be older.
                    if !touched.contains(&r.entry.user_id) && act.is_newer(&r) {
                        act.apply_synced(r);
                    }
                }
            })
        }));
    }

    /// True when the row is newer than what the actor holds for that player and mode.
    fn is_newer(&mut self, r: &LoadedRating) -> bool {
        self.synced_to = self.synced_to.max(r.updated_at);
        Mode::parse(&r.mode).is_some_and(|mode| {
            self.seen
                .get(&(mode, r.entry.user_id))
                .is_none_or(|seen| r.updated_at > *seen)
        })
    }

    fn apply_synced(&mut self, r: LoadedRating) {
        let Some(mode) = Mode::parse(&r.mode) else {
            return;
        };
        self.seen.insert((mode, r.entry.user_id), r.updated_at);
        self.apply(Replay::Update(Update::from_entry(
            self.season,
            mode,
            r.entry,
        )));
    }
}
