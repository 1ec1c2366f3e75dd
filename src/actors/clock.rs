//! Where actors read "now". Production reads the wall clock; a test can anchor the time to
//! tokio's clock, so that `tokio::time::pause()`/`advance()` move both the actors' timers
//! (actix schedules them on tokio) and the instants those timers read, in lock step.

use tokio::time::Instant;

/// A source of unix-ms timestamps.
#[derive(Debug, Clone, Copy, Default)]
pub enum TimeSource {
    /// The system's wall clock.
    #[default]
    System,
    /// `base_ms` at `base`, then advancing with tokio's (pausable) clock.
    Tokio {
        /// Unix ms at `base`.
        base_ms: i64,
        /// The tokio instant that reads as `base_ms`.
        base: Instant,
    },
}

impl TimeSource {
    /// Tokio's clock, reading `base_ms` now.
    pub fn tokio_anchored(base_ms: i64) -> Self {
        Self::Tokio {
            base_ms,
            base: Instant::now(),
        }
    }

    /// Now, in unix ms.
    pub(crate) fn now_ms(&self) -> i64 {
        match self {
            Self::System => crate::store::now_ms(),
            Self::Tokio { base_ms, base } => {
                let elapsed = i64::try_from(base.elapsed().as_millis()).unwrap_or(i64::MAX);
                base_ms.saturating_add(elapsed)
            }
        }
    }
}
