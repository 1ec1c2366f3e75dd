//! Actors own live state and timers; handlers message them and await the reply.

pub mod leaderboard;
pub mod persister;
pub mod table;
