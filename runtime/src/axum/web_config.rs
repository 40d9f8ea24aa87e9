//! The exporter-toolkit web config for axum services: a listener that speaks TLS when the config
//! says so, and a layer that asks for basic auth.

use crate::serve::connection_limits::{
    AcceptBackoff, ConnectionMetrics, OpenConnection, WriteDeadline, connection_metrics,
};
use crate::{Registry, WebConfig};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::server::TlsStream;

/// Connections whose handshake completed, waiting for axum to take them.
const HANDSHAKEN_BACKLOG: usize = 64;

/// An [`axum::serve::Listener`] serving a [`WebConfig`]'s `tls_server_config`: TLS (mutual when
/// configured) when the config has one, plain TCP otherwise. Add [`BasicAuthLayer`] to the
/// router for the config's `basic_auth_users`.
///
/// It applies the connection limits of promexport's own [`Server`](crate::Server), with or
/// without TLS:
///
/// - at most [`max_connections`](Self::max_connections) open at once (default 512), TLS
///   handshakes included; beyond them a new connection is closed at once;
/// - a response the client stopped reading fails after
///   [`write_timeout`](Self::write_timeout) (default 30 s), which closes the connection;
/// - each TLS handshake runs in a task of its own, so a client that never finishes it holds up
///   no one, until [`handshake_timeout`](Self::handshake_timeout) (default 10 s);
/// - a failed accept (too many open files) is logged with `tracing` and retried after a pause
///   that doubles, up to 1 s, while accepts keep failing.
///
/// They are counted in the same `promexport_server_*` metrics as the server's:
/// `promexport_server_connections_open`, `promexport_server_connections_rejected_total`,
/// `promexport_server_write_timeouts_total` and `promexport_server_accept_errors_total`, in the
/// process-wide [`registry()`](crate::registry) (where [`HttpMetricsLayer`](super::HttpMetricsLayer)
/// records too) unless [`registry`](Self::registry) names another. Listeners and servers
/// counting in one registry add up there.
///
/// `axum::serve` sets no deadline for request heads, so unlike the server's, an idle kept-alive
/// connection keeps its place until its client closes it: `max_connections` bounds how many.
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use promexport::WebConfig;
/// use promexport::axum::{BasicAuthLayer, WebConfigListener};
/// use std::time::Duration;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = WebConfig::load("web.yml")?;
/// let app: Router = Router::new()
///     .route("/hello", get(|| async { "hello" }))
///     .layer(BasicAuthLayer::new(&config));
/// let tcp = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// let listener = WebConfigListener::new(tcp, &config)
///     .max_connections(1024)
///     .write_timeout(Duration::from_secs(60));
/// axum::serve(listener, app).await?;
/// # Ok(())
/// # }
/// ```
pub struct WebConfigListener {
    local_addr: io::Result<SocketAddr>,
    settings: Settings,
    accepting: Accepting,
}

/// What the builder methods set.
#[derive(Debug, Clone)]
struct Settings {
    max_connections: usize,
    write_timeout: Duration,
    handshake_timeout: Duration,
    registry: Option<Registry>,
}

enum Accepting {
    /// Settings may still change: serving starts at the first `accept`, on the runtime that
    /// serves.
    NotStarted(TcpListener, Option<WebConfig>),
    Plain(TcpListener, Admission),
    Tls(mpsc::Receiver<(WebConfigStream, SocketAddr)>),
    /// Only while one state replaces another.
    Starting,
}

/// Takes accepted connections into the listener's `max_connections`.
struct Admission {
    connections: Arc<Semaphore>,
    metrics: Arc<ConnectionMetrics>,
    backoff: AcceptBackoff,
    write_timeout: Duration,
}

impl WebConfigListener {
    /// Serves connections of `listener` as `config` says.
    pub fn new(listener: TcpListener, config: &WebConfig) -> Self {
        let local_addr = listener.local_addr();
        let tls = config.has_tls().then(|| config.clone());
        WebConfigListener {
            local_addr,
            settings: Settings {
                max_connections: 512,
                write_timeout: Duration::from_secs(30),
                handshake_timeout: Duration::from_secs(10),
                registry: None,
            },
            accepting: Accepting::NotStarted(listener, tls),
        }
    }

    /// Connections open at once, TLS handshakes included (default 512, at least 1). Beyond them
    /// a new connection is closed at once (the client sees it reset or closed, rather than
    /// waiting), counted in `promexport_server_connections_rejected_total`;
    /// `promexport_server_connections_open` says how many are open.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.settings.max_connections = connections.max(1);
        self
    }

    /// How long a response may wait for a client that stopped reading it (default 30 s): beyond
    /// it the connection is closed, counted in `promexport_server_write_timeouts_total`, so slow
    /// readers cannot pin response buffers.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.settings.write_timeout = timeout;
        self
    }

    /// How long a client may take to complete its TLS handshake (default 10 s); without
    /// `tls_server_config` it has no use.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.settings.handshake_timeout = timeout;
        self
    }

    /// Counts the connection metrics in `registry` instead of the process-wide one.
    pub fn registry(mut self, registry: Registry) -> Self {
        self.settings.registry = Some(registry);
        self
    }

    fn start(&mut self) {
        let (listener, tls) = match std::mem::replace(&mut self.accepting, Accepting::Starting) {
            Accepting::NotStarted(listener, tls) => (listener, tls),
            started => {
                self.accepting = started;
                return;
            }
        };
        let settings = &self.settings;
        let admission = Admission {
            connections: Arc::new(Semaphore::new(settings.max_connections)),
            metrics: connection_metrics(settings.registry.as_ref().unwrap_or(crate::registry())),
            backoff: AcceptBackoff::new("axum WebConfigListener"),
            write_timeout: settings.write_timeout,
        };
        self.accepting = match tls {
            None => Accepting::Plain(listener, admission),
            Some(config) => {
                let (sender, receiver) = mpsc::channel(HANDSHAKEN_BACKLOG);
                let handshake_timeout = settings.handshake_timeout;
                tokio::spawn(accept_tls(
                    listener,
                    config,
                    admission,
                    handshake_timeout,
                    sender,
                ));
                Accepting::Tls(receiver)
            }
        };
    }
}

impl std::fmt::Debug for WebConfigListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfigListener")
            .field("local_addr", &self.local_addr)
            .field("max_connections", &self.settings.max_connections)
            .field("write_timeout", &self.settings.write_timeout)
            .field("handshake_timeout", &self.settings.handshake_timeout)
            .finish_non_exhaustive()
    }
}

impl axum::serve::Listener for WebConfigListener {
    type Io = WebConfigStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        self.start();
        match &mut self.accepting {
            Accepting::Plain(listener, admission) => {
                let (stream, peer, open) = admission.next(listener).await;
                let transport = Transport::Plain(stream);
                let stream = WebConfigStream::new(transport, admission.write_timeout, open);
                (stream, peer)
            }
            Accepting::Tls(handshaken) => match handshaken.recv().await {
                Some(accepted) => accepted,
                // The acceptor task only ends when this receiver is gone; nothing to serve.
                None => std::future::pending().await,
            },
            // `start` left neither.
            Accepting::NotStarted(..) | Accepting::Starting => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        match &self.local_addr {
            Ok(addr) => Ok(*addr),
            Err(error) => Err(io::Error::new(error.kind(), error.to_string())),
        }
    }
}

impl Admission {
    /// The next connection with a place among `max_connections`; those beyond are dropped,
    /// which closes them at once. Cancel-safe: nothing is lost between its awaits.
    async fn next(&mut self, listener: &TcpListener) -> (TcpStream, SocketAddr, OpenConnection) {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    self.backoff.succeeded();
                    if let Some(open) = OpenConnection::admit(&self.connections, &self.metrics) {
                        return (stream, peer, open);
                    }
                }
                Err(error) => self.backoff.failed(&error, &self.metrics).await,
            }
        }
    }
}

/// Accepts connections and hands them over once their handshake completes, until the listener
/// is dropped. Each handshake uses the certificate in force when it starts (see
/// [`WebConfig`]'s reloading), and holds its connection's place meanwhile.
async fn accept_tls(
    listener: TcpListener,
    config: WebConfig,
    mut admission: Admission,
    handshake_timeout: Duration,
    handshaken: mpsc::Sender<(WebConfigStream, SocketAddr)>,
) {
    loop {
        let (stream, peer, open) = tokio::select! {
            accepted = admission.next(&listener) => accepted,
            () = handshaken.closed() => return,
        };
        let (config, handshaken) = (config.clone(), handshaken.clone());
        let write_timeout = admission.write_timeout;
        tokio::spawn(async move {
            let Some(acceptor) = config.tls_acceptor() else {
                return;
            };
            let handshake = tokio::time::timeout(handshake_timeout, acceptor.accept(stream));
            if let Ok(Ok(stream)) = handshake.await {
                let transport = Transport::Tls(Box::new(stream));
                let stream = WebConfigStream::new(transport, write_timeout, open);
                let _ = handshaken.send((stream, peer)).await;
            }
        });
    }
}

/// A connection accepted by [`WebConfigListener`], plain TCP or TLS, within its limits: it
/// holds its place among `max_connections` until dropped, and its writes fail once the client
/// stopped reading for longer than `write_timeout`.
pub struct WebConfigStream {
    io: WriteDeadline<Transport>,
}

enum Transport {
    /// Without `tls_server_config`.
    Plain(TcpStream),
    /// With `tls_server_config`, after the handshake.
    Tls(Box<TlsStream<TcpStream>>),
}

impl WebConfigStream {
    fn new(transport: Transport, write_timeout: Duration, open: OpenConnection) -> Self {
        WebConfigStream {
            io: WriteDeadline::new(transport, write_timeout, open),
        }
    }

    /// The TCP connection (its peer address, its socket options), under TLS if there is TLS.
    pub fn tcp(&self) -> &TcpStream {
        match self.io.get_ref() {
            Transport::Plain(stream) => stream,
            Transport::Tls(stream) => stream.get_ref().0,
        }
    }

    /// The TLS session (its client certificate, its protocol version), with
    /// `tls_server_config`.
    pub fn tls(&self) -> Option<&TlsStream<TcpStream>> {
        match self.io.get_ref() {
            Transport::Plain(_) => None,
            Transport::Tls(stream) => Some(stream),
        }
    }
}

impl std::fmt::Debug for WebConfigStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfigStream")
            .field("peer", &self.tcp().peer_addr().ok())
            .field("tls", &self.tls().is_some())
            .finish_non_exhaustive()
    }
}

impl AsyncRead for WebConfigStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for WebConfigStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Transport::Tls(stream) => Pin::new(stream).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Transport::Tls(stream) => Pin::new(stream).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            Transport::Tls(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Transport::Plain(stream) => stream.is_write_vectored(),
            Transport::Tls(stream) => stream.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Transport::Tls(stream) => Pin::new(stream).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Transport::Tls(stream) => Pin::new(stream).poll_shutdown(cx),
        }
    }
}

/// A tower [`Layer`](tower_layer::Layer) answering `401 Unauthorized` (with `WWW-Authenticate`)
/// to requests without valid credentials for a [`WebConfig`]'s `basic_auth_users`; without
/// them it lets every request through. Credentials are checked as by promexport's own server:
/// bcrypt once per (user, password), off the runtime's threads, the same time for unknown users;
/// a request that waited 1 s for bcrypt (busy with others) gets `429 Too Many Requests`.
///
/// It also adds the config's `http_server_config.headers` (HSTS, CSP, ...) to every response
/// that does not set them itself, and follows edits of the file (see [`WebConfig`]).
///
/// Add it with `Router::layer` after the routes, so it covers all of them (`/metrics`
/// included).
#[derive(Debug, Clone)]
pub struct BasicAuthLayer {
    config: WebConfig,
}

impl BasicAuthLayer {
    /// A layer checking the `basic_auth_users` of `config`.
    pub fn new(config: &WebConfig) -> Self {
        BasicAuthLayer {
            config: config.clone(),
        }
    }
}

impl<S> tower_layer::Layer<S> for BasicAuthLayer {
    type Service = BasicAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BasicAuth {
            inner,
            config: self.config.clone(),
        }
    }
}

/// The service [`BasicAuthLayer`] wraps around the routes.
#[derive(Debug, Clone)]
pub struct BasicAuth<S> {
    inner: S,
    config: WebConfig,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> tower_service::Service<hyper::Request<B>> for BasicAuth<S>
where
    S: tower_service::Service<hyper::Request<B>, Response = axum::response::Response>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = axum::response::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: hyper::Request<B>) -> Self::Future {
        // The clone is not ready; the service that was polled ready serves this request.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let verdict = self.config.authorize(request.headers());
        let config = self.config.clone();
        Box::pin(async move {
            let mut response = match verdict.await.refusal() {
                None => inner.call(request).await?,
                Some(refusal) => refusal.map(axum::body::Body::new),
            };
            config.add_headers(response.headers_mut());
            Ok(response)
        })
    }
}
