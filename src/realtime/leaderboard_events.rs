//! Socket.IO events of the `leaderboard` room: `leaderboard:join` and `leaderboard:leave`.
//! Members get `leaderboard:updated {season, mode, entries}` whenever the top 100 changes.
//! Both events answer an ack `{room, joined}` when the client asks for one, so a client knows
//! it is in the room before it relies on deltas.

use serde_json::json;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, SocketRef};

use crate::actors::leaderboard::ROOM;

/// Registers the handlers on a connected socket (called from `on_connect`).
pub fn register<A: Adapter>(s: &SocketRef<A>) {
    s.on(
        "leaderboard:join",
        |s: SocketRef<A>, ack: AckSender<A>| async move {
            s.join(ROOM);
            // No ack requested is not an error: ignore the send result.
            let _ = ack.send(&json!({ "room": ROOM, "joined": true }));
        },
    );
    s.on(
        "leaderboard:leave",
        |s: SocketRef<A>, ack: AckSender<A>| async move {
            s.leave(ROOM);
            let _ = ack.send(&json!({ "room": ROOM, "joined": false }));
        },
    );
}
