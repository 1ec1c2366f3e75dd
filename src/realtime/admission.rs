//! Who may open a Socket.IO socket: per-user and per-IP caps on live sockets, and a per-IP
//! rate of new engine.io handshakes.
//!
//! Together with socketioxide's connect timeout (a session that never completes a `CONNECT`
//! is closed), the handshake rate bounds how many unauthenticated sessions one address can
//! hold: at most the burst plus the rate times the timeout.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use dashmap::{mapref::entry::Entry, DashMap};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use uuid::Uuid;

use crate::cluster::{
    slots::{SharedSlot, SharedSlots},
    Cluster,
};
use crate::config::RateLimits;

/// The client address of an engine.io request, put in the request's extensions by the
/// polling hand-off and the upgrade hook so that the handshake middleware can read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientIp(pub(crate) IpAddr);

/// Counts of live connections per key, at most `max` each; keys at zero are dropped.
struct Slots<K: Hash + Eq + Clone> {
    map: Arc<DashMap<K, u32>>,
    max: u32,
}

/// One held connection of a key; released on drop.
struct Slot<K: Hash + Eq + Clone> {
    map: Arc<DashMap<K, u32>>,
    key: K,
}

impl<K: Hash + Eq + Clone> Slots<K> {
    fn new(max: u32) -> Self {
        Self {
            map: Arc::new(DashMap::new()),
            max,
        }
    }

    fn acquire(&self, key: K) -> Option<Slot<K>> {
        let mut n = self.map.entry(key.clone()).or_insert(0);
        if *n >= self.max {
            let zero = *n == 0;
            drop(n);
            if zero {
                self.map.remove_if(&key, |_, n| *n == 0);
            }
            return None;
        }
        *n += 1;
        drop(n);
        Some(Slot {
            map: self.map.clone(),
            key,
        })
    }
}

impl<K: Hash + Eq + Clone> Drop for Slot<K> {
    fn drop(&mut self) {
        if let Entry::Occupied(mut e) = self.map.entry(self.key.clone()) {
            *e.get_mut() = e.get().saturating_sub(1);
            if *e.get() == 0 {
                e.remove();
            }
        }
    }
}

/// Why a socket was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    /// The user already holds their share of sockets.
    #[error("too many Socket.IO connections for this user")]
    PerUser,
    /// The address already holds its share of sockets.
    #[error("too many Socket.IO connections from this address")]
    PerIp,
}

/// A socket's held slots (this node's, and its cluster-wide one in multi-node mode);
/// dropping it frees them. Kept in the socket's extensions.
#[derive(Clone)]
pub struct Admitted(#[allow(dead_code)] Arc<Held>);

struct Held {
    _user: Slot<Uuid>,
    _ip: Option<Slot<IpAddr>>,
    _cluster: Option<SharedSlot>,
}

/// Admission control of the Socket.IO endpoint.
pub struct Admission {
    per_ip_limits: bool,
    users: Slots<Uuid>,
    ips: Slots<IpAddr>,
    handshakes: DefaultKeyedRateLimiter<IpAddr>,
    /// Multi-node: the per-user cap counted over every node's sockets.
    cluster_users: Option<SharedSlots>,
}

impl Admission {
    /// From the rate-limit settings. The per-user cap always applies; the per-IP ones only
    /// while rate limits are on (load tests run many sockets from one address).
    pub fn new(c: &RateLimits) -> Arc<Self> {
        Arc::new(Self::local(c))
    }

    fn local(c: &RateLimits) -> Self {
        let rate = NonZeroU32::new(c.sio_handshakes_per_ip_per_min).unwrap_or(NonZeroU32::MIN);
        Self {
            per_ip_limits: c.enabled,
            users: Slots::new(c.sio_per_user),
            ips: Slots::new(c.sio_per_ip),
            handshakes: RateLimiter::keyed(Quota::per_minute(rate)),
            cluster_users: None,
        }
    }

    /// [`Admission::new`] for a node of a cluster: a user's sockets on every node count
    /// towards `WARROOM_SIO_PER_USER` (see `cluster::slots` for how a dead node's slots are
    /// forgotten).
    pub fn clustered(c: &RateLimits, cluster: &Cluster) -> Arc<Self> {
        let mut a = Self::local(c);
        a.cluster_users = Some(SharedSlots::start(cluster, "sio", c.sio_per_user));
        Arc::new(a)
    }

    /// Counts one new engine.io handshake from `ip`; false when the address is over its rate.
    pub fn handshake(&self, ip: Option<IpAddr>) -> bool {
        match ip {
            Some(ip) if self.per_ip_limits => self.handshakes.check_key(&ip).is_ok(),
            _ => true,
        }
    }

    /// Takes a slot for a new socket of `user` from `ip`, or says which cap it hit.
    pub(crate) async fn admit(&self, user: Uuid, ip: Option<IpAddr>) -> Result<Admitted, Refusal> {
        let ip_slot = match ip {
            Some(ip) if self.per_ip_limits => Some(self.ips.acquire(ip).ok_or(Refusal::PerIp)?),
            _ => None,
        };
        let user_slot = self.users.acquire(user).ok_or(Refusal::PerUser)?;
        let cluster_slot = match &self.cluster_users {
            None => None,
            Some(shared) => match shared.acquire(user).await {
                Ok(Some(slot)) => Some(slot),
                Ok(None) => return Err(Refusal::PerUser),
                // Redis unreachable: admit on this node's count alone rather than refuse
                // every socket while it reconnects.
                Err(e) => {
                    crate::metrics::METRICS.adapter_errors.inc();
                    tracing::warn!(error = %e, "cluster socket count unavailable");
                    None
                }
            },
        };
        Ok(Admitted(Arc::new(Held {
            _user: user_slot,
            _ip: ip_slot,
            _cluster: cluster_slot,
        })))
    }

    /// Forgets idle handshake counters so memory stays bounded.
    pub(crate) fn sweep(&self) {
        self.handshakes.retain_recent();
        self.handshakes.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slots_cap_and_release() {
        let c = RateLimits {
            sio_per_user: 2,
            sio_per_ip: 3,
            ..RateLimits::default()
        };
        let a = Admission::new(&c);
        let (u, v) = (Uuid::new_v4(), Uuid::new_v4());
        let ip = Some(IpAddr::from([10, 0, 0, 1]));
        let s1 = a.admit(u, ip).await.unwrap();
        let _s2 = a.admit(u, ip).await.unwrap();
        assert_eq!(a.admit(u, ip).await.err(), Some(Refusal::PerUser));
        let _s3 = a.admit(v, ip).await.unwrap();
        assert_eq!(a.admit(v, ip).await.err(), Some(Refusal::PerIp));
        drop(s1);
        assert!(a.admit(u, ip).await.is_ok());
        assert!(a.users.map.len() <= 2 && a.ips.map.len() == 1);
    }
}
