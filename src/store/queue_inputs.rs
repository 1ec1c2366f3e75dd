//! What a queue request reads, in one statement: the player (name, level, balance), the
//! robot they field, the algorithm they play and their rating in the mode. Queue joins come
//! once per player per battle, so four lookups here were most of a battle's reads; on SQLite
//! every statement is a hand-off to the sqlx worker thread and back.

use serde_json::Value;
use sqlx::{any::AnyRow, Row};
use uuid::Uuid;

use super::roster::{owned_from_row, OwnedRobot};
use super::{Db, StoreError};
use crate::domain::settlement::Rating;

/// A queue request's inputs as stored (`None` where the row does not exist).
#[derive(Debug, Clone)]
pub(crate) struct QueueInputs {
    /// The player; `None` when no such user.
    pub player: Option<Player>,
    /// The robot asked for, if it is in the player's roster.
    pub robot: Option<OwnedRobot>,
    /// The algorithm asked for, or the player's active one when none was named.
    pub algorithm: Option<AlgorithmTree>,
    /// Rating in the season and mode (the default when unrated).
    pub rating: f64,
}

/// The player fields a ticket's snapshot and wager check need.
#[derive(Debug, Clone)]
pub(crate) struct Player {
    /// Display name.
    pub username: String,
    /// Avatar.
    pub avatar_url: Option<String>,
    /// Level.
    pub level: i64,
    /// GMO balance (the wager check).
    pub gmo_balance: i64,
}

/// An algorithm's owner and rule tree.
#[derive(Debug, Clone)]
pub(crate) struct AlgorithmTree {
    /// Algorithm id.
    pub id: Uuid,
    /// Its owner (a named algorithm must be the caller's).
    pub user_id: Uuid,
    /// The stored rule tree (validated by the caller).
    pub rule_tree: Value,
}

/// The robot columns keep their own names so `owned_from_row` reads them; the rest are
/// prefixed. The algorithm is the named one, or else the most recently updated ACTIVE one.
const SQL: &str = "SELECT u.username AS u_username, u.avatar_url AS u_avatar_url, \
     u.level AS u_level, u.gmo_balance AS u_gmo_balance, \
     r.id, r.user_id, r.robot_id, r.nickname, r.upgrade_hp, r.upgrade_attack, \
     r.upgrade_defense, r.upgrade_speed, r.acquired_at, \
     a.id AS a_id, a.user_id AS a_user_id, a.rule_tree AS a_rule_tree, \
     (SELECT g.rating FROM ratings g WHERE g.user_id = u.id AND g.season = $3 AND g.mode = $4) \
       AS g_rating \
     FROM users u \
     LEFT JOIN user_robots r ON r.user_id = u.id AND (r.id = $2 OR r.robot_id = $2) \
     LEFT JOIN algorithms a ON a.id = COALESCE(CAST($5 AS TEXT), \
       (SELECT x.id FROM algorithms x WHERE x.user_id = u.id AND x.status = 'ACTIVE' \
        ORDER BY x.updated_at DESC LIMIT 1)) \
     WHERE u.id = $1";

impl Db {
    /// Everything a queue request for `robot` (a `user_robot_id` or catalogue id) and
    /// `algorithm` (`None`: the active one) reads, in one statement.
    #[tracing::instrument(skip(self))]
    pub(crate) async fn queue_inputs(
        &self,
        user: Uuid,
        robot: Uuid,
        algorithm: Option<Uuid>,
        season: i64,
        mode: &str,
    ) -> Result<QueueInputs, StoreError> {
        let row = sqlx::query(SQL)
            .bind(user.to_string())
            .bind(robot.to_string())
            .bind(season)
            .bind(mode)
            .bind(algorithm.map(|a| a.to_string()))
            .fetch_optional(&self.pool)
            .await?;
        let Some(r) = row else {
            return Ok(QueueInputs {
                player: None,
                robot: None,
                algorithm: None,
                rating: Rating::default().rating,
            });
        };
        Ok(from_row(&r)?)
    }
}

fn from_row(r: &AnyRow) -> Result<QueueInputs, sqlx::Error> {
    let uuid = |s: &str| Uuid::parse_str(s).ok();
    let robot = match r.try_get::<Option<String>, _>("id")? {
        Some(_) => owned_from_row(r)?,
        None => None,
    };
    let algorithm = match (
        r.try_get::<Option<String>, _>("a_id")?,
        r.try_get::<Option<String>, _>("a_user_id")?,
    ) {
        (Some(id), Some(owner)) => match (uuid(&id), uuid(&owner)) {
            (Some(id), Some(user_id)) => {
                let tree: String = r.try_get("a_rule_tree")?;
                Some(AlgorithmTree {
                    id,
                    user_id,
                    rule_tree: serde_json::from_str(&tree).unwrap_or(Value::Null),
                })
            }
            _ => None,
        },
        _ => None,
    };
    Ok(QueueInputs {
        player: Some(Player {
            username: r.try_get("u_username")?,
            avatar_url: r.try_get("u_avatar_url")?,
            level: r.try_get("u_level")?,
            gmo_balance: r.try_get("u_gmo_balance")?,
        }),
        robot,
        algorithm,
        rating: r
            .try_get::<Option<f64>, _>("g_rating")?
            .unwrap_or(Rating::default().rating),
    })
}
