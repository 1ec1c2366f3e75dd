//! Leaderboard actor: the live season's boards (one per mode) in memory, with O(log n) rank
//! lookups, rebuilt from `ratings` at start and on `Refresh`, and kept current by a sync of
//! changed `ratings` rows every second (`sync.rs`; this is how settled battles arrive) and by
//! `Update` messages (immediate; no production caller sends one yet).
//! Changes that touch the top 100 go to the Socket.IO room `leaderboard` as
//! `leaderboard:updated {season, mode, total, entries}`.
//!
//! Past seasons are not held here: the HTTP layer serves them from SQL (see
//! `store::leaderboard`).

mod messages;
mod sync;
#[cfg(test)]
mod tests;

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use actix::prelude::*;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::domain::leaderboard::board::{diff, Board, Row, TOP};
use crate::store::{now_ms, rfc3339, Db, StoreError};
pub use messages::{
    Around, AroundReply, Mode, Page, PageReply, ProfileChanged, RankOf, Refresh, Remove, Update,
};

/// Mailbox bound: a full mailbox is an error for the sender (DESIGN.md).
pub(crate) const MAILBOX: usize = 4096;
/// Socket.IO room of top-100 deltas.
pub(crate) const ROOM: &str = "leaderboard";
/// Event carrying a delta.
pub(crate) const EVENT: &str = "leaderboard:updated";

/// Sends one `leaderboard:updated` payload to the room. A function, so tests can capture it.
pub type Emitter = Arc<dyn Fn(Value) + Send + Sync>;

/// An emitter that broadcasts to the Socket.IO room [`ROOM`].
pub(crate) fn sio_emitter(rooms: Arc<dyn crate::actors::rooms::Rooms>) -> Emitter {
    Arc::new(move |payload: Value| rooms.to_room(ROOM.to_string(), Vec::new(), EVENT, payload))
}

/// Builds the [`Update`] for a player from committed rows (user, `ratings`, favourite element),
/// for a caller that wants a change on the board before the next sync (today: tests). `None`
/// when the player has no rating row for that season and mode.
#[tracing::instrument(skip(db))]
pub async fn update_from_db(
    db: &Db,
    user: Uuid,
    season: i64,
    mode: Mode,
) -> Result<Option<Update>, StoreError> {
    let Some(u) = db.user_by_id(user).await? else {
        return Ok(None);
    };
    let Some(r) = db.rating_record(user, season, mode.as_str()).await? else {
        return Ok(None);
    };
    Ok(Some(Update {
        season,
        mode,
        user_id: user,
        username: u.username,
        avatar_url: u.avatar_url,
        level: u.level,
        rating: r.rating,
        wins: r.wins,
        losses: r.losses,
        favorite_element: db.favorite_element(user).await?,
    }))
}

/// Changes that arrive while a rebuild loads; replayed on top of it (they are absolute values,
/// so replaying one the load already saw is harmless).
#[derive(Debug, Clone)]
enum Replay {
    Update(Update),
    Profile(ProfileChanged),
    Remove(Remove),
}

/// The actor.
pub struct Leaderboard {
    db: Db,
    season: i64,
    boards: HashMap<Mode, Board>,
    emit: Emitter,
    refreshing: usize,
    replay: Vec<Replay>,
    /// Latest `ratings.updated_at` applied from the database.
    synced_to: i64,
    syncing: bool,
    /// Per (mode, player): `updated_at` of the last row the sync applied, or the arrival time
    /// of the last `Update`. The sync only applies strictly newer rows.
    seen: HashMap<(Mode, Uuid), i64>,
    /// Players changed by messages while a sync read was in flight: that read may predate
    /// the change, so its rows for them are dropped.
    touched: HashSet<Uuid>,
}

fn watermark(boards: &HashMap<Mode, Board>) -> i64 {
    boards.values().map(|b| b.updated_at).max().unwrap_or(0)
}

/// Loads the live season's boards.
#[tracing::instrument(skip(db))]
pub async fn load(db: &Db, season: i64) -> Result<HashMap<Mode, Board>, StoreError> {
    let mut boards: HashMap<Mode, Board> = [Mode::Ranked, Mode::Casual]
        .into_iter()
        .map(|m| (m, Board::default()))
        .collect();
    for r in db.season_ratings(season, None).await? {
        let Some(mode) = Mode::parse(&r.mode) else {
            continue;
        };
        if let Some(b) = boards.get_mut(&mode) {
            b.place(r.entry);
            b.updated_at = b.updated_at.max(r.updated_at);
        }
    }
    Ok(boards)
}

impl Leaderboard {
    /// An actor over already loaded boards (see [`load`]).
    pub fn new(db: Db, season: i64, boards: HashMap<Mode, Board>, emit: Emitter) -> Self {
        Self {
            db,
            season,
            synced_to: watermark(&boards),
            boards,
            emit,
            refreshing: 0,
            replay: Vec::new(),
            syncing: false,
            seen: HashMap::new(),
            touched: HashSet::new(),
        }
    }

    fn board(&self, season: i64, mode: Mode) -> Option<&Board> {
        (season == self.season)
            .then(|| self.boards.get(&mode))
            .flatten()
    }

    /// Sends a delta. `total` lets a client drop rows past the end when the board shrank
    /// (a refresh may remove players, e.g. banned ones).
    fn publish(&self, mode: Mode, entries: Vec<Row>, total: usize) {
        (self.emit)(json!({
            "season": self.season, "mode": mode, "total": total, "entries": entries
        }));
    }

    fn apply(&mut self, r: Replay) {
        match r {
            Replay::Update(u) => {
                if u.season != self.season {
                    return;
                }
                let mode = u.mode;
                let board = self.boards.entry(mode).or_default();
                let delta = board.upsert(u.entry(), now_ms());
                let total = board.len();
                if !delta.is_empty() {
                    self.publish(mode, delta, total);
                }
            }
            Replay::Profile(p) => {
                for mode in [Mode::Ranked, Mode::Casual] {
                    let board = self.boards.entry(mode).or_default();
                    let delta = board.rename(p.user_id, &p.username, p.avatar_url.as_deref());
                    let total = board.len();
                    if !delta.is_empty() {
                        self.publish(mode, delta, total);
                    }
                }
            }
            Replay::Remove(r) => {
                for mode in [Mode::Ranked, Mode::Casual] {
                    let board = self.boards.entry(mode).or_default();
                    // Published even without rows: `total` shrank, the client trims.
                    if let Some(delta) = board.remove(r.user_id, now_ms()) {
                        let total = board.len();
                        self.publish(mode, delta, total);
                    }
                }
            }
        }
    }

    /// A change from a message: applied now, replayed after a rebuild in progress, and
    /// shielded from an older sync read.
    fn record(&mut self, r: Replay) {
        let user = match &r {
            Replay::Update(u) => {
                let seen = self.seen.entry((u.mode, u.user_id)).or_default();
                *seen = (*seen).max(now_ms());
                u.user_id
            }
            Replay::Profile(p) => p.user_id,
            Replay::Remove(r) => r.user_id,
        };
        if self.syncing {
            self.touched.insert(user);
        }
        if self.refreshing > 0 {
            self.replay.push(r.clone());
        }
        self.apply(r);
    }
}

impl Actor for Leaderboard {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAILBOX);
        ctx.run_interval(sync::SYNC_EVERY, |act, ctx| act.sync(ctx));
    }
}

impl Handler<Update> for Leaderboard {
    type Result = ();
    #[tracing::instrument(skip_all, fields(user = %m.user_id, mode = m.mode.as_str()))]
    fn handle(&mut self, m: Update, _: &mut Self::Context) {
        self.record(Replay::Update(m));
    }
}

impl Handler<ProfileChanged> for Leaderboard {
    type Result = ();
    #[tracing::instrument(skip_all, fields(user = %m.user_id))]
    fn handle(&mut self, m: ProfileChanged, _: &mut Self::Context) {
        self.record(Replay::Profile(m));
    }
}

impl Handler<Remove> for Leaderboard {
    type Result = ();
    #[tracing::instrument(skip_all, fields(user = %m.user_id))]
    fn handle(&mut self, m: Remove, _: &mut Self::Context) {
        self.record(Replay::Remove(m));
    }
}

impl Handler<Page> for Leaderboard {
    type Result = Option<PageReply>;
    #[tracing::instrument(skip(self, _ctx))]
    fn handle(&mut self, m: Page, _ctx: &mut Self::Context) -> Self::Result {
        let b = self.board(m.season, m.mode)?;
        let (data, total) = b.page(m.element.as_deref(), m.limit, m.offset);
        Some(PageReply {
            season: m.season,
            updated_at: rfc3339(b.updated_at),
            has_more: m.offset + data.len() < total,
            data,
            total,
            limit: m.limit,
            offset: m.offset,
        })
    }
}

impl Handler<Around> for Leaderboard {
    type Result = Option<AroundReply>;
    #[tracing::instrument(skip(self, _ctx))]
    fn handle(&mut self, m: Around, _ctx: &mut Self::Context) -> Self::Result {
        let b = self.board(m.season, m.mode)?;
        let (rank, data) = match b.around(m.user_id, m.radius) {
            Some((r, rows)) => (Some(r as u64 + 1), rows),
            None => (None, Vec::new()),
        };
        Some(AroundReply {
            season: m.season,
            mode: m.mode,
            updated_at: rfc3339(b.updated_at),
            rank,
            total: b.len(),
            data,
        })
    }
}

impl Handler<RankOf> for Leaderboard {
    type Result = Option<u64>;
    #[tracing::instrument(skip(self, _ctx))]
    fn handle(&mut self, m: RankOf, _ctx: &mut Self::Context) -> Self::Result {
        self.board(m.season, m.mode)?
            .rank_of(m.user_id)
            .map(|r| r as u64 + 1)
    }
}

impl Handler<Refresh> for Leaderboard {
    type Result = ResponseActFuture<Self, Result<usize, String>>;
    #[tracing::instrument(skip_all)]
    fn handle(&mut self, _: Refresh, _: &mut Self::Context) -> Self::Result {
        self.refreshing += 1;
        let (db, season) = (self.db.clone(), self.season);
        Box::pin(async move { load(&db, season).await }.into_actor(self).map(
            move |loaded, act, _| {
                act.refreshing -= 1;
                let replay = if act.refreshing == 0 {
                    std::mem::take(&mut act.replay)
                } else {
                    act.replay.clone()
                };
                let mut boards = loaded.map_err(|e| e.to_string())?;
                for r in replay {
                    // Replay silently: the delta is computed below against the old tops.
                    if let Replay::Update(u) = r {
                        if u.season == season {
                            boards.entry(u.mode).or_default().place(u.entry());
                        }
                    } else if let Replay::Profile(p) = r {
                        for b in boards.values_mut() {
                            b.rename(p.user_id, &p.username, p.avatar_url.as_deref());
                        }
                    } else if let Replay::Remove(r) = r {
                        for b in boards.values_mut() {
                            b.remove(r.user_id, now_ms());
                        }
                    }
                }
                let mut total = 0;
                for mode in [Mode::Ranked, Mode::Casual] {
                    let old = act
                        .boards
                        .get(&mode)
                        .map(|b| b.top(TOP))
                        .unwrap_or_default();
                    let new = boards.entry(mode).or_default();
                    total += new.len();
                    let top = new.top(TOP);
                    let delta = diff(&old, &top);
                    if !delta.is_empty() || top.len() < old.len() {
                        act.publish(mode, delta, new.len());
                    }
                }
                act.synced_to = act.synced_to.max(watermark(&boards));
                // The rebuild read everything: the next sync may re-apply any row (unchanged
                // rows emit nothing).
                act.seen.clear();
                act.boards = boards;
                Ok(total)
            },
        ))
    }
}
