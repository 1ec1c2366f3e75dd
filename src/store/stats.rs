//! Player statistics, computed from `robot_battles`, `ratings` and the ledger.
//!
//! Definitions (the spec gives names, not formulas):
//! - battles are the player's `COMPLETED` robot battles, every mode and season;
//! - `win_rate` is won / total in percent (draws count as played, not won: 89/142 → 62.7);
//! - `rating` is the current season's RANKED rating (1500 before the first ranked battle) and
//!   `peak_rating` the best RANKED peak of any season;
//! - `gmo_earned_total` adds up the positive net `gmo_delta` of the player's battles (a win on
//!   a 100 wager earns 90; losses are not subtracted), `eldr_earned_total` the ELDR paid to the
//!   player by the ledger as `PAYOUT`;
//! - `favorite_element` is the element of the robots the player fielded most, and
//!   `favorite_biome` the biome they fought in most (ties: alphabetical).

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row;
use uuid::Uuid;

use super::{Backend, Db, StoreError};

/// Glicko-2's starting rating: a season begins here.
pub(crate) const DEFAULT_RATING: f64 = 1500.0;

/// Ledger kinds that count as ELDR earned.
const ELDR_EARNING_KINDS: &str = "'PAYOUT'";

/// SQL reading a text value at `path` of a JSON text column, per backend.
pub(crate) fn json_text(backend: Backend, col: &str, path: &[&str]) -> String {
    match backend {
        Backend::Sqlite => format!("json_extract({col}, '$.{}')", path.join(".")),
        Backend::Postgres => format!("({col}::jsonb #>> '{{{}}}')", path.join(",")),
    }
}

/// SQL reading an integer at `path` of a JSON text column, per backend.
pub(crate) fn json_int(backend: Backend, col: &str, path: &[&str]) -> String {
    let v = json_text(backend, col, path);
    match backend {
        Backend::Sqlite => format!("CAST({v} AS BIGINT)"),
        Backend::Postgres => format!("CAST(CAST({v} AS NUMERIC) AS BIGINT)"),
    }
}

/// The user's side of each completed battle: `(biome, element, outcome W/L/D, gmo_delta)`,
/// as a subquery. `$1` and `$2` are both the user id (one per UNION branch).
pub(crate) fn sides_sql(backend: Backend) -> String {
    let side = |p: &str, param: &str| {
        format!(
            "SELECT biome, {el} AS element, \
             CASE WHEN is_draw <> 0 THEN 'D' WHEN winner_id = {param} THEN 'W' ELSE 'L' END AS outcome, \
             {gmo} AS gmo FROM robot_battles WHERE status = 'COMPLETED' AND {p}_id = {param}",
            el = json_text(backend, &format!("{p}_snapshot"), &["robot", "element"]),
            gmo = json_int(backend, "result", &[p, "gmo_delta"]),
        )
    };
    format!("{} UNION ALL {}", side("p1", "$1"), side("p2", "$2"))
}

/// A player's battle record and favourites.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct BattleSummary {
    /// Battles won.
    pub won: i64,
    /// Battles lost.
    pub lost: i64,
    /// Battles drawn.
    pub(crate) drawn: i64,
    /// Sum of positive net GMO results.
    pub(crate) gmo_earned: i64,
    /// Most fielded robot element.
    pub favorite_element: Option<String>,
    /// Most played biome.
    pub favorite_biome: Option<String>,
}

impl BattleSummary {
    /// Battles played.
    pub fn total(&self) -> i64 {
        self.won + self.lost + self.drawn
    }
}

/// The most frequent key; ties go to the alphabetically first (same rule as the SQL paths).
pub(crate) fn most_common(counts: &BTreeMap<String, i64>) -> Option<String> {
    // BTreeMap iterates alphabetically; `max_by` keeps the last maximum, so compare reversed.
    counts
        .iter()
        .min_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)))
        .map(|(k, _)| k.clone())
}

/// `GET /users/me/stats`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct UserStats {
    /// Completed battles.
    pub battles_total: i64,
    /// Won.
    pub battles_won: i64,
    /// Lost.
    pub battles_lost: i64,
    /// Drawn.
    pub battles_drawn: i64,
    /// Won / total, percent, one decimal.
    pub win_rate: f64,
    /// Current season RANKED rating, rounded.
    pub rating: i64,
    /// Best RANKED peak of any season, rounded.
    pub peak_rating: i64,
    /// GMO won net of the player's own wagers.
    pub gmo_earned_total: i64,
    /// ELDR paid out to the player, decimal string.
    pub eldr_earned_total: String,
    /// Most fielded robot element.
    pub favorite_element: Option<String>,
    /// Most played biome.
    pub favorite_biome: Option<String>,
}

/// A `ratings` row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RatingRecord {
    /// Rating.
    pub rating: f64,
    /// Peak this season.
    pub peak_rating: f64,
    /// Wins.
    pub wins: i64,
    /// Losses.
    pub losses: i64,
    /// Draws.
    pub draws: i64,
}

impl Db {
    /// A player's record over all completed battles, with favourites and GMO earned.
    #[tracing::instrument(skip(self))]
    pub(crate) async fn battle_summary(&self, user: Uuid) -> Result<BattleSummary, StoreError> {
        let sql = format!(
            "SELECT b.biome AS biome, b.element AS element, b.outcome AS outcome, \
             COUNT(*) AS n, CAST(COALESCE(SUM(CASE WHEN b.gmo > 0 THEN b.gmo ELSE 0 END), 0) AS BIGINT) AS earned \
             FROM ({}) b GROUP BY b.biome, b.element, b.outcome",
            sides_sql(self.backend)
        );
        let id = user.to_string();
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&id)
            .bind(&id)
            .fetch_all(&self.pool)
            .await?;
        let mut s = BattleSummary::default();
        let (mut elements, mut biomes) = (BTreeMap::new(), BTreeMap::new());
        for r in &rows {
            let n: i64 = r.try_get("n")?;
            match r.try_get::<String, _>("outcome")?.as_str() {
                "W" => s.won += n,
                "D" => s.drawn += n,
                _ => s.lost += n,
            }
            s.gmo_earned += r.try_get::<i64, _>("earned")?;
            if let Some(el) = r.try_get::<Option<String>, _>("element")? {
                *elements.entry(el).or_insert(0) += n;
            }
            *biomes.entry(r.try_get::<String, _>("biome")?).or_insert(0) += n;
        }
        s.favorite_element = most_common(&elements);
        s.favorite_biome = most_common(&biomes);
        Ok(s)
    }

    /// The `ratings` row of a player for a season and mode.
    #[tracing::instrument(skip(self))]
    pub(crate) async fn rating_record(
        &self,
        user: Uuid,
        season: i64,
        mode: &str,
    ) -> Result<Option<RatingRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT rating, peak_rating, wins, losses, draws FROM ratings \
             WHERE user_id = $1 AND season = $2 AND mode = $3",
        )
        .bind(user.to_string())
        .bind(season)
        .bind(mode)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(RatingRecord {
                rating: r.try_get("rating")?,
                peak_rating: r.try_get("peak_rating")?,
                wins: r.try_get("wins")?,
                losses: r.try_get("losses")?,
                draws: r.try_get("draws")?,
            })
        })
        .transpose()
        .map_err(StoreError::Db)
    }

    /// Everything of `GET /users/me/stats`; `season` is the live season.
    #[tracing::instrument(skip(self))]
    pub(crate) async fn user_stats(
        &self,
        user: Uuid,
        season: i64,
    ) -> Result<UserStats, StoreError> {
        let s = self.battle_summary(user).await?;
        let rating = self
            .rating_record(user, season, "RANKED")
            .await?
            .map_or(DEFAULT_RATING, |r| r.rating);
        let peak: Option<f64> = sqlx::query(
            "SELECT MAX(peak_rating) AS p FROM ratings WHERE user_id = $1 AND mode = 'RANKED'",
        )
        .bind(user.to_string())
        .fetch_one(&self.pool)
        .await?
        .try_get("p")?;
        let sql = format!(
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS s FROM ledger_transfers \
             WHERE credit_account = $1 AND currency = 'ELDR' AND kind IN ({ELDR_EARNING_KINDS})"
        );
        let eldr: i64 = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(format!("user:{user}"))
            .fetch_one(&self.pool)
            .await?
            .try_get("s")?;
        Ok(UserStats {
            battles_total: s.total(),
            battles_won: s.won,
            battles_lost: s.lost,
            battles_drawn: s.drawn,
            win_rate: crate::domain::leaderboard::board::percent(s.won, s.total()),
            rating: rating.round() as i64,
            peak_rating: peak.unwrap_or(rating).max(rating).round() as i64,
            gmo_earned_total: s.gmo_earned,
            eldr_earned_total: crate::domain::money::format_eldr(eldr),
            favorite_element: s.favorite_element,
            favorite_biome: s.favorite_biome,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn favourites_break_ties_alphabetically() {
        let m: BTreeMap<String, i64> = [("VOLT", 3), ("BIO", 3), ("CRYO", 1)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(most_common(&m).as_deref(), Some("BIO"));
        assert_eq!(most_common(&BTreeMap::new()), None);
    }

    #[test]
    fn json_paths_per_backend() {
        assert_eq!(
            json_text(Backend::Sqlite, "c", &["robot", "element"]),
            "json_extract(c, '$.robot.element')"
        );
        assert_eq!(
            json_text(Backend::Postgres, "c", &["robot", "element"]),
            "(c::jsonb #>> '{robot,element}')"
        );
    }
}
