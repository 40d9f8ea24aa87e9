//! Connection-level limits shared by promexport's own server and `axum::WebConfigListener`: a cap
//! on open connections, a deadline for responses the client stopped reading, backoff after failed
//! accepts, and the `promexport_server_*` metrics counting them.

use crate::Registry;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The pause after a failed accept, doubled while accepts keep failing.
const ACCEPT_PAUSE_MIN: Duration = Duration::from_millis(10);
const ACCEPT_PAUSE_MAX: Duration = Duration::from_secs(1);

/// The connection-level metrics (`promexport_server_*`), one set per registry they count in.
#[derive(crate::Metrics)]
#[metrics(crate = crate, prefix = "promexport_server", no_global)]
pub(crate) struct ConnectionMetrics {
    /// Connections open, TLS handshakes included (at most the server's `max_connections`).
    pub(crate) connections_open: crate::Gauge,
    /// Connections closed at once because `max_connections` were open.
    pub(crate) connections_rejected: crate::Counter,
    /// Failed accepts, such as too many open files; the server retries after a pause.
    pub(crate) accept_errors: crate::Counter,
    /// Connections closed because the client read a response slower than `write_timeout`.
    pub(crate) write_timeouts: crate::Counter,
}

/// The connection metrics of each registry counted in so far (a registry has no way to
/// unregister).
type Counted = Vec<(
    Weak<dyn std::any::Any + Send + Sync>,
    Arc<ConnectionMetrics>,
)>;
static COUNTED: Mutex<Counted> = Mutex::new(Vec::new());

/// The connection metrics registered in `registry`: those of an earlier server or listener of it,
/// so they keep counting across restarts and add up over the listeners of one registry, or new
/// ones.
pub(crate) fn connection_metrics(registry: &Registry) -> Arc<ConnectionMetrics> {
    let identity = registry.identity();
    let mut counted = COUNTED.lock().unwrap_or_else(PoisonError::into_inner);
    counted.retain(|(registry, _)| registry.strong_count() > 0);
    if let Some((_, metrics)) = counted.iter().find(|(known, _)| known.ptr_eq(&identity)) {
        return metrics.clone();
    }
    let metrics = Arc::new(ConnectionMetrics::new());
    // Names the user already took win; connections are still limited, just not counted.
    let _ = registry.register(metrics.clone());
    counted.push((identity, metrics.clone()));
    metrics
}

/// One of a listener's `max_connections`, counted in `connections_open` until dropped.
pub(crate) struct OpenConnection {
    metrics: Arc<ConnectionMetrics>,
    _permit: OwnedSemaphorePermit,
}

impl OpenConnection {
    /// Takes a permit of `connections`; `None` (counted as rejected) when none is left.
    pub(crate) fn admit(
        connections: &Arc<Semaphore>,
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

/// Backoff after failed accepts (too many open files, a connection reset before it was accepted):
/// they are transient, so the listener keeps serving, but says so and pauses, longer while they
/// keep failing.
pub(crate) struct AcceptBackoff {
    listener: &'static str,
    pause: Duration,
}

impl AcceptBackoff {
    /// Backoff for `listener`, the name its log lines start with.
    pub(crate) fn new(listener: &'static str) -> Self {
        AcceptBackoff {
            listener,
            pause: ACCEPT_PAUSE_MIN,
        }
    }

    /// Logs and counts `error`, then waits before the next accept.
    pub(crate) async fn failed(&mut self, error: &io::Error, metrics: &ConnectionMetrics) {
        metrics.accept_errors.inc();
        tracing::warn!(%error, pause = ?self.pause, "{}: accept failed", self.listener);
        tokio::time::sleep(self.pause).await;
        self.pause = (self.pause * 2).min(ACCEPT_PAUSE_MAX);
    }

    /// An accept succeeded: the next failure pauses briefly again.
    pub(crate) fn succeeded(&mut self) {
        self.pause = ACCEPT_PAUSE_MIN;
    }
}

/// An IO that fails writes stuck for longer than `timeout`: from the moment the client stops
/// keeping up until the whole response is handed to the kernel, so a client reading slowly
/// (or not at all) cannot pin a response buffer for ever. It holds the connection's place among
/// `max_connections` until dropped, and counts its timeout in `write_timeouts`.
pub(crate) struct WriteDeadline<I> {
    io: I,
    timeout: Duration,
    stalled_since: Option<Pin<Box<tokio::time::Sleep>>>,
    timed_out: bool,
    open: OpenConnection,
}

impl<I> WriteDeadline<I> {
    pub(crate) fn new(io: I, timeout: Duration, open: OpenConnection) -> Self {
        WriteDeadline {
            io,
            timeout,
            stalled_since: None,
            timed_out: false,
            open,
        }
    }

    #[cfg(all(feature = "axum", feature = "web-config"))]
    pub(crate) fn get_ref(&self) -> &I {
        &self.io
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
            Poll::Ready(()) => {
                if !std::mem::replace(&mut self.timed_out, true) {
                    self.open.metrics.write_timeouts.inc();
                }
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("the client read no response for {timeout:?}"),
                )))
            }
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
