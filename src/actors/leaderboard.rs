//! Leaderboard actor: the live season's boards (one per mode) in memory, with O(log n) rank
//! lookups, rebuilt from `ratings` at start and on `Refresh`. Battle settlement sends `Update`;
//! changes that touch the top 100 go to the Socket.IO room `leaderboard` as
//! `leaderboard:updated {season, mode, entries}`.
//!
//! Past seasons are not held here: the HTTP layer serves them from SQL (see
//! `store::leaderboard`).

pub mod board;
pub mod index;

use std::{collections::HashMap, sync::Arc};

use actix::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::store::{now_ms, rfc3339, Db, StoreError};
use board::{diff, Board, Entry, Row, TOP};

/// Mailbox bound: a full mailbox is an error for the sender (DESIGN.md).
pub const MAILBOX: usize = 4096;
/// Socket.IO room of top-100 deltas.
pub const ROOM: &str = "leaderboard";
/// Event carrying a delta.
pub const EVENT: &str = "leaderboard:updated";

/// A leaderboard mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Mode {
    /// Rated games.
    Ranked,
    /// Unrated games.
    Casual,
}

impl Mode {
    /// Stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Ranked => "RANKED",
            Mode::Casual => "CASUAL",
        }
    }

    /// Parses `RANKED` / `CASUAL` (any case).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "RANKED" => Some(Mode::Ranked),
            "CASUAL" => Some(Mode::Casual),
            _ => None,
        }
    }
}

/// Sends one `leaderboard:updated` payload to the room. A function, so tests can capture it.
pub type Emitter = Arc<dyn Fn(Value) + Send + Sync>;

/// An emitter that broadcasts to the Socket.IO room [`ROOM`].
pub fn sio_emitter(io: socketioxide::SocketIo) -> Emitter {
    Arc::new(move |payload: Value| {
        let io = io.clone();
        actix_rt::spawn(async move {
            let _ = io.to(ROOM).emit(EVENT, &payload).await;
        });
    })
}

/// A player's new standing after a battle. `favorite_element: None` keeps the known one.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Update {
    /// Season of the battle; updates for other than the live season are ignored.
    pub season: i64,
    /// Mode.
    pub mode: Mode,
    /// The player.
    pub user_id: Uuid,
    /// Display name.
    pub username: String,
    /// Avatar.
    pub avatar_url: Option<String>,
    /// Account level.
    pub level: i64,
    /// Rating after the battle.
    pub rating: f64,
    /// Season wins in this mode.
    pub wins: i64,
    /// Season losses in this mode.
    pub losses: i64,
    /// Most fielded element (`Db::favorite_element`), if known.
    pub favorite_element: Option<String>,
}

impl Update {
    fn entry(self) -> Entry {
        Entry {
            user_id: self.user_id,
            username: self.username,
            avatar_url: self.avatar_url,
            level: self.level,
            rating: self.rating,
            wins: self.wins,
            losses: self.losses,
            favorite_element: self.favorite_element,
        }
    }
}

/// A player renamed or changed avatar (`PATCH /users/me`).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct ProfileChanged {
    /// The player.
    pub user_id: Uuid,
    /// New name.
    pub username: String,
    /// New avatar.
    pub avatar_url: Option<String>,
}

/// A page of the live board; replies `None` when `season` is not the live season.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Option<PageReply>")]
pub struct Page {
    /// Season.
    pub season: i64,
    /// Mode.
    pub mode: Mode,
    /// Only players whose favourite element is this (wire name, e.g. `VOLT`).
    pub element: Option<String>,
    /// Page size.
    pub limit: usize,
    /// Rows to skip.
    pub offset: usize,
}

/// `GET /leaderboard` body.
#[derive(Debug, Clone, Serialize)]
pub struct PageReply {
    /// Season.
    pub season: i64,
    /// Last change, RFC 3339.
    pub updated_at: String,
    /// Rows.
    pub data: Vec<Row>,
    /// Players on the board (after the element filter).
    pub total: usize,
}

/// A player's rank and neighbours; replies `None` when `season` is not the live season.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Option<AroundReply>")]
pub struct Around {
    /// Season.
    pub season: i64,
    /// Mode.
    pub mode: Mode,
    /// The player.
    pub user_id: Uuid,
    /// Places either side (the spec: 5).
    pub radius: usize,
}

/// `GET /leaderboard/me` body.
#[derive(Debug, Clone, Serialize)]
pub struct AroundReply {
    /// Season.
    pub season: i64,
    /// Mode.
    pub mode: Mode,
    /// Last change, RFC 3339.
    pub updated_at: String,
    /// 1-based rank; `null` when unranked (no game in this season and mode).
    pub rank: Option<u64>,
    /// Players on the board.
    pub total: usize,
    /// The player's row and up to `radius` rows either side, in rank order.
    pub data: Vec<Row>,
}

/// 1-based rank of a player on the live board (`None`: unranked or not the live season).
#[derive(Debug, Clone, Message)]
#[rtype(result = "Option<u64>")]
pub struct RankOf {
    /// Season.
    pub season: i64,
    /// Mode.
    pub mode: Mode,
    /// The player.
    pub user_id: Uuid,
}

/// Rebuild from the database; replies with the number of entries loaded.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "Result<usize, String>")]
pub struct Refresh;

/// Changes that arrive while a rebuild loads; replayed on top of it (they are absolute values,
/// so replaying one the load already saw is harmless).
#[derive(Debug, Clone)]
enum Replay {
    Update(Update),
    Profile(ProfileChanged),
}

/// The actor.
pub struct Leaderboard {
    db: Db,
    season: i64,
    boards: HashMap<Mode, Board>,
    emit: Emitter,
    refreshing: usize,
    replay: Vec<Replay>,
}

/// Loads the live season's boards.
#[tracing::instrument(skip(db))]
pub async fn load(db: &Db, season: i64) -> Result<HashMap<Mode, Board>, StoreError> {
    let mut boards: HashMap<Mode, Board> = [Mode::Ranked, Mode::Casual]
        .into_iter()
        .map(|m| (m, Board::default()))
        .collect();
    for r in db.season_ratings(season).await? {
        let Some(mode) = Mode::parse(&r.mode) else {
            continue;
        };
        if let Some(b) = boards.get_mut(&mode) {
            b.upsert(r.entry, r.updated_at);
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
            boards,
            emit,
            refreshing: 0,
            replay: Vec::new(),
        }
    }

    fn board(&self, season: i64, mode: Mode) -> Option<&Board> {
        (season == self.season)
            .then(|| self.boards.get(&mode))
            .flatten()
    }

    fn publish(&self, mode: Mode, entries: Vec<Row>) {
        if !entries.is_empty() {
            (self.emit)(json!({ "season": self.season, "mode": mode, "entries": entries }));
        }
    }

    fn apply(&mut self, r: Replay) {
        match r {
            Replay::Update(u) => {
                if u.season != self.season {
                    return;
                }
                let mode = u.mode;
                let delta = self
                    .boards
                    .entry(mode)
                    .or_default()
                    .upsert(u.entry(), now_ms());
                self.publish(mode, delta);
            }
            Replay::Profile(p) => {
                for mode in [Mode::Ranked, Mode::Casual] {
                    let delta = self.boards.entry(mode).or_default().rename(
                        p.user_id,
                        &p.username,
                        p.avatar_url.as_deref(),
                    );
                    self.publish(mode, delta);
                }
            }
        }
    }

    fn record(&mut self, r: Replay) {
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

impl Handler<Page> for Leaderboard {
    type Result = Option<PageReply>;
    #[tracing::instrument(skip(self, _ctx))]
    fn handle(&mut self, m: Page, _ctx: &mut Self::Context) -> Self::Result {
        let b = self.board(m.season, m.mode)?;
        let (data, total) = b.page(m.element.as_deref(), m.limit, m.offset);
        Some(PageReply {
            season: m.season,
            updated_at: rfc3339(b.updated_at),
            data,
            total,
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
                            boards
                                .entry(u.mode)
                                .or_default()
                                .upsert(u.entry(), now_ms());
                        }
                    } else if let Replay::Profile(p) = r {
                        for b in boards.values_mut() {
                            b.rename(p.user_id, &p.username, p.avatar_url.as_deref());
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
                    let delta = diff(&old, &new.top(TOP));
                    act.publish(mode, delta);
                }
                act.boards = boards;
                Ok(total)
            },
        ))
    }
}
