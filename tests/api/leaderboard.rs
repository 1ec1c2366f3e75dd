//! Users, stats and the leaderboard: real HTTP and a real Socket.IO client. Most fixtures are
//! written with SQL, then picked up by a rebuild (admin refresh, a restart) or by the actor's
//! sync of the ratings table; `battle` plays a real ranked battle end to end instead.

mod battle;
mod board;
mod socket;
mod support;
mod users;
