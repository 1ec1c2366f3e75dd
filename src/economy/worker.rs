//! The confirmation worker: one task that polls pending economy rows every `CHAIN_POLL_MS`
//! (or at once when kicked) and advances each through the chain adapter.

use std::sync::Arc;

use super::Economy;

/// Rows looked at per round.
const BATCH: i64 = 200;

impl Economy {
    /// Advances every pending row once. Returns how many moved.
    pub async fn run_once(&self) -> usize {
        let rows = match self.db.econ_pending(BATCH).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "economy worker: listing pending rows failed");
                return 0;
            }
        };
        let mut moved = 0;
        for row in rows {
            match self.advance(&row).await {
                Ok(super::Step::Moved) => moved += 1,
                Ok(super::Step::Wait) => {}
                Err(e) => {
                    tracing::warn!(error = %e, log_id = %row.id, "economy worker step failed")
                }
            }
        }
        moved
    }

    /// Starts the worker on the current actix/tokio runtime; it stops with the runtime.
    pub fn spawn_worker(self: &Arc<Self>) {
        let me = self.clone();
        actix_rt::spawn(async move {
            loop {
                let moved = me.run_once().await;
                if moved == 0 {
                    let _ = tokio::time::timeout(me.config.poll, me.kick.notified()).await;
                }
            }
        });
    }
}
