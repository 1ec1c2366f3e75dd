//! Users, stats and the leaderboard: real HTTP and a real Socket.IO client. Battles and ratings
//! are written with SQL (the battle actor that fills them lives elsewhere), then the server is
//! asked to rebuild (admin refresh, or a restart: the index is rebuilt at start).

mod board;
mod socket;
mod support;
mod users;
