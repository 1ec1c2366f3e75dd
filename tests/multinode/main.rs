//! Multi-node suite: real `warroom serve` processes sharing one Postgres database and one
//! Redis, with real HTTP, Socket.IO and WebSocket clients. `kill -9` of an owner loses nothing.

mod harness;
mod queue;
mod robots;
mod tournaments;
mod tracker;
