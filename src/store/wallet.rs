//! Wallet linking: server nonces, used messages, and the one-wallet-per-user link.

use sqlx::Row;
use uuid::Uuid;

use super::{now_ms, Db, StoreError};

/// How long a signed message (or a nonce) stays acceptable.
pub(crate) const WALLET_MESSAGE_TTL_MS: i64 = 5 * 60 * 1000;

/// Why a link was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LinkError {
    /// The nonce is unknown, someone else's, used or older than 5 minutes.
    #[error("nonce is unknown, expired or already used")]
    BadNonce,
    /// This exact message was already accepted once.
    #[error("message was already used")]
    Replayed,
    /// The user already has another wallet.
    #[error("another wallet is already linked to this account")]
    UserHasWallet,
    /// Another user has this wallet.
    #[error("wallet is linked to another account")]
    WalletTaken,
    /// Storage failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for LinkError {
    fn from(e: sqlx::Error) -> Self {
        LinkError::Store(StoreError::from_sqlx(e))
    }
}

impl Db {
    /// Issues a fresh nonce for `user`.
    pub(crate) async fn issue_wallet_nonce(&self, user: Uuid) -> Result<(String, i64), StoreError> {
        let nonce = hex::encode(rand::random::<[u8; 16]>());
        let now = now_ms();
        sqlx::query("INSERT INTO wallet_nonces (nonce, user_id, issued_at) VALUES ($1, $2, $3)")
            .bind(&nonce)
            .bind(user.to_string())
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok((nonce, now))
    }

    /// Links `address` (lowercase) to `user`, consuming `message` (and `nonce`, if any) in the
    /// same transaction so that neither can be used twice, even by racing requests.
    pub(crate) async fn link_wallet(
        &self,
        user: Uuid,
        address: &str,
        message: &str,
        nonce: Option<&str>,
    ) -> Result<(), LinkError> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        // The write that can conflict comes first (SQLite then holds the write lock).
        let used = sqlx::query(
            "INSERT INTO wallet_used_messages (message, user_id, wallet_address, used_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(message)
        .bind(user.to_string())
        .bind(address)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx);
        match used {
            Err(StoreError::Conflict(_)) => return Err(LinkError::Replayed),
            other => other?,
        };
        if let Some(n) = nonce {
            let done = sqlx::query(
                "UPDATE wallet_nonces SET used_at = $1 WHERE nonce = $2 AND user_id = $3 \
                 AND used_at IS NULL AND issued_at >= $4",
            )
            .bind(now)
            .bind(n)
            .bind(user.to_string())
            .bind(now - WALLET_MESSAGE_TTL_MS)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done != 1 {
                return Err(LinkError::BadNonce);
            }
        }
        let current: Option<String> = sqlx::query("SELECT wallet_address FROM users WHERE id = $1")
            .bind(user.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?
            .try_get("wallet_address")?;
        match current {
            Some(c) if c == address => {}
            Some(_) => return Err(LinkError::UserHasWallet),
            None => {
                let r = sqlx::query(
                    "UPDATE users SET wallet_address = $1, updated_at = $2 WHERE id = $3",
                )
                .bind(address)
                .bind(now)
                .bind(user.to_string())
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_sqlx);
                match r {
                    Err(StoreError::Conflict(_)) => return Err(LinkError::WalletTaken),
                    other => other?,
                };
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The linked wallet of a user (lowercase), if any.
    pub(crate) async fn wallet_of(&self, user: Uuid) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT wallet_address FROM users WHERE id = $1")
            .bind(user.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => r.try_get("wallet_address")?,
            None => None,
        })
    }
}
