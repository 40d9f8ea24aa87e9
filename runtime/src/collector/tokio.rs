//! `tokio_*` metrics of one tokio runtime.

use super::{DefaultCollector, gauge};
use crate::encoding::{Encoder, Value};
use crate::metrics::Descriptor;
use crate::registry::{Collect, FamilyDescription};
use tokio::runtime::Handle;

const WORKERS: Descriptor = gauge(
    "tokio_workers",
    "Number of worker threads of the tokio runtime.",
);
const ALIVE_TASKS: Descriptor = gauge(
    "tokio_alive_tasks",
    "Number of tasks alive in the tokio runtime.",
);
const GLOBAL_QUEUE: Descriptor = gauge(
    "tokio_global_queue_depth",
    "Number of tasks waiting in the tokio runtime's global queue.",
);

/// Worker count, alive tasks and global queue depth of a tokio runtime.
///
/// The server registers one for the runtime it was started from; register your own with
/// `registry().register(TokioCollector::new(Handle::current()))`.
#[derive(Debug)]
pub struct TokioCollector {
    handle: Handle,
}

impl TokioCollector {
    /// A collector for the runtime behind `handle`.
    pub fn new(handle: Handle) -> Self {
        TokioCollector { handle }
    }
}

impl Collect for TokioCollector {
    fn describe(&self) -> Vec<FamilyDescription> {
        [WORKERS, ALIVE_TASKS, GLOBAL_QUEUE]
            .iter()
            .map(FamilyDescription::from)
            .collect()
    }

    fn is_enabled(&self) -> bool {
        DefaultCollector::Tokio.is_enabled()
    }

    fn encode(&self, encoder: &mut Encoder<'_>) {
        if !DefaultCollector::Tokio.is_enabled() {
            return;
        }
        let metrics = self.handle.metrics();
        for (desc, value) in [
            (&WORKERS, metrics.num_workers()),
            (&ALIVE_TASKS, metrics.num_alive_tasks()),
            (&GLOBAL_QUEUE, metrics.global_queue_depth()),
        ] {
            encoder.family(desc, "").gauge("", Value::U64(value as u64));
        }
    }
}
