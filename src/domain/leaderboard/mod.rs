//! Leaderboards as data: a board of entries with a rank index (`board`, `index`). The live
//! boards are held by `actors::leaderboard`; past seasons are read by `store::leaderboard`.

pub mod board;
pub mod index;
#[cfg(test)]
mod props;
