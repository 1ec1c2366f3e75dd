//! Pilots: minted for GMO (price + gas, one transaction with the ledger), ERC-721 style.

use serde_json::{json, Value};
use sqlx::{any::AnyRow, Row};
use uuid::Uuid;

use super::economy::{hold_gmo, insert_tx, EconError, EconKind, EconTx, NewEconTx};
use super::{now_ms, rfc3339, Db, StoreError};
use crate::domain::economy::pilot_bonus;
use crate::sim::battle::PilotStats;

/// A stored pilot.
#[derive(Debug, Clone)]
pub struct Pilot {
    /// Id (also the ERC-721 token id, as a decimal u128).
    pub id: Uuid,
    /// Owner.
    pub user_id: Uuid,
    /// Name.
    pub name: String,
    /// Sprite key.
    pub sprite_key: String,
    /// ERC-721 token id.
    pub token_id: String,
    /// `PENDING`, `MINTED` or `FAILED`.
    pub status: String,
    /// Mint transaction.
    pub tx_hash: Option<String>,
    /// Battle bonus.
    pub stats: PilotStats,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub(crate) minted_at: Option<i64>,
}

const COLS: &str = "id, user_id, name, sprite_key, token_id, status, tx_hash, attack_pct, \
                    defense_pct, hp_pct, speed, created_at, minted_at";

fn from_row(r: &AnyRow) -> Result<Pilot, sqlx::Error> {
    let uuid = |c: &str| -> Result<Uuid, sqlx::Error> {
        Uuid::parse_str(&r.try_get::<String, _>(c)?).map_err(|e| sqlx::Error::Decode(Box::new(e)))
    };
    let stat = |c: &str| -> Result<u8, sqlx::Error> {
        Ok(u8::try_from(r.try_get::<i64, _>(c)?).unwrap_or(0))
    };
    Ok(Pilot {
        id: uuid("id")?,
        user_id: uuid("user_id")?,
        name: r.try_get("name")?,
        sprite_key: r.try_get("sprite_key")?,
        token_id: r.try_get("token_id")?,
        status: r.try_get("status")?,
        tx_hash: r.try_get("tx_hash")?,
        stats: PilotStats {
            attack_pct: stat("attack_pct")?,
            defense_pct: stat("defense_pct")?,
            hp_pct: stat("hp_pct")?,
            speed: stat("speed")?,
        },
        created_at: r.try_get("created_at")?,
        minted_at: r.try_get("minted_at")?,
    })
}

impl Pilot {
    /// The API shape, with `bonus` and the ERC-721 `metadata`.
    pub fn to_json(&self, contract: &str) -> Value {
        json!({
            "id": self.id.to_string(),
            "owner_id": self.user_id.to_string(),
            "name": self.name,
            "sprite_key": self.sprite_key,
            "status": self.status,
            "tx_hash": self.tx_hash,
            "token_id": self.token_id,
            "contract_address": contract,
            "bonus": self.stats,
            "created_at": rfc3339(self.created_at),
            "minted_at": self.minted_at.map(rfc3339),
            "metadata": self.metadata(),
        })
    }

    /// The public shape (`GET /pilots/{id}`): the owner's own fields without `owner_id` and
    /// `tx_hash`, since the token and its mint transaction name the owner's wallet on chain, and
    /// together they would tie an account to a wallet for anyone.
    pub(crate) fn to_public_json(&self, contract: &str) -> Value {
        let mut v = self.to_json(contract);
        if let Some(m) = v.as_object_mut() {
            m.remove("owner_id");
            m.remove("tx_hash");
        }
        v
    }

    /// ERC-721 metadata JSON (`name`, `description`, `image`, `attributes`).
    pub fn metadata(&self) -> Value {
        let s = &self.stats;
        json!({
            "name": self.name,
            "description": format!(
                "WarRoom pilot {}: +{}% attack, +{}% defense, +{}% hp, +{} speed in robot battles.",
                self.name, s.attack_pct, s.defense_pct, s.hp_pct, s.speed
            ),
            "image": format!("/sprites/pilots/{}.png", self.sprite_key),
            "attributes": [
                {"trait_type": "Attack", "value": s.attack_pct, "display_type": "boost_percentage"},
                {"trait_type": "Defense", "value": s.defense_pct, "display_type": "boost_percentage"},
                {"trait_type": "HP", "value": s.hp_pct, "display_type": "boost_percentage"},
                {"trait_type": "Speed", "value": s.speed, "display_type": "boost_number"},
            ],
        })
    }
}

/// A pilot mint request (validated).
pub struct MintRequest<'a> {
    /// Buyer.
    pub user: Uuid,
    /// Wallet the token goes to.
    pub wallet: &'a str,
    /// Pilot name.
    pub name: &'a str,
    /// Sprite key.
    pub sprite_key: &'a str,
    /// GMO price.
    pub price: i64,
    /// GMO gas fee.
    pub gas: i64,
}

impl Db {
    /// Charges price + gas and records the pilot and its MINT row, all in one transaction.
    pub async fn mint_pilot(&self, m: &MintRequest<'_>) -> Result<(Pilot, EconTx), EconError> {
        let pilot_id = Uuid::new_v4();
        let log_id = Uuid::new_v4();
        let bonus = pilot_bonus(pilot_id.as_bytes());
        // With a free pilot the gas is the whole price (ledger amounts must be positive).
        let (main, fee) = if m.price > 0 {
            (m.price, m.gas)
        } else {
            (m.gas, 0)
        };
        let mut tx = self.begin().await?;
        if main > 0 {
            hold_gmo(&mut tx, log_id, EconKind::Mint, m.user, main, fee).await?;
        }
        sqlx::query(
            "INSERT INTO pilots (id, user_id, name, sprite_key, token_id, status, attack_pct, \
             defense_pct, hp_pct, speed, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'PENDING', $6, $7, $8, $9, $10)",
        )
        .bind(pilot_id.to_string())
        .bind(m.user.to_string())
        .bind(m.name)
        .bind(m.sprite_key)
        .bind(pilot_id.as_u128().to_string())
        .bind(i64::from(bonus.attack_pct))
        .bind(i64::from(bonus.defense_pct))
        .bind(i64::from(bonus.hp_pct))
        .bind(i64::from(bonus.speed))
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        let pid = pilot_id.to_string();
        insert_tx(
            &mut tx,
            log_id,
            &NewEconTx {
                kind: EconKind::Mint,
                user: m.user,
                tx_hash: None,
                wallet: Some(m.wallet),
                eldr_amount: 0,
                fee_eldr: 0,
                gmo_amount: main,
                fee_gmo: fee,
                reference: Some(&pid),
            },
        )
        .await?;
        // The request's reply as it stands at COMMIT (PENDING, no tx hash yet), so a retry of
        // its Idempotency-Key after a crash gets this mint instead of a second one.
        crate::store::idempotency::mark_applied(
            &mut tx,
            202,
            &serde_json::json!({
                "pilot_id": pid, "log_id": log_id.to_string(), "tx_hash": null,
                "status": "PENDING", "gmo_cost": m.price, "gas_fee_gmo": m.gas, "bonus": bonus,
            }),
        )
        .await?;
        tx.commit().await?;
        let pilot = self.pilot(pilot_id).await?.ok_or(StoreError::NotFound)?;
        let row = self.econ_tx(log_id).await?.ok_or(StoreError::NotFound)?;
        Ok((pilot, row))
    }

    /// One pilot.
    pub async fn pilot(&self, id: Uuid) -> Result<Option<Pilot>, StoreError> {
        let sql = format!("SELECT {COLS} FROM pilots WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// A user's pilots (failed mints excluded), oldest first.
    pub(crate) async fn pilots_of(&self, user: Uuid) -> Result<Vec<Pilot>, StoreError> {
        let sql = format!(
            "SELECT {COLS} FROM pilots WHERE user_id = $1 AND status <> 'FAILED' \
             ORDER BY created_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user.to_string())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
    }

    /// The battle bonus of `pilot_id` if `user` owns it and its mint has not failed (a mint
    /// still confirming already flies). `None` otherwise: the battle runs without a pilot.
    pub async fn pilot_stats(
        &self,
        user: Uuid,
        pilot_id: Uuid,
    ) -> Result<Option<PilotStats>, StoreError> {
        Ok(self
            .pilot(pilot_id)
            .await?
            .filter(|p| p.user_id == user && p.status != "FAILED")
            .map(|p| p.stats))
    }
}
