//! How actors reach their clients: the narrow handles they emit through, defined here so that
//! no actor imports a transport. `realtime` implements them: [`Rooms`] over socketioxide
//! (`realtime::sio_node::SioNode`, on the local adapter or, in multi-node mode, the Redis
//! adapter, so rooms span the nodes), [`TableFeed`] over the raw `/v1/ws` sessions plus the
//! Socket.IO room `table:{id}` (`realtime::table_ws::TableHub`, with Redis pub/sub per battle
//! across nodes).
//!
//! Every socket is in its own room `sid:{sid}`, so an actor can address one socket wherever
//! it is connected.

use futures_util::future::BoxFuture;
use serde_json::value::RawValue;
use serde_json::Value;
use socketioxide::socket::Sid;
use uuid::Uuid;

/// Socket.IO rooms as the actors see them.
pub trait Rooms: Send + Sync {
    /// Emits `event` with `data` to every socket in `room`, except sockets in `except` rooms.
    /// Events leave in the order the actor produced them.
    fn to_room(&self, room: String, except: Vec<String>, event: &'static str, data: Value);
    /// [`Rooms::to_room`] with JSON serialised once by the caller (a live tick goes to every
    /// socket of its room as the same bytes). The default re-parses it; transports override.
    #[allow(clippy::boxed_local)] // implementations take the box to move it into an emit
    fn to_room_raw(&self, room: String, event: &'static str, data: Box<RawValue>) {
        let text: Box<str> = data.into();
        let v = serde_json::from_str(&text).unwrap_or(Value::Null);
        self.to_room(room, Vec::new(), event, v);
    }
    /// Emits to one user's private room `user:{id}`.
    fn to_user(&self, user: Uuid, event: &'static str, data: Value) {
        self.to_room(format!("user:{user}"), Vec::new(), event, data);
    }
    /// Puts every socket in room `from` into room `to` as well (in order, like [`Rooms::to_room`]).
    fn join_room(&self, from: String, to: String);
    /// Takes every socket in room `from` out of room `to`.
    fn leave_room(&self, from: String, to: String);
    /// [`Rooms::join_room`], resolved once done.
    fn join_now(&self, from: String, to: String) -> BoxFuture<'static, ()>;
    /// Emits an event with a computed name to `room`, resolved once sent (nobody hears it
    /// after shutdown closed the namespace).
    fn emit_now(&self, room: String, event: String, data: Value) -> BoxFuture<'static, ()>;
    /// Disconnects every socket in `room`.
    fn disconnect(&self, room: String) -> BoxFuture<'static, ()>;
    /// Sends `event` to socket `sid` of this node alone, then disconnects it; false when it
    /// is gone.
    fn close_socket(&self, sid: Sid, event: &'static str, data: Value) -> bool;
    /// Whether `user` has a socket on any node (their room `user:{id}` is not empty).
    fn user_online(&self, user: Uuid) -> BoxFuture<'static, bool>;
}

/// Where a live tracker battle's events go: its raw WebSocket subscribers and its room.
pub trait TableFeed: Send + Sync {
    /// Publishes one tracker event of `battle`.
    fn publish<'a>(&'a self, battle: Uuid, event: &'a Value) -> BoxFuture<'a, ()>;
}

/// The table feed as `actors::table` names it (`realtime::table_ws::TableHub` implements it).
pub(crate) type TableHub = dyn TableFeed;
