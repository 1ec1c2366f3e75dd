//! Actors own live state and timers; handlers message them and await the reply.

pub mod clock;
pub mod persister;
pub mod table;
