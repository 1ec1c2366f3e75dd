//! Messages of the `Leaderboard` actor and their replies. [`Update`] applies one player's new
//! standing at once ([`super::update_from_db`] builds it from committed rows); battle
//! settlement does not send it today: its `ratings` rows reach the boards through the
//! one-second sync (`sync.rs`). Only tests send `Update`.

use actix::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use crate::domain::leaderboard::board::{Entry, Row};
pub use crate::domain::mode::Mode;

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
    /// The message for a board entry.
    pub(super) fn from_entry(season: i64, mode: Mode, e: Entry) -> Self {
        Self {
            season,
            mode,
            user_id: e.user_id,
            username: e.username,
            avatar_url: e.avatar_url,
            level: e.level,
            rating: e.rating,
            wins: e.wins,
            losses: e.losses,
            favorite_element: e.favorite_element,
        }
    }

    pub(super) fn entry(self) -> Entry {
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

/// Takes a player off the live boards (e.g. when banned). A later rating change or rebuild
/// brings them back unless they are still banned (rebuilds and the sync skip banned players).
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct Remove {
    /// The player.
    pub user_id: Uuid,
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
    /// Page size (the spec's common pagination fields).
    pub limit: usize,
    /// Rows skipped.
    pub offset: usize,
    /// More rows after this page.
    pub has_more: bool,
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
    pub(crate) radius: usize,
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
