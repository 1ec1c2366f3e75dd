//! Accounts and tokens shared by /v1 and /v2: roles, credentials, JWTs, the ban list.

pub mod accounts;
pub mod credentials;
pub mod jwt;
pub mod standing;

use std::str::FromStr;

use dashmap::DashSet;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use credentials::{Email, Password, Username};
pub use jwt::{Claims, JwtKeys, TokenError};

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A read-only spectator token from `POST /v2/auth/guest` (no account behind it): may
    /// read and watch, never queue, pay or change anything. Never stored on a user, and
    /// lowest in the order, so every "at least player/organizer" check refuses it.
    Guest,
    /// Plays battles.
    Player,
    /// Also runs tournaments.
    Organizer,
    /// Everything.
    Admin,
}

impl Role {
    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Guest => "guest",
            Role::Player => "player",
            Role::Organizer => "organizer",
            Role::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "player" => Ok(Role::Player),
            "organizer" => Ok(Role::Organizer),
            "admin" => Ok(Role::Admin),
            other => Err(format!("unknown role '{other}' (player, organizer, admin)")),
        }
    }
}

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
    pub fn is_guest(&self) -> bool {
        self.role == Role::Guest
    }

    /// True for admins, or when `owner` is the caller.
    pub fn is_owner_or_admin(&self, owner: Uuid) -> bool {
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
