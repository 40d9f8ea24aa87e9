//! Default collectors: build information, process metrics and tokio runtime metrics.

mod build_info;
#[cfg(all(feature = "process", target_os = "linux"))]
mod process;
#[cfg(feature = "tokio")]
mod tokio;

pub use build_info::{BuildInfo, BuildInfoSource};
#[cfg(all(feature = "process", target_os = "linux"))]
pub use process::ProcessCollector;
#[cfg(feature = "tokio")]
pub use tokio::TokioCollector;

use std::sync::atomic::{AtomicU8, Ordering};

/// The descriptor of a gauge without unit.
#[cfg(any(all(feature = "process", target_os = "linux"), feature = "tokio"))]
const fn gauge(name: &'static str, help: &'static str) -> crate::metrics::Descriptor {
    crate::metrics::Descriptor {
        name,
        help,
        unit: None,
        kind: crate::metrics::MetricKind::Gauge,
    }
}

/// A collector the process-wide registry includes by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DefaultCollector {
    /// `<name>_build_info`.
    BuildInfo,
    /// `process_*` (Linux, feature `process`).
    Process,
    /// `tokio_*` (feature `tokio`, registered by the server).
    Tokio,
}

static DISABLED: AtomicU8 = AtomicU8::new(0);

impl DefaultCollector {
    const fn bit(self) -> u8 {
        match self {
            DefaultCollector::BuildInfo => 1,
            DefaultCollector::Process => 2,
            DefaultCollector::Tokio => 4,
        }
    }

    /// Stops serving this collector's families (takes effect at the next scrape) and lists them
    /// no more on the landing page. Their names stay taken, so [`enable`](Self::enable) cannot
    /// clash with a family registered meanwhile.
    ///
    /// ```
    /// use promexport::{DefaultCollector, Format};
    /// DefaultCollector::Process.disable();
    /// assert!(!promexport::render(Format::Text).contains("process_cpu_seconds_total"));
    /// ```
    pub fn disable(self) {
        DISABLED.fetch_or(self.bit(), Ordering::Relaxed);
    }

    /// Serves this collector's families again.
    pub fn enable(self) {
        DISABLED.fetch_and(!self.bit(), Ordering::Relaxed);
    }

    /// Whether the collector is served.
    pub fn is_enabled(self) -> bool {
        DISABLED.load(Ordering::Relaxed) & self.bit() == 0
    }
}
