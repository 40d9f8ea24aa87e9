//! One accepted connection: hyper's HTTP/1.1 over plain TCP or TLS, within the server's limits.

use super::Routes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The server's connection-level metrics (`promexport_server_*`), one set per served registry.
#[derive(crate::Metrics)]
#[metrics(crate = crate, prefix = "promexport_server", no_global)]
pub(super) struct ConnectionMetrics {
    /// Connections open, TLS handshakes included (at most the server's `max_connections`).
    pub(super) connections_open: crate::Gauge,
    /// Connections closed at once because `max_connections` were open.
    pub(super) connections_rejected: crate::Counter,
    /// Failed accepts, such as too many open files; the server retries after a pause.
    pub(super) accept_errors: crate::Counter,
    /// Connections closed because the client read a response slower than `write_timeout`.
    pub(super) write_timeouts: crate::Counter,
}

/// Settings every connection shares.
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    pub(super) header_read_timeout: Duration,
    pub(super) write_timeout: Duration,
    pub(super) max_header_bytes: usize,
}

/// One accepted connection, served over plain TCP or TLS.
pub(super) struct Connection {
    pub(super) routes: Arc<Routes>,
    pub(super) limits: Limits,
    pub(super) watcher: hyper_util::server::graceful::Watcher,
    pub(super) open: OpenConnection,
}

/// One of the server's `max_connections`, counted in `connections_open` until dropped.
pub(super) struct OpenConnection {
    metrics: Arc<ConnectionMetrics>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl OpenConnection {
    /// Takes a permit of `connections`; `None` (counted as rejected) when none is left.
    pub(super) fn admit(
        connections: &Arc<tokio::sync::Semaphore>,
        metrics: &Arc<ConnectionMetrics>,
    ) -> Option<Self> {
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            metrics.connections_rejected.inc();
            return None;
        };
        metrics.connections_open.inc();
        Some(OpenConnection {
            metrics: metrics.clone(),
            _permit: permit,
        })
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.metrics.connections_open.dec();
    }
}

impl Connection {
    pub(super) async fn serve<I>(self, io: I)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Connection {
            routes,
            limits,
            watcher,
            open,
        } = self;
        let service = service_fn(move |request| {
            let routes = routes.clone();
            async move { Ok::<_, std::convert::Infallible>(routes.answer(&request).await) }
        });
        let io = WriteDeadline::new(io, limits.write_timeout);
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            // hyper starts this timer at every request head, also on an idle kept-alive
            // connection, so it is the idle timeout too (pinned by a test).
            .header_read_timeout(limits.header_read_timeout)
            .max_buf_size(limits.max_header_bytes)
            .serve_connection(TokioIo::new(io), service);
        if let Err(error) = watcher.watch(connection).await {
            let timed_out = std::error::Error::source(&error)
                .and_then(|source| source.downcast_ref::<io::Error>())
                .is_some_and(|error| error.kind() == io::ErrorKind::TimedOut);
            if timed_out {
                open.metrics.write_timeouts.inc();
            }
        }
    }
}

/// An IO that fails writes stuck for longer than `timeout`: from the moment the client stops
/// keeping up until the whole response is handed to the kernel, so a client reading slowly
/// (or not at all) cannot pin a response buffer for ever.
pub(super) struct WriteDeadline<I> {
    io: I,
    timeout: Duration,
    stalled_since: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<I> WriteDeadline<I> {
    fn new(io: I, timeout: Duration) -> Self {
        WriteDeadline {
            io,
            timeout,
            stalled_since: None,
        }
    }

    fn check<T>(
        &mut self,
        cx: &mut Context<'_>,
        result: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if result.is_ready() {
            return result;
        }
        let timeout = self.timeout;
        let deadline = self
            .stalled_since
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the client read no response for {timeout:?}"),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for WriteDeadline<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.io).poll_write(cx, buf);
        self.check(cx, result)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.check(cx, result)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.io).poll_flush(cx);
        // hyper flushes once a response is all written: the client has kept up.
        if matches!(result, Poll::Ready(Ok(()))) {
            self.stalled_since = None;
        }
        self.check(cx, result)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.io).poll_shutdown(cx);
        self.check(cx, result)
    }
}
