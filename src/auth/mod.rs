//! Accounts and tokens shared by /v1 and /v2: roles, credentials, JWTs, the ban list.

pub mod accounts;
pub mod credentials;
pub(crate) mod jwt;
pub mod standing;

use dashmap::DashSet;
use uuid::Uuid;

pub use crate::domain::role::Role;
pub use credentials::{Email, Password, Username};
pub use jwt::{Claims, JwtKeys, TokenError};

/// The bearer token of an `Authorization` header, if any.
pub fn bearer(headers: &actix_http::header::HeaderMap) -> Option<&str> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The refusal a guest token gets for anything but reading.
pub const GUEST_MESSAGE: &str = "guest tokens are read-only: sign in to do that";

/// The signed-in caller, as proven by a valid access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthUser {
    /// User id (`sub`).
    pub id: Uuid,
    /// Role at token issue.
    pub role: Role,
}

impl AuthUser {
    /// True for a read-only guest token.
    pub(crate) fn is_guest(&self) -> bool {
        self.role == Role::Guest
    }

    /// True for admins, or when `owner` is the caller.
    pub(crate) fn is_owner_or_admin(&self, owner: Uuid) -> bool {
        self.role == Role::Admin || self.id == owner
    }
}

/// Banned user ids, checked on every authenticated request and socket handshake.
#[derive(Debug, Default)]
pub struct BanList(DashSet<Uuid>);

impl BanList {
    /// Is this user banned?
    pub fn contains(&self, id: &Uuid) -> bool {
        self.0.contains(id)
    }
    /// Ban or unban.
    pub fn set(&self, id: Uuid, banned: bool) {
        if banned {
            self.0.insert(id);
        } else {
            self.0.remove(&id);
        }
    }
}
