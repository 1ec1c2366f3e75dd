//! Realtime transports on the one public port: Socket.IO v4 (socketioxide) at `/v2/ws` and the
//! raw JSON WebSocket at `/v1/ws/battles/{id}`, split in actix-http's upgrade hook.

pub mod admission;
pub mod emit;
pub mod leaderboard_events;
pub mod prefixed;
pub mod robot_events;
pub mod sio;
pub mod table_ws;
pub mod upgrade;
