//! The exporter-toolkit web config for axum services: a listener that speaks TLS when the config
//! says so, and a layer that asks for basic auth.

use crate::WebConfig;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;

/// How long a client may take to complete its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections whose handshake completed, waiting for axum to take them.
const HANDSHAKEN_BACKLOG: usize = 64;

/// An [`axum::serve::Listener`] serving a [`WebConfig`]'s `tls_server_config`: TLS (mutual when
/// configured) when the config has one, plain TCP otherwise.
///
/// TLS handshakes run concurrently in tasks of their own, each with a 10 s deadline, so a client
/// that never finishes its handshake holds up no one. Add [`BasicAuthLayer`] to the router for
/// the config's `basic_auth_users`.
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use promexport::WebConfig;
/// use promexport::axum::{BasicAuthLayer, WebConfigListener};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = WebConfig::load("web.yml")?;
/// let app: Router = Router::new()
///     .route("/hello", get(|| async { "hello" }))
///     .layer(BasicAuthLayer::new(&config));
/// let tcp = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(WebConfigListener::new(tcp, &config), app).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct WebConfigListener {
    local_addr: io::Result<SocketAddr>,
    accepting: Accepting,
}

#[derive(Debug)]
enum Accepting {
    Plain(TcpListener),
    /// The TLS acceptor task starts at the first `accept`, on the runtime that serves.
    TlsNotStarted(TcpListener, WebConfig),
    Tls(mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>),
}

impl WebConfigListener {
    /// Serves connections of `listener` as `config` says.
    pub fn new(listener: TcpListener, config: &WebConfig) -> Self {
        let local_addr = listener.local_addr();
        let accepting = if config.has_tls() {
            Accepting::TlsNotStarted(listener, config.clone())
        } else {
            Accepting::Plain(listener)
        };
        WebConfigListener {
            local_addr,
            accepting,
        }
    }
}

impl axum::serve::Listener for WebConfigListener {
    type Io = WebConfigStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match &mut self.accepting {
                Accepting::Plain(listener) => {
                    let (stream, peer) = accept_tcp(listener).await;
                    return (WebConfigStream::Plain(stream), peer);
                }
                Accepting::TlsNotStarted(..) => {
                    let (sender, receiver) = mpsc::channel(HANDSHAKEN_BACKLOG);
                    let started = std::mem::replace(&mut self.accepting, Accepting::Tls(receiver));
                    if let Accepting::TlsNotStarted(listener, config) = started {
                        tokio::spawn(accept_tls(listener, config, sender));
                    }
                }
                Accepting::Tls(handshaken) => match handshaken.recv().await {
                    Some((stream, peer)) => {
                        return (WebConfigStream::Tls(Box::new(stream)), peer);
                    }
                    // The acceptor task only ends when this receiver is gone; nothing to serve.
                    None => std::future::pending::<()>().await,
                },
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        match &self.local_addr {
            Ok(addr) => Ok(*addr),
            Err(error) => Err(io::Error::new(error.kind(), error.to_string())),
        }
    }
}

/// The next connection; accept errors (too many open files, a reset before accept) are transient.
async fn accept_tcp(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// Accepts connections and hands them over once their handshake completes, until the listener
/// is dropped. Each handshake uses the certificate in force when it starts (see
/// [`WebConfig`]'s reloading).
async fn accept_tls(
    listener: TcpListener,
    config: WebConfig,
    handshaken: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let (stream, peer) = tokio::select! {
            accepted = accept_tcp(&listener) => accepted,
            () = handshaken.closed() => return,
        };
        let (config, handshaken) = (config.clone(), handshaken.clone());
        tokio::spawn(async move {
            let Some(acceptor) = config.tls_acceptor() else {
                return;
            };
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
            if let Ok(Ok(stream)) = handshake.await {
                let _ = handshaken.send((stream, peer)).await;
            }
        });
    }
}

/// A connection accepted by [`WebConfigListener`]: plain TCP or TLS.
#[derive(Debug)]
pub enum WebConfigStream {
    /// Without `tls_server_config`.
    Plain(TcpStream),
    /// With `tls_server_config`, after the handshake.
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for WebConfigStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WebConfigStream::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            WebConfigStream::Tls(stream) => Pin::new(stream).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for WebConfigStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WebConfigStream::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            WebConfigStream::Tls(stream) => Pin::new(stream).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WebConfigStream::Plain(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            WebConfigStream::Tls(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            WebConfigStream::Plain(stream) => stream.is_write_vectored(),
            WebConfigStream::Tls(stream) => stream.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WebConfigStream::Plain(stream) => Pin::new(stream).poll_flush(cx),
            WebConfigStream::Tls(stream) => Pin::new(stream).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WebConfigStream::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            WebConfigStream::Tls(stream) => Pin::new(stream).poll_shutdown(cx),
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
