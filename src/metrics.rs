//! Prometheus metrics an operator watches: HTTP latency, connections, actors, persister, battles.

use std::sync::LazyLock;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Every metric the server exports. Process-global: one server per process in production.
pub(crate) struct Metrics {
    registry: Registry,
    /// HTTP requests by method, route and status class.
    pub(crate) http_requests: IntCounterVec,
    /// HTTP latency by route.
    pub(crate) http_latency: HistogramVec,
    /// Open realtime connections by kind (`socketio`, `ws_v1`).
    pub connections: IntGaugeVec,
    /// Live actors by kind.
    pub actors: IntGaugeVec,
    /// Rows per committed persister batch.
    pub(crate) persist_batch_rows: Histogram,
    /// Seconds from first enqueue to COMMIT of a batch.
    pub(crate) persist_commit_seconds: Histogram,
    /// Writes waiting in the persister (its lag).
    pub(crate) persist_pending: IntGauge,
    /// Failed persister batches.
    pub(crate) persist_failures: IntCounterVec,
    /// Live robot battles.
    pub live_battles: IntGauge,
    /// Tick lateness against schedule, seconds.
    pub tick_lateness: Histogram,
    /// Players waiting per matchmaking mode.
    pub(crate) queue_size: IntGaugeVec,
    /// Multi-node: `node_info{node}` is 1 for this node's id.
    pub(crate) node_info: IntGaugeVec,
    /// Multi-node: leases this node holds.
    pub(crate) leases_held: IntGauge,
    /// Multi-node: leases this node lost (not renewed in time or taken over).
    pub(crate) leases_lost: prometheus::IntCounter,
    /// Multi-node: work this node took over from a node that died or left, by kind.
    pub(crate) lease_takeovers: IntCounterVec,
    /// Multi-node: Redis round trip (PING), seconds.
    pub(crate) redis_rtt: Histogram,
    /// Multi-node: requests forwarded to another node, by kind.
    pub(crate) forwarded: IntCounterVec,
    /// Multi-node: Socket.IO adapter and Redis fan-out errors.
    #[allow(dead_code)] // counted by the Socket.IO adapter and the /v1/ws fan-out
    pub(crate) adapter_errors: prometheus::IntCounter,
    /// Packets a socket did not get because its send buffer was full (a slow client).
    pub(crate) socket_buffer_full: prometheus::IntCounter,
    /// Room ops that could not complete at once (they may reach sockets out of order).
    pub(crate) emit_deferred: prometheus::IntCounter,
    /// Multi-node: rate-limit checks answered by the node-local limiter because Redis failed.
    pub(crate) ratelimit_fallback: prometheus::IntCounter,
    /// Multi-node: cache lookups by kind and result (`hit`, `miss`, `error`, `bypass`).
    pub(crate) cache_requests: IntCounterVec,
}

fn buckets() -> Vec<f64> {
    vec![
        0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    ]
}

impl Metrics {
    fn new() -> Self {
        let registry = Registry::new_custom(Some("warroom".into()), None).expect("registry");
        let http_requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests"),
            &["method", "route", "status"],
        )
        .expect("metric");
        let http_latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP latency").buckets(buckets()),
            &["route"],
        )
        .expect("metric");
        let connections = IntGaugeVec::new(
            Opts::new("connections", "Open realtime connections"),
            &["kind"],
        )
        .expect("metric");
        let actors =
            IntGaugeVec::new(Opts::new("actors", "Live actors"), &["kind"]).expect("metric");
        let persist_batch_rows = Histogram::with_opts(
            HistogramOpts::new("persist_batch_rows", "Rows per persister batch").buckets(vec![
                1.0, 2.0, 5.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0,
            ]),
        )
        .expect("metric");
        let persist_commit_seconds = Histogram::with_opts(
            HistogramOpts::new("persist_commit_seconds", "Enqueue-to-commit latency")
                .buckets(buckets()),
        )
        .expect("metric");
        let persist_pending =
            IntGauge::new("persist_pending", "Writes waiting in the persister").expect("metric");
        let persist_failures = IntCounterVec::new(
            Opts::new("persist_failures_total", "Failed persister batches"),
            &["kind"],
        )
        .expect("metric");
        let live_battles =
            IntGauge::new("live_battles", "Robot battles in progress").expect("metric");
        let tick_lateness = Histogram::with_opts(
            HistogramOpts::new("tick_lateness_seconds", "Tick lateness against schedule")
                .buckets(buckets()),
        )
        .expect("metric");
        let queue_size =
            IntGaugeVec::new(Opts::new("queue_size", "Players in matchmaking"), &["mode"])
                .expect("metric");
        let node_info =
            IntGaugeVec::new(Opts::new("node_info", "This node's id"), &["node"]).expect("metric");
        let leases_held = IntGauge::new("leases_held", "Leases this node holds").expect("metric");
        let leases_lost =
            prometheus::IntCounter::new("leases_lost_total", "Leases lost").expect("metric");
        let lease_takeovers = IntCounterVec::new(
            Opts::new("lease_takeovers_total", "Work taken over from another node"),
            &["kind"],
        )
        .expect("metric");
        let redis_rtt = Histogram::with_opts(
            HistogramOpts::new("redis_rtt_seconds", "Redis round trip").buckets(buckets()),
        )
        .expect("metric");
        let forwarded = IntCounterVec::new(
            Opts::new("forwarded_total", "Requests forwarded to the owner node"),
            &["kind"],
        )
        .expect("metric");
        let adapter_errors =
            prometheus::IntCounter::new("adapter_errors_total", "Cross-node fan-out errors")
                .expect("metric");
        let socket_buffer_full = prometheus::IntCounter::new(
            "socket_buffer_full_total",
            "Packets dropped for a socket whose send buffer was full",
        )
        .expect("metric");
        let emit_deferred = prometheus::IntCounter::new(
            "emit_deferred_total",
            "Room ops that could not complete at once (they may arrive out of order)",
        )
        .expect("metric");
        let ratelimit_fallback = prometheus::IntCounter::new(
            "ratelimit_fallback_total",
            "Rate-limit checks counted on this node only because Redis failed",
        )
        .expect("metric");
        let cache_requests = IntCounterVec::new(
            Opts::new("cache_requests_total", "Cache lookups"),
            &["kind", "result"],
        )
        .expect("metric");
        for c in [
            Box::new(ratelimit_fallback.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(cache_requests.clone()),
            Box::new(node_info.clone()),
            Box::new(leases_held.clone()),
            Box::new(leases_lost.clone()),
            Box::new(lease_takeovers.clone()),
            Box::new(redis_rtt.clone()),
            Box::new(forwarded.clone()),
            Box::new(adapter_errors.clone()),
            Box::new(socket_buffer_full.clone()),
            Box::new(emit_deferred.clone()),
            Box::new(http_requests.clone()),
            Box::new(http_latency.clone()),
            Box::new(connections.clone()),
            Box::new(actors.clone()),
            Box::new(persist_batch_rows.clone()),
            Box::new(persist_commit_seconds.clone()),
            Box::new(persist_pending.clone()),
            Box::new(persist_failures.clone()),
            Box::new(live_battles.clone()),
            Box::new(tick_lateness.clone()),
            Box::new(queue_size.clone()),
        ] {
            registry.register(c).expect("register");
        }
        Self {
            registry,
            http_requests,
            http_latency,
            connections,
            actors,
            persist_batch_rows,
            persist_commit_seconds,
            persist_pending,
            persist_failures,
            live_battles,
            tick_lateness,
            queue_size,
            node_info,
            leases_held,
            leases_lost,
            lease_takeovers,
            redis_rtt,
            forwarded,
            adapter_errors,
            socket_buffer_full,
            emit_deferred,
            ratelimit_fallback,
            cache_requests,
        }
    }

    /// Prometheus text exposition.
    pub(crate) fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// The `method` label of a request: one of the standard methods, else `OTHER`, so a client
/// cannot mint a new series by inventing a method name.
pub(crate) fn method_label(m: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

/// The `route` label for a request that matched no route pattern.
pub(crate) const UNMATCHED_ROUTE: &str = "unmatched";

/// The process-wide metrics.
pub(crate) static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
