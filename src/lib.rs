//! WarRoom: one realtime battle server for the Warhammer 40K tabletop tracker (`/v1`) and
//! robot battles (`/v2`). See `README.md` and `docs/` for the architecture.

pub mod actors;
pub mod auth;
pub mod chain;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod domain;
pub mod economy;
pub mod http;
pub mod metrics;
pub mod realtime;
pub mod server;
pub mod sim;
pub mod store;
pub mod telemetry;
