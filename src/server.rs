//! Start-up and shutdown: one public port for REST, raw WebSocket and Socket.IO.
//!
//! actix-http's `HttpService` is built by hand (as `HttpServer` does internally) so that an
//! upgrade hook can take every `Upgrade:` request: Socket.IO websockets go to socketioxide,
//! `/v1/ws/...` to the table hub. Plain requests, including Socket.IO polling, go to the App.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use actix::Actor;
use actix_codec::Framed;
use actix_http::{h1, HttpService, Request};
use actix_service::{fn_service, map_config};
use actix_web::dev::AppConfig;
use tokio::{net::TcpStream, sync::oneshot};

use crate::actors::persister::{Flush, Persister, MAILBOX};
use crate::actors::rooms::Rooms;
use crate::actors::table::{TableDeps, TableRegistry};
use crate::actors::tournament::{TournamentDeps, TournamentRegistry};
use crate::auth::{standing::Standing, BanList, JwtKeys};
use crate::config::Config;
use crate::http::{self, ratelimit::Limiters, AppState};
use crate::realtime::{
    admission::Admission,
    sio,
    table_ws::{Heartbeat, TableHub},
    upgrade,
};
use crate::store::{Db, StoreError};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Socket or file IO.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The chain adapter could not start.
    #[error(transparent)]
    Chain(#[from] crate::chain::ChainError),
    /// Redis could not be reached (multi-node mode).
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
    /// The Socket.IO adapter could not start (multi-node mode).
    #[error(transparent)]
    Sio(#[from] sio::SioBuildError),
    /// The settings cannot work together.
    #[error("{0}")]
    Settings(&'static str),
}

/// How long a connection whose response went out before its request body was read (a 413)
/// keeps reading and discarding that body before it closes. Closing with unread bytes makes
/// the kernel send RST, which can destroy the response before a client that first writes its
/// whole body reads it; lingering lets the 413 arrive. Also bounds a graceful TCP shutdown.
const LINGER: Duration = Duration::from_secs(5);

/// Reads the signing key from config, or from `<data_dir>/.jwt_secret`, generating it once.
pub fn jwt_secret(config: &Config) -> Result<Vec<u8>, std::io::Error> {
    if let Some(s) = &config.jwt_secret {
        return Ok(s.as_bytes().to_vec());
    }
    let path = config.data_dir.join(".jwt_secret");
    if let Ok(s) = std::fs::read_to_string(&path) {
        if s.trim().len() >= 32 {
            return Ok(s.trim().as_bytes().to_vec());
        }
    }
    std::fs::create_dir_all(&config.data_dir)?;
    let bytes: [u8; 48] = rand::random();
    let secret = hex::encode(bytes);
    // Created owner-only: a chmod after the write would leave a window where others can read.
    let _ = std::fs::remove_file(&path);
    let mut f = private_file(&path)?;
    std::io::Write::write_all(&mut f, secret.as_bytes())?;
    f.sync_all()?;
    Ok(secret.into_bytes())
}

/// Creates `path` readable and writable by its owner only (fails if it exists).
fn private_file(path: &std::path::Path) -> Result<std::fs::File, std::io::Error> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
}

/// The file of a `sqlite://PATH?…` URL, unless it is in memory.
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && !path.contains(":memory:")).then(|| std::path::PathBuf::from(path))
}

/// Opens and migrates the database.
pub async fn open_db(config: &Config) -> Result<Db, StartError> {
    if let crate::store::DatabaseTarget::Sqlite(url) = &config.database {
        std::fs::create_dir_all(&config.data_dir)?;
        // SQLite gives its -wal and -shm files the database file's mode, so creating the file
        // owner-only first keeps all three private from the start.
        if let Some(file) = sqlite_file(url).filter(|f| !f.exists()) {
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            match private_file(&file) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    let db = Db::connect(&config.database).await?;
    db.migrate().await?;
    // Reference data: the robot catalogue (idempotent upsert).
    db.seed_robots().await?;
    Ok(db)
}

/// Builds shared state and starts the actors. Call inside an actix System.
pub async fn build_state(config: Config) -> Result<AppState, StartError> {
    let cluster = match &config.cluster {
        None => None,
        Some(settings) => {
            if !matches!(config.database, crate::store::DatabaseTarget::Postgres(_)) {
                return Err(StartError::Settings(
                    "REDIS_URL needs DATABASE_URL=postgres://…: several nodes cannot share a SQLite file",
                ));
            }
            let c = crate::cluster::Cluster::connect(settings.clone()).await?;
            tracing::info!(node = c.node_id(), "multi-node mode: joined the cluster");
            Some(c)
        }
    };
    let db = open_db(&config).await?;
    if config.redis_url.is_none() {
        // One node: reservations left in progress belong to a process that is gone.
        let n = db.idem_release_all_in_progress().await?;
        if n > 0 {
            tracing::info!(keys = n, "released idempotency keys left in progress");
        }
    }
    db.spawn_wal_checkpointer(Duration::from_millis(250));
    let keys = JwtKeys::new(&jwt_secret(&config)?);
    let bans = Arc::new(BanList::default());
    for id in db.banned_user_ids().await? {
        bans.set(id, true);
    }
    let persister = Persister::create(|ctx| {
        ctx.set_mailbox_capacity(MAILBOX);
        Persister::new(db.clone(), config.persist_max_wait, config.persist_max_rows)
    });
    let game_cell = crate::actors::game::GameCell::default();
    let standing = Standing::new(db.clone(), bans.clone(), config.auth_cache);
    let sio = sio::build(
        sio::SioAuth {
            keys: keys.clone(),
            standing: standing.clone(),
            game: game_cell.clone(),
            admission: match &cluster {
                Some(c) => Admission::clustered(&config.rate_limits, c),
                None => Admission::new(&config.rate_limits),
            },
        },
        sio::SioTiming {
            ping: config.sio_ping,
            connect_timeout: config.sio_connect_timeout,
        },
        cluster.clone(),
    )
    .await?;
    let heartbeat = Heartbeat {
        interval: config.ws_ping_interval,
        timeout: config.ws_pong_timeout,
    };
    let hub = TableHub::with_cluster(
        config.rate_limits.v1_ws_per_user,
        heartbeat,
        sio.clone(),
        cluster.clone(),
    );
    let economy = crate::economy::Economy::new(
        db.clone(),
        config.economy.clone(),
        config.chain_rpc_url.as_deref(),
        {
            let rooms: Arc<dyn Rooms> = sio.clone();
            Arc::new(move |user, event, data| rooms.to_user(user, event, data))
        },
    )
    .await?;
    economy.spawn_worker();
    let limits = Limiters::new(&config.rate_limits, cluster.as_deref());
    let battle_quota = limits.clone();
    let cache = cluster
        .as_ref()
        .filter(|_| config.cache)
        .map(|c| crate::cluster::cache::Cache::new(c));
    let deps = TableDeps {
        db: db.clone(),
        persister: persister.clone().recipient(),
        hub: hub.clone(),
        timer: config.timer_update,
        finished: Default::default(),
        time: Default::default(),
        update_gate: crate::actors::table::UpdateGate::new(move |id| {
            let quota = battle_quota.clone();
            Box::pin(async move { quota.battle_update(id).await })
        }),
    };
    let finished = deps.finished.clone();
    let tables = TableRegistry::new(deps, actix::Arbiter::current(), cluster.clone());
    let boards = crate::actors::leaderboard::load(&db, config.season).await?;
    let leaderboard = crate::actors::leaderboard::Leaderboard::new(
        db.clone(),
        config.season,
        boards,
        crate::actors::leaderboard::sio_emitter(sio.clone()),
    )
    .start();
    let tournaments = TournamentRegistry::new(
        TournamentDeps {
            db: db.clone(),
            persister: persister.clone(),
            hub: hub.clone(),
            sio: sio.clone(),
            tables: tables.clone(),
            clocks: crate::actors::tournament::ClockLeases::new(cluster.clone()),
            cache: cache.clone(),
        },
        actix::Arbiter::current(),
    );
    let _ = finished.set(tournaments.finished_hook());
    tournaments.restore().await?;
    if let Some(c) = &cluster {
        tournaments.spawn_takeovers(c.leases.ttl() / 2);
    }
    let restored = tables.restore().await?;
    if let Some(c) = &cluster {
        tables.spawn_takeovers(c.leases.ttl() / 2);
    }
    if restored > 0 {
        tracing::info!(
            restored,
            "tracker battles restored with their clocks paused for the downtime"
        );
    }
    let game = crate::actors::game::Game::start(
        db.clone(),
        sio.clone(),
        persister.clone(),
        crate::actors::game::GameSettings {
            tick: config.tick,
            countdown: config.countdown,
            season: config.season,
            queue_grace: config.queue_grace,
            tick_grid: config.tick_grid(),
        },
        cluster.clone(),
    );
    let _ = game_cell.set(game.clone());
    match &cluster {
        // One node: every unfinished battle is this node's.
        None => {
            let resumed = game.resume().await?;
            if resumed > 0 {
                tracing::info!(resumed, "robot battles resumed");
            }
        }
        // Several: a battle is resumed by whichever node claims its expired lease first.
        Some(c) => game.spawn_takeovers(c.leases.ttl() / 2),
    }
    if let Some(c) = &cluster {
        c.rpc
            .set_handler(forwarded_handler(tables.clone(), game.clone()));
        game.spawn_matcher_leases(c.leases.ttl() / 3);
        game.spawn_live_snapshots(Duration::from_secs(1));
    }
    let ban_sync = crate::realtime::bans::BanSync::start(
        bans.clone(),
        standing.clone(),
        hub.clone(),
        game.clone(),
        sio.clone(),
        cluster.clone(),
    )
    .await?;
    Ok(AppState {
        leaderboard,
        game,
        economy,
        tables,
        tournaments,
        config: Arc::new(config),
        db,
        keys,
        bans,
        standing,
        persister,
        limits,
        sio,
        hub,
        ban_sync,
        cluster,
        cache,
    })
}

/// What this node does with requests other nodes forward to it (it owns the work).
fn forwarded_handler(
    tables: Arc<TableRegistry>,
    game: Arc<crate::actors::game::Game>,
) -> crate::cluster::rpc::Handler {
    Arc::new(
        move |kind: String, body: serde_json::Value| match kind.as_str() {
            "table" => tables.serve_forwarded(body),
            "queue" => game.serve_queue(body),
            "battle" => game.serve_battle_call(body),
            other => {
                let m = format!("unknown forwarded request {other}");
                Box::pin(async move { Err(m) })
            }
        },
    )
}

/// Serves until SIGTERM/SIGINT or `stop`. Sends the bound address on `ready`.
/// Must run inside an actix System on a multi-thread tokio runtime.
pub async fn run(
    config: Config,
    ready: Option<oneshot::Sender<SocketAddr>>,
    stop: Option<oneshot::Receiver<()>>,
) -> Result<(), StartError> {
    let listener = std::net::TcpListener::bind(&config.bind)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let workers = if config.workers == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    } else {
        config.workers
    };
    let shutdown_timeout = config.shutdown_timeout;
    let state = build_state(config).await?;

    let sweeper = state.clone();
    actix_rt::spawn(async move {
        let mut t = tokio::time::interval(Duration::from_secs(60));
        loop {
            t.tick().await;
            sweeper.limits.sweep();
            sweeper.standing.sweep();
            sweeper.sio.admission().sweep();
        }
    });

    let st = state.clone();
    let hook = upgrade::UpgradeDeps {
        sio: state.sio.clone(),
        keys: state.keys.clone(),
        standing: state.standing.clone(),
        db: state.db.clone(),
        hub: state.hub.clone(),
    };
    let server = actix_server::Server::build()
        .workers(workers)
        .disable_signals()
        .shutdown_timeout(shutdown_timeout.as_secs().max(1))
        .listen("warroom", listener, move || {
            let hook_state = hook.clone();
            HttpService::build()
                // Small frames (ticks, acks) must not wait for the peer's delayed ACK (Nagle):
                // without it p99 latency jumps to ~40 ms. Upgraded sockets keep the flag.
                .tcp_nodelay(true)
                .client_request_timeout(Duration::from_secs(10))
                .client_disconnect_timeout(LINGER)
                .upgrade(fn_service(
                    move |(req, framed): (Request, Framed<TcpStream, h1::Codec>)| {
                        upgrade::handle(hook_state.clone(), req, framed)
                    },
                ))
                .finish(map_config(http::app(st.clone()), |_| AppConfig::default()))
                .tcp()
        })?
        .run();
    let handle = server.handle();
    tracing::info!(%addr, "warroom listening");
    if let Some(r) = ready {
        let _ = r.send(addr);
    }

    let mut server = Box::pin(server);
    let stop = async move {
        match stop {
            Some(rx) => {
                let _ = rx.await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        r = &mut server => { r?; return Ok(()); }
        _ = shutdown_signal() => tracing::info!("signal received, shutting down"),
        _ = stop => tracing::info!("stop requested, shutting down"),
    }
    // Tell clients first, then stop accepting and drain, then make every write durable.
    state.hub.shutdown();
    let _ = tokio::time::timeout(Duration::from_secs(2), state.sio.close()).await;
    // The server future drives its own stop command, so poll both together.
    let _ = tokio::time::timeout(shutdown_timeout, async {
        tokio::join!(handle.stop(true), server)
    })
    .await;
    let _ = tokio::time::timeout(shutdown_timeout, state.tables.checkpoint_all()).await;
    if let Some(c) = &state.cluster {
        // Checkpointed first, so the node that takes a table over resumes from now.
        let _ = tokio::time::timeout(shutdown_timeout, state.persister.send(Flush)).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), c.hand_over()).await;
        tracing::info!("leases handed over to the other nodes");
    }
    match tokio::time::timeout(shutdown_timeout, state.persister.send(Flush)).await {
        Ok(Ok(Ok(()))) => tracing::info!("persister flushed"),
        other => tracing::error!(?other, "persister flush failed"),
    }
    state.db.pool.close().await;
    tracing::info!("bye");
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Runs `fut` in a fresh actix System (blocking) on the [`RuntimeFlavor::Auto`] runtime
/// (see [`block_on_system_with`]).
///
/// [`RuntimeFlavor::Auto`]: crate::config::RuntimeFlavor::Auto
pub fn block_on_system<F: std::future::Future>(fut: F) -> F::Output {
    block_on_system_with(crate::config::RuntimeFlavor::Auto, fut)
}

/// Runs `fut` in a fresh actix System on a current-thread runtime (actors, their timers and
/// spawned tasks share one thread: on one CPU nothing else can run meanwhile anyway) or a
/// multi-thread one sized to the CPUs this process may use.
pub fn block_on_system_with<F: std::future::Future>(
    flavor: crate::config::RuntimeFlavor,
    fut: F,
) -> F::Output {
    if flavor.is_current_thread() {
        return actix_rt::System::new().block_on(fut);
    }
    actix_rt::System::with_tokio_rt(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
    .block_on(fut)
}

/// A server running on its own thread (tests, load tests, benchmarks).
pub struct Background {
    /// Bound address.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), String>>>,
}

impl Background {
    /// Starts a server on a new thread and waits until it listens.
    pub fn start(config: Config) -> Result<Self, String> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel();
        let flavor = config.runtime;
        let thread = std::thread::spawn(move || {
            block_on_system_with(flavor, async move {
                let (tx, rx) = oneshot::channel();
                let fwd = ready_tx.clone();
                actix_rt::spawn(async move {
                    if let Ok(a) = rx.await {
                        let _ = fwd.send(Ok(a));
                    }
                });
                let r = run(config, Some(tx), Some(stop_rx))
                    .await
                    .map_err(|e| e.to_string());
                if let Err(e) = &r {
                    let _ = ready_tx.send(Err(e.clone()));
                }
                r
            })
        });
        let addr = ready_rx.recv().map_err(|e| e.to_string())??;
        Ok(Self {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// Graceful stop; waits for the server thread.
    pub fn stop(mut self) -> Result<(), String> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        match self.thread.take() {
            Some(t) => t.join().map_err(|_| "server thread panicked".to_string())?,
            None => Ok(()),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}
