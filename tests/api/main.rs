//! Integration tests: the real server on port 0, real HTTP / Socket.IO / WebSocket clients.
//! Set `WARROOM_TEST_POSTGRES=postgres://...` to run them on Postgres instead of SQLite.

mod abuse;
mod auth;
mod battle_inputs;
mod battles;
mod economy;
mod economy_admin;
mod economy_evm;
mod economy_spend;
mod economy_wallet;
mod errors;
mod hardening_api;
mod hardening_wire;
mod helpers;
mod leaderboard;
mod ops;
mod realtime;
mod robots;
mod sock_hardening;
mod tournaments;
mod tracker;
mod tracker_live;
mod tracker_pages;
