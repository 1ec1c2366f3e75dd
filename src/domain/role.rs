//! Account roles, ordered from least to most trusted.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

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
