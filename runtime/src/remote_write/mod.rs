//! Remote write: sending a registry every interval to stores that take the Prometheus remote
//! write protocol (Prometheus with `--web.enable-remote-write-receiver`, VictoriaMetrics,
//! Grafana Mimir, Thanos Receive, Cortex), for processes nobody can scrape.
//!
//! Each collection turns every sample of the registry into a series (labels sorted, `__name__`
//! among them, the writer's external labels added; histograms as their `_bucket`, `_sum` and
//! `_count` series) stamped with the time of the collection. Each endpoint gets the
//! collection in requests of at most [`Endpoint::max_series_per_request`] series, queued
//! within [`Endpoint::queue_capacity_bytes`] and retried on 5xx, 429 and connection failures.
//! The writer's own metrics (`prometheus_remote_storage_*`, as Prometheus names those of its
//! queues) are registered in the registry it sends.
//!
//! ```no_run
//! use promexport::remote_write::{Endpoint, RemoteWriter};
//! use promexport::{Counter, Metrics};
//! use std::time::Duration;
//!
//! #[derive(Metrics)]
//! #[metrics(prefix = "edge")]
//! struct EdgeMetrics {
//!     /// Frames processed.
//!     frames: Counter,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), promexport::Error> {
//! let writer = RemoteWriter::new()                  // the process-wide registry
//!     .interval(Duration::from_secs(15))
//!     .external_label("instance", "edge-17")
//!     .endpoint(Endpoint::new("http://mimir:8080/api/v1/push")?.bearer_token("s3cret"))
//!     .start()?;
//! EdgeMetrics::global().frames.inc();
//! // ... until the process is told to stop: one last collection, then a flush of at most 5 s.
//! writer.shutdown(Duration::from_secs(5)).await
//! # }
//! ```

mod delivery;
mod encode;
mod endpoint;
mod queue;
mod series;
mod stats;

pub use encode::Protocol;
pub use endpoint::Endpoint;

use crate::{Error, Registry};
use delivery::Delivery;
use queue::Batch;
use series::Collection;
use stats::{DropReason, WriterStats};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The body of one remote write request with every series of `registry` at `timestamp_ms`
/// (and `external_labels`), snappy-compressed, as a [`RemoteWriter`] sends it: for a transport
/// of your own (a serverless function's last act, a message queue). Scrape-time
/// [`Collector`](crate::Collector)s are not run: call [`Registry::collect`] first for them.
///
/// ```
/// use promexport::remote_write::{Protocol, encode_request};
/// use promexport::{Counter, Metrics, Registry};
///
/// #[derive(Metrics)]
/// #[metrics(prefix = "fn", no_global)]
/// struct Invocation {
///     /// Records processed.
///     records: Counter,
/// }
///
/// let registry = Registry::new();
/// let metrics = std::sync::Arc::new(Invocation::new());
/// registry.register(metrics.clone())?;
/// metrics.records.inc_by(3);
/// let body = encode_request(&registry, Protocol::V1, 1_700_000_000_000, &[("instance", "fn-1")])?;
/// assert!(!body.is_empty());
/// # Ok::<(), promexport::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Config`] when an external label name is not a label name.
pub fn encode_request(
    registry: &Registry,
    protocol: Protocol,
    timestamp_ms: i64,
    external_labels: &[(&str, &str)],
) -> Result<Vec<u8>, Error> {
    let mut labels = Vec::with_capacity(external_labels.len());
    for (name, value) in external_labels {
        if let Some(problem) = crate::naming::label_name_problem(name) {
            return Err(Error::Config(format!("external label: {problem}")));
        }
        labels.push(((*name).to_owned(), (*value).to_owned()));
    }
    let collection = Collection::of_registry(registry, timestamp_ms, &labels);
    Ok(encode::compress(&encode::encode(
        protocol,
        &collection,
        &collection.series,
    )))
}

/// Sends a registry to remote write endpoints every interval; [`start`](Self::start) it.
#[derive(Debug, Clone)]
pub struct RemoteWriter {
    registry: Option<Registry>,
    interval: Duration,
    external_labels: Vec<(String, String)>,
    endpoints: Vec<Endpoint>,
    problem: Option<String>,
}

impl Default for RemoteWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl RemoteWriter {
    /// A writer of the process-wide [`registry()`](crate::registry) every 15 s, with no
    /// endpoint yet.
    pub fn new() -> Self {
        RemoteWriter {
            registry: None,
            interval: Duration::from_secs(15),
            external_labels: Vec::new(),
            endpoints: Vec::new(),
            problem: None,
        }
    }

    /// Sends `registry` instead of the process-wide one.
    pub fn registry(mut self, registry: &Registry) -> Self {
        self.registry = Some(registry.clone());
        self
    }

    /// How often the registry is collected and sent (default 15 s).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// A label added to every series sent (e.g. `instance`, `job`), unless the series has a
    /// label of that name itself. `name` must be a label name; otherwise `start` says so.
    pub fn external_label(mut self, name: &str, value: &str) -> Self {
        match crate::naming::label_name_problem(name) {
            Some(problem) => {
                self.problem
                    .get_or_insert_with(|| format!("external label: {problem}"));
            }
            None => {
                self.external_labels.retain(|(own, _)| own != name);
                self.external_labels
                    .push((name.to_owned(), value.to_owned()));
            }
        }
        self
    }

    /// Sends to `endpoint` too.
    pub fn endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoints.push(endpoint);
        self
    }

    /// Registers the writer's own metrics in its registry and starts sending, on the tokio
    /// runtime this is called from: a first collection at once, then one every interval.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a wrong setting (no endpoint, an external label name, an
    /// endpoint's limits) or outside a tokio runtime; [`Error::DuplicateMetric`] (or
    /// [`Error::Clashes`]) if the registry already has `prometheus_remote_storage_*` families
    /// (another writer of the same registry).
    pub fn start(self) -> Result<RemoteWriterHandle, Error> {
        if let Some(problem) = self.problem {
            return Err(Error::Config(problem));
        }
        if self.endpoints.is_empty() {
            return Err(Error::Config(
                "a remote writer needs an endpoint: `.endpoint(Endpoint::new(url)?)`".to_owned(),
            ));
        }
        if self.interval.is_zero() {
            return Err(Error::Config(
                "the remote write interval must be above zero".to_owned(),
            ));
        }
        for endpoint in &self.endpoints {
            endpoint.check()?;
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::Config("a remote writer starts inside a tokio runtime".to_owned())
        })?;
        let registry = self.registry.unwrap_or_else(|| crate::registry().clone());
        let deliveries: Vec<Arc<Delivery>> = self
            .endpoints
            .into_iter()
            .map(|endpoint| Arc::new(Delivery::new(endpoint)))
            .collect();
        registry.register(WriterStats {
            endpoints: deliveries.iter().map(|d| d.stats.clone()).collect(),
        })?;
        let shared = Arc::new(Shared {
            registry,
            external_labels: self.external_labels,
            deliveries,
        });
        let senders = shared
            .deliveries
            .iter()
            .map(|delivery| runtime.spawn(delivery.clone().run()))
            .collect();
        let (stop, stopped) = watch::channel(false);
        let collections = runtime.spawn(shared.clone().collect_every(self.interval, stopped));
        Ok(RemoteWriterHandle {
            shared,
            stop,
            collections: Some(collections),
            senders,
        })
    }
}

#[derive(Debug)]
struct Shared {
    registry: Registry,
    external_labels: Vec<(String, String)>,
    deliveries: Vec<Arc<Delivery>>,
}

impl Shared {
    async fn collect_every(
        self: Arc<Self>,
        interval: Duration,
        mut stopped: watch::Receiver<bool>,
    ) {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => self.collect_once().await,
                _ = stopped.changed() => break,
            }
        }
    }

    /// Collects the registry and queues it for every endpoint.
    async fn collect_once(&self) {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as i64);
        // Each collector serves what this collection waited for, as for a scrape.
        let collection = crate::collector::own_collections(async {
            self.registry.collect(None).await;
            Collection::of_registry(&self.registry, now_ms, &self.external_labels)
        })
        .await;
        for delivery in &self.deliveries {
            let endpoint = &delivery.endpoint;
            for series in collection.series.chunks(endpoint.max_series_per_request) {
                let body = encode::encode(endpoint.protocol, &collection, series);
                delivery.enqueue(Batch {
                    body: encode::compress(&body).into(),
                    samples: series.len(),
                    highest_timestamp_ms: now_ms,
                    created: Instant::now(),
                });
            }
        }
    }
}

/// A running [`RemoteWriter`]. Dropping it stops the writer at once, without sending what is
/// queued: call [`shutdown`](Self::shutdown) to flush.
#[derive(Debug)]
pub struct RemoteWriterHandle {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    collections: Option<JoinHandle<()>>,
    senders: Vec<JoinHandle<()>>,
}

impl RemoteWriterHandle {
    /// Collects and queues the registry now, besides the collections every interval (before
    /// a job ends a step, or in tests).
    pub async fn collect_now(&self) {
        self.shared.collect_once().await;
    }

    /// Samples queued or being sent, over all endpoints.
    pub fn pending_samples(&self) -> usize {
        self.shared
            .deliveries
            .iter()
            .map(|delivery| delivery.queue.pending().0)
            .sum()
    }

    /// Stops collecting, collects one last time, and sends everything queued within
    /// `deadline`.
    ///
    /// # Errors
    ///
    /// [`Error::RemoteWrite`] when the deadline passed first: it says how many samples were
    /// not sent (counted in `prometheus_remote_storage_samples_dropped_total{reason="shutdown"}`).
    pub async fn shutdown(mut self, deadline: Duration) -> Result<(), Error> {
        let _ = self.stop.send(true);
        if let Some(collections) = self.collections.take() {
            let _ = collections.await;
        }
        let flush = async {
            self.shared.collect_once().await;
            for delivery in &self.shared.deliveries {
                delivery.queue.close();
            }
            for sender in &mut self.senders {
                let _ = sender.await;
            }
        };
        if tokio::time::timeout(deadline, flush).await.is_ok() {
            return Ok(());
        }
        let mut unsent = 0;
        for (delivery, sender) in self.shared.deliveries.iter().zip(&self.senders) {
            sender.abort();
            let dropped = delivery.queue.abandon();
            delivery
                .stats
                .dropped(DropReason::Shutdown, dropped.samples);
            delivery.update_pending();
            unsent += dropped.samples;
        }
        Err(Error::RemoteWrite(format!(
            "{unsent} samples not sent within the shutdown deadline of {deadline:?}"
        )))
    }
}

impl Drop for RemoteWriterHandle {
    fn drop(&mut self) {
        if let Some(collections) = &self.collections {
            collections.abort();
        }
        for sender in &self.senders {
            sender.abort();
        }
    }
}
