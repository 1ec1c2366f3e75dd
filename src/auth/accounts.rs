//! Account use cases shared by both APIs: register, login, refresh, logout.
//! Each surface maps [`AccountError`] to its own error body.

use serde_json::json;
use uuid::Uuid;

use futures_util::future::BoxFuture;

use super::{credentials, AuthUser, BanList, Email, JwtKeys, Password, Username};
use crate::store::{
    audit::audit_op,
    batch::WriteOp,
    lockout::LockoutPolicy,
    tokens::Rotation,
    users::{NewUser, UserRecord},
    Db, StoreError,
};

/// What the account use cases need from the process: the store, the keys, the ban list, the
/// lockout policy and a writer for audit rows. The transports' state implements it
/// (`http::AppState`), so nothing here knows the server's shape.
pub trait AccountDeps {
    /// Storage.
    fn db(&self) -> &Db;
    /// JWT keys.
    fn keys(&self) -> &JwtKeys;
    /// Banned users.
    fn bans(&self) -> &BanList;
    /// Failed-login lockout.
    fn lockout(&self) -> LockoutPolicy;
    /// Commits audit rows; resolves after COMMIT (or with why not).
    fn write_audit(&self, ops: Vec<WriteOp>) -> BoxFuture<'_, Result<(), String>>;
}

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// A field is invalid.
    #[error("{field}: {message}")]
    Invalid {
        /// Field name.
        field: &'static str,
        /// Why.
        message: String,
    },
    /// Username or email already registered.
    #[error("{0} is already registered")]
    Taken(&'static str),
    /// Wrong login or password.
    #[error("invalid credentials")]
    BadCredentials,
    /// Banned account.
    #[error("account is banned")]
    Banned,
    /// Unknown, expired or revoked refresh token.
    #[error("invalid refresh token")]
    BadRefresh,
    /// Too many failed logins: the account is locked for a while.
    #[error("too many failed logins; account locked, retry in {retry_after} s")]
    Locked {
        /// Seconds until the lock ends.
        retry_after: u64,
    },
    /// Reuse of a spent refresh token; its family is revoked.
    #[error("refresh token reuse detected; session revoked")]
    RefreshReused,
    /// Storage failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Parsed registration input.
pub struct Registration {
    /// Username.
    pub username: Username,
    /// Email.
    pub email: Email,
    /// Password.
    pub password: Password,
    /// Optional v1 display name.
    pub display_name: Option<String>,
}

impl Registration {
    /// Parses raw fields, reporting the first invalid one.
    pub fn parse(
        username: &str,
        email: &str,
        password: &str,
        display_name: Option<&str>,
    ) -> Result<Self, AccountError> {
        let inv = |field| move |message| AccountError::Invalid { field, message };
        let display_name = match display_name.map(str::trim) {
            Some(d) if d.chars().count() > 64 => {
                return Err(AccountError::Invalid {
                    field: "display_name",
                    message: "at most 64 characters".into(),
                })
            }
            Some("") | None => None,
            Some(d) => Some(d.to_string()),
        };
        Ok(Self {
            username: Username::parse(username).map_err(inv("username"))?,
            email: Email::parse(email).map_err(inv("email"))?,
            password: Password::parse(password).map_err(inv("password"))?,
            display_name,
        })
    }
}

/// Runs an argon2 job on the blocking pool, at most one per core at a time: a sign-up storm
/// then queues instead of taking every core from the live battles' tick timers.
async fn hashing<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let slots = SLOTS.get_or_init(|| {
        let n = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new(n)
    });
    let _permit = slots.acquire().await.ok()?;
    tokio::task::spawn_blocking(job).await.ok()
}

/// Creates the account and signs it in: returns the user and a refresh token.
pub async fn register(
    state: &impl AccountDeps,
    r: Registration,
) -> Result<(UserRecord, String), AccountError> {
    let pw = r.password.clone();
    let hash = hashing(move || pw.hash())
        .await
        .ok_or_else(|| StoreError::Conflict("password hashing was interrupted".into()))?;
    let user = state
        .db()
        .create_user(NewUser {
            username: r.username.as_str(),
            email: r.email.as_str(),
            password_hash: &hash,
            display_name: r.display_name.as_deref(),
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict(m) if m.contains("email") => AccountError::Taken("email"),
            StoreError::Conflict(_) => AccountError::Taken("username"),
            other => AccountError::Store(other),
        })?;
    let refresh = state.db().issue_refresh(user.id).await?;
    Ok((user, refresh))
}

/// Checks credentials (email or username) and signs in. Failures are audited.
pub async fn login(
    state: &impl AccountDeps,
    login: &str,
    password: &str,
    ip: Option<String>,
) -> Result<(UserRecord, String), AccountError> {
    let user = state.db().user_by_login(login).await?;
    let now = crate::store::now_ms();
    if let Some(u) = &user {
        if let Some(until) = state.db().locked_until(u.id, now).await? {
            return Err(AccountError::Locked {
                retry_after: seconds_until(until, now),
            });
        }
    }
    let phc = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| credentials::dummy_hash().to_string());
    let candidate = password.to_string();
    let ok = hashing(move || credentials::verify_password(&candidate, &phc))
        .await
        .unwrap_or(false);
    let user = match user {
        Some(u) if ok => u,
        other => {
            let id = other.map(|u| u.id);
            let mut ops = vec![audit_op(
                id,
                "auth.login_failed",
                Some(login),
                ip.as_deref(),
                &json!({}),
            )];
            let mut locked = None;
            if let Some(id) = id {
                locked = state
                    .db()
                    .record_login_failure(id, now, state.lockout())
                    .await?;
                if let Some(until) = locked {
                    ops.push(audit_op(
                        Some(id),
                        "auth.lockout",
                        Some(login),
                        ip.as_deref(),
                        &json!({ "locked_until": until }),
                    ));
                }
            }
            // Best effort: a failed audit write must not turn a 401 into a 500.
            if let Err(e) = state.write_audit(ops).await {
                tracing::warn!(error = %e, "audit write failed");
            }
            return Err(match locked {
                Some(until) => AccountError::Locked {
                    retry_after: seconds_until(until, now),
                },
                None => AccountError::BadCredentials,
            });
        }
    };
    state.db().clear_login_failures(user.id).await?;
    if user.banned || state.bans().contains(&user.id) {
        return Err(AccountError::Banned);
    }
    let refresh = state.db().issue_refresh(user.id).await?;
    Ok((user, refresh))
}

/// Whole seconds from `now` to `until` (unix ms), rounded up, at least 1: a `Retry-After`.
fn seconds_until(until: i64, now: i64) -> u64 {
    ((until - now + 999) / 1000).max(1) as u64
}

/// Rotates a refresh token; returns the user (fresh from the store) and the new refresh token.
pub async fn refresh(
    state: &impl AccountDeps,
    token: &str,
) -> Result<(UserRecord, String), AccountError> {
    match state.db().rotate_refresh(token).await? {
        Rotation::Invalid => Err(AccountError::BadRefresh),
        Rotation::Reused { user_id } => {
            // A replayed refresh token means a stolen one: worth an operator's look.
            let op = audit_op(user_id, "auth.refresh_reused", None, None, &json!({}));
            if let Err(e) = state.write_audit(vec![op]).await {
                tracing::warn!(error = %e, "audit write failed");
            }
            Err(AccountError::RefreshReused)
        }
        Rotation::Rotated { user_id, token } => {
            let user = state
                .db()
                .user_by_id(user_id)
                .await?
                .ok_or(AccountError::BadRefresh)?;
            if user.banned || state.bans().contains(&user.id) {
                return Err(AccountError::Banned);
            }
            Ok((user, token))
        }
    }
}

/// An access token for `user`, valid `ttl_s` seconds.
pub fn access_token(state: &impl AccountDeps, user: &UserRecord, ttl_s: i64) -> String {
    state.keys().issue(
        AuthUser {
            id: user.id,
            role: user.role,
        },
        chrono::Utc::now().timestamp(),
        ttl_s,
    )
}

/// Looks up the signed-in user's record.
pub async fn me(state: &impl AccountDeps, id: Uuid) -> Result<UserRecord, AccountError> {
    state
        .db()
        .user_by_id(id)
        .await?
        .ok_or(AccountError::Store(StoreError::NotFound))
}
