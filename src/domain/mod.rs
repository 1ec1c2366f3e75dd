//! Pure rules: no IO, no clock, no global RNG. Time and randomness are inputs.

pub mod changes;
pub mod economy;
pub mod factions;
pub mod leaderboard;
pub mod mode;
pub mod money;
pub mod pairing;
pub mod role;
pub mod settlement;
pub mod tournament;
pub mod tracker;
