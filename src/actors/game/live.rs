//! `GET /v2/battles/live`: the battles in progress. One node: asked of the live actors.
//! Several: each owner writes a summary of each of its battles to Redis every second
//! (`{prefix}:live:{id}`, 30 s TTL, the spec's battle snapshot), and every node answers from
//! Postgres (which battles are unfinished) plus those snapshots, so all nodes answer the same.

use std::sync::Arc;
use std::time::Duration;

use serde_json::value::RawValue;
use serde_json::{json, Value};
use uuid::Uuid;

use super::Game;
use crate::actors::battle::LiveSummary;
use crate::store::StoreError;

/// How long a snapshot outlives its last refresh.
const SNAPSHOT_TTL_MS: u64 = 30_000;

impl Game {
    /// One page of live battles (stable order by id) and the total.
    pub(crate) async fn live_page(
        &self,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Box<RawValue>>, i64), StoreError> {
        let Some(c) = self.owner.cluster() else {
            let all = self.live_battles();
            let total = all.len() as i64;
            // Asked of all the page's actors at once: the reply waits for the busiest one,
            // not for the sum of their mailboxes (they are ticking meanwhile).
            let asks = all
                .into_iter()
                .skip(offset)
                .take(limit)
                .map(|(_, a)| a.send(LiveSummary));
            let data = futures_util::future::join_all(asks)
                .await
                .into_iter()
                .filter_map(|r| r.ok().flatten())
                .collect();
            return Ok((data, total));
        };
        let mut ids = self.db.unfinished_robot_battle_ids(i64::MAX).await?;
        ids.sort();
        let total = ids.len() as i64;
        let page: Vec<Uuid> = ids.into_iter().skip(offset).take(limit).collect();
        if page.is_empty() {
            return Ok((Vec::new(), total));
        }
        let keys: Vec<String> = page.iter().map(|id| c.key(&format!("live:{id}"))).collect();
        let mut conn = c.conn();
        let snaps: Vec<Option<String>> = redis::cmd("MGET")
            .arg(&keys)
            .query_async(&mut conn)
            .await
            .unwrap_or_else(|_| vec![None; page.len()]);
        let mut data = Vec::with_capacity(page.len());
        for (id, snap) in page.into_iter().zip(snaps) {
            match snap.and_then(|s| RawValue::from_string(s).ok()) {
                Some(v) => data.push(v),
                // Not snapshotted yet (just created, or its owner is being replaced).
                None => {
                    if let Some(r) = self.db.robot_battle(id).await? {
                        let biome = serde_json::from_str::<Value>(&r.inputs)
                            .map(|i| i["biome"].clone())
                            .unwrap_or(Value::Null);
                        let row = json!({
                            "id": r.id, "mode": r.mode, "biome": biome,
                            "player1": r.json["player1"], "player2": r.json["player2"],
                            "status": r.status, "tick": 0, "gmo_wagered": r.wager,
                        });
                        data.extend(serde_json::value::to_raw_value(&row).ok());
                    }
                }
            }
        }
        Ok((data, total))
    }

    /// Multi-node: every `period`, writes a snapshot of each battle this node runs.
    pub(crate) fn spawn_live_snapshots(self: &Arc<Self>, period: Duration) {
        let Some(c) = self.owner.cluster().cloned() else {
            return;
        };
        let game = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut t = tokio::time::interval(period);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                t.tick().await;
                let Some(game) = game.upgrade() else { return };
                let mut pipe = redis::pipe();
                let mut n = 0;
                let (ids, asks): (Vec<Uuid>, Vec<_>) = game
                    .live_battles()
                    .into_iter()
                    .map(|(id, a)| (id, a.send(LiveSummary)))
                    .unzip();
                let answers = futures_util::future::join_all(asks).await;
                for (id, answer) in ids.into_iter().zip(answers) {
                    if let Ok(Some(v)) = answer {
                        pipe.cmd("SET")
                            .arg(c.key(&format!("live:{id}")))
                            .arg(v.get())
                            .arg("PX")
                            .arg(SNAPSHOT_TTL_MS)
                            .ignore();
                        n += 1;
                    }
                }
                if n > 0 {
                    let mut conn = c.conn();
                    if let Err(e) = pipe.query_async::<()>(&mut conn).await {
                        tracing::warn!(error = %e, "live snapshots not written");
                    }
                }
            }
        });
    }
}
