//! Pure rules: no IO, no clock, no global RNG. Time and randomness are inputs.

pub mod factions;
pub mod pairing;
pub mod tournament;
pub mod tracker;
