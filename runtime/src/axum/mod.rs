//! HTTP server metrics for axum services, labelled by the *matched route template*
//! (`/items/{id}`, never `/items/42`), so cardinality stays bounded by the routes you declared.
//!
//! - `http_server_requests_total{method, route, status}`
//! - `http_server_request_duration_seconds{method, route, status}`
//!
//! ```
//! use axum::{Router, routing::get};
//! use promexport::axum::HttpMetricsLayer;
//!
//! let app: Router = Router::new()
//!     .route("/items/{id}", get(|| async { "item" }))
//!     .layer(HttpMetricsLayer::new());
//! ```
//!
//! Requests that match no route are labelled `route="unmatched"`; methods other than the nine of
//! RFC 9110 (plus PATCH) are labelled `method="_OTHER"`.
//!
//! With the feature `web-config` too, `WebConfigListener` and `BasicAuthLayer` secure an
//! axum service with the same exporter-toolkit web config file (`--web.config.file`) as
//! promexport's own [`Server`](crate::Server).

// Drives `ResponseFuture` by hand (run under Miri by scripts/miri.sh: the pin projections).
#[cfg(test)]
mod tests;
#[cfg(feature = "web-config")]
mod web_config;

#[cfg(feature = "web-config")]
#[cfg_attr(docsrs, doc(cfg(feature = "web-config")))]
pub use web_config::{BasicAuth, BasicAuthLayer, WebConfigListener, WebConfigStream};

use crate::encoding::FamilyEncoder;
use crate::metrics::DurationHistogram;
use crate::{
    Counter, DEFAULT_BUCKETS, Error, Family, LabelSet, LabelValue, MetricConfig, MetricKind,
    Metrics, NativeHistogramOptions, Series,
};
use axum::extract::MatchedPath;
use hyper::{Request, Response};
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
// The clock of instrumented functions: a pair of reads costs a third of `std::time::Instant`'s.
use crate::clock::Instant;

/// The request method, closed so that clients cannot create series at will.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
#[label(crate = crate)]
enum HttpMethod {
    #[label(rename = "GET")]
    Get,
    #[label(rename = "HEAD")]
    Head,
    #[label(rename = "POST")]
    Post,
    #[label(rename = "PUT")]
    Put,
    #[label(rename = "DELETE")]
    Delete,
    #[label(rename = "CONNECT")]
    Connect,
    #[label(rename = "OPTIONS")]
    Options,
    #[label(rename = "TRACE")]
    Trace,
    #[label(rename = "PATCH")]
    Patch,
    #[label(rename = "_OTHER")]
    Other,
}

impl HttpMethod {
    fn of(method: &hyper::Method) -> Self {
        match *method {
            hyper::Method::GET => HttpMethod::Get,
            hyper::Method::HEAD => HttpMethod::Head,
            hyper::Method::POST => HttpMethod::Post,
            hyper::Method::PUT => HttpMethod::Put,
            hyper::Method::DELETE => HttpMethod::Delete,
            hyper::Method::CONNECT => HttpMethod::Connect,
            hyper::Method::OPTIONS => HttpMethod::Options,
            hyper::Method::TRACE => HttpMethod::Trace,
            hyper::Method::PATCH => HttpMethod::Patch,
            _ => HttpMethod::Other,
        }
    }
}

/// `HttpLabelsRef` borrows the route from the request's `MatchedPath`, so recording a request
/// for a route already seen allocates nothing.
#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
#[label(crate = crate, borrowed = HttpLabelsRef)]
struct HttpLabels {
    method: HttpMethod,
    route: String,
    status: u16,
}

#[derive(Metrics)]
#[metrics(crate = crate)]
struct HttpServerMetrics {
    /// HTTP requests answered, by method, matched route and status.
    #[metric(name = "http_server_requests")]
    requests: Family<HttpLabels, Counter>,
    /// Time to answer HTTP requests, by method, matched route and status.
    #[metric(name = "http_server_request_duration", unit = "seconds")]
    duration: Family<HttpLabels, HttpDuration>,
}

/// The native options of request durations, once a layer was built with them
/// ([`HttpMetricsLayer::with_native_durations`]).
static NATIVE_DURATIONS: OnceLock<NativeHistogramOptions> = OnceLock::new();

/// A request duration series: classic, or native if [`NATIVE_DURATIONS`] was set when it was
/// created.
struct HttpDuration(DurationHistogram);

impl Series for HttpDuration {
    const KIND: MetricKind = MetricKind::Histogram;
    fn new(config: &MetricConfig) -> Self {
        HttpDuration(match NATIVE_DURATIONS.get() {
            Some(options) => DurationHistogram::native(*options),
            None => DurationHistogram::classic(config.buckets),
        })
    }
    fn encode(&self, family: &mut FamilyEncoder<'_>, labels: &str) {
        self.0.encode(family, labels);
    }
}

/// A tower [`Layer`](tower_layer::Layer) recording `http_server_*` metrics of the requests it
/// wraps. Add it with `Router::layer`, after the routes.
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpMetricsLayer {
    _private: (),
}

impl HttpMetricsLayer {
    /// A layer recording into the process-wide registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records request durations as [`NativeHistogram`](crate::NativeHistogram)s with
    /// `options`, beside classic buckets: `options.classic_buckets`, or Prometheus' defaults if
    /// empty. Process-wide, as the families are: call it before the first request (series
    /// created earlier stay classic), and give every layer the same options.
    ///
    /// ```
    /// use promexport::NativeHistogramOptions;
    /// use promexport::axum::HttpMetricsLayer;
    ///
    /// let layer = HttpMetricsLayer::new().with_native_durations(NativeHistogramOptions::DEFAULT)?;
    /// let other = NativeHistogramOptions { factor: 2.0, ..NativeHistogramOptions::DEFAULT };
    /// assert!(HttpMetricsLayer::new().with_native_durations(other).is_err());
    /// # Ok::<(), promexport::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the options are not valid (see
    /// [`NativeHistogram::new`](crate::NativeHistogram::new)), or differ from those of a layer
    /// built before.
    pub fn with_native_durations(self, options: NativeHistogramOptions) -> Result<Self, Error> {
        let options = NativeHistogramOptions {
            classic_buckets: if options.classic_buckets.is_empty() {
                DEFAULT_BUCKETS
            } else {
                options.classic_buckets
            },
            ..options
        };
        if let Some(problem) = options.problem() {
            return Err(Error::Config(problem));
        }
        if *NATIVE_DURATIONS.get_or_init(|| options) != options {
            return Err(Error::Config(
                "request durations are already native histograms with other options: give every `HttpMetricsLayer` the same".to_owned(),
            ));
        }
        Ok(self)
    }
}

impl<S> tower_layer::Layer<S> for HttpMetricsLayer {
    type Service = HttpMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpMetrics { inner }
    }
}

/// The service [`HttpMetricsLayer`] wraps around each route.
#[derive(Debug, Clone)]
pub struct HttpMetrics<S> {
    inner: S,
}

impl<S, B, ResponseBody> tower_service::Service<Request<B>> for HttpMetrics<S>
where
    S: tower_service::Service<Request<B>, Response = Response<ResponseBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let route = request.extensions().get::<MatchedPath>().cloned();
        ResponseFuture {
            method: HttpMethod::of(request.method()),
            route,
            start: Instant::now(),
            inner: self.inner.call(request),
        }
    }
}

/// The response future of [`HttpMetrics`]: records the request when the response is ready.
#[derive(Debug)]
pub struct ResponseFuture<F> {
    inner: F,
    method: HttpMethod,
    route: Option<MatchedPath>,
    start: Instant,
}

impl<F, ResponseBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResponseBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `inner` is structurally pinned (never moved out, dropped in place); the other
        // fields are never pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above.
        let inner = unsafe { Pin::new_unchecked(&mut this.inner) };
        let output = std::task::ready!(inner.poll(cx));
        // An error from the inner service becomes a 500 for the client (hyper closes the
        // connection), so it is counted as one.
        let status = output
            .as_ref()
            .map_or(500, |response| response.status().as_u16());
        let labels = HttpLabelsRef {
            method: &this.method,
            route: this.route.as_ref().map_or("unmatched", MatchedPath::as_str),
            status: &status,
        };
        let metrics = HttpServerMetrics::global();
        // `with`: updated under the families' read locks, without a handle to clone and drop.
        metrics.requests.with(&labels, Counter::inc);
        let elapsed = this.start.elapsed().as_secs_f64();
        metrics
            .duration
            .with(&labels, |duration| duration.0.observe(elapsed));
        Poll::Ready(output)
    }
}
