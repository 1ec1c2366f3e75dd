//! Tracing setup: `WARROOM_LOG` filter, `WARROOM_LOG_FORMAT=json` for machines.

use tracing_subscriber::{fmt, EnvFilter};

/// Installs the global subscriber (idempotent: a second call is ignored).
pub fn init(filter: &str, format: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_target(false);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
