//! The multi-target exporter pattern (blackbox and snmp exporters): `GET <path>?target=...&module=...`
//! probes one target into a registry of its own and answers with its metrics and
//! `probe_success` / `probe_duration_seconds`, within the deadline Prometheus announces.

use crate::collector::named::{BoxError, Produced};
use crate::encoding::{Encoder, Labels, Value};
use crate::metrics::MetricKind;
use crate::registry::{Collect, FamilyDescription};
use crate::serve::handler::{
    accepts_gzip, announced_timeout, exposition_response, header_text, method_not_allowed, plain,
    query_values,
};
use crate::serve::{Answer, RouteFuture};
use crate::{Error, Format, Registry};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde::de::DeserializeOwned;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// The deadline of a probe when Prometheus announces none: its default 10 s scrape timeout,
/// less the offset the announced ones lose too.
const DEFAULT_DEADLINE: Duration = Duration::from_millis(9500);
/// The module of a request that names none.
pub const DEFAULT_MODULE: &str = "default";

/// One probe: what [`Exporter::probe`](super::Exporter::probe)'s handler is asked to do.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProbeRequest<M> {
    /// The `target` query parameter, as given (`host:port`, a URL, ...).
    pub target: String,
    /// The name of the module (the `module` query parameter, else `default`).
    pub module_name: String,
    /// The module's settings, from the modules file (or `M::default()` without one).
    pub module: Arc<M>,
    /// How long the probe may take: Prometheus' scrape timeout less 0.5 s. A probe still
    /// running then is cancelled and reported as failed.
    pub deadline: Duration,
}

/// A failed probe that says more than an error: what to serve beside `probe_success 0`, or
/// that the request itself is wrong. Return it (boxed or as the handler's error type) from an
/// [`Exporter::probe`](super::Exporter::probe) handler; any other error is a failed probe with
/// nothing but `probe_success 0` and `probe_duration_seconds`.
///
/// ```
/// use promexport::exporter::{ProbeError, ProbeRequest};
/// use promexport::{Gauge, Metrics};
///
/// #[derive(Metrics)]
/// #[metrics(no_global)] // `queue_up` in a `queue` struct is a `Collector`'s own
/// struct Up {
///     /// Whether the queue answered.
///     queue_up: Gauge,
/// }
///
/// async fn probe(probe: ProbeRequest<()>) -> Result<Up, ProbeError> {
///     let Some((host, port)) = probe.target.rsplit_once(':') else {
///         // 400 Bad Request: no probe of this target can ever succeed.
///         return Err(ProbeError::bad_target(format!("{:?} is not host:port", probe.target)));
///     };
///     let up = Up::new();
///     match std::net::TcpStream::connect((host, port.parse::<u16>().unwrap_or(0))) {
///         Ok(_) => {
///             up.queue_up.set(1);
///             Ok(up)
///         }
///         // `queue_up 0` beside `probe_success 0`, as the official exporters serve `<ns>_up`.
///         Err(error) => Err(ProbeError::with_metrics(error, up)),
///     }
/// }
/// ```
pub struct ProbeError {
    error: BoxError,
    kind: ProbeErrorKind,
}

enum ProbeErrorKind {
    /// Answered 400 with the error.
    BadTarget,
    /// Served beside `probe_success 0`.
    Failed(Arc<dyn Collect>),
}

impl ProbeError {
    /// The probe failed, and `metrics` are served beside `probe_success 0` (a `<ns>_up 0`, the
    /// status code a target answered, ...).
    pub fn with_metrics(error: impl Into<BoxError>, metrics: impl Collect) -> Self {
        ProbeError {
            error: error.into(),
            kind: ProbeErrorKind::Failed(Arc::new(metrics)),
        }
    }

    /// The target can never be probed (an address of the wrong form): the answer is
    /// `400 Bad Request` with the error, as for a missing target, not a failed probe.
    pub fn bad_target(error: impl Into<BoxError>) -> Self {
        ProbeError {
            error: error.into(),
            kind: ProbeErrorKind::BadTarget,
        }
    }
}

impl std::fmt::Debug for ProbeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            ProbeErrorKind::BadTarget => "bad target",
            ProbeErrorKind::Failed(_) => "failed, with metrics",
        };
        f.debug_struct("ProbeError")
            .field("error", &self.error)
            .field("kind", &kind)
            .finish()
    }
}

impl std::fmt::Display for ProbeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for ProbeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.error)
    }
}

type ProbeFn<C, M> = Arc<
    dyn Fn(&C, ProbeRequest<M>) -> Pin<Box<dyn Future<Output = Produced> + Send>> + Send + Sync,
>;

/// The modules file: `modules:` mapping each module's name to its settings, as blackbox_exporter's.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, bound = "M: DeserializeOwned")]
struct ModulesFile<M> {
    modules: BTreeMap<String, M>,
}

type Modules<M> = Arc<BTreeMap<String, Arc<M>>>;
/// Where the modules file is, from the flags.
type ModulesFileFn<C> = Box<dyn Fn(&C) -> Option<PathBuf> + Send + Sync>;

/// A probe endpoint, its module type erased.
pub(crate) trait ProbeEndpoint<C>: Send + Sync {
    fn path(&self) -> &str;
    /// Reads the modules (from the file the flags name) and sets the concurrency bound.
    fn start(&self, cli: &C, max_probes: usize) -> Result<usize, Error>;
    /// Reads the modules file again; on an error the modules in force stay.
    fn reload(&self) -> Result<usize, Error>;
    fn has_modules_file(&self) -> bool;
    fn module_names(&self) -> Vec<String>;
    fn answer(self: Arc<Self>, cli: Arc<C>, request: Request<()>) -> RouteFuture;
}

pub(crate) struct Prober<C, M> {
    path: String,
    modules_file: ModulesFileFn<C>,
    handler: ProbeFn<C, M>,
    file: Mutex<Option<PathBuf>>,
    modules: RwLock<Modules<M>>,
    probes: OnceLock<Option<tokio::sync::Semaphore>>,
}

impl<C, M> Prober<C, M>
where
    C: Send + Sync + 'static,
    M: DeserializeOwned + Default + std::fmt::Debug + Send + Sync + 'static,
{
    pub(crate) fn new<F, Fut, T, E>(
        path: &str,
        modules_file: impl Fn(&C) -> Option<PathBuf> + Send + Sync + 'static,
        handler: F,
    ) -> Self
    where
        F: Fn(&C, ProbeRequest<M>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Collect,
        E: Into<BoxError>,
    {
        let handler: ProbeFn<C, M> = Arc::new(move |cli: &C, request| {
            let future = handler(cli, request);
            Box::pin(async move {
                match future.await {
                    Ok(metrics) => Ok(Arc::new(metrics) as Arc<dyn Collect>),
                    Err(error) => Err(error.into()),
                }
            })
        });
        let path = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        Prober {
            path,
            modules_file: Box::new(modules_file),
            handler,
            file: Mutex::new(None),
            modules: RwLock::new(Arc::new(BTreeMap::new())),
            probes: OnceLock::new(),
        }
    }

    fn read_modules(file: Option<&PathBuf>) -> Result<Modules<M>, Error> {
        let Some(file) = file else {
            let only = BTreeMap::from([(DEFAULT_MODULE.to_owned(), Arc::new(M::default()))]);
            return Ok(Arc::new(only));
        };
        let text = std::fs::read_to_string(file).map_err(|error| {
            Error::Config(format!(
                "cannot read the modules file {}: {error}",
                file.display()
            ))
        })?;
        let parsed: ModulesFile<M> = serde_norway::from_str(&text).map_err(|error| {
            Error::Config(format!(
                "error parsing the modules file {}: {error}",
                file.display()
            ))
        })?;
        Ok(Arc::new(
            parsed
                .modules
                .into_iter()
                .map(|(name, module)| (name, Arc::new(module)))
                .collect(),
        ))
    }

    fn current_modules(&self) -> Modules<M> {
        self.modules
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl<C, M> ProbeEndpoint<C> for Prober<C, M>
where
    C: Send + Sync + 'static,
    M: DeserializeOwned + Default + std::fmt::Debug + Send + Sync + 'static,
{
    fn path(&self) -> &str {
        &self.path
    }

    fn start(&self, cli: &C, max_probes: usize) -> Result<usize, Error> {
        let file = (self.modules_file)(cli);
        let modules = Self::read_modules(file.as_ref())?;
        let count = modules.len();
        *self.file.lock().unwrap_or_else(PoisonError::into_inner) = file;
        *self.modules.write().unwrap_or_else(PoisonError::into_inner) = modules;
        let bound = (max_probes > 0).then(|| {
            tokio::sync::Semaphore::new(max_probes.min(tokio::sync::Semaphore::MAX_PERMITS))
        });
        let _ = self.probes.set(bound);
        Ok(count)
    }

    fn reload(&self) -> Result<usize, Error> {
        let file = self
            .file
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let modules = Self::read_modules(file.as_ref())?;
        let count = modules.len();
        *self.modules.write().unwrap_or_else(PoisonError::into_inner) = modules;
        Ok(count)
    }

    fn has_modules_file(&self) -> bool {
        self.file
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    fn module_names(&self) -> Vec<String> {
        self.current_modules().keys().cloned().collect()
    }

    fn answer(self: Arc<Self>, cli: Arc<C>, request: Request<()>) -> RouteFuture {
        Box::pin(async move { self.probe(&cli, &request).await })
    }
}

impl<C, M> Prober<C, M>
where
    C: Send + Sync + 'static,
    M: DeserializeOwned + Default + std::fmt::Debug + Send + Sync + 'static,
{
    async fn probe(&self, cli: &C, request: &Request<()>) -> Answer {
        if request.method() != Method::GET && request.method() != Method::HEAD {
            return method_not_allowed();
        }
        let query = request.uri().query().unwrap_or_default();
        let first = |key: &str| query_values(query, key).into_iter().next();
        let Some(target) = first("target").filter(|target| !target.is_empty()) else {
            return plain(StatusCode::BAD_REQUEST, "Target parameter is missing\n");
        };
        let module_name = first("module")
            .filter(|module| !module.is_empty())
            .unwrap_or_else(|| DEFAULT_MODULE.to_owned());
        let Some(module) = self.current_modules().get(&module_name).cloned() else {
            return owned_plain(
                StatusCode::BAD_REQUEST,
                format!("Unknown module {module_name:?}\n"),
            );
        };
        let debug = first("debug").is_some_and(|debug| debug == "true");
        let deadline = announced_timeout(request).unwrap_or(DEFAULT_DEADLINE);
        let _permit = match self.probes.get().and_then(Option::as_ref) {
            Some(probes) => match probes.try_acquire() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    return plain(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "too many concurrent probes; try again\n",
                    );
                }
            },
            None => None,
        };
        let probe = ProbeRequest {
            target: target.clone(),
            module_name: module_name.clone(),
            module: module.clone(),
            deadline,
        };
        let start = Instant::now();
        // A task of its own: a panicking probe fails, the server does not.
        let task = tokio::spawn(tokio::time::timeout(deadline, (self.handler)(cli, probe)));
        let registry = Registry::new();
        let produced = match task.await {
            Ok(Ok(Ok(metrics))) => registry
                .register(metrics)
                .map_err(|error| format!("probe metrics refused: {error}")),
            Ok(Ok(Err(error))) => match error.downcast::<ProbeError>() {
                Ok(error) => match error.kind {
                    ProbeErrorKind::BadTarget => {
                        return owned_plain(
                            StatusCode::BAD_REQUEST,
                            format!("Invalid target {target:?}: {}\n", error.error),
                        );
                    }
                    ProbeErrorKind::Failed(metrics) => {
                        let refused = registry.register(metrics).err();
                        Err(match refused {
                            None => error.error.to_string(),
                            Some(refused) => {
                                format!("{}; its metrics refused: {refused}", error.error)
                            }
                        })
                    }
                },
                Err(error) => Err(error.to_string()),
            },
            Ok(Err(_)) => Err(format!("probe timed out after {deadline:?}")),
            Err(_) => Err("probe panicked".to_owned()),
        };
        let seconds = start.elapsed().as_secs_f64();
        let _ = registry.register(ProbeReport {
            success: produced.is_ok(),
            seconds,
        });
        let outcome = match &produced {
            Ok(()) => {
                tracing::debug!(target: "promexport::exporter", %target, module = %module_name, duration_seconds = seconds, "Probe succeeded");
                "Probe succeeded".to_owned()
            }
            Err(error) => {
                tracing::warn!(target: "promexport::exporter", %target, module = %module_name, duration_seconds = seconds, err = %error, "Probe failed");
                format!("Probe failed: {error}")
            }
        };
        if debug {
            let text = format!(
                "Logs for the probe:\ntarget={target:?} module={module_name:?} duration_seconds={seconds}\n{outcome}\n\n\n\nMetrics that would have been returned:\n{}\n\n\nModule configuration:\n{module:#?}\n",
                registry.render(Format::Text)
            );
            return owned_plain(StatusCode::OK, text);
        }
        let negotiated = Format::negotiate(header_text(request, header::ACCEPT));
        let gzip = accepts_gzip(header_text(request, header::ACCEPT_ENCODING));
        let mut exposition = Vec::new();
        registry.encode_escaped(negotiated.format, negotiated.escaping, &mut exposition, &[]);
        exposition_response(
            exposition,
            negotiated.content_type,
            gzip,
            request.method() == Method::HEAD,
        )
    }
}

pub(crate) fn owned_plain(status: StatusCode, text: String) -> Answer {
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// `probe_success` and `probe_duration_seconds`, served whatever the probe did.
struct ProbeReport {
    success: bool,
    seconds: f64,
}

const SUCCESS_HELP: &str = "Displays whether or not the probe was a success";
const DURATION_HELP: &str = "Returns how long the probe took to complete in seconds";

impl Collect for ProbeReport {
    fn describe(&self) -> Vec<FamilyDescription> {
        vec![
            FamilyDescription {
                name: Cow::Borrowed("probe_success"),
                kind: MetricKind::Gauge,
                help: Cow::Borrowed(SUCCESS_HELP),
            },
            FamilyDescription {
                name: Cow::Borrowed("probe_duration_seconds"),
                kind: MetricKind::Gauge,
                help: Cow::Borrowed(DURATION_HELP),
            },
        ]
    }

    fn encode(&self, encoder: &mut Encoder<'_>) {
        encoder
            .family_parts("probe_success", SUCCESS_HELP, None, MetricKind::Gauge, "")
            .gauge(Labels::NONE, Value::U64(u64::from(self.success)));
        encoder
            .family_parts(
                "probe_duration_seconds",
                DURATION_HELP,
                Some("seconds"),
                MetricKind::Gauge,
                "",
            )
            .gauge(Labels::NONE, Value::F64(self.seconds));
    }
}
