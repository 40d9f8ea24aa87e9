//! One receiver of a writer: where it is, how to authenticate, which protocol it speaks, and
//! the limits of its queue and retries.

use super::encode::Protocol;
use crate::Error;
use crate::http_client::{Target, basic_authorization};
use hyper::header::HeaderValue;
use std::time::Duration;

/// A remote write receiver, e.g. `http://prometheus:9090/api/v1/write`.
///
/// Defaults: protocol 1.0, a 30 s timeout per request, at most 2,000 series per request, a
/// queue of 16 MiB of compressed requests, batches dropped after 15 minutes, and retries after
/// 30 ms doubling up to 5 s (Prometheus' own defaults where it has them).
///
/// ```
/// use promexport::remote_write::{Endpoint, Protocol};
/// use std::time::Duration;
///
/// let endpoint = Endpoint::new("http://127.0.0.1:9090/api/v1/write")?
///     .name("local")
///     .protocol(Protocol::V1)
///     .bearer_token("s3cret")
///     .max_series_per_request(500)
///     .queue_capacity_bytes(4 << 20)
///     .timeout(Duration::from_secs(10));
/// # Ok::<(), promexport::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub(crate) url: String,
    pub(crate) target: Target,
    pub(crate) remote_name: String,
    pub(crate) protocol: Protocol,
    pub(crate) authorization: Option<String>,
    pub(crate) timeout: Duration,
    pub(crate) max_series_per_request: usize,
    pub(crate) queue_capacity_bytes: usize,
    pub(crate) max_batch_age: Duration,
    pub(crate) min_backoff: Duration,
    pub(crate) max_backoff: Duration,
    /// The first setting that cannot work, reported when the writer starts.
    pub(crate) problem: Option<String>,
}

impl Endpoint {
    /// The receiver at `url`: `http://host:port/path`, or `https://` (feature `web-config`,
    /// with `ca_certificate`).
    pub fn new(url: &str) -> Result<Self, Error> {
        let target = Target::parse(url, "remote write receiver")?;
        let problem = HeaderValue::from_str(&target.host)
            .is_err()
            .then(|| format!("remote write URL {url:?}: the host is not a valid Host header"));
        Ok(Endpoint {
            remote_name: target.address.clone(),
            url: url.to_owned(),
            target,
            protocol: Protocol::V1,
            authorization: None,
            timeout: Duration::from_secs(30),
            max_series_per_request: 2000,
            queue_capacity_bytes: 16 << 20,
            max_batch_age: Duration::from_secs(15 * 60),
            min_backoff: Duration::from_millis(30),
            max_backoff: Duration::from_secs(5),
            problem,
        })
    }

    /// The `remote_name` label of the writer's own metrics for this endpoint (default: its
    /// `host:port`).
    pub fn name(mut self, name: &str) -> Self {
        name.clone_into(&mut self.remote_name);
        self
    }

    /// The protocol the receiver speaks (default [`Protocol::V1`]).
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Sends `user` and `password` with every request (HTTP basic auth). Use it with
    /// `https://`: over plain HTTP the password travels in clear.
    pub fn basic_auth(mut self, user: &str, password: &str) -> Self {
        self.set_authorization(basic_authorization(user, password));
        self
    }

    /// Sends `Authorization: Bearer <token>` with every request (Mimir, Grafana Cloud and most
    /// hosted stores).
    pub fn bearer_token(mut self, token: &str) -> Self {
        self.set_authorization(format!("Bearer {}", token.trim()));
        self
    }

    fn set_authorization(&mut self, value: String) {
        if HeaderValue::from_str(&value).is_err() {
            self.problem.get_or_insert_with(|| {
                format!("remote write {}: the credentials cannot be sent in a header (a control character?)", self.url)
            });
        }
        self.authorization = Some(value);
    }

    /// The CA certificates (PEM) an `https://` receiver's certificate must be signed by.
    #[cfg(feature = "web-config")]
    #[cfg_attr(docsrs, doc(cfg(feature = "web-config")))]
    pub fn ca_certificate(mut self, pem: &str) -> Result<Self, Error> {
        self.target.set_ca_certificate(pem)?;
        Ok(self)
    }

    /// How long one request may take, connection included (default 30 s); one that takes
    /// longer is retried.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The most series one request carries (default 2,000); a collection with more is sent
    /// in several requests.
    pub fn max_series_per_request(mut self, series: usize) -> Self {
        self.max_series_per_request = series;
        self
    }

    /// The most compressed bytes waiting for the receiver (default 16 MiB), besides the batch
    /// being sent. When a new batch does not fit, the oldest are dropped (and counted in
    /// `prometheus_remote_storage_samples_dropped_total{reason="queue_full"}`).
    pub fn queue_capacity_bytes(mut self, bytes: usize) -> Self {
        self.queue_capacity_bytes = bytes;
        self
    }

    /// How old a batch may grow while it waits or is retried (default 15 minutes) before it is
    /// dropped (`reason="too_old"`): receivers refuse samples far in the past anyway.
    pub fn max_batch_age(mut self, age: Duration) -> Self {
        self.max_batch_age = age;
        self
    }

    /// The wait before the first retry of a batch, doubled at each further one up to `max`
    /// (defaults 30 ms and 5 s); each wait is between half and all of it, at random. A
    /// `Retry-After` in seconds replaces it.
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.min_backoff = min;
        self.max_backoff = max;
        self
    }

    /// The first setting that cannot work.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if let Some(problem) = &self.problem {
            return Err(Error::Config(problem.clone()));
        }
        let invalid = |what: &str| Err(Error::Config(format!("remote write {}: {what}", self.url)));
        if self.max_series_per_request == 0 {
            return invalid("max_series_per_request must be at least 1");
        }
        if self.timeout.is_zero() {
            return invalid("the timeout must be above zero");
        }
        if self.min_backoff.is_zero() || self.min_backoff > self.max_backoff {
            return invalid("the backoff needs 0 < min <= max");
        }
        Ok(())
    }
}
