//! The HTTP endpoint: hyper 1, HTTP/1.1 only, on a tokio runtime.

mod handler;
#[cfg(feature = "web-config")]
mod web_config;

pub use handler::handle_request;
#[cfg(all(feature = "axum", feature = "web-config"))]
pub(crate) use handler::unauthorized;
#[cfg(feature = "web-config")]
pub use web_config::WebConfig;
// For `crate::__fuzz` only.
#[cfg(feature = "fuzzing")]
pub(crate) use handler::{accepts_gzip, selected_names};
#[cfg(feature = "fuzzing")]
pub(crate) use web_config::decode_basic;

use crate::{Error, Registry};
use handler::{landing_page, method_not_allowed, plain};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::watch;

/// How long [`ServerHandle::shutdown`] waits for in-flight scrapes before closing connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serves the process-wide [`registry()`](crate::registry) on `addr` until the process ends.
///
/// Checks metric names first ([`check`](crate::check)): a clash is an error, not a silent overwrite.
/// Runs its own single-threaded tokio runtime on the calling thread; from async code use
/// [`Server::spawn`] or [`Server::run`].
///
/// ```no_run
/// fn main() -> Result<(), promexport::Error> {
///     promexport::serve("127.0.0.1:9877")
/// }
/// ```
pub fn serve(addr: impl ToSocketAddrs) -> Result<(), Error> {
    let server = Server::bind(addr)?;
    runtime()?.block_on(server.run(std::future::pending()))
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// A metrics server bound to an address: configure it, then [`spawn`](Self::spawn) or [`run`](Self::run).
///
/// ```
/// let handle = promexport::Server::bind("127.0.0.1:0")?.path("metrics").spawn()?;
/// assert_eq!(handle.url(), format!("http://{}/metrics", handle.local_addr()));
/// handle.shutdown()?;
/// # Ok::<(), promexport::Error>(())
/// ```
#[derive(Debug)]
pub struct Server {
    listener: std::net::TcpListener,
    registry: Option<Registry>,
    path: String,
    max_concurrent_scrapes: usize,
    header_read_timeout: Duration,
    max_header_bytes: usize,
    #[cfg(feature = "web-config")]
    web_config: Option<WebConfig>,
}

struct Routes {
    registry: Registry,
    path: String,
    /// One permit per scrape in progress; none left: 503.
    scrapes: tokio::sync::Semaphore,
    metrics: Arc<HandlerMetrics>,
    #[cfg(feature = "web-config")]
    web_config: Option<WebConfig>,
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
    /// Binds `addr` now (port 0 picks a free port; see [`ServerHandle::local_addr`]).
    pub fn bind(addr: impl ToSocketAddrs) -> Result<Self, Error> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(Server {
            listener,
            registry: None,
            path: "/metrics".to_owned(),
            max_concurrent_scrapes: 16,
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            #[cfg(feature = "web-config")]
            web_config: None,
        })
    }

    /// Serves with the TLS and basic auth settings of an exporter-toolkit web config file (the
    /// file every official exporter takes as `--web.config.file`). A file with an error is
    /// refused here, with a message naming its line.
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
    /// (user, password), so authenticated scrapes stay fast.
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

    /// How long a client may take to send its request head (default 10 s): slow clients cannot
    /// tie up the server.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// The largest request head accepted (default 16 KiB, at least 8 KiB); larger ones get
    /// `431 Request Header Fields Too Large`.
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes.max(8192);
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
        Ok(self.listener.local_addr()?)
    }

    /// Serves on a thread of its own (with its own runtime), so a busy application runtime does
    /// not delay scrapes. Registers the caller's tokio runtime metrics when there is one.
    ///
    /// Serving the process-wide registry first runs [`check`](crate::check): a name clash is
    /// returned as an error.
    pub fn spawn(self) -> Result<ServerHandle, Error> {
        let local_addr = self.local_addr()?;
        if self.registry.is_none() {
            crate::check()?;
        }
        #[cfg(feature = "tokio")]
        register_caller_runtime();
        let (stop, stopped) = watch::channel(false);
        let runtime = runtime()?;
        let path = self.path.clone();
        let thread = std::thread::Builder::new()
            .name("promexport-server".to_owned())
            .spawn(move || {
                let shutdown = async move {
                    let mut stopped = stopped;
                    let _ = stopped.wait_for(|stop| *stop).await;
                };
                runtime.block_on(self.run(shutdown))
            })?;
        Ok(ServerHandle {
            local_addr,
            path,
            stop,
            thread: Some(thread),
        })
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
        let listener = tokio::net::TcpListener::from_std(self.listener)?;
        let metrics = Arc::new(HandlerMetrics::new());
        // A second server of the same registry finds the names taken; the first one's count.
        let _ = registry.register(metrics.clone());
        let routes = Arc::new(Routes {
            registry,
            path: self.path,
            scrapes: tokio::sync::Semaphore::new(self.max_concurrent_scrapes),
            metrics,
            #[cfg(feature = "web-config")]
            web_config: self.web_config.clone(),
        });
        #[cfg(feature = "web-config")]
        let tls = self
            .web_config
            .as_ref()
            .and_then(|config| config.tls.clone())
            .map(tokio_rustls::TlsAcceptor::from);
        let (header_read_timeout, max_header_bytes) =
            (self.header_read_timeout, self.max_header_bytes);
        let graceful = GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    // Accept errors (e.g. too many open files) are transient: keep serving.
                    let Ok((stream, _)) = accepted else {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    };
                    let connection = Connection {
                        routes: routes.clone(),
                        header_read_timeout,
                        max_header_bytes,
                        watcher: graceful.watcher(),
                    };
                    #[cfg(feature = "web-config")]
                    if let Some(tls) = &tls {
                        let tls = tls.clone();
                        tokio::spawn(async move {
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
        drop(listener);
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
        Ok(())
    }
}

/// One accepted connection, served over plain TCP or TLS.
struct Connection {
    routes: Arc<Routes>,
    header_read_timeout: Duration,
    max_header_bytes: usize,
    watcher: hyper_util::server::graceful::Watcher,
}

impl Connection {
    async fn serve<I>(self, io: I)
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let routes = self.routes;
        let service = service_fn(move |request| {
            let routes = routes.clone();
            async move { Ok::<_, std::convert::Infallible>(routes.answer(&request).await) }
        });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout)
            .max_buf_size(self.max_header_bytes)
            .serve_connection(TokioIo::new(io), service);
        let _ = self.watcher.watch(connection).await;
    }
}

impl Routes {
    async fn answer<B>(
        &self,
        request: &hyper::Request<B>,
    ) -> hyper::Response<http_body_util::Full<hyper::body::Bytes>> {
        #[cfg(feature = "web-config")]
        if !self.authorized(request).await {
            return handler::unauthorized();
        }
        match request.uri().path() {
            path if path == self.path => self.scrape(request).await,
            "/" if request.method() == Method::GET || request.method() == Method::HEAD => {
                landing_page(&self.registry, &self.path)
            }
            "/" => method_not_allowed(),
            _ => plain(StatusCode::NOT_FOUND, "not found\n"),
        }
    }
}

impl Routes {
    /// Basic auth, when the web config asks for it.
    #[cfg(feature = "web-config")]
    async fn authorized<B>(&self, request: &hyper::Request<B>) -> bool {
        match &self.web_config {
            Some(config) => config.authorize(request.headers()).await,
            None => true,
        }
    }

    async fn scrape<B>(
        &self,
        request: &hyper::Request<B>,
    ) -> hyper::Response<http_body_util::Full<hyper::body::Bytes>> {
        let response = match self.scrapes.try_acquire() {
            Ok(_permit) => {
                // Counted until dropped, also when the client goes away mid-scrape.
                let _in_flight = self.metrics.requests_in_flight.track_in_progress();
                handle_request(&self.registry, request).await
            }
            Err(_) => plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many concurrent scrapes; try again\n",
            ),
        };
        let code = CodeLabels {
            code: response.status().as_u16(),
        };
        self.metrics.requests.get(&code).inc();
        response
    }
}

#[cfg(feature = "tokio")]
fn register_caller_runtime() {
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        // A second server of the same runtime finds the names taken: one collector is enough.
        let _ = crate::registry().register(crate::TokioCollector::new(handle));
    }
}

/// A running server: its address, and a graceful [`shutdown`](Self::shutdown).
#[derive(Debug)]
pub struct ServerHandle {
    local_addr: SocketAddr,
    path: String,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<Result<(), Error>>>,
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The path the metrics are served on (always starting with `/`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The URL of the metrics, e.g. `http://127.0.0.1:9877/metrics`.
    pub fn url(&self) -> String {
        format!("http://{}{}", self.local_addr, self.path)
    }

    /// Whether the server thread is still serving (it stops only after an error or a shutdown).
    pub fn is_running(&self) -> bool {
        self.thread
            .as_ref()
            .is_some_and(|thread| !thread.is_finished())
    }

    /// Stops accepting, lets in-flight scrapes finish (up to 5 s), and waits for the server
    /// thread; returns the error that stopped the server earlier, if one did.
    ///
    /// Blocks the calling thread for as long as that takes.
    pub fn shutdown(mut self) -> Result<(), Error> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Result<(), Error> {
        let _ = self.stop.send(true);
        match self.thread.take().map(JoinHandle::join) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(error))) => Err(error),
            Some(Err(_panic)) => Err(Error::Io(std::io::Error::other(
                "the server thread panicked",
            ))),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        // Dropping a handle stops the server too; there is no caller left to report an error to.
        let _ = self.stop_and_join();
    }
}
