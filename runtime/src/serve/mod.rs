//! The HTTP endpoint: hyper 1, HTTP/1.1 only, on a tokio runtime.

mod address;
mod body;
mod connection;
pub(crate) mod connection_limits;
#[cfg(feature = "exporter")]
pub(crate) mod extra_routes;
mod gzip;
mod handle;
pub(crate) mod handler;
mod stream;
#[cfg(feature = "web-config")]
mod web_config;

pub use address::ListenAddress;
#[cfg(feature = "exporter")]
pub(crate) use extra_routes::{Answer, RouteFn, RouteFuture};
pub use handle::ServerHandle;
pub use handler::handle_request;
#[cfg(feature = "web-config")]
pub use web_config::WebConfig;
// For `crate::__fuzz` only.
#[cfg(feature = "fuzzing")]
pub(crate) use handler::{accepts_gzip, selected_names};
#[cfg(feature = "fuzzing")]
pub(crate) use web_config::decode_basic;

use crate::{Error, Registry};
use body::ResponseBody;
use connection::{Connection, Limits};
use connection_limits::{AcceptBackoff, ConnectionMetrics, OpenConnection};
use handler::{ScrapeRequest, landing_page, method_not_allowed, plain};
use hyper::{Method, StatusCode};
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;
use tokio::sync::watch;

/// How long [`ServerHandle::shutdown`] waits for in-flight scrapes before closing connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serves the process-wide [`registry()`](crate::registry) on `addr` until the process ends.
///
/// Checks metric names first ([`check`](crate::check)): a clash is an error, not a silent overwrite.
/// Runs its own single-threaded tokio runtime on the calling thread, so it is for a synchronous
/// `main`: inside a tokio runtime it returns [`Error::Config`] (use [`Server::spawn`] or
/// [`Server::run`] there). Same as `Server::bind(addr)?.serve_forever()`, which takes settings.
///
/// ```no_run
/// fn main() -> Result<(), promexport::Error> {
///     promexport::serve("127.0.0.1:9877")
/// }
/// ```
pub fn serve(addr: impl ListenAddress) -> Result<(), Error> {
    outside_a_runtime("promexport::serve")?;
    Server::bind(addr)?.serve_forever()
}

/// Blocking on a runtime of our own panics inside another one: say so as an error instead.
fn outside_a_runtime(what: &str) -> Result<(), Error> {
    match tokio::runtime::Handle::try_current() {
        Ok(_) => Err(Error::Config(format!(
            "{what} blocks the calling thread, so it cannot run inside a tokio runtime; \
             use `Server::spawn` (a thread of its own) or `Server::run(shutdown).await` there"
        ))),
        Err(_) => Ok(()),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        // The threads of streamed scrapes, each with its compressor, kept across scrape intervals.
        .thread_keep_alive(Duration::from_secs(120))
        .build()?)
}

/// A metrics server bound to an address: configure it, then [`spawn`](Self::spawn) it on a thread
/// of its own (keep the [`ServerHandle`]: dropping it stops the server),
/// [`serve_forever`](Self::serve_forever) from a synchronous `main`, or [`run`](Self::run) it on
/// your tokio runtime.
///
/// ```
/// let handle = promexport::Server::bind("127.0.0.1:0")?.path("metrics").spawn()?;
/// assert_eq!(handle.url(), format!("http://{}/metrics", handle.local_addr()));
/// handle.shutdown()?;
/// # Ok::<(), promexport::Error>(())
/// ```
#[derive(Debug)]
pub struct Server {
    /// Never empty; the first is the one [`local_addr`](Self::local_addr) names.
    listeners: Vec<std::net::TcpListener>,
    registry: Option<Registry>,
    path: String,
    max_concurrent_scrapes: usize,
    max_connections: usize,
    limits: Limits,
    #[cfg(feature = "web-config")]
    web_config: Option<WebConfig>,
    #[cfg(feature = "exporter")]
    mounted: Mounted,
}

/// What the exporter toolkit mounts: routes of its own, and its metrics handler instead of
/// [`handle_request`] (still within the scrape limit and counted).
#[cfg(feature = "exporter")]
#[derive(Clone, Default)]
pub(crate) struct Mounted {
    pub(crate) routes: Vec<(String, extra_routes::RouteFn)>,
    pub(crate) metrics: Option<extra_routes::RouteFn>,
}

#[cfg(feature = "exporter")]
impl std::fmt::Debug for Mounted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let paths: Vec<&str> = self.routes.iter().map(|(path, _)| path.as_str()).collect();
        f.debug_struct("Mounted")
            .field("routes", &paths)
            .field("metrics", &self.metrics.is_some())
            .finish()
    }
}

struct Routes {
    registry: Registry,
    path: String,
    /// One permit per scrape in progress (until its body is written); none left: 503.
    scrapes: Arc<tokio::sync::Semaphore>,
    metrics: Arc<HandlerMetrics>,
    #[cfg(feature = "web-config")]
    web_config: Option<WebConfig>,
    #[cfg(feature = "exporter")]
    mounted: Mounted,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, crate::LabelSet)]
#[label(crate = crate)]
struct CodeLabels {
    code: u16,
}

/// The server's own metrics, named as client_golang's `promhttp` names them.
#[derive(crate::Metrics)]
#[metrics(crate = crate, prefix = "promhttp_metric_handler", no_global)]
struct HandlerMetrics {
    /// Total number of scrapes by HTTP status code.
    requests: crate::Family<CodeLabels, crate::Counter>,
    /// Current number of scrapes being served.
    requests_in_flight: crate::Gauge,
}

impl Server {
    /// Binds `addr` now: `"127.0.0.1:9100"`, `"localhost:9100"`, a [`SocketAddr`], or Go's
    /// `":9100"` (every IPv4 interface; see [`ListenAddress`]). Port 0 picks a free port (see
    /// [`ServerHandle::local_addr`]). An error names the address.
    pub fn bind(addr: impl ListenAddress) -> Result<Self, Error> {
        let addrs = addr.socket_addrs()?;
        let named = |error: std::io::Error| {
            let shown: Vec<String> = addrs.iter().map(SocketAddr::to_string).collect();
            Error::Io(std::io::Error::new(
                error.kind(),
                format!("cannot listen on {}: {error}", shown.join(" or ")),
            ))
        };
        let listener = std::net::TcpListener::bind(&addrs[..]).map_err(named)?;
        listener.set_nonblocking(true).map_err(named)?;
        Ok(Self::on(vec![listener]))
    }

    /// Serves on listeners bound (or inherited from systemd) by the exporter toolkit.
    #[cfg(feature = "exporter")]
    pub(crate) fn on_listeners(listeners: Vec<std::net::TcpListener>) -> Result<Self, Error> {
        if listeners.is_empty() {
            return Err(Error::Config("no address to listen on".to_owned()));
        }
        for listener in &listeners {
            listener.set_nonblocking(true)?;
        }
        Ok(Self::on(listeners))
    }

    /// Mounts the exporter toolkit's routes and metrics handler.
    #[cfg(feature = "exporter")]
    pub(crate) fn mount(mut self, mounted: Mounted) -> Self {
        self.mounted = mounted;
        self
    }

    fn on(listeners: Vec<std::net::TcpListener>) -> Self {
        Server {
            listeners,
            registry: None,
            path: "/metrics".to_owned(),
            max_concurrent_scrapes: 16,
            max_connections: 512,
            limits: Limits {
                header_read_timeout: Duration::from_secs(10),
                write_timeout: Duration::from_secs(30),
                max_header_bytes: 16 * 1024,
            },
            #[cfg(feature = "web-config")]
            web_config: None,
            #[cfg(feature = "exporter")]
            mounted: Mounted::default(),
        }
    }

    /// Serves with the TLS, basic auth and header settings of an exporter-toolkit web config
    /// file (the file every official exporter takes as `--web.config.file`). A file with an
    /// error, or a setting that cannot be honoured, is refused here with a message naming its
    /// line. Later edits of the file apply without a restart (see [`WebConfig`]).
    ///
    /// ```yaml
    /// tls_server_config:
    ///   cert_file: server.crt          # relative to the config file
    ///   key_file: server.key
    ///   client_auth_type: RequireAndVerifyClientCert   # default NoClientCert
    ///   client_ca_file: clients-ca.crt
    ///   min_version: TLS12             # or TLS13
    /// basic_auth_users:
    ///   prometheus: $2y$10$...         # bcrypt
    /// ```
    ///
    /// Wrong or missing credentials get `401` with `WWW-Authenticate`; bcrypt runs once per
    /// (user, password), so authenticated scrapes stay fast, and one at a time: a request that
    /// waited 1 s for its turn gets `429 Too Many Requests` (`Retry-After: 1`).
    #[cfg(feature = "web-config")]
    #[cfg_attr(docsrs, doc(cfg(feature = "web-config")))]
    pub fn web_config_file(mut self, path: impl AsRef<std::path::Path>) -> Result<Self, Error> {
        self.web_config = Some(WebConfig::load(path)?);
        Ok(self)
    }

    /// Scrapes served at once (default 16); more get `503 Service Unavailable`, counted in
    /// `promhttp_metric_handler_requests_total{code="503"}`.
    pub fn max_concurrent_scrapes(mut self, scrapes: usize) -> Self {
        self.max_concurrent_scrapes = scrapes.max(1);
        self
    }

    /// Connections open at once, TLS handshakes included (default 512). Beyond them a new
    /// connection is closed at once (the client sees it reset or closed, rather than waiting),
    /// counted in `promexport_server_connections_rejected_total`; `promexport_server_connections_open`
    /// says how many are open.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.max(1);
        self
    }

    /// How long a client may take to send its request head (default 10 s), and to send the next
    /// one on a kept-alive connection: slow or idle clients cannot tie up the server.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read_timeout = timeout;
        self
    }

    /// How long a response may wait for a client that stopped reading it (default 30 s): beyond
    /// it the connection is closed, counted in `promexport_server_write_timeouts_total`, so slow
    /// readers cannot pin response buffers.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.limits.write_timeout = timeout;
        self
    }

    /// The largest request head accepted (default 16 KiB, at least 8 KiB); larger ones get
    /// `431 Request Header Fields Too Large`.
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.limits.max_header_bytes = bytes.max(8192);
        self
    }

    /// Serves `registry` instead of the process-wide one.
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// The path of the metrics (default `/metrics`; Go exporters call it `--web.telemetry-path`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        if !self.path.starts_with('/') {
            self.path.insert(0, '/');
        }
        self
    }

    /// The bound address.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        Ok(self.listeners[0].local_addr()?)
    }

    /// Every bound address, for the exporter toolkit's start-up lines.
    #[cfg(feature = "exporter")]
    pub(crate) fn local_addrs(&self) -> Result<Vec<SocketAddr>, Error> {
        self.listeners
            .iter()
            .map(|listener| Ok(listener.local_addr()?))
            .collect()
    }

    /// Whether the web config serves TLS.
    #[cfg(feature = "exporter")]
    pub(crate) fn has_tls(&self) -> bool {
        self.web_config.as_ref().is_some_and(WebConfig::has_tls)
    }

    /// Serves on a thread of its own (with its own runtime), so a busy application runtime does
    /// not delay scrapes. Registers the caller's tokio runtime metrics (`tokio_*`) in the served
    /// registry when there is one.
    ///
    /// **Keep the returned handle: dropping it stops the server** (see [`ServerHandle`]), or
    /// call [`ServerHandle::detach`]. Serving the process-wide registry first runs
    /// [`check`](crate::check): a name clash is returned as an error.
    #[must_use = "dropping the ServerHandle stops the server: keep it, or call `.detach()`"]
    pub fn spawn(self) -> Result<ServerHandle, Error> {
        let local_addr = self.local_addr()?;
        if self.registry.is_none() {
            crate::check()?;
        }
        #[cfg(feature = "tokio")]
        register_caller_runtime(self.registry.as_ref().unwrap_or(crate::registry()));
        let (stop, stopped) = watch::channel(false);
        let runtime = runtime()?;
        let path = self.path.clone();
        let thread = std::thread::Builder::new()
            .name("promexport-server".to_owned())
            .spawn(move || {
                let shutdown = async move {
                    let mut stopped = stopped;
                    if stopped.wait_for(|stop| *stop).await.is_err() {
                        // The handle was detached: serve for the life of the process.
                        std::future::pending::<()>().await;
                    }
                };
                let served = runtime.block_on(self.run(shutdown));
                if let Err(error) = &served {
                    tracing::error!(%error, "the metrics server stopped");
                }
                served
            })?;
        Ok(ServerHandle::new(local_addr, path, stop, thread))
    }

    /// Serves on the calling thread until the process ends, on a runtime of its own: the
    /// blocking entry point of a synchronous `main`. Returns only on failure (a name clash, a
    /// runtime that cannot start, or being called inside a tokio runtime, which is
    /// [`Error::Config`]: use [`spawn`](Self::spawn) or [`run`](Self::run) there). Prints
    /// nothing by itself.
    ///
    /// ```no_run
    /// fn main() -> Result<(), promexport::Error> {
    ///     let server = promexport::Server::bind(":9100")?.path("/metrics");
    ///     eprintln!("serving on {}", server.local_addr()?);
    ///     server.serve_forever()
    /// }
    /// ```
    pub fn serve_forever(self) -> Result<(), Error> {
        outside_a_runtime("Server::serve_forever")?;
        runtime()?.block_on(self.run(std::future::pending()))
    }

    /// Serves on the current tokio runtime until `shutdown` completes, then lets in-flight
    /// scrapes finish (up to 5 s).
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let registry = match self.registry {
            Some(registry) => registry,
            None => {
                crate::check()?;
                crate::registry().clone()
            }
        };
        let listeners = self
            .listeners
            .into_iter()
            .map(tokio::net::TcpListener::from_std)
            .collect::<Result<Vec<_>, _>>()?;
        let (metrics, connection_metrics) = served_metrics(&registry);
        let routes = Arc::new(Routes {
            registry,
            path: self.path,
            scrapes: Arc::new(tokio::sync::Semaphore::new(self.max_concurrent_scrapes)),
            metrics,
            #[cfg(feature = "web-config")]
            web_config: self.web_config.clone(),
            #[cfg(feature = "exporter")]
            mounted: self.mounted,
        });
        #[cfg(feature = "web-config")]
        let tls = self.web_config.clone().filter(WebConfig::has_tls);
        let limits = self.limits;
        #[cfg(feature = "web-config")]
        let header_read_timeout = limits.header_read_timeout;
        let connections = Arc::new(tokio::sync::Semaphore::new(self.max_connections));
        let mut backoff = AcceptBackoff::new("metrics server");
        let graceful = GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);
        let mut next_listener = 0;
        loop {
            tokio::select! {
                accepted = accept_any(&listeners, &mut next_listener) => {
                    let stream = match accepted {
                        Ok((stream, _)) => stream,
                        Err(error) => {
                            backoff.failed(&error, &connection_metrics).await;
                            continue;
                        }
                    };
                    backoff.succeeded();
                    // Over the limit: dropping the stream closes it at once.
                    let Some(open) = OpenConnection::admit(&connections, &connection_metrics) else {
                        continue;
                    };
                    let connection = Connection {
                        routes: routes.clone(),
                        limits,
                        watcher: graceful.watcher(),
                        open,
                    };
                    #[cfg(feature = "web-config")]
                    if let Some(config) = &tls {
                        let config = config.clone();
                        tokio::spawn(async move {
                            // The certificate in force now: a rotated one serves from here on.
                            let Some(tls) = config.tls_acceptor() else { return };
                            // The handshake gets the same deadline as a request head.
                            let handshake = tokio::time::timeout(header_read_timeout, tls.accept(stream));
                            if let Ok(Ok(stream)) = handshake.await {
                                connection.serve(stream).await;
                            }
                        });
                        continue;
                    }
                    tokio::spawn(connection.serve(stream));
                }
                () = &mut shutdown => break,
            }
        }
        drop(listeners);
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
        Ok(())
    }
}

/// The next connection on any of `listeners`, asking first the one after the listener of the
/// last connection (`next`), so that a busy listener cannot starve the others.
async fn accept_any(
    listeners: &[tokio::net::TcpListener],
    next: &mut usize,
) -> std::io::Result<(tokio::net::TcpStream, SocketAddr)> {
    std::future::poll_fn(|context| {
        for offset in 0..listeners.len() {
            let index = (*next + offset) % listeners.len();
            if let std::task::Poll::Ready(accepted) = listeners[index].poll_accept(context) {
                *next = (index + 1) % listeners.len();
                return std::task::Poll::Ready(accepted);
            }
        }
        std::task::Poll::Pending
    })
    .await
}

impl Routes {
    async fn answer<B>(&self, request: &hyper::Request<B>) -> hyper::Response<ResponseBody> {
        #[cfg(feature = "web-config")]
        if let Some(config) = &self.web_config {
            let mut response = match config.authorize(request.headers()).await.refusal() {
                Some(refusal) => refusal.map(ResponseBody::from),
                None => self.route(request).await,
            };
            config.add_headers(response.headers_mut());
            return response;
        }
        self.route(request).await
    }

    async fn route<B>(&self, request: &hyper::Request<B>) -> hyper::Response<ResponseBody> {
        #[cfg(feature = "exporter")]
        if request.uri().path() != self.path {
            let path = request.uri().path();
            if let Some((_, route)) = self.mounted.routes.iter().find(|(at, _)| at == path) {
                return route(extra_routes::head_of(request))
                    .await
                    .map(ResponseBody::from);
            }
        }
        let response = match request.uri().path() {
            path if path == self.path => return self.scrape(request).await,
            "/" if request.method() == Method::GET || request.method() == Method::HEAD => {
                landing_page(&self.registry, &self.path)
            }
            "/" => method_not_allowed(),
            _ => plain(StatusCode::NOT_FOUND, "not found\n"),
        };
        response.map(ResponseBody::from)
    }
}

impl Routes {
    async fn scrape<B>(&self, request: &hyper::Request<B>) -> hyper::Response<ResponseBody> {
        let Ok(permit) = self.scrapes.clone().try_acquire_owned() else {
            let refused = plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many concurrent scrapes; try again\n",
            );
            return self.counted(refused.map(ResponseBody::from));
        };
        // Counted until the scrape ends, also when the client goes away mid-scrape.
        let in_progress = InProgress::start(permit, self.metrics.clone());
        #[cfg(feature = "exporter")]
        if let Some(metrics) = &self.mounted.metrics {
            let response = metrics(extra_routes::head_of(request)).await;
            drop(in_progress);
            return self.counted(response.map(ResponseBody::from));
        }
        let scrape = ScrapeRequest::read(request);
        let response = if stream::streams(&scrape, &self.registry) {
            stream::answer(scrape, &self.registry, in_progress).await
        } else {
            let response = scrape.answer(self.registry.clone()).await;
            drop(in_progress);
            response.map(ResponseBody::from)
        };
        self.counted(response)
    }

    fn counted(&self, response: hyper::Response<ResponseBody>) -> hyper::Response<ResponseBody> {
        let code = CodeLabels {
            code: response.status().as_u16(),
        };
        self.metrics.requests.get(&code).inc();
        response
    }
}

/// A scrape being served: its permit, and its count in `requests_in_flight`, until dropped.
struct InProgress {
    _permit: tokio::sync::OwnedSemaphorePermit,
    metrics: Arc<HandlerMetrics>,
}

impl InProgress {
    fn start(permit: tokio::sync::OwnedSemaphorePermit, metrics: Arc<HandlerMetrics>) -> Self {
        metrics.requests_in_flight.inc();
        InProgress {
            _permit: permit,
            metrics,
        }
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        self.metrics.requests_in_flight.dec();
    }
}

#[cfg(feature = "tokio")]
fn register_caller_runtime(registry: &Registry) {
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        // A second server of the same runtime finds the names taken: one collector is enough.
        let _ = registry.register(crate::TokioCollector::new(handle));
    }
}

/// The handler metrics of each registry served so far (a registry has no way to unregister).
type Served = Vec<(Weak<dyn std::any::Any + Send + Sync>, Arc<HandlerMetrics>)>;
static SERVED: Mutex<Served> = Mutex::new(Vec::new());

/// The server metrics registered in `registry`: those of an earlier server of it, so they keep
/// counting across restarts, or new ones. The connection metrics are shared with the
/// `axum::WebConfigListener`s counting in `registry`.
fn served_metrics(registry: &Registry) -> (Arc<HandlerMetrics>, Arc<ConnectionMetrics>) {
    let identity = registry.identity();
    let mut served = SERVED.lock().unwrap_or_else(PoisonError::into_inner);
    served.retain(|(registry, _)| registry.strong_count() > 0);
    let handler = match served.iter().find(|(known, _)| known.ptr_eq(&identity)) {
        Some((_, handler)) => handler.clone(),
        None => {
            let handler = Arc::new(HandlerMetrics::new());
            // Names the user already took win; this server still serves, without its own metrics.
            let _ = registry.register(handler.clone());
            served.push((identity, handler.clone()));
            handler
        }
    };
    drop(served);
    (handler, connection_limits::connection_metrics(registry))
}
