//! Robot catalogue and users' rosters: seeding, listing, purchase and upgrades.
//!
//! Purchases and upgrades are money moves: the roster change and its ledger transfer commit
//! in one transaction, and the write that can conflict comes first so SQLite takes its write
//! lock at once instead of failing a read-to-write upgrade under load.

use serde_json::Value;
use sqlx::{any::AnyRow, Any, Row, Transaction};
use uuid::Uuid;

use super::ledger::{self, Account, Currency, LedgerError, SystemAccount, Transfer, TransferKind};
use super::{now_ms, Db, StoreError};
use crate::sim::battle::{upgrade_cost, UpgradeStat, Upgrades, MAX_UPGRADE_LEVEL};
use crate::sim::catalog::{self, RobotDef, ROBOTS};

/// Namespace for robot ids: `robot id = UUIDv5(ROBOT_NS, slug)`.
const ROBOT_NS: Uuid = Uuid::from_u128(0x5741_5252_4f4f_4d00_726f_626f_7473_0001);

/// The stable id of a catalogue robot.
pub fn robot_id(slug: &str) -> Uuid {
    Uuid::new_v5(&ROBOT_NS, slug.as_bytes())
}

/// The catalogue robot with this id.
pub(crate) fn robot_by_id(id: Uuid) -> Option<&'static RobotDef> {
    ROBOTS.iter().find(|r| robot_id(r.slug) == id)
}

/// The spec's robot object (with `id` and the skill details).
pub(crate) fn robot_json(r: &RobotDef) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert("id".into(), Value::String(robot_id(r.slug).to_string()));
        let skills: Vec<Value> = r
            .skills
            .iter()
            .filter_map(|s| catalog::skill(s))
            .filter_map(|s| serde_json::to_value(s).ok())
            .collect();
        m.insert("skills".into(), Value::Array(skills));
    }
    v
}

/// A robot a user owns.
#[derive(Debug, Clone)]
pub struct OwnedRobot {
    /// `user_robot_id`.
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Catalogue entry.
    pub robot: &'static RobotDef,
    /// Player-given name.
    pub nickname: Option<String>,
    /// Upgrade levels.
    pub upgrades: Upgrades,
    /// Unix ms.
    pub(crate) acquired_at: i64,
}

impl OwnedRobot {
    /// The spec's robot object plus `user_robot_id`, `nickname`, `upgrade_*`, `acquired_at`.
    pub fn to_json(&self) -> Value {
        let mut v = robot_json(self.robot);
        if let Value::Object(m) = &mut v {
            m.insert("user_robot_id".into(), self.id.to_string().into());
            m.insert(
                "robot_id".into(),
                robot_id(self.robot.slug).to_string().into(),
            );
            m.insert("nickname".into(), self.nickname.clone().into());
            m.insert("upgrade_hp".into(), self.upgrades.hp.into());
            m.insert("upgrade_attack".into(), self.upgrades.attack.into());
            m.insert("upgrade_defense".into(), self.upgrades.defense.into());
            m.insert("upgrade_speed".into(), self.upgrades.speed.into());
            m.insert(
                "acquired_at".into(),
                super::rfc3339(self.acquired_at).into(),
            );
        }
        v
    }
}

pub(super) fn owned_from_row(r: &AnyRow) -> Result<Option<OwnedRobot>, sqlx::Error> {
    let id: String = r.try_get("id")?;
    let user: String = r.try_get("user_id")?;
    let robot: String = r.try_get("robot_id")?;
    let level = |c: &str| -> Result<u8, sqlx::Error> {
        Ok(u8::try_from(r.try_get::<i64, _>(c)?).unwrap_or(0))
    };
    let (Ok(id), Ok(user_id), Ok(robot)) = (
        Uuid::parse_str(&id),
        Uuid::parse_str(&user),
        Uuid::parse_str(&robot),
    ) else {
        return Ok(None);
    };
    let Some(robot) = robot_by_id(robot) else {
        return Ok(None);
    };
    Ok(Some(OwnedRobot {
        id,
        user_id,
        robot,
        nickname: r.try_get("nickname")?,
        upgrades: Upgrades {
            attack: level("upgrade_attack")?,
            defense: level("upgrade_defense")?,
            hp: level("upgrade_hp")?,
            speed: level("upgrade_speed")?,
        },
        acquired_at: r.try_get("acquired_at")?,
    }))
}

const OWNED_COLS: &str = "id, user_id, robot_id, nickname, upgrade_hp, upgrade_attack, \
                          upgrade_defense, upgrade_speed, acquired_at";

/// Gives a new user every starter robot (inside the signup transaction).
pub(crate) async fn grant_starters(
    tx: &mut Transaction<'static, Any>,
    user: Uuid,
    now: i64,
) -> Result<(), StoreError> {
    for r in catalog::starters() {
        sqlx::query(
            "INSERT INTO user_robots (id, user_id, robot_id, acquired_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(user.to_string())
        .bind(robot_id(r.slug).to_string())
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from_sqlx)?;
    }
    Ok(())
}

/// Why a purchase or upgrade failed.
#[derive(Debug, thiserror::Error)]
pub enum ShopError {
    /// Balance too low.
    #[error("not enough GMO")]
    InsufficientGmo,
    /// The user already has this robot.
    #[error("robot already owned")]
    AlreadyOwned,
    /// No such robot (or not the caller's).
    #[error("not found")]
    NotFound,
    /// Upgrade past the cap.
    #[error("upgrade level is capped at {MAX_UPGRADE_LEVEL}")]
    Capped,
    /// Storage failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<LedgerError> for ShopError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Insufficient(_) | LedgerError::BadAmount => ShopError::InsufficientGmo,
            LedgerError::Store(s) => ShopError::Store(s),
        }
    }
}

impl From<sqlx::Error> for ShopError {
    fn from(e: sqlx::Error) -> Self {
        ShopError::Store(StoreError::from_sqlx(e))
    }
}

/// Changes requested by `PATCH /users/me/robots/:id`: a nickname and levels to add.
#[derive(Debug, Clone, Default)]
pub(crate) struct RobotPatch {
    /// New nickname (`Some(None)` clears it).
    pub nickname: Option<Option<String>>,
    /// Levels to add per stat.
    pub add: Vec<(UpgradeStat, u8)>,
}

impl Db {
    /// Upserts the 36 catalogue robots. Idempotent.
    #[tracing::instrument(skip(self))]
    pub async fn seed_robots(&self) -> Result<usize, StoreError> {
        let mut tx = self.begin().await?;
        for r in ROBOTS.iter() {
            sqlx::query(
                "INSERT INTO robots (id, slug, element, tier, base_hp, base_attack, gmo_cost, \
                 is_starter, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (slug) DO UPDATE SET element = excluded.element, tier = excluded.tier, \
                 base_hp = excluded.base_hp, base_attack = excluded.base_attack, \
                 gmo_cost = excluded.gmo_cost, is_starter = excluded.is_starter, data = excluded.data",
            )
            .bind(robot_id(r.slug).to_string())
            .bind(r.slug)
            .bind(r.element.as_str())
            .bind(r.tier.as_str())
            .bind(i64::from(r.base_hp))
            .bind(i64::from(r.base_attack))
            .bind(r.gmo_cost)
            .bind(i64::from(r.is_starter))
            .bind(robot_json(r).to_string())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        }
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        Ok(ROBOTS.len())
    }

    /// Robots owned by `user`, oldest first.
    #[tracing::instrument(skip(self))]
    pub(crate) async fn owned_robots(&self, user: Uuid) -> Result<Vec<OwnedRobot>, StoreError> {
        let sql = format!(
            "SELECT {OWNED_COLS} FROM user_robots WHERE user_id = $1 ORDER BY acquired_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user.to_string())
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.extend(owned_from_row(r)?);
        }
        Ok(out)
    }

    /// The caller's robot by `user_robot_id` or by catalogue robot id.
    #[tracing::instrument(skip(self))]
    pub(crate) async fn owned_robot(
        &self,
        user: Uuid,
        id: Uuid,
    ) -> Result<Option<OwnedRobot>, StoreError> {
        let sql = format!(
            "SELECT {OWNED_COLS} FROM user_robots WHERE user_id = $1 AND (id = $2 OR robot_id = $2)"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => owned_from_row(&r)?,
            None => None,
        })
    }

    /// Buys a catalogue robot. Returns `(user_robot_id, gmo_balance_after)`.
    #[tracing::instrument(skip(self))]
    pub async fn purchase_robot(&self, user: Uuid, robot: Uuid) -> Result<(Uuid, i64), ShopError> {
        let def = robot_by_id(robot).ok_or(ShopError::NotFound)?;
        let mut tx = self.begin().await?;
        let id = Uuid::new_v4();
        let insert = sqlx::query(
            "INSERT INTO user_robots (id, user_id, robot_id, acquired_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id.to_string())
        .bind(user.to_string())
        .bind(robot.to_string())
        .bind(now_ms())
        .execute(&mut *tx)
        .await;
        match insert.map_err(StoreError::from_sqlx) {
            Err(StoreError::Conflict(_)) => return Err(ShopError::AlreadyOwned),
            other => other?,
        };
        if def.gmo_cost > 0 {
            ledger::post(
                &mut tx,
                &[shop_transfer(
                    TransferKind::Purchase,
                    user,
                    def.gmo_cost,
                    id,
                )],
            )
            .await?;
        }
        let balance = gmo_balance_tx(&mut tx, user).await?;
        // The purchase's reply, recorded with it (see `store::idempotency`).
        crate::store::idempotency::mark_applied(
            &mut tx,
            200,
            &serde_json::json!({ "user_robot_id": id, "gmo_balance_after": balance }),
        )
        .await?;
        tx.commit().await?;
        Ok((id, balance))
    }

    /// Renames and/or upgrades an owned robot; upgrades are paid in one transaction.
    #[tracing::instrument(skip(self, patch))]
    pub(crate) async fn patch_robot(
        &self,
        user: Uuid,
        user_robot: Uuid,
        patch: &RobotPatch,
    ) -> Result<(OwnedRobot, i64), ShopError> {
        let owned = self
            .owned_robot(user, user_robot)
            .await?
            .filter(|o| o.id == user_robot)
            .ok_or(ShopError::NotFound)?;
        let mut up = owned.upgrades;
        let mut cost = 0i64;
        for (stat, n) in &patch.add {
            let level = match stat {
                UpgradeStat::Attack => &mut up.attack,
                UpgradeStat::Defense => &mut up.defense,
                UpgradeStat::Hp => &mut up.hp,
                UpgradeStat::Speed => &mut up.speed,
            };
            for _ in 0..*n {
                if *level >= MAX_UPGRADE_LEVEL {
                    return Err(ShopError::Capped);
                }
                *level += 1;
                cost = cost.saturating_add(upgrade_cost(owned.robot, *stat, *level));
            }
        }
        let mut tx = self.begin().await?;
        // Guarded on the old levels, so two concurrent upgrades cannot both pay for one level.
        let nickname = match &patch.nickname {
            Some(n) => n.clone(),
            None => owned.nickname.clone(),
        };
        let changed = sqlx::query(
            "UPDATE user_robots SET nickname = $1, upgrade_hp = $2, upgrade_attack = $3, \
             upgrade_defense = $4, upgrade_speed = $5 WHERE id = $6 AND upgrade_hp = $7 \
             AND upgrade_attack = $8 AND upgrade_defense = $9 AND upgrade_speed = $10",
        )
        .bind(nickname.clone())
        .bind(i64::from(up.hp))
        .bind(i64::from(up.attack))
        .bind(i64::from(up.defense))
        .bind(i64::from(up.speed))
        .bind(owned.id.to_string())
        .bind(i64::from(owned.upgrades.hp))
        .bind(i64::from(owned.upgrades.attack))
        .bind(i64::from(owned.upgrades.defense))
        .bind(i64::from(owned.upgrades.speed))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed != 1 {
            return Err(ShopError::Store(StoreError::Conflict(
                "robot changed concurrently".into(),
            )));
        }
        if cost > 0 {
            ledger::post(
                &mut tx,
                &[shop_transfer(TransferKind::Upgrade, user, cost, owned.id)],
            )
            .await?;
        }
        let balance = gmo_balance_tx(&mut tx, user).await?;
        tx.commit().await?;
        Ok((
            OwnedRobot {
                nickname,
                upgrades: up,
                ..owned
            },
            balance,
        ))
    }
}

fn shop_transfer(kind: TransferKind, user: Uuid, amount: i64, reference: Uuid) -> Transfer {
    Transfer {
        kind,
        currency: Currency::Gmo,
        amount,
        from: Account::User(user),
        to: Account::System(SystemAccount::Shop),
        reference: Some(reference.to_string()),
    }
}

/// A user's GMO balance, read inside a transaction.
pub(crate) async fn gmo_balance_tx(
    tx: &mut Transaction<'static, Any>,
    user: Uuid,
) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT gmo_balance FROM users WHERE id = $1")
        .bind(user.to_string())
        .fetch_one(&mut **tx)
        .await
        .map_err(StoreError::from_sqlx)?;
    row.try_get("gmo_balance").map_err(StoreError::from_sqlx)
}
