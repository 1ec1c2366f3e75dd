//! Queueing, the one way into a match: `POST /v2/battles/queue` and `queue:join` both call
//! [`enqueue`]; `DELETE /v2/battles/queue`, `queue:leave` and the session's grace timer call
//! [`leave_queue`]. The matchmaker of the mode takes it from there (`actors/matchmaker.rs`).

use std::sync::Arc;

use uuid::Uuid;

use super::{Game, GameError, QueueRequest};
use crate::actors::matchmaker::{Join, Leave};

/// Validates and enqueues; shared by `queue:join` and `POST /battles/queue`.
pub async fn enqueue(
    game: &Arc<Game>,
    user: Uuid,
    req: &QueueRequest,
) -> Result<(Uuid, u64), GameError> {
    let ticket = game.ticket(user, req).await?;
    let mm = game.matchmaker(req.mode).ok_or(GameError::Busy)?;
    let ack = mm.send(Join(ticket)).await.map_err(|_| GameError::Busy)??;
    Ok((ack.queue_id, ack.estimated_wait_s))
}

/// Leaves whichever queue the user is in; true if they were queued.
pub async fn leave_queue(game: &Arc<Game>, user: Uuid) -> bool {
    let Some(mode) = game.queued_mode(user) else {
        return false;
    };
    match game.matchmaker(mode) {
        Some(mm) => mm.send(Leave(user)).await.unwrap_or(false),
        None => false,
    }
}
