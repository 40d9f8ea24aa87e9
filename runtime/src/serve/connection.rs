//! One accepted connection: hyper's HTTP/1.1 over plain TCP or TLS, within the server's limits.

use super::Routes;
use super::connection_limits::{OpenConnection, WriteDeadline};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

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
        let io = WriteDeadline::new(io, limits.write_timeout, open);
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            // hyper starts this timer at every request head, also on an idle kept-alive
            // connection, so it is the idle timeout too (pinned by a test).
            .header_read_timeout(limits.header_read_timeout)
            .max_buf_size(limits.max_header_bytes)
            .serve_connection(TokioIo::new(io), service);
        // Its errors are the client's doing (gone, too slow) and counted by `WriteDeadline`.
        let _ = watcher.watch(connection).await;
    }
}
