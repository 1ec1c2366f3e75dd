//! [`BattleCall`]: everything a transport asks of a live robot battle, as one serializable
//! value, and [`Game::battle_call`], the one entry that answers it. In multi-node mode a
//! battle runs on the node that owns it; a call that arrives elsewhere travels to the owner
//! as JSON, so the call carries plain ids (a socket id, never a socket handle): the owner
//! reaches the socket through its room `sid:{sid}`, which every socket joins on connect.

use std::str::FromStr;
use std::sync::Arc;

use actix::{Addr, MailboxError};
use serde::{Deserialize, Serialize};
use socketioxide::socket::Sid;
use uuid::Uuid;

use super::{BattleActor, Emote, JoinRoom, LeaveRoom, Ready};
use crate::actors::game::Game;

/// A request to a live battle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub(crate) enum BattleCall {
    /// `battle:join` / `spectate:join` of socket `sid`: catch-up from `since_tick`, then live.
    Join {
        /// The socket.
        sid: String,
        /// Last tick the client already has.
        since_tick: Option<u32>,
    },
    /// `battle:leave` / `spectate:leave` of socket `sid`.
    Leave {
        /// The socket.
        sid: String,
    },
    /// `battle:ready` of a player.
    Ready {
        /// The player.
        user: Uuid,
    },
    /// `battle:emote` of a player (emote id validated by the caller).
    Emote {
        /// The player.
        user: Uuid,
        /// The emote.
        emote_id: String,
    },
}

/// Why a battle call failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub(crate) enum BattleCallError {
    /// No live battle with that id (it never existed or it has ended).
    #[error("no live battle with that id")]
    NotFound,
    /// The caller may not do this (not a player of the battle).
    #[error("{0}")]
    Forbidden(String),
    /// The battle's node could not be reached; the client may retry.
    #[error("battle temporarily unavailable; try again")]
    Unavailable,
}

impl Game {
    /// Delivers `call` to battle `id`.
    #[tracing::instrument(skip(self), fields(battle = %id))]
    pub(crate) async fn battle_call(
        self: &Arc<Self>,
        id: Uuid,
        call: BattleCall,
    ) -> Result<(), BattleCallError> {
        if let Some(addr) = self.live_battle(id) {
            return local_call(&addr, call).await;
        }
        // Not running on this node: single node, it does not exist (or has ended).
        if self.owner_cluster().is_none() {
            return Err(BattleCallError::NotFound);
        }
        match self.owner_of(id).await {
            // Our own lease, not yet released, of a battle that just ended (or was fenced).
            Some(node) if self.owner_cluster().is_some_and(|c| c.node_id() == node) => {
                Err(match self.finished_here(id) {
                    true => BattleCallError::NotFound,
                    false => BattleCallError::Unavailable,
                })
            }
            Some(node) => self.forward_call(&node, id, call).await,
            // Nobody runs it: an unfinished battle whose owner died is taken over here now
            // (a reconnecting client need not wait for the next sweep).
            None => match self.take_over(id).await {
                true => match self.live_battle(id) {
                    Some(addr) => local_call(&addr, call).await,
                    None => Err(BattleCallError::NotFound),
                },
                false => match self.owner_of(id).await {
                    Some(node) => self.forward_call(&node, id, call).await,
                    None => Err(BattleCallError::NotFound),
                },
            },
        }
    }

    async fn forward_call(
        &self,
        node: &str,
        id: Uuid,
        call: BattleCall,
    ) -> Result<(), BattleCallError> {
        let c = self.owner_cluster().ok_or(BattleCallError::Unavailable)?;
        let body = serde_json::json!({ "battle": id, "call": call });
        match c
            .rpc
            .call(node, "battle", body, std::time::Duration::from_secs(5))
            .await
        {
            Ok(_) => Ok(()),
            Err(crate::cluster::ClusterError::Remote(m)) => {
                Err(serde_json::from_str(&m).unwrap_or(BattleCallError::Unavailable))
            }
            Err(_) => Err(BattleCallError::Unavailable),
        }
    }

    /// Serves a call forwarded by another node: only to a battle running here (no second
    /// hop; the caller retries against the new owner).
    pub fn serve_battle_call(
        self: &Arc<Self>,
        body: serde_json::Value,
    ) -> futures_util::future::BoxFuture<'static, Result<serde_json::Value, String>> {
        let game = self.clone();
        Box::pin(async move {
            let encode = |e: BattleCallError| serde_json::to_string(&e).unwrap_or_default();
            let id: Uuid =
                serde_json::from_value(body["battle"].clone()).map_err(|e| e.to_string())?;
            let call: BattleCall =
                serde_json::from_value(body["call"].clone()).map_err(|e| e.to_string())?;
            let addr = game.live_battle(id).ok_or_else(|| {
                // Over since the caller looked up our lease: gone for good. Otherwise it
                // moved (fenced) or is not started yet: the caller may retry.
                encode(match game.finished_here(id) {
                    true => BattleCallError::NotFound,
                    false => BattleCallError::Unavailable,
                })
            })?;
            local_call(&addr, call).await.map_err(encode)?;
            Ok(serde_json::Value::Null)
        })
    }
}

/// Sends `call` to a battle actor of this node.
async fn local_call(addr: &Addr<BattleActor>, call: BattleCall) -> Result<(), BattleCallError> {
    // A mailbox that closed meanwhile: the battle just ended.
    let gone = |_: MailboxError| BattleCallError::NotFound;
    let forbidden = |m: &'static str| BattleCallError::Forbidden(m.to_string());
    match call {
        BattleCall::Join { sid, since_tick } => {
            let sid = parse_sid(&sid)?;
            addr.send(JoinRoom { sid, since_tick }).await.map_err(gone)
        }
        BattleCall::Leave { sid } => {
            let sid = parse_sid(&sid)?;
            addr.send(LeaveRoom { sid }).await.map_err(gone)
        }
        BattleCall::Ready { user } => addr
            .send(Ready(user))
            .await
            .map_err(gone)?
            .map_err(forbidden),
        BattleCall::Emote { user, emote_id } => addr
            .send(Emote { user, emote_id })
            .await
            .map_err(gone)?
            .map_err(forbidden),
    }
}

fn parse_sid(sid: &str) -> Result<Sid, BattleCallError> {
    Sid::from_str(sid).map_err(|_| BattleCallError::Forbidden("bad socket id".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_travel_as_json() {
        let calls = [
            BattleCall::Join {
                sid: "abc".into(),
                since_tick: Some(3),
            },
            BattleCall::Leave { sid: "abc".into() },
            BattleCall::Ready {
                user: Uuid::new_v4(),
            },
            BattleCall::Emote {
                user: Uuid::new_v4(),
                emote_id: "gg".into(),
            },
        ];
        for c in calls {
            let text = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<BattleCall>(&text).unwrap(), c);
        }
        let e = BattleCallError::Forbidden("no".into());
        let back: BattleCallError =
            serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, e);
    }
}
