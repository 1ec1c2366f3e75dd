//! Incremental sync: every second the actor reads the live season's `ratings` rows changed
//! since its watermark and applies them with deltas. The boards so follow every writer
//! (settlement on this node or another, an operator's fix) even when no `Update` is sent;
//! an `Update` only makes a change visible sooner.

use std::time::Duration;

use actix::prelude::*;

use super::{messages::Update, Leaderboard, Mode, Replay};
use crate::store::leaderboard::LoadedRating;

/// How often the actor pulls changed rating rows.
pub const SYNC_EVERY: Duration = Duration::from_secs(1);
/// The sync re-reads this far behind its watermark: a transaction may commit after a later one
/// with an earlier `updated_at`. Rows already applied are skipped by `seen`.
const SYNC_OVERLAP_MS: i64 = 5_000;

impl Leaderboard {
    /// Starts one sync read unless one is in flight or a rebuild is loading.
    pub(super) fn sync(&mut self, ctx: &mut Context<Self>) {
        if self.syncing || self.refreshing > 0 {
            return;
        }
        self.syncing = true;
        let (db, season) = (self.db.clone(), self.season);
        let since = self.synced_to.saturating_sub(SYNC_OVERLAP_MS);
        let fut = async move { db.season_ratings(season, Some(since)).await };
        ctx.spawn(fut.into_actor(self).map(|rows, act, _| {
            act.syncing = false;
            let touched = std::mem::take(&mut act.touched);
            match rows {
                // A rebuild started meanwhile reads everything anyway.
                Ok(_) if act.refreshing > 0 => {}
                Ok(rows) => {
                    for r in rows
                        .into_iter()
                        .filter(|r| !touched.contains(&r.entry.user_id))
                    {
                        act.apply_synced(r);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "leaderboard sync failed"),
            }
        }));
    }

    fn apply_synced(&mut self, r: LoadedRating) {
        self.synced_to = self.synced_to.max(r.updated_at);
        let Some(mode) = Mode::parse(&r.mode) else {
            return;
        };
        let seen = self.seen.entry((mode, r.entry.user_id)).or_insert(i64::MIN);
        if r.updated_at <= *seen {
            return;
        }
        *seen = r.updated_at;
        self.apply(Replay::Update(Update::from_entry(
            self.season,
            mode,
            r.entry,
        )));
    }
}
