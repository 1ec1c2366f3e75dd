//! The confirmation worker: one task that polls pending economy rows every `CHAIN_POLL_MS`
//! (or at once when kicked) and advances each through the chain adapter.

use std::sync::Arc;

use super::Economy;

/// Rows looked at per round.
const BATCH: i64 = 200;
/// How long a stored `Idempotency-Key` response is replayed.
const IDEMPOTENCY_TTL_MS: i64 = 24 * 3600 * 1000;

impl Economy {
    /// Advances every pending row once. Returns how many moved.
    pub(crate) async fn run_once(&self) -> usize {
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

    /// Forgets stored `Idempotency-Key` responses older than a day (clients retry within
    /// minutes; the table must not grow forever).
    pub(crate) async fn sweep_idempotency_keys(&self) {
        let cutoff = crate::store::now_ms() - IDEMPOTENCY_TTL_MS;
        if let Err(e) = self.db.idem_forget_before(cutoff).await {
            tracing::warn!(error = %e, "idempotency key sweep failed");
        }
    }

    /// Starts the worker on the current actix/tokio runtime; it stops with the runtime.
    pub(crate) fn spawn_worker(self: &Arc<Self>) {
        let me = self.clone();
        actix_rt::spawn(async move {
            let mut last_sweep = std::time::Instant::now();
            loop {
                if last_sweep.elapsed() > std::time::Duration::from_secs(3600) {
                    me.sweep_idempotency_keys().await;
                    last_sweep = std::time::Instant::now();
                }
                let moved = me.run_once().await;
                if moved == 0 {
                    let _ = tokio::time::timeout(me.config.poll, me.kick.notified()).await;
                }
            }
        });
    }
}
