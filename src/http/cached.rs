//! The read-through caches as handlers use them: a no-op on one node (or `WARROOM_CACHE=off`),
//! Redis in multi-node mode ([`crate::cluster::cache`]).

use serde_json::Value;
use uuid::Uuid;

use crate::cluster::cache::CacheKind;
use crate::http::AppState;

/// The cached view of `id`, or `load`'s (stored for the next reader). Errors are not cached.
pub(crate) async fn read<E>(
    state: &AppState,
    kind: CacheKind,
    id: Uuid,
    load: impl std::future::Future<Output = Result<Value, E>>,
) -> Result<Value, E> {
    match &state.cache {
        Some(c) => c.read_through(kind, &id.to_string(), load).await,
        None => load.await,
    }
}

/// Drops the cached views of `ids` on every node. Call after the write commits, before the
/// writer is answered.
pub(crate) async fn invalidate(state: &AppState, kind: CacheKind, ids: &[Uuid]) {
    if let Some(c) = &state.cache {
        for id in ids {
            c.invalidate(kind, &id.to_string()).await;
        }
    }
}
