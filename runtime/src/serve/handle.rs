//! The handle of a server spawned on a thread of its own.

use crate::Error;
use std::net::SocketAddr;
use std::thread::JoinHandle;
use tokio::sync::watch;

/// A running server: its address, a graceful [`shutdown`](Self::shutdown), or
/// [`detach`](Self::detach) to serve for the life of the process.
///
/// **Dropping the handle stops the server.** Unlike `std::thread::JoinHandle`, which detaches, a
/// dropped `ServerHandle` stops accepting and lets in-flight scrapes finish (up to 5 s):
///
/// - outside async code the drop waits for that, so the port is free when it returns;
/// - inside a tokio runtime it only signals the stop and returns at once (a runtime worker is
///   never blocked); the server thread finishes on its own and releases the port shortly after.
///
/// So keep the handle for as long as you serve (`let server = ...spawn()?;` in `main`), call
/// [`detach`](Self::detach), or block in [`Server::serve_forever`](super::Server::serve_forever).
///
/// ```
/// let server = promexport::Server::bind("127.0.0.1:0")?.spawn()?;
/// println!("serving on {}", server.url());   // a handle dropped here would stop the server
/// server.detach();                            // serves until the process exits
/// # Ok::<(), promexport::Error>(())
/// ```
#[derive(Debug)]
#[must_use = "dropping a ServerHandle stops the server: keep it, or call `.detach()`"]
pub struct ServerHandle {
    local_addr: SocketAddr,
    path: String,
    /// `None` once detached: a server whose stop sender is gone serves on.
    stop: Option<watch::Sender<bool>>,
    thread: Option<JoinHandle<Result<(), Error>>>,
}

impl ServerHandle {
    pub(super) fn new(
        local_addr: SocketAddr,
        path: String,
        stop: watch::Sender<bool>,
        thread: JoinHandle<Result<(), Error>>,
    ) -> Self {
        ServerHandle {
            local_addr,
            path,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

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

    /// Lets the server serve for the life of the process, without a handle. An error that stops
    /// it later is logged (`tracing`), with nobody to return it to.
    pub fn detach(mut self) {
        // Without its sender the stop signal can never come; the thread runs on, unjoined.
        self.stop = None;
        self.thread = None;
    }

    /// Stops accepting, lets in-flight scrapes finish (up to 5 s), and waits for the server
    /// thread; returns the error that stopped the server earlier, if one did.
    ///
    /// Blocks the calling thread for as long as that takes, also inside async code (wrap it in
    /// `spawn_blocking` there, or drop the handle, which does not wait inside a runtime).
    pub fn shutdown(mut self) -> Result<(), Error> {
        self.signal_stop();
        match self.thread.take().map(JoinHandle::join) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(error))) => Err(error),
            Some(Err(_panic)) => Err(Error::Io(std::io::Error::other(
                "the server thread panicked",
            ))),
        }
    }

    fn signal_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.signal_stop();
        let Some(thread) = self.thread.take() else {
            return;
        };
        // Joining inside a runtime would block one of its workers for up to the grace period.
        if tokio::runtime::Handle::try_current().is_ok() {
            return;
        }
        // No caller is left to report an error to; the server thread has logged it.
        let _ = thread.join();
    }
}
