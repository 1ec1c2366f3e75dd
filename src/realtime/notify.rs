//! Server-pushed user events over Socket.IO (room `user:{id}`).

use serde_json::json;
use uuid::Uuid;

use crate::domain::money::eldr_string;
use crate::http::AppState;

/// Emits `balance:updated {gmo_balance, eldr_balance}` to the user's private room.
pub async fn balance(state: &AppState, user: Uuid) {
    let Ok(Some(u)) = state.db.user_by_id(user).await else {
        return;
    };
    let eldr = state.db.eldr_balance(user).await.unwrap_or(0);
    let payload = json!({ "gmo_balance": u.gmo_balance, "eldr_balance": eldr_string(eldr) });
    let _ = state
        .sio
        .io()
        .to(format!("user:{user}"))
        .emit("balance:updated", &payload)
        .await;
}

/// Emits a `notification {type, title, body, action_url}` to the user's private room.
pub async fn notification(
    state: &AppState,
    user: Uuid,
    kind: &str,
    title: &str,
    body: &str,
    action_url: Option<&str>,
) {
    let payload = json!({ "type": kind, "title": title, "body": body, "action_url": action_url });
    let _ = state
        .sio
        .io()
        .to(format!("user:{user}"))
        .emit("notification", &payload)
        .await;
}
