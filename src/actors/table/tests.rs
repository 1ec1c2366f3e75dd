//! The TableActor's clock under tokio's paused time: the real actor, its real interval and the
//! real hub; only the Persister is a stand-in that commits instantly. Each message is taken as
//! it comes, and when nothing is ready tokio jumps to the next timer, so every assertion is
//! about virtual time and no test sleeps in real time.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};
use std::time::Duration;

use actix::prelude::*;
use serde_json::{json, Value};
use tokio::{sync::broadcast, time::Instant};
use uuid::Uuid;

use super::{Apply, TableActor, TableCommand, TableDeps};
use crate::actors::clock::TimeSource;
use crate::actors::persister::{Persist, PersistError};
use crate::auth::{standing::Standing, AuthUser, BanList, JwtKeys, Role};
use crate::domain::tracker::{Action, NewBattle, TrackerBattle};
use crate::realtime::admission::Admission;
use crate::realtime::{
    sio,
    table_ws::{Heartbeat, TableHub},
};
use crate::store::{rfc3339, Backend, Db};

const BASE_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/// Commits instantly and counts the writes it was given.
struct InstantPersister(Arc<AtomicUsize>);

impl Actor for InstantPersister {
    type Context = Context<Self>;
}

impl Handler<Persist> for InstantPersister {
    type Result = Result<(), PersistError>;
    fn handle(&mut self, msg: Persist, _: &mut Context<Self>) -> Self::Result {
        self.0.fetch_add(msg.0.len(), Ordering::SeqCst);
        Ok(())
    }
}

struct Table {
    addr: Addr<TableActor>,
    rx: broadcast::Receiver<Arc<str>>,
    players: [Uuid; 2],
    t0: Instant,
    writes: Arc<AtomicUsize>,
}

/// A battle (3 s turns) held by a live actor ticking every second, with a subscriber.
fn table(auto_end_turn_on_timeout: bool) -> Table {
    let players = [Uuid::from_u128(1), Uuid::from_u128(2)];
    let time = TimeSource::tokio_anchored(BASE_MS);
    let battle = TrackerBattle::new(
        Uuid::from_u128(99),
        NewBattle {
            tournament_id: None,
            battle_type: "matched_play".into(),
            mission: json!({}),
            players: [
                (players[0], Uuid::from_u128(11), "left".into()),
                (players[1], Uuid::from_u128(12), "right".into()),
            ],
            max_rounds: 5,
            turn_time_limit: 3,
            tenth_edition: true,
            auto_end_turn_on_timeout,
        },
        time.now_ms(),
    );
    sqlx::any::install_default_drivers();
    let db = Db {
        // Never touched by the actor; the registry alone reads the database.
        pool: sqlx::any::AnyPoolOptions::new()
            .connect_lazy("sqlite::memory:")
            .expect("lazy pool"),
        backend: Backend::Sqlite,
    };
    let sio = sio::local(
        sio::SioAuth {
            keys: JwtKeys::new(&[7; 32]),
            standing: Standing::new(db.clone(), Arc::new(BanList::default()), Duration::ZERO),
            game: Default::default(),
            admission: Admission::new(&Default::default()),
        },
        sio::SioTiming {
            ping: (Duration::from_secs(25), Duration::from_secs(20)),
            connect_timeout: Duration::from_secs(5),
        },
    );
    let hub = TableHub::with_cluster(10, Heartbeat::default(), sio, None);
    let rx = hub.subscribe(battle.id);
    let writes = Arc::new(AtomicUsize::new(0));
    let deps = TableDeps {
        db,
        persister: InstantPersister(writes.clone()).start().recipient(),
        hub,
        timer: Duration::from_secs(1),
        time,
        finished: Default::default(),
        update_gate: Default::default(),
    };
    let addr = TableActor::new(battle, deps, Arc::new(super::Slots::default())).start();
    Table {
        addr,
        rx,
        players,
        t0: Instant::now(),
        writes,
    }
}

impl Table {
    async fn act(&self, player: usize, action: Action) {
        let user = AuthUser {
            id: self.players[player],
            role: Role::Player,
        };
        let cmd = TableCommand::Act(action);
        let r = self.addr.send(Apply {
            user,
            organizer: None,
            cmd,
        });
        r.await.expect("actor alive").expect("action accepted");
    }

    /// The next event: (virtual ms since the actor started, type, time_remaining, json).
    async fn next(&mut self) -> (i64, String, i64, Value) {
        let text = self.rx.recv().await.expect("hub open");
        let v: Value = serde_json::from_str(&text).unwrap();
        let at = i64::try_from(self.t0.elapsed().as_millis()).unwrap();
        let left = v["current_turn"]["time_remaining"].as_i64().unwrap_or(-1);
        (at, v["type"].as_str().unwrap().to_string(), left, v)
    }

    /// Asserts the next event's virtual time, type and `time_remaining`. Tokio's timer wheel
    /// rounds deadlines to its millisecond slots, so a timer may fire a few ms late.
    async fn expect(&mut self, at_ms: i64, kind: &str, left: i64) -> Value {
        let (t, k, l, v) = self.next().await;
        assert_eq!((k.as_str(), l), (kind, left), "at {t} ms: {v}");
        assert!(
            (at_ms..=at_ms + 5).contains(&t),
            "{kind} at {t} ms, expected {at_ms}"
        );
        // Event timestamps come from the same (virtual) clock as the schedule.
        assert_eq!(v["timestamp"], rfc3339(BASE_MS + t));
        v
    }
}

#[actix_rt::test]
async fn timer_updates_and_turn_timeout_follow_paused_time() {
    tokio::time::pause();
    let mut t = table(false);
    t.act(0, Action::Start).await;
    t.expect(0, "battle_started", 3).await;
    t.expect(1000, "timer_update", 2).await;
    t.expect(2000, "timer_update", 1).await;
    t.expect(3000, "timer_update", 0).await;
    let to = t.expect(3000, "turn_timeout", 0).await;
    assert_eq!(to["reason"], "turn_time_limit");
    assert_eq!(to["current_turn"]["player_id"], json!(t.players[0]));
    // Once per turn: the next tick is a plain timer_update.
    t.expect(4000, "timer_update", 0).await;

    // A paused clock emits nothing and loses nothing. (Half seconds keep the test's actions
    // off the ticks' instants, where their order would be up to the timer wheel.)
    t.act(0, Action::Pause).await;
    t.expect(4000, "battle_paused", 0).await;
    tokio::time::sleep(Duration::from_millis(4500)).await;
    t.act(0, Action::EndTurn).await;
    t.expect(8500, "turn_change", 3).await;
    t.act(1, Action::Resume).await;
    t.expect(8500, "battle_resumed", 3).await;

    // Player 2's turn runs its own 3 s from the resume: the ticks are re-anchored to it, so
    // the turn times out exactly on time.
    let tick = t.expect(9500, "timer_update", 2).await;
    assert_eq!(tick["current_turn"]["player_id"], json!(t.players[1]));
    t.expect(10_500, "timer_update", 1).await;
    t.expect(11_500, "timer_update", 0).await;
    t.expect(11_500, "turn_timeout", 0).await;

    // A phase change brings its own timer_update, and the grid goes on.
    t.act(1, Action::NextPhase).await;
    t.expect(11_500, "phase_change", 0).await;
    let now = t.expect(11_500, "timer_update", 0).await;
    assert_eq!(now["current_turn"]["phase"], "movement");
    t.expect(12_500, "timer_update", 0).await;
    // Every action (state + audit) and every timeout (state + audit) went through the
    // Persister; plain ticks only checkpoint every CHECKPOINT_PERIOD.
    assert!(t.writes.load(Ordering::SeqCst) >= 5 * 2 + 2 * 2);
}

#[actix_rt::test]
async fn auto_end_turn_on_timeout_hands_over_under_paused_time() {
    tokio::time::pause();
    let mut t = table(true);
    t.act(0, Action::Start).await;
    t.expect(0, "battle_started", 3).await;
    t.expect(1000, "timer_update", 2).await;
    t.expect(2000, "timer_update", 1).await;
    t.expect(3000, "timer_update", 0).await;
    t.expect(3000, "turn_timeout", 0).await;
    let tc = t.expect(3000, "turn_change", 3).await;
    assert_eq!(tc["current_turn"]["player_id"], json!(t.players[1]));
    t.expect(4000, "timer_update", 2).await;
}
