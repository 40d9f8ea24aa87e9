//! Sending one endpoint's batches, oldest first, one at a time: a batch is retried with capped
//! exponential backoff and jitter (or after the `Retry-After` the receiver asked for) while the
//! receiver answers 5xx or 429 or cannot be reached, and given up when it answers another 4xx
//! or grows older than the endpoint's maximum age.

use super::endpoint::Endpoint;
use super::queue::{Batch, Queue};
use super::stats::{DropReason, EndpointStats};
use crate::http_client::{Answer, Failure};
use http_body_util::Full;
use hyper::{Method, Request, StatusCode, header};
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The User-Agent of every request.
const USER_AGENT: &str = concat!("promexport/", env!("CARGO_PKG_VERSION"));

/// One endpoint's settings, queue and metrics, shared by the collections that fill the queue
/// and the sender that empties it.
#[derive(Debug)]
pub(crate) struct Delivery {
    pub(crate) endpoint: Endpoint,
    pub(crate) queue: Queue,
    pub(crate) stats: Arc<EndpointStats>,
}

/// What an attempt to send a batch came to.
#[derive(Debug, PartialEq)]
enum Outcome {
    Sent,
    /// Refused for good (a 4xx other than 429).
    Refused(StatusCode),
    /// To be tried again, after at least this long if the receiver said so.
    Retry(Option<Duration>),
}

impl Delivery {
    pub(crate) fn new(endpoint: Endpoint) -> Self {
        let stats = Arc::new(EndpointStats::new(&endpoint.remote_name, &endpoint.url));
        Delivery {
            queue: Queue::new(endpoint.queue_capacity_bytes),
            stats,
            endpoint,
        }
    }

    /// Queues `batch`, counting what had to be dropped for it.
    pub(crate) fn enqueue(&self, batch: Batch) {
        let dropped = self.queue.push(batch);
        self.stats.dropped(DropReason::QueueFull, dropped.samples);
        self.update_pending();
    }

    pub(crate) fn update_pending(&self) {
        let (samples, bytes) = self.queue.pending();
        self.stats.samples_pending.set(samples as u64);
        self.stats.bytes_pending.set(bytes as u64);
    }

    /// Sends batches until the queue is closed and empty.
    pub(crate) async fn run(self: Arc<Self>) {
        while let Some(batch) = self.queue.next().await {
            self.update_pending();
            self.deliver(&batch).await;
            self.queue.done();
            self.update_pending();
        }
    }

    async fn deliver(&self, batch: &Batch) {
        let endpoint = &self.endpoint;
        let mut backoff = endpoint.min_backoff;
        loop {
            let age = batch.created.elapsed();
            if age > endpoint.max_batch_age {
                self.stats.dropped(DropReason::TooOld, batch.samples);
                return;
            }
            let request = match self.request(batch) {
                Ok(request) => request,
                Err(error) => {
                    tracing::error!(url = %endpoint.url, %error, "remote write request not built; batch dropped");
                    self.stats.samples_failed.inc_by(batch.samples as u64);
                    return;
                }
            };
            let started = Instant::now();
            let answer = endpoint.target.send(request, endpoint.timeout).await;
            self.stats.observe_send(started.elapsed());
            match outcome(&answer) {
                Outcome::Sent => {
                    let stats = &self.stats;
                    stats.samples_sent.inc_by(batch.samples as u64);
                    stats.bytes_sent.inc_by(batch.body.len() as u64);
                    let newest = batch.highest_timestamp_ms as f64 / 1000.0;
                    if newest > stats.highest_sent_timestamp_seconds.get() {
                        stats.highest_sent_timestamp_seconds.set(newest);
                    }
                    return;
                }
                Outcome::Refused(status) => {
                    let body = answer.as_ref().map(|a| a.body.as_ref()).unwrap_or_default();
                    tracing::warn!(
                        url = %endpoint.url,
                        %status,
                        samples = batch.samples,
                        "remote write refused a batch; dropped: {}",
                        String::from_utf8_lossy(body).trim()
                    );
                    self.stats.samples_failed.inc_by(batch.samples as u64);
                    return;
                }
                Outcome::Retry(asked) => {
                    match &answer {
                        Ok(answer) => {
                            tracing::warn!(url = %endpoint.url, status = %answer.status, "remote write failed; retrying")
                        }
                        Err(Failure::Timeout) => {
                            tracing::warn!(url = %endpoint.url, timeout = ?endpoint.timeout, "remote write timed out; retrying")
                        }
                        Err(Failure::Transport(error)) => {
                            tracing::warn!(url = %endpoint.url, %error, "remote write failed; retrying")
                        }
                    }
                    self.stats.samples_retried.inc_by(batch.samples as u64);
                    let left = endpoint
                        .max_batch_age
                        .saturating_sub(batch.created.elapsed());
                    let wait = asked.unwrap_or_else(|| jittered(backoff));
                    // Waiting past the batch's age would only end in dropping it.
                    tokio::time::sleep(wait.min(left + Duration::from_millis(1))).await;
                    backoff = (backoff * 2).min(endpoint.max_backoff);
                }
            }
        }
    }

    /// The request of `batch`; its headers were checked when the endpoint was built, so it
    /// fails only on a bug.
    fn request(
        &self,
        batch: &Batch,
    ) -> Result<Request<Full<hyper::body::Bytes>>, hyper::http::Error> {
        let endpoint = &self.endpoint;
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(&endpoint.target.path)
            .header(header::HOST, &endpoint.target.host)
            .header(header::CONTENT_ENCODING, "snappy")
            .header(header::CONTENT_TYPE, endpoint.protocol.content_type())
            .header(
                "X-Prometheus-Remote-Write-Version",
                endpoint.protocol.version(),
            )
            .header(header::USER_AGENT, USER_AGENT);
        if let Some(authorization) = &endpoint.authorization {
            request = request.header(header::AUTHORIZATION, authorization);
        }
        request.body(Full::new(batch.body.clone()))
    }
}

fn outcome(answer: &Result<Answer, Failure>) -> Outcome {
    let answer = match answer {
        Ok(answer) => answer,
        Err(Failure::Timeout | Failure::Transport(_)) => return Outcome::Retry(None),
    };
    let status = answer.status;
    if status.is_success() {
        Outcome::Sent
    } else if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        Outcome::Retry(retry_after(answer))
    } else {
        Outcome::Refused(status)
    }
}

/// The delay of a `Retry-After` header in seconds (its HTTP-date form is not read: the
/// backoff applies then).
fn retry_after(answer: &Answer) -> Option<Duration> {
    let value = answer.headers.get(header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Between half of `backoff` and all of it, at random, so that writers that failed together do
/// not all retry together.
fn jittered(backoff: Duration) -> Duration {
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let fraction = 0.5 + (random >> 11) as f64 / (1_u64 << 53) as f64 / 2.0;
    backoff.mul_f64(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, retry_after: Option<&str>) -> Result<Answer, Failure> {
        let mut headers = hyper::HeaderMap::new();
        if let Some(value) = retry_after {
            headers.insert(header::RETRY_AFTER, value.parse().unwrap());
        }
        Ok(Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            body: Default::default(),
        })
    }

    #[test]
    fn server_errors_429_and_transport_failures_are_retried_other_4xx_are_not() {
        assert_eq!(outcome(&answer(204, None)), Outcome::Sent);
        assert_eq!(outcome(&answer(200, None)), Outcome::Sent);
        assert_eq!(outcome(&answer(500, None)), Outcome::Retry(None));
        assert_eq!(outcome(&answer(503, Some("abc"))), Outcome::Retry(None));
        assert_eq!(
            outcome(&answer(429, Some(" 7 "))),
            Outcome::Retry(Some(Duration::from_secs(7)))
        );
        assert_eq!(
            outcome(&answer(400, Some("7"))),
            Outcome::Refused(StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            outcome(&answer(404, None)),
            Outcome::Refused(StatusCode::NOT_FOUND)
        );
        assert_eq!(outcome(&Err(Failure::Timeout)), Outcome::Retry(None));
    }

    #[test]
    fn jitter_stays_between_half_and_all_of_the_backoff() {
        let backoff = Duration::from_millis(1000);
        let waits: Vec<Duration> = (0..200).map(|_| jittered(backoff)).collect();
        assert!(waits.iter().all(|w| *w >= backoff / 2 && *w <= backoff));
        assert!(waits.iter().any(|w| *w != waits[0]), "random");
    }
}
