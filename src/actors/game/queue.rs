//! Queueing, the one way into a match: `POST /v2/battles/queue` and `queue:join` both call
//! [`enqueue`]; `DELETE /v2/battles/queue`, `queue:leave` and the session's grace timer call
//! [`leave_queue`]. The matchmaker of the mode takes it from there (`actors/matchmaker.rs`).

use std::sync::Arc;

use uuid::Uuid;

use super::{Game, GameError, QueueRequest};

/// Validates and enqueues; shared by `queue:join` and `POST /battles/queue`.
pub async fn enqueue(
    game: &Arc<Game>,
    user: Uuid,
    req: &QueueRequest,
) -> Result<(Uuid, u64), GameError> {
    let ticket = game.ticket(user, req).await?;
    let ack = game.join_matcher(ticket).await?;
    Ok((ack.queue_id, ack.estimated_wait_s))
}

/// Leaves whichever queue the user is in; true if they were queued.
pub async fn leave_queue(game: &Arc<Game>, user: Uuid) -> bool {
    if let Some(mode) = game.queued_mode(user) {
        return game.leave_matcher(mode, user).await;
    }
    // Several nodes: the ticket is kept by the mode's matcher, maybe on another node.
    let mut left = false;
    if game.owner.cluster().is_some() {
        for mode in [super::Mode::Ranked, super::Mode::Casual] {
            if !game.holds_matcher(mode) {
                left |= game.leave_matcher(mode, user).await;
            }
        }
    }
    left
}
