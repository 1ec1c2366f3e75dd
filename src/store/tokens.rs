//! Refresh tokens: opaque, stored hashed, rotated on every use, families revoked on reuse.

use sqlx::Row;
use uuid::Uuid;

use super::{now_ms, Db, StoreError};

/// Refresh tokens last 7 days (DESIGN.md).
pub(crate) const REFRESH_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

/// Outcome of presenting a refresh token.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Rotation {
    /// Valid: the old token is spent, here is its successor.
    Rotated {
        /// Owner.
        user_id: Uuid,
        /// The new raw token (give it to the client, never store it).
        token: String,
    },
    /// Unknown or expired token.
    Invalid,
    /// A spent token came back: the whole family is now revoked.
    Reused {
        /// Owner of the family (for the audit row).
        user_id: Option<Uuid>,
    },
}

fn hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

fn new_raw_token() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Db {
    /// Issues a refresh token in a new family (at login/register).
    #[tracing::instrument(skip(self))]
    pub(crate) async fn issue_refresh(&self, user_id: Uuid) -> Result<String, StoreError> {
        let family = Uuid::new_v4();
        self.insert_refresh(user_id, family).await
    }

    async fn insert_refresh(&self, user_id: Uuid, family: Uuid) -> Result<String, StoreError> {
        let token = new_raw_token();
        let now = now_ms();
        sqlx::query(
            "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(user_id.to_string())
        .bind(family.to_string())
        .bind(hash(&token))
        .bind(now + REFRESH_TTL_MS)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(token)
    }

    /// Spends `token` and issues its successor, detecting reuse.
    #[tracing::instrument(skip_all)]
    pub(crate) async fn rotate_refresh(&self, token: &str) -> Result<Rotation, StoreError> {
        let now = now_ms();
        let row = sqlx::query(
            "SELECT id, user_id, family_id, expires_at, used_at, revoked_at FROM refresh_tokens \
             WHERE token_hash = $1",
        )
        .bind(hash(token))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(Rotation::Invalid);
        };
        let id: String = row.try_get("id")?;
        let user_id: String = row.try_get("user_id")?;
        let family: String = row.try_get("family_id")?;
        let expires_at: i64 = row.try_get("expires_at")?;
        let used_at: Option<i64> = row.try_get("used_at")?;
        let revoked_at: Option<i64> = row.try_get("revoked_at")?;
        if used_at.is_some() {
            self.revoke_family_str(&family).await?;
            return Ok(Rotation::Reused {
                user_id: Uuid::parse_str(&user_id).ok(),
            });
        }
        if revoked_at.is_some() || expires_at <= now {
            return Ok(Rotation::Invalid);
        }
        // Conditional update: of two concurrent uses only one wins; the loser counts as reuse.
        let won =
            sqlx::query("UPDATE refresh_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
                .bind(now)
                .bind(&id)
                .execute(&self.pool)
                .await?
                .rows_affected()
                == 1;
        if !won {
            self.revoke_family_str(&family).await?;
            return Ok(Rotation::Reused {
                user_id: Uuid::parse_str(&user_id).ok(),
            });
        }
        let (Ok(user_id), Ok(family)) = (Uuid::parse_str(&user_id), Uuid::parse_str(&family))
        else {
            return Ok(Rotation::Invalid);
        };
        let token = self.insert_refresh(user_id, family).await?;
        Ok(Rotation::Rotated { user_id, token })
    }

    /// Revokes the family of `token` (logout). Unknown tokens are ignored.
    #[tracing::instrument(skip_all)]
    pub(crate) async fn revoke_refresh(&self, token: &str) -> Result<(), StoreError> {
        let row = sqlx::query("SELECT family_id FROM refresh_tokens WHERE token_hash = $1")
            .bind(hash(token))
            .fetch_optional(&self.pool)
            .await?;
        if let Some(row) = row {
            let family: String = row.try_get("family_id")?;
            self.revoke_family_str(&family).await?;
        }
        Ok(())
    }

    /// Revokes every refresh token of `user` (logout with only an access token, which does
    /// not say which session it belongs to).
    #[tracing::instrument(skip(self))]
    pub(crate) async fn revoke_user_refresh(&self, user: Uuid) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(user.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn revoke_family_str(&self, family: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(family)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
