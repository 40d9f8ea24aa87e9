//! Collectors, in one tree: the user's [`Collector`](crate::Collector) of a target
//! (`target`), the named collectors of the exporter toolkit (`named`, feature `exporter`), and
//! the collectors the process-wide registry serves by default (`defaults`).

mod defaults;
#[cfg(feature = "exporter")]
pub(crate) mod named;
#[cfg(feature = "serve")]
mod target;

#[cfg(all(feature = "process", target_os = "linux"))]
pub use defaults::ProcessCollector;
#[cfg(feature = "tokio")]
pub use defaults::TokioCollector;
pub use defaults::{BuildInfo, BuildInfoSource, DefaultCollector};
#[cfg(feature = "serve")]
pub use target::Collector;
#[cfg(feature = "serve")]
pub(crate) use target::{Refresh, collect_for_scrape, collection_timeout, own_collections};
