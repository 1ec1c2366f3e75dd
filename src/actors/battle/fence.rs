//! Fencing: a battle whose lease this node lost stops at once, without settling; the node
//! that holds the lease now runs it.

use actix::prelude::*;

use super::BattleActor;

/// Stop now: another node owns this battle.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Fenced;

impl Handler<Fenced> for BattleActor {
    type Result = ();

    #[tracing::instrument(skip_all, fields(battle = %self.id))]
    fn handle(&mut self, _: Fenced, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
