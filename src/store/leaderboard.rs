//! Leaderboard SQL: loading the live season into the `Leaderboard` actor, and serving past
//! seasons straight from `ratings` (ORDER BY rating DESC, user_id; the same order as the
//! in-memory index). Banned players are left out of both.

use std::collections::{BTreeMap, HashMap};

use sqlx::{any::AnyRow, Row};
use uuid::Uuid;

use super::stats::{json_text, most_common};
use super::{Backend, Db, StoreError};
use crate::domain::leaderboard::board::{Entry, Row as LbRow};

/// A live-season `ratings` row joined with its user, for the actor's rebuild.
#[derive(Debug, Clone)]
pub(crate) struct LoadedRating {
    /// Mode (`RANKED` or `CASUAL`).
    pub mode: String,
    /// Last change, unix ms.
    pub updated_at: i64,
    /// The board entry (favourite element filled in from battles).
    pub entry: Entry,
}

/// A past-season page.
#[derive(Debug, Clone)]
pub(crate) struct PastPage {
    /// Rows in rank order.
    pub rows: Vec<LbRow>,
    /// Players on the board (after the element filter).
    pub total: i64,
    /// Latest `ratings.updated_at` of the board, unix ms.
    pub updated_at: Option<i64>,
}

/// (user, element) for every fielded robot of every completed battle.
/// Every completed battle side as `(uid, element)`; only the players in `ids` (a list of
/// placeholders) unless it is empty.
fn plays_sql(backend: Backend, ids: &str) -> String {
    let side = |p: &str| {
        let only = match ids {
            "" => String::new(),
            ids => format!(" AND {p}_id IN ({ids})"),
        };
        format!(
            "SELECT {p}_id AS uid, {el} AS element FROM robot_battles WHERE status = 'COMPLETED'{only}",
            el = json_text(backend, &format!("{p}_snapshot"), &["robot", "element"])
        )
    };
    format!("{} UNION ALL {}", side("p1"), side("p2"))
}

const BOARD_COLUMNS: &str =
    "r.user_id AS user_id, r.rating AS rating, r.wins AS wins, r.losses AS losses, \
     u.username AS username, u.avatar_url AS avatar_url, u.level AS level";

fn board_row(r: &AnyRow, rank: u64) -> Result<LbRow, StoreError> {
    let id: String = r.try_get("user_id")?;
    Ok(LbRow::from_parts(
        rank,
        Uuid::parse_str(&id).map_err(|e| StoreError::Db(sqlx::Error::Decode(Box::new(e))))?,
        r.try_get("username")?,
        r.try_get("avatar_url")?,
        r.try_get("level")?,
        r.try_get("rating")?,
        r.try_get("wins")?,
        r.try_get("losses")?,
    ))
}

impl Db {
    /// Every player's favourite element (most fielded; ties alphabetical).
    #[tracing::instrument(skip(self))]
    pub(crate) async fn favorite_elements(&self) -> Result<HashMap<Uuid, String>, StoreError> {
        let sql = format!(
            "SELECT p.uid AS uid, p.element AS element, COUNT(*) AS n FROM ({}) p \
             WHERE p.element IS NOT NULL GROUP BY p.uid, p.element",
            plays_sql(self.backend, "")
        );
        self.favorites(&sql, &[]).await
    }

    /// The favourite elements of `users` alone, in one statement per 500 players (the
    /// leaderboard sync asks for the players whose rating just changed; one query each read
    /// their whole history through the full battle summary, per player, every second).
    #[tracing::instrument(skip(self, users), fields(n = users.len()))]
    pub(crate) async fn favorite_elements_of(
        &self,
        users: &[Uuid],
    ) -> Result<HashMap<Uuid, String>, StoreError> {
        let mut out = HashMap::new();
        for chunk in users.chunks(500) {
            let list = (1..=chunk.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT p.uid AS uid, p.element AS element, COUNT(*) AS n FROM ({}) p \
                 WHERE p.element IS NOT NULL GROUP BY p.uid, p.element",
                plays_sql(self.backend, &list)
            );
            let ids: Vec<String> = chunk.iter().map(Uuid::to_string).collect();
            out.extend(self.favorites(&sql, &ids).await?);
        }
        Ok(out)
    }

    /// Runs a `(uid, element, n)` query and keeps each player's most common element.
    async fn favorites(
        &self,
        sql: &str,
        binds: &[String],
    ) -> Result<HashMap<Uuid, String>, StoreError> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()));
        for b in binds {
            q = q.bind(b.clone());
        }
        let rows = q.fetch_all(&self.pool).await?;
        let mut counts: HashMap<Uuid, BTreeMap<String, i64>> = HashMap::new();
        for r in &rows {
            let Ok(uid) = Uuid::parse_str(&r.try_get::<String, _>("uid")?) else {
                continue;
            };
            counts
                .entry(uid)
                .or_default()
                .insert(r.try_get("element")?, r.try_get("n")?);
        }
        Ok(counts
            .into_iter()
            .filter_map(|(u, c)| most_common(&c).map(|e| (u, e)))
            .collect())
    }

    /// One player's favourite element (for `actors::leaderboard::update_from_db`).
    #[tracing::instrument(skip(self))]
    pub async fn favorite_element(&self, user: Uuid) -> Result<Option<String>, StoreError> {
        Ok(self.favorite_elements_of(&[user]).await?.remove(&user))
    }

    /// The ratings of `season` with their players: all of them with favourite elements (the
    /// actor's rebuild), or those changed at or after `since` (unix ms; its incremental sync)
    /// without: the sync looks favourites up only for the rows it will apply.
    #[tracing::instrument(skip(self))]
    pub(crate) async fn season_ratings(
        &self,
        season: i64,
        since: Option<i64>,
    ) -> Result<Vec<LoadedRating>, StoreError> {
        let sql = format!(
            "SELECT {BOARD_COLUMNS}, r.mode AS mode, r.updated_at AS updated_at \
             FROM ratings r JOIN users u ON u.id = r.user_id \
             WHERE r.season = $1 AND u.banned = 0 AND r.updated_at >= $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(season)
            .bind(since.unwrap_or(i64::MIN))
            .fetch_all(&self.pool)
            .await?;
        let favs = match since {
            None => self.favorite_elements().await?,
            Some(_) => HashMap::new(),
        };
        rows.iter()
            .map(|r| {
                let row = board_row(r, 0)?;
                Ok(LoadedRating {
                    mode: r.try_get("mode")?,
                    updated_at: r.try_get("updated_at")?,
                    entry: Entry {
                        favorite_element: favs.get(&row.user_id).cloned(),
                        user_id: row.user_id,
                        username: row.username,
                        avatar_url: row.avatar_url,
                        level: row.level,
                        rating: r.try_get("rating")?,
                        wins: row.wins,
                        losses: row.losses,
                    },
                })
            })
            .collect()
    }

    /// A page of a past season's board, optionally only players whose favourite element is
    /// `element` (ranks are then positions within that filtered list, as on the live board).
    #[tracing::instrument(skip(self))]
    pub(crate) async fn past_page(
        &self,
        season: i64,
        mode: &str,
        element: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<PastPage, StoreError> {
        // Favourite element per player in SQL: count plays, keep the first by (count desc,
        // element) with ROW_NUMBER (SQLite ≥ 3.25 and Postgres both have window functions).
        let (with, filter) = match element {
            None => (String::new(), String::new()),
            Some(_) => (
                format!(
                    "WITH counts AS (SELECT p.uid AS uid, p.element AS element, COUNT(*) AS n \
                     FROM ({}) p WHERE p.element IS NOT NULL GROUP BY p.uid, p.element), \
                     fav AS (SELECT uid, element FROM (SELECT uid, element, ROW_NUMBER() OVER \
                     (PARTITION BY uid ORDER BY n DESC, element) AS rn FROM counts) x WHERE rn = 1) ",
                    plays_sql(self.backend, "")
                ),
                "AND EXISTS (SELECT 1 FROM fav WHERE fav.uid = r.user_id AND fav.element = $3)"
                    .to_string(),
            ),
        };
        let from = "FROM ratings r JOIN users u ON u.id = r.user_id \
                    WHERE r.season = $1 AND r.mode = $2 AND u.banned = 0";
        let (lim, off) = if element.is_some() {
            ("$4", "$5")
        } else {
            ("$3", "$4")
        };
        let page_sql = format!(
            "{with}SELECT {BOARD_COLUMNS} {from} {filter} \
             ORDER BY r.rating DESC, r.user_id LIMIT {lim} OFFSET {off}"
        );
        let count_sql = format!("{with}SELECT COUNT(*) AS n {from} {filter}");
        let mut page = sqlx::query(sqlx::AssertSqlSafe(page_sql))
            .bind(season)
            .bind(mode);
        let mut count = sqlx::query(sqlx::AssertSqlSafe(count_sql))
            .bind(season)
            .bind(mode);
        if let Some(el) = element {
            page = page.bind(el);
            count = count.bind(el);
        }
        let rows = page.bind(limit).bind(offset).fetch_all(&self.pool).await?;
        let total: i64 = count.fetch_one(&self.pool).await?.try_get("n")?;
        let updated_at: Option<i64> =
            sqlx::query("SELECT MAX(updated_at) AS t FROM ratings WHERE season = $1 AND mode = $2")
                .bind(season)
                .bind(mode)
                .fetch_one(&self.pool)
                .await?
                .try_get("t")?;
        let rows = rows
            .iter()
            .zip(offset as u64 + 1..)
            .map(|(r, rank)| board_row(r, rank))
            .collect::<Result<_, _>>()?;
        Ok(PastPage {
            rows,
            total,
            updated_at,
        })
    }

    /// A player's 0-based rank on a past season's board (`None` when not on it).
    #[tracing::instrument(skip(self))]
    pub(crate) async fn past_rank(
        &self,
        season: i64,
        mode: &str,
        user: Uuid,
    ) -> Result<Option<i64>, StoreError> {
        let Some(me) = self.rating_record(user, season, mode).await? else {
            return Ok(None);
        };
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM ratings r JOIN users u ON u.id = r.user_id \
             WHERE r.season = $1 AND r.mode = $2 AND u.banned = 0 \
             AND (r.rating > $3 OR (r.rating = $4 AND r.user_id < $5))",
        )
        .bind(season)
        .bind(mode)
        .bind(me.rating)
        .bind(me.rating)
        .bind(user.to_string())
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        Ok(Some(n))
    }
}
