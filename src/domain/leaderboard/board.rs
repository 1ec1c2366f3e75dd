//! One leaderboard (a season and a mode): entries by user, a rank index over all of them and
//! one per favourite element. Pure data; the actor owns one per mode of the live season.

use std::{
    cmp::Ordering,
    collections::{BTreeMap, HashMap},
};

use serde::Serialize;
use uuid::Uuid;

use super::index::RankIndex;

/// Ranks above this one get pushed to the `leaderboard` room (the spec: top-100 deltas).
pub(crate) const TOP: usize = 100;

/// What the board knows of a player.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The player.
    pub user_id: Uuid,
    /// Display name.
    pub username: String,
    /// Avatar.
    pub avatar_url: Option<String>,
    /// Account level.
    pub level: i64,
    /// Glicko-2 rating (exact; shown rounded).
    pub rating: f64,
    /// Wins this season in this mode.
    pub wins: i64,
    /// Losses this season in this mode.
    pub losses: i64,
    /// Element of the robots the player fields most, if they played.
    pub favorite_element: Option<String>,
}

/// One line of a leaderboard response (and of a `leaderboard:updated` delta).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// 1-based rank.
    pub rank: u64,
    /// The player.
    pub user_id: Uuid,
    /// Display name.
    pub username: String,
    /// Avatar.
    pub avatar_url: Option<String>,
    /// Account level.
    pub level: i64,
    /// Rating, rounded.
    pub rating: i64,
    /// Wins.
    pub wins: i64,
    /// Losses.
    pub losses: i64,
    /// Wins out of decided games (wins + losses), in percent with one decimal.
    pub win_rate: f64,
}

impl Row {
    /// Builds a row; `win_rate` ignores draws, as the spec's example does (312/400 → 78.0).
    pub fn new(rank: u64, e: &Entry) -> Self {
        Self::from_parts(
            rank,
            e.user_id,
            e.username.clone(),
            e.avatar_url.clone(),
            e.level,
            e.rating,
            e.wins,
            e.losses,
        )
    }

    /// Builds a row from loose fields (the SQL path for past seasons).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_parts(
        rank: u64,
        user_id: Uuid,
        username: String,
        avatar_url: Option<String>,
        level: i64,
        rating: f64,
        wins: i64,
        losses: i64,
    ) -> Self {
        Self {
            rank,
            user_id,
            username,
            avatar_url,
            level,
            rating: rating.round() as i64,
            wins,
            losses,
            win_rate: percent(wins, wins + losses),
        }
    }
}

/// `part / whole` in percent, one decimal; 0 when `whole` is 0.
pub(crate) fn percent(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        0.0
    } else {
        (part as f64 * 1000.0 / whole as f64).round() / 10.0
    }
}

/// Sort key: higher rating first, then user id ascending (the SQL order of past seasons).
#[derive(Debug, Clone, Copy)]
struct Key {
    rating: f64,
    user: Uuid,
}

impl Key {
    fn of(e: &Entry) -> Self {
        Self {
            rating: e.rating,
            user: e.user_id,
        }
    }
}

impl Ord for Key {
    fn cmp(&self, o: &Self) -> Ordering {
        o.rating
            .total_cmp(&self.rating)
            .then_with(|| self.user.cmp(&o.user))
    }
}
impl PartialOrd for Key {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl PartialEq for Key {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Key {}

/// A leaderboard with O(log n) rank lookups.
#[derive(Debug, Default, Clone)]
pub struct Board {
    entries: HashMap<Uuid, Entry>,
    all: RankIndex<Key>,
    by_element: BTreeMap<String, RankIndex<Key>>,
    /// Unix ms of the last change.
    pub updated_at: i64,
}

impl Board {
    /// Number of ranked players.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nobody is ranked.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn index_mut(&mut self, element: &Option<String>) -> Option<&mut RankIndex<Key>> {
        element
            .as_ref()
            .map(|el| self.by_element.entry(el.clone()).or_default())
    }

    /// Inserts or replaces a player's entry. A `favorite_element` of `None` keeps the one
    /// already known. Returns the rows whose top-100 rank or content changed (for the delta).
    pub(crate) fn upsert(&mut self, e: Entry, now: i64) -> Vec<Row> {
        let (old_rank, new_rank, unchanged) = self.place(e);
        if unchanged && old_rank == Some(new_rank) {
            return Vec::new();
        }
        self.updated_at = self.updated_at.max(now);
        // Everyone between the old and the new position moved by one place.
        let lo = old_rank.map_or(new_rank, |o| o.min(new_rank));
        let hi = old_rank.map_or(self.len() - 1, |o| o.max(new_rank));
        if lo >= TOP {
            return Vec::new();
        }
        self.rows_all(lo, hi.min(TOP - 1) + 1 - lo)
    }

    /// [`Self::upsert`] without building the delta nor touching `updated_at` (bulk loads):
    /// returns the old 0-based rank, the new one, and whether the visible row is unchanged.
    pub fn place(&mut self, mut e: Entry) -> (Option<usize>, usize, bool) {
        let old = self.entries.remove(&e.user_id);
        let old_rank = old.as_ref().map(|o| {
            let (k, rank) = (Key::of(o), self.all.rank(&Key::of(o)));
            self.all.remove(&k);
            if let Some(ix) = self.index_mut(&o.favorite_element) {
                ix.remove(&k);
            }
            rank
        });
        if e.favorite_element.is_none() {
            e.favorite_element = old.as_ref().and_then(|o| o.favorite_element.clone());
        }
        let k = Key::of(&e);
        self.all.insert(k);
        if let Some(ix) = self.index_mut(&e.favorite_element) {
            ix.insert(k);
        }
        let new_rank = self.all.rank(&k);
        let unchanged = old
            .as_ref()
            .is_some_and(|o| Row::new(0, o) == Row::new(0, &e));
        self.entries.insert(e.user_id, e);
        (old_rank, new_rank, unchanged)
    }

    /// Takes a player off the board (a ban). `Some(rows)` when the top 100 changed: the rows
    /// that moved up a place (none when the player was last; `len` tells clients to trim).
    pub fn remove(&mut self, user: Uuid, now: i64) -> Option<Vec<Row>> {
        let e = self.entries.remove(&user)?;
        let k = Key::of(&e);
        let rank = self.all.rank(&k);
        self.all.remove(&k);
        if let Some(ix) = self.index_mut(&e.favorite_element) {
            ix.remove(&k);
        }
        self.updated_at = self.updated_at.max(now);
        (rank < TOP).then(|| self.rows_all(rank, self.len().min(TOP).saturating_sub(rank)))
    }

    /// Changes a player's name and avatar; returns the changed row if it is in the top 100.
    pub fn rename(&mut self, user: Uuid, username: &str, avatar_url: Option<&str>) -> Vec<Row> {
        let Some(e) = self.entries.get_mut(&user) else {
            return Vec::new();
        };
        e.username = username.to_string();
        e.avatar_url = avatar_url.map(str::to_string);
        let rank = self.all.rank(&Key::of(e));
        if rank < TOP {
            vec![Row::new(rank as u64 + 1, e)]
        } else {
            Vec::new()
        }
    }

    fn rows(&self, ix: &RankIndex<Key>, from: usize, n: usize) -> Vec<Row> {
        ix.range(from, n)
            .into_iter()
            .zip(from..)
            .filter_map(|(k, pos)| {
                self.entries
                    .get(&k.user)
                    .map(|e| Row::new(pos as u64 + 1, e))
            })
            .collect()
    }

    fn rows_all(&self, from: usize, n: usize) -> Vec<Row> {
        self.rows(&self.all, from, n)
    }

    /// A page and the total. With an element, both are within that element's players and
    /// `rank` is the position in that filtered list.
    pub fn page(&self, element: Option<&str>, limit: usize, offset: usize) -> (Vec<Row>, usize) {
        match element {
            None => (self.rows_all(offset, limit), self.len()),
            Some(el) => match self.by_element.get(el) {
                Some(ix) => (self.rows(ix, offset, limit), ix.len()),
                None => (Vec::new(), 0),
            },
        }
    }

    /// 0-based rank of a player.
    pub(crate) fn rank_of(&self, user: Uuid) -> Option<usize> {
        self.entries.get(&user).map(|e| self.all.rank(&Key::of(e)))
    }

    /// A player's rank (0-based) and the rows within `radius` places of it.
    pub(crate) fn around(&self, user: Uuid, radius: usize) -> Option<(usize, Vec<Row>)> {
        let rank = self.rank_of(user)?;
        let from = rank.saturating_sub(radius);
        Some((rank, self.rows_all(from, rank + radius + 1 - from)))
    }

    /// The first `n` rows.
    pub fn top(&self, n: usize) -> Vec<Row> {
        self.rows_all(0, n)
    }
}

/// Rows of `new` that differ from `old` at the same position (a refresh's delta).
pub(crate) fn diff(old: &[Row], new: &[Row]) -> Vec<Row> {
    new.iter()
        .enumerate()
        .filter(|(i, r)| old.get(*i) != Some(*r))
        .map(|(_, r)| r.clone())
        .collect()
}

#[cfg(test)]
#[path = "board_tests.rs"]
mod tests;
