//! promexport turns annotated Rust structs into a Prometheus exporter.
//!
//! Declare metrics as fields of a struct, derive [`Metrics`], and every metric of every crate in
//! the binary is served — with process and build information — by one call to [`serve`]
//! (feature `serve`). No registration code: the derive submits each struct to a link-time
//! [`inventory`](https://docs.rs/inventory).
//!
//! ```
//! use promexport::{Counter, Format, Gauge, LabelValue, Metrics, StateSet};
//!
//! #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
//! enum Health { Healthy, Unhealthy }
//!
//! #[derive(Metrics)]
//! #[metrics(prefix = "app")]
//! struct AppMetrics {
//!     /// Requests served.
//!     requests: Counter,
//!     /// Requests in progress.
//!     requests_current: Gauge,
//!     /// Health of the application.
//!     health: StateSet<Health>,
//! }
//!
//! let metrics = AppMetrics::global();
//! metrics.requests.inc();
//! metrics.health.set(Health::Healthy);
//!
//! let text = promexport::render(Format::Text);
//! assert!(text.contains("# TYPE app_requests_total counter\napp_requests_total 1\n"));
//! assert!(text.contains("app_health{app_health=\"healthy\"} 1\napp_health{app_health=\"unhealthy\"} 0\n"));
//!
//! let open_metrics = promexport::render(Format::OpenMetrics);
//! assert!(open_metrics.contains("# TYPE app_health stateset\n"));
//! assert!(open_metrics.ends_with("# EOF\n"));
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `process` | yes | `process_*` metrics read from `/proc` (Linux) |
//! | `serve` | no | the HTTP endpoint: [`serve`], [`Server`], [`handle_request`] (hyper 1, HTTP/1.1, gzip) |
//! | `tokio` | no | `tokio_*` metrics of the runtime the server runs on |
//! | `axum` | no | [`axum::HttpMetricsLayer`]: `http_server_*` metrics by matched route |
//! | `push` | no | [`push::Pusher`]: push to a Pushgateway (batch jobs) |
//! | `remote-write` | no | [`remote_write::RemoteWriter`]: send the registry to Prometheus, VictoriaMetrics, Mimir or Thanos by remote write 1.0 or 2.0 |
//! | `web-config` | no | [`WebConfig`]: TLS and basic auth from an exporter-toolkit web config file, for [`Server`] and (with `axum`) axum services |
//! | `exporter` | no | [`exporter::Exporter`]: an exporter binary with Go's standard flags, switchable collectors and the `/probe` pattern |
//! | `prometheus-interop` | no | [`Registry::register_prometheus`]: serve collectors of the `prometheus` crate next to promexport's families |
// Links to items of features that are off point at this table, so the docs of any feature set
// build without broken links.
#![doc = ""]
#![cfg_attr(feature = "serve", doc = "[`serve`]: crate::serve")]
#![cfg_attr(feature = "serve", doc = "[`Server`]: crate::Server")]
#![cfg_attr(feature = "serve", doc = "[`handle_request`]: crate::handle_request")]
#![cfg_attr(not(feature = "serve"), doc = "[`serve`]: #features")]
#![cfg_attr(not(feature = "serve"), doc = "[`Server`]: #features")]
#![cfg_attr(not(feature = "serve"), doc = "[`handle_request`]: #features")]
#![cfg_attr(
    feature = "axum",
    doc = "[`axum::HttpMetricsLayer`]: crate::axum::HttpMetricsLayer"
)]
#![cfg_attr(not(feature = "axum"), doc = "[`axum::HttpMetricsLayer`]: #features")]
#![cfg_attr(feature = "push", doc = "[`push::Pusher`]: crate::push::Pusher")]
#![cfg_attr(not(feature = "push"), doc = "[`push::Pusher`]: #features")]
#![cfg_attr(
    feature = "exporter",
    doc = "[`exporter::Exporter`]: crate::exporter::Exporter"
)]
#![cfg_attr(not(feature = "exporter"), doc = "[`exporter::Exporter`]: #features")]
#![cfg_attr(
    feature = "remote-write",
    doc = "[`remote_write::RemoteWriter`]: crate::remote_write::RemoteWriter"
)]
#![cfg_attr(
    not(feature = "remote-write"),
    doc = "[`remote_write::RemoteWriter`]: #features"
)]
#![cfg_attr(feature = "web-config", doc = "[`WebConfig`]: crate::WebConfig")]
#![cfg_attr(not(feature = "web-config"), doc = "[`WebConfig`]: #features")]
#![cfg_attr(
    feature = "prometheus-interop",
    doc = "[`Registry::register_prometheus`]: crate::Registry::register_prometheus"
)]
#![cfg_attr(
    not(feature = "prometheus-interop"),
    doc = "[`Registry::register_prometheus`]: #features"
)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;
#[cfg(any(
    test,
    feature = "push",
    feature = "remote-write",
    feature = "web-config"
))]
mod base64;
mod clock;
mod collector;
mod const_metrics;
mod encoding;
mod error;
#[cfg(feature = "exporter")]
#[cfg_attr(docsrs, doc(cfg(feature = "exporter")))]
pub mod exporter;
#[cfg(any(feature = "push", feature = "remote-write"))]
mod http_client;
// Not public API: the parsers of untrusted input, for the fuzz targets in `fuzz/`.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
#[path = "fuzzing.rs"]
pub mod __fuzz;
mod instrument;
mod labels;
mod metrics;
mod naming;
// The protobuf writer of both the exposition and remote write (its `pub(super)` is the crate).
mod protobuf_wire;
#[cfg(feature = "push")]
#[cfg_attr(docsrs, doc(cfg(feature = "push")))]
pub mod push;
mod registry;
#[cfg(feature = "remote-write")]
#[cfg_attr(docsrs, doc(cfg(feature = "remote-write")))]
pub mod remote_write;
#[cfg(feature = "serve")]
mod serve;

#[cfg(feature = "serve")]
#[cfg_attr(docsrs, doc(cfg(feature = "serve")))]
pub use collector::Collector;
#[cfg(all(feature = "process", target_os = "linux"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "process", target_os = "linux"))))]
pub use collector::ProcessCollector;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use collector::TokioCollector;
pub use collector::{BuildInfo, DefaultCollector};
pub use const_metrics::{ConstFamily, ConstMetrics, FamilyError, SampleLabel, SampleLabels};
pub use encoding::{
    ClassicBucket, ClassicBuckets, Created, Encoder, Escaping, FamilyEncoder, Format,
    HistogramSample, LabelValueEncoder, Labels, NativeHistogramParts, Quantile, SummarySample,
    Value,
};
pub use error::Error;
pub use instrument::{Objective, ObjectiveLatency, ObjectivePercentile};
pub use labels::{
    BorrowedLabels, DynLabelValue, LabelSet, LabelSetEncoder, LabelValue, encode_label_set,
};
pub use metrics::{Buckets, GaugeHistogram, exponential_buckets, linear_buckets, valid_buckets};
pub use metrics::{
    Counter, CounterValue, DEFAULT_BUCKETS, Descriptor, Exemplar, Family, Gauge, GaugeValue,
    Histogram, HistogramTimer, InProgress, Info, MAX_EXEMPLAR_LABEL_CHARS, Metric, MetricConfig,
    MetricKind, Series, SeriesHandle, ShardedCounter, StateSet, set_default_max_series,
};
pub use metrics::{DEFAULT_AGE_BUCKETS, DEFAULT_BUF_CAP, DEFAULT_MAX_AGE, Summary, SummaryOptions};
pub use metrics::{
    DEFAULT_ZERO_THRESHOLD, MAX_SCHEMA, MIN_SCHEMA, NativeHistogram, NativeHistogramOptions,
    NativeHistogramSnapshot, NativeHistogramTimer,
};
pub use registry::{Collect, FamilyDescription, Registry, check, registry, render};
#[cfg(feature = "web-config")]
#[cfg_attr(docsrs, doc(cfg(feature = "web-config")))]
pub use serve::WebConfig;
#[cfg(feature = "serve")]
#[cfg_attr(docsrs, doc(cfg(feature = "serve")))]
pub use serve::{ListenAddress, Server, ServerHandle, handle_request, serve};

/// Implements [`Collect`] for a struct whose fields are metrics, and serves it process-wide.
///
/// # Attributes
///
/// On the struct, `#[metrics(...)]`:
/// - `prefix = "app"`: prepended to every name with `_`;
/// - `const_labels(env = "prod", ...)`: labels added to every sample of the struct;
/// - `no_global`: no `global()` instance and nothing served by itself: the struct is filled
///   and served by a `Collector` (feature `serve`) or registered in a [`Registry`] you pass;
/// - `crate = path`: where promexport is, for crates that re-export it.
///
/// On a field, `#[metric(...)]`:
/// - `name = "..."`: the name instead of the field's (still prefixed);
/// - `help = "..."`: the HELP text instead of the doc comment (one of the two is required);
/// - `unit = "seconds"`: appended as a suffix (unless already there) and sent as `# UNIT`;
///   must be a base unit (`seconds`, not `milliseconds`);
/// - `buckets = [0.1, 0.5, 1]`: histogram upper bounds, strictly increasing (`+Inf` is added);
/// - `preinit`: a [`Family`] over a closed label set serves every label combination at zero from
///   the start, rather than each once touched (for alerts and dashboards that expect them);
/// - `expire_after = "10m"`: a [`Family`] over an open label set drops, at a scrape, the series
///   unused for that long (`ms`, `s`, `m`, `h`, `d`, e.g. `"1h30m"`; see
///   [`Family::expire_after`]);
/// - `skip`: not a metric; built with `Default::default()`.
///
/// Names are checked at compile time: snake_case ASCII, no `__` prefix, no `:`, no duplicates;
/// a counter's name must not end in `_total` (it is appended), an info's in `_info`; a histogram
/// cannot have a label `le`, and no metric a label `quantile`. A const label is given once, is
/// neither `le` nor `quantile`, and is not also a label of a field (a `Family`'s label set, or
/// the state label of a `StateSet`, which is named after the metric). `Info` and `StateSet`
/// take no `unit`. A prefixed `no_global` struct has no `up`, `collection_duration_seconds`,
/// `collection_errors` or `collections_abandoned` field, since the `Collector` (feature
/// `serve`) serving it serves `<prefix>_up`, ... itself.
///
/// When the derive reports an error it still implements `new`, `Default` and `Collect` (as
/// stubs), so the error is not followed by others in the code using the struct.
///
/// ```compile_fail
/// #[derive(promexport::Metrics)]
/// struct Undocumented {
///     requests: promexport::Counter, // error: metric `requests` has no HELP text
/// }
/// ```
///
/// # Generated code
///
/// For `struct AppMetrics`, the derive generates (inside a `const _: () = { ... };`):
///
/// ```text
/// const __DESCRIPTORS: &[Descriptor] = &[/* name, help, unit, kind of each field */];
/// fn __declared_by(index: usize) -> Option<String>; // "field `x` of `crate::AppMetrics`"
/// impl AppMetrics {
///     pub fn new() -> Self;              // every metric at zero, for an explicit Registry
///     pub fn global() -> &'static Self;  // the process-wide instance, created on first use
/// }
/// impl Default for AppMetrics { /* new() */ }
/// impl promexport::Collect for AppMetrics {
///     fn describe(&self) -> Vec<FamilyDescription>;   // from __DESCRIPTORS
///     fn encode(&self, encoder: &mut Encoder<'_>);     // straight from the fields' atomics
///     fn declared_by(&self, index: usize) -> Option<String>; // __declared_by(index)
/// }
/// // Described without an instance; the instance is created at first use or first scrape.
/// inventory::submit! { Registration { descriptors: __DESCRIPTORS, declared_by: __declared_by,
///                                     instance: || AppMetrics::global() } }
/// const _: () = assert!(/* the checks that depend on each field's metric type */);
/// ```
pub use promexport_macros::Metrics;

/// Implements [`LabelSet`] for a struct whose fields are label values.
///
/// Each field is one label, named after the field or `#[label(name = "...")]`; its type
/// implements [`LabelValue`]. `#[label(crate = path)]` on the struct names a re-export of
/// promexport; `#[label(borrowed = RouteRef)]` also generates `RouteRef<'a>`, the same fields
/// borrowed (`&'a str` for a `String`), to find a series without allocating (see
/// [`BorrowedLabels`]). For `struct Route { method: Method, cached: bool }` the derive generates:
///
/// ```text
/// impl LabelSet for Route {
///     const NAMES: &[&str] = &["method", "cached"];
///     // The product of the fields' cardinalities, or None if one field is open (a String...):
///     const CARDINALITY: Option<usize> = product_cardinality(&[Method::CARDINALITY, bool::CARDINALITY]);
///     fn index(&self) -> usize;               // mixed radix over the fields' indexes
///     fn from_index(index: usize) -> Option<Self>;
///     fn encode(&self, out: &mut LabelSetEncoder<'_>) { out.label("method", &self.method); ... }
/// }
/// ```
pub use promexport_macros::LabelSet;

/// Implements [`LabelValue`] for a fieldless enum: the value is the variant name in snake_case,
/// or `#[label(rename = "...")]`.
///
/// For `enum Health { Healthy, #[label(rename = "DOWN")] Down }` the derive generates:
///
/// ```text
/// impl LabelValue for Health {
///     const CARDINALITY: Option<usize> = Some(2);
///     fn index(&self) -> usize { match *self { Self::Healthy => 0, Self::Down => 1 } }
///     fn from_index(index: usize) -> Option<Self> { /* 0 => Healthy, 1 => Down */ }
///     fn encode(&self, out: &mut LabelValueEncoder<'_>) {
///         out.write_str(match *self { Self::Healthy => "healthy", Self::Down => "DOWN" });
///     }
/// }
/// ```
pub use promexport_macros::LabelValue;

/// Records calls, errors, latency and in-flight calls of a function, a method, every method of
/// an impl block, or an `async fn`.
///
/// It serves, with the names and labels of the [autometrics](https://autometrics.dev)
/// specification (so its dashboards and alerts work unchanged):
///
/// - `function_calls_total{function, module, service_name, caller_function, caller_module, result}`:
///   `result` is `error` for an `Err` return or a panic, `cancelled` for a future dropped before
///   it completed, `ok` otherwise (`None` is not an error);
/// - `function_calls_duration_seconds{function, module, service_name, caller_function, caller_module}`;
/// - `function_calls_concurrent{...}`: calls in flight.
///
/// `caller_*` name the instrumented function that called this one (on the same thread, or
/// polling the future), empty when there is none. `service_name` is `AUTOMETRICS_SERVICE_NAME`,
/// else `OTEL_SERVICE_NAME`, else the crate's name. Every instrumented function is served at zero
/// before its first call.
///
/// ```
/// #[promexport::instrument]
/// fn parse(input: &str) -> Result<u32, std::num::ParseIntError> {
///     input.trim().parse()
/// }
///
/// assert!(parse("12").is_ok());
/// assert!(parse("x").is_err());
/// let text = promexport::render(promexport::Format::Text);
/// assert!(text.contains(r#"function_calls_total{function="parse","#));
/// assert!(text.contains(r#"caller_function="",caller_module="",result="error"} 1"#));
/// ```
///
/// # Options
///
/// - `function = "..."`: the `function` label (default: the function's name; in an instrumented
///   impl block `Type<Args>::method`, or `<Type<Args> as Trait<Args>>::method` for a trait
///   impl, so that two impls never share a label; not on an impl block itself, where it would
///   give every method one label);
/// - `prefix = "api"`: record into `api_function_calls_total`, ... instead of the autometrics
///   names; or `name = "checkout"`: into `checkout_calls_total`, `checkout_duration_seconds`,
///   `checkout_concurrent`;
/// - `record = [calls, duration, concurrency]`: which metrics (default all; without `duration`
///   the clock is not read);
/// - `buckets = [...]`: of the duration histogram (default: the autometrics buckets);
/// - `native` or `native(factor = 1.1, max_buckets = 160, min_reset = "1h", ...)`: the duration
///   histogram is a [`NativeHistogram`] (options as for `#[metric(native(...))]`), with the
///   classic buckets beside its native ones;
/// - `labels(team = "payments")`: constant labels on every series of the function;
/// - `ok_if = path` or `error_if = path`: a `fn(&T) -> bool` deciding the `result` of returns
///   that are not a `Result` (a web handler's status code);
/// - `objective = PATH`: a `const` [`Objective`] (success rate and/or latency): its
///   `objective_*` labels on the calls and durations, for the autometrics SLO rules;
/// - `crate = path`: where promexport is, for crates that re-export it.
///
/// On an impl block every method is instrumented; `#[promexport::skip]` (or a bare `#[skip]`)
/// leaves one out, and `#[promexport::instrument(...)]` on a method gives it its own options
/// (and the same `Type::method` label).
/// Other crates' attributes stay on the method, which is still instrumented:
/// `#[tracing::instrument]` gives it a span as well. A bare `#[instrument]` on a method is an
/// error there, since it may be tracing's or promexport's: qualify it. Functions whose series
/// would still be the same (per-method attributes on `fn new` of two types in one module) are
/// reported by [`check()`] as [`Error::DuplicateSeries`], and only one of them is served.
/// Functions returning `impl Future` or `Pin<Box<dyn Future>>` are timed until the future
/// completes.
///
/// # Generated code
///
/// ```text
/// fn parse(input: &str) -> Result<u32, ParseIntError> {
///     static __PROMEXPORT_FUNCTION: Function = Function::new(FunctionOptions {
///         name: "parse", module: module_path!(), crate_name: env!("CARGO_PKG_NAME"),
///         buckets: DEFAULT_DURATION_BUCKETS, native: None, objective: None, /* names, record, labels */
///         location: concat!(file!(), ":", line!()),
///     });
///     inventory::submit! { FunctionRegistration(&__PROMEXPORT_FUNCTION) }
///     // with `objective = API`, checked at compile time against the buckets:
///     // const __PROMEXPORT_OBJECTIVE: &Objective = &API;
///     // const _: () = __PROMEXPORT_OBJECTIVE.check(DEFAULT_DURATION_BUCKETS);
///     // sync: the body runs in a closure, so `return` and `?` are measured too
///     call(&__PROMEXPORT_FUNCTION, move || { input.trim().parse() }, |value| outcome_of(value))
///     // async: instrument_future(&__PROMEXPORT_FUNCTION, async move { body }, classify).await
/// }
/// ```
///
/// A call costs a thread-local swap, a pointer comparison to find the (function, caller) series,
/// two clock reads and four relaxed atomic operations: no lock, no hashing, no allocation.
pub use promexport_macros::instrument;

/// Leaves a method out of an instrumented impl block (`#[promexport::skip]`).
pub use promexport_macros::skip;

/// Names the binary in its `<name>_build_info` metric, with the crate's version.
///
/// Use it once, at item level (outside any function). The git revision is read from the
/// `GIT_REVISION` environment variable at compile time, when set (e.g. by a build script); the
/// exporter toolkit's `--version` also shows `GIT_BRANCH`, `BUILD_USER` and `BUILD_DATE`.
///
/// ```
/// promexport::build_info!("my_exporter");
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! build_info {
    ($name:expr) => {
        $crate::__private::inventory::submit! {
            $crate::__private::BuildInfoSource {
                name: $name,
                version: ::core::env!("CARGO_PKG_VERSION"),
                revision: ::core::option_env!("GIT_REVISION"),
                branch: ::core::option_env!("GIT_BRANCH"),
                build_user: ::core::option_env!("BUILD_USER"),
                build_date: ::core::option_env!("BUILD_DATE"),
            }
        }
    };
}

// Not public API. Used by code generated by the derives and macros of promexport.
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
