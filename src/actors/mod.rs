//! Actors own live state and timers; handlers message them and await the reply.

pub mod battle;
pub mod clock;
pub mod game;
pub mod leaderboard;
pub(crate) mod matchmaker;
pub mod persister;
pub(crate) mod rooms;
pub mod session;
pub mod table;
pub mod tournament;
