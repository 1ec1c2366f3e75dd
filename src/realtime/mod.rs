//! Realtime transports on the one public port: Socket.IO v4 (socketioxide) at `/v2/ws` and the
//! raw JSON WebSocket at `/v1/ws/battles/{id}`, split in actix-http's upgrade hook.

pub(crate) mod admission;
pub(crate) mod bans;
pub mod emit;
pub(crate) mod leaderboard_events;
pub(crate) mod prefixed;
pub mod robot_events;
pub mod sio;
pub(crate) mod sio_driver;
pub(crate) mod sio_node;
pub(crate) mod table_fanout;
pub(crate) mod table_ws;
pub mod upgrade;
