//! The turn clock: time counts only while running.

use serde::{Deserialize, Serialize};

/// Turn clock state. `used_ms` accumulates running time up to `running_since`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    /// Running time before `running_since`.
    pub(crate) used_ms: i64,
    /// When the clock last started running; `None` while paused.
    pub(crate) running_since: Option<i64>,
    /// When the current turn started.
    pub(crate) turn_started_at: i64,
    /// A `turn_timeout` was already emitted this turn.
    pub(crate) timeout_emitted: bool,
    /// `used` at the last phase boundary, so time per phase can be recorded.
    #[serde(default)]
    pub(crate) phase_mark_ms: i64,
}

impl Clock {
    /// A running clock for a new turn.
    pub fn started(now_ms: i64) -> Self {
        Self {
            used_ms: 0,
            running_since: Some(now_ms),
            turn_started_at: now_ms,
            timeout_emitted: false,
            phase_mark_ms: 0,
        }
    }

    /// A new turn's clock, paused if `prev` was paused.
    pub(crate) fn started_like(prev: &Clock, now_ms: i64) -> Self {
        let mut c = Self::started(now_ms);
        if prev.is_paused() {
            c.running_since = None;
        }
        c
    }

    /// Paused?
    pub(crate) fn is_paused(&self) -> bool {
        self.running_since.is_none()
    }

    /// Running time so far.
    pub fn used(&self, now_ms: i64) -> i64 {
        // Saturating: a corrupt or far-future timestamp must not panic the actor.
        self.used_ms.saturating_add(
            self.running_since
                .map_or(0, |s| now_ms.saturating_sub(s).max(0)),
        )
    }

    /// Milliseconds left of `limit_ms`, never negative.
    pub(crate) fn remaining_ms(&self, limit_ms: i64, now_ms: i64) -> i64 {
        limit_ms.saturating_sub(self.used(now_ms)).max(0)
    }

    /// Stops counting.
    pub fn pause(&mut self, now_ms: i64) {
        if let Some(s) = self.running_since.take() {
            self.used_ms = self.used_ms.saturating_add(now_ms.saturating_sub(s).max(0));
        }
    }

    /// Starts counting again.
    pub fn resume(&mut self, now_ms: i64) {
        if self.running_since.is_none() {
            self.running_since = Some(now_ms);
        }
    }
}

impl Clock {
    /// Running time since the last phase boundary; moves the boundary to now.
    pub(crate) fn take_phase_time(&mut self, now_ms: i64) -> i64 {
        let used = self.used(now_ms);
        let spent = used.saturating_sub(self.phase_mark_ms).max(0);
        self.phase_mark_ms = used;
        spent
    }
}
