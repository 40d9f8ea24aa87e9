//! The writer's own metrics, named as Prometheus names those of its remote write queues
//! (`prometheus_remote_storage_*`, labelled `remote_name` and `url`), so that their dashboards
//! and alerts apply.

use crate::encoding::{Encoder, Labels, Value};
use crate::labels::LabelSetEncoder;
use crate::metrics::{Counter, Gauge, Histogram, MetricKind, Series};
use crate::registry::{Collect, FamilyDescription};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

const PREFIX: &str = "prometheus_remote_storage_";

/// Why samples were dropped without being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DropReason {
    /// The queue was full: the oldest batch made room for a newer one.
    QueueFull,
    /// A batch waited longer than its endpoint's maximum age.
    TooOld,
    /// The writer shut down before the batch could be sent.
    Shutdown,
}

impl DropReason {
    const ALL: [DropReason; 3] = [
        DropReason::QueueFull,
        DropReason::TooOld,
        DropReason::Shutdown,
    ];

    const fn label(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::TooOld => "too_old",
            DropReason::Shutdown => "shutdown",
        }
    }
}

const SEND_DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// What happened to the samples of one endpoint.
#[derive(Debug)]
pub(crate) struct EndpointStats {
    /// `remote_name="...",url="..."`, escaped.
    labels: String,
    pub(crate) samples_sent: Counter,
    pub(crate) samples_failed: Counter,
    pub(crate) samples_retried: Counter,
    samples_dropped: [Counter; 3],
    pub(crate) samples_pending: Gauge<u64>,
    pub(crate) bytes_pending: Gauge<u64>,
    pub(crate) bytes_sent: Counter,
    pub(crate) highest_sent_timestamp_seconds: Gauge<f64>,
    pub(crate) send_duration: Histogram,
}

impl EndpointStats {
    pub(crate) fn new(remote_name: &str, url: &str) -> Self {
        let mut labels = String::new();
        let mut encoder = LabelSetEncoder::new(&mut labels);
        encoder.label("remote_name", &remote_name.to_owned());
        encoder.label("url", &url.to_owned());
        EndpointStats {
            labels,
            samples_sent: Counter::default(),
            samples_failed: Counter::default(),
            samples_retried: Counter::default(),
            samples_dropped: Default::default(),
            samples_pending: Gauge::default(),
            bytes_pending: Gauge::default(),
            bytes_sent: Counter::default(),
            highest_sent_timestamp_seconds: Gauge::default(),
            send_duration: Histogram::with_valid_buckets(SEND_DURATION_BUCKETS),
        }
    }

    pub(crate) fn dropped(&self, reason: DropReason, samples: usize) {
        self.samples_dropped[reason as usize].inc_by(samples as u64);
    }

    /// Samples dropped for `reason` so far.
    pub(crate) fn dropped_count(&self, reason: DropReason) -> u64 {
        self.samples_dropped[reason as usize].get()
    }

    pub(crate) fn observe_send(&self, took: Duration) {
        self.send_duration.observe(took.as_secs_f64());
    }
}

/// The families of every endpoint of one writer, registered in the registry it sends.
#[derive(Debug)]
pub(crate) struct WriterStats {
    pub(crate) endpoints: Vec<Arc<EndpointStats>>,
}

struct FamilyDef {
    name: &'static str,
    kind: MetricKind,
    help: &'static str,
    unit: Option<&'static str>,
}

const FAMILIES: [FamilyDef; 9] = [
    FamilyDef {
        name: "prometheus_remote_storage_samples",
        kind: MetricKind::Counter,
        help: "Samples sent to the remote storage and accepted by it.",
        unit: None,
    },
    FamilyDef {
        name: "prometheus_remote_storage_samples_failed",
        kind: MetricKind::Counter,
        help: "Samples the remote storage refused with a status that is not retried (4xx other than 429).",
        unit: None,
    },
    FamilyDef {
        name: "prometheus_remote_storage_samples_retried",
        kind: MetricKind::Counter,
        help: "Samples whose send failed in a way that is retried (5xx, 429, timeout, connection), counted at each retry.",
        unit: None,
    },
    FamilyDef {
        name: "prometheus_remote_storage_samples_dropped",
        kind: MetricKind::Counter,
        help: "Samples dropped without being sent, by reason: queue_full (the oldest batch made room), too_old (older than the maximum age), shutdown (not flushed within the deadline).",
        unit: None,
    },
    FamilyDef {
        name: "prometheus_remote_storage_samples_pending",
        kind: MetricKind::Gauge,
        help: "Samples waiting in the queue or being sent.",
        unit: None,
    },
    FamilyDef {
        name: "prometheus_remote_storage_pending_bytes",
        kind: MetricKind::Gauge,
        help: "Compressed bytes waiting in the queue.",
        unit: Some("bytes"),
    },
    FamilyDef {
        name: "prometheus_remote_storage_bytes",
        kind: MetricKind::Counter,
        help: "Compressed bytes of requests the remote storage accepted.",
        unit: Some("bytes"),
    },
    FamilyDef {
        name: "prometheus_remote_storage_queue_highest_sent_timestamp_seconds",
        kind: MetricKind::Gauge,
        help: "Timestamp of the newest sample the remote storage accepted, in seconds since the epoch.",
        unit: Some("seconds"),
    },
    FamilyDef {
        name: "prometheus_remote_storage_sent_batch_duration_seconds",
        kind: MetricKind::Histogram,
        help: "Duration of each send of a batch, answered or not.",
        unit: Some("seconds"),
    },
];

impl Collect for WriterStats {
    fn describe(&self) -> Vec<FamilyDescription> {
        debug_assert!(FAMILIES.iter().all(|f| f.name.starts_with(PREFIX)));
        FAMILIES
            .iter()
            .map(|family| FamilyDescription {
                name: Cow::Borrowed(family.name),
                kind: family.kind,
                help: Cow::Borrowed(family.help),
            })
            .collect()
    }

    fn encode(&self, encoder: &mut Encoder<'_>) {
        for (index, def) in FAMILIES.iter().enumerate() {
            let mut family = encoder.family_parts(def.name, def.help, def.unit, def.kind, "");
            for stats in &self.endpoints {
                let labels = stats.labels.as_str();
                match index {
                    0 => stats.samples_sent.encode(&mut family, labels),
                    1 => stats.samples_failed.encode(&mut family, labels),
                    2 => stats.samples_retried.encode(&mut family, labels),
                    3 => {
                        for reason in DropReason::ALL {
                            let count = stats.dropped_count(reason);
                            family.counter(
                                Labels::from(labels).with("reason", reason.label()),
                                Value::U64(count),
                                None,
                                None,
                            );
                        }
                    }
                    4 => stats.samples_pending.encode(&mut family, labels),
                    5 => stats.bytes_pending.encode(&mut family, labels),
                    6 => stats.bytes_sent.encode(&mut family, labels),
                    7 => stats
                        .highest_sent_timestamp_seconds
                        .encode(&mut family, labels),
                    _ => stats.send_duration.encode(&mut family, labels),
                }
            }
        }
    }
}
