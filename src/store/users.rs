//! Accounts, shared by both APIs.

use sqlx::{any::AnyRow, Row};
use uuid::Uuid;

use super::ledger::{self, Account, Currency, SystemAccount, Transfer, TransferKind};
use super::{now_ms, Db, StoreError};

/// GMO a new account starts with (DESIGN.md).
pub(crate) const SIGNUP_GMO: i64 = 1000;
use crate::domain::role::Role;

/// A stored user.
#[derive(Debug, Clone)]
pub struct UserRecord {
    /// Opaque id.
    pub id: Uuid,
    /// Display-case username.
    pub username: String,
    /// Email as given.
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// v1 display name.
    pub display_name: Option<String>,
    /// Role.
    pub role: Role,
    /// Banned accounts can neither log in nor use tokens.
    pub banned: bool,
    /// Avatar / profile image.
    pub avatar_url: Option<String>,
    /// Experience points.
    pub xp: i64,
    /// Level.
    pub level: i64,
    /// GMO balance (minor units = whole GMO).
    pub gmo_balance: i64,
    /// Linked wallet.
    pub wallet_address: Option<String>,
    /// Tournament wins (v1).
    pub tournament_wins: i64,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

const COLUMNS: &str =
    "id, username, email, password_hash, display_name, role, banned, avatar_url, \
     xp, level, gmo_balance, wallet_address, tournament_wins, created_at, updated_at";

fn from_row(r: &AnyRow) -> Result<UserRecord, sqlx::Error> {
    let id: String = r.try_get("id")?;
    let role: String = r.try_get("role")?;
    Ok(UserRecord {
        id: Uuid::parse_str(&id).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        username: r.try_get("username")?,
        email: r.try_get("email")?,
        password_hash: r.try_get("password_hash")?,
        display_name: r.try_get("display_name")?,
        role: role.parse().unwrap_or(Role::Player),
        banned: r.try_get::<i64, _>("banned")? != 0,
        avatar_url: r.try_get("avatar_url")?,
        xp: r.try_get("xp")?,
        level: r.try_get("level")?,
        gmo_balance: r.try_get("gmo_balance")?,
        wallet_address: r.try_get("wallet_address")?,
        tournament_wins: r.try_get("tournament_wins")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Fields of a new account (already validated).
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// Username.
    pub username: &'a str,
    /// Email.
    pub email: &'a str,
    /// argon2id hash.
    pub password_hash: &'a str,
    /// Optional display name.
    pub display_name: Option<&'a str>,
}

impl Db {
    /// Creates an account; a taken username or email is [`StoreError::Conflict`].
    #[tracing::instrument(skip_all)]
    pub async fn create_user(&self, u: NewUser<'_>) -> Result<UserRecord, StoreError> {
        let id = Uuid::new_v4();
        let now = now_ms();
        // The account, its signup grant and its starter robots commit together.
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO users (id, username, username_lower, email, email_lower, password_hash, \
             display_name, role, avatar_url, gmo_balance, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'player', '/avatars/default.png', 0, $8, $8)",
        )
        .bind(id.to_string())
        .bind(u.username)
        .bind(u.username.to_lowercase())
        .bind(u.email)
        .bind(u.email.to_lowercase())
        .bind(u.password_hash)
        .bind(u.display_name)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
        let grant = Transfer {
            kind: TransferKind::SignupGrant,
            currency: Currency::Gmo,
            amount: SIGNUP_GMO,
            from: Account::System(SystemAccount::Issuance),
            to: Account::User(id),
            reference: Some(id.to_string()),
        };
        ledger::post(&mut tx, &[grant]).await?;
        super::roster::grant_starters(&mut tx, id, now).await?;
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        self.user_by_id(id).await?.ok_or(StoreError::NotFound)
    }

    /// Looks a user up by id.
    #[tracing::instrument(skip(self))]
    pub(crate) async fn user_by_id(&self, id: Uuid) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// Looks a user up by email or username, case-insensitively.
    #[tracing::instrument(skip(self))]
    pub(crate) async fn user_by_login(
        &self,
        login: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM users WHERE email_lower = $1 OR username_lower = $1 LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(login.to_lowercase())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(from_row).transpose()?)
    }

    /// Sets a user's role by username. Returns false when no such user.
    #[tracing::instrument(skip(self))]
    pub async fn set_role(&self, username: &str, role: Role) -> Result<bool, StoreError> {
        let r =
            sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE username_lower = $3")
                .bind(role.as_str())
                .bind(now_ms())
                .bind(username.to_lowercase())
                .execute(&self.pool)
                .await?;
        Ok(r.rows_affected() == 1)
    }

    /// A user's current role and ban flag (`None` when no such user): the per-request
    /// authority check behind [`crate::auth::standing::Standing`].
    pub(crate) async fn user_standing(&self, id: Uuid) -> Result<Option<(Role, bool)>, StoreError> {
        let row = sqlx::query("SELECT role, banned FROM users WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        let Some(r) = row else { return Ok(None) };
        let role: String = r.try_get("role")?;
        let banned: i64 = r.try_get("banned")?;
        Ok(Some((role.parse().unwrap_or(Role::Player), banned != 0)))
    }

    /// Ids of banned users (loaded into the in-memory ban list at start).
    pub(crate) async fn banned_user_ids(&self) -> Result<Vec<Uuid>, StoreError> {
        let rows = sqlx::query("SELECT id FROM users WHERE banned <> 0")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| r.try_get::<String, _>("id").ok())
            .filter_map(|s: String| Uuid::parse_str(&s).ok())
            .collect())
    }

    /// Updates profile fields; `None` leaves a field unchanged.
    #[tracing::instrument(skip(self))]
    pub(crate) async fn update_profile(
        &self,
        id: Uuid,
        username: Option<&str>,
        display_name: Option<&str>,
        avatar_url: Option<&str>,
    ) -> Result<UserRecord, StoreError> {
        sqlx::query(
            "UPDATE users SET username = COALESCE($1, username), \
             username_lower = COALESCE($2, username_lower), \
             display_name = COALESCE($3, display_name), avatar_url = COALESCE($4, avatar_url), \
             updated_at = $5 WHERE id = $6",
        )
        .bind(username)
        .bind(username.map(str::to_lowercase))
        .bind(display_name)
        .bind(avatar_url)
        .bind(now_ms())
        .bind(id.to_string())
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        self.user_by_id(id).await?.ok_or(StoreError::NotFound)
    }
}
