//! Integration tests: the real server on port 0, real HTTP / Socket.IO / WebSocket clients.
//! Set `WARROOM_TEST_POSTGRES=postgres://...` to run them on Postgres instead of SQLite.

mod auth;
mod errors;
mod helpers;
mod ops;
mod realtime;
mod tracker;
mod tracker_live;
mod tracker_pages;
