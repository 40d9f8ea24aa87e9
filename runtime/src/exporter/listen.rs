//! The sockets an exporter serves on: each `--web.listen-address`, or with
//! `--web.systemd-socket` those systemd passed (`LISTEN_FDS`, `LISTEN_PID`), as go-systemd's
//! `activation.Listeners` takes them.

use crate::{Error, ListenAddress};
use std::net::TcpListener;

/// The first file descriptor systemd passes (`SD_LISTEN_FDS_START`).
const FIRST_PASSED_FD: i32 = 3;

/// Binds each address (`:9100` is every IPv4 interface, as in Go); an error names the address.
pub(crate) fn bind_all(addresses: &[String]) -> Result<Vec<TcpListener>, Error> {
    addresses
        .iter()
        .map(|address| {
            let addrs = address.socket_addrs()?;
            TcpListener::bind(&addrs[..]).map_err(|error| {
                Error::Io(std::io::Error::new(
                    error.kind(),
                    format!("cannot listen on {address:?}: {error}"),
                ))
            })
        })
        .collect()
}

/// The listening sockets systemd passed to this process.
pub(crate) fn systemd_sockets() -> Result<Vec<TcpListener>, Error> {
    systemd_sockets_from(
        std::env::var("LISTEN_PID").ok().as_deref(),
        std::env::var("LISTEN_FDS").ok().as_deref(),
        std::process::id(),
    )
}

fn systemd_sockets_from(
    listen_pid: Option<&str>,
    listen_fds: Option<&str>,
    own_pid: u32,
) -> Result<Vec<TcpListener>, Error> {
    let count = passed_fd_count(listen_pid, listen_fds, own_pid)?;
    (FIRST_PASSED_FD..FIRST_PASSED_FD + count)
        .map(adopt_listener)
        .collect()
}

/// How many sockets were passed to `own_pid`; an error says why none can be used.
fn passed_fd_count(
    listen_pid: Option<&str>,
    listen_fds: Option<&str>,
    own_pid: u32,
) -> Result<i32, Error> {
    let refused = |why: String| Err(Error::Config(format!("--web.systemd-socket: {why}")));
    match listen_pid.map(str::parse::<u32>) {
        Some(Ok(pid)) if pid == own_pid => {}
        Some(Ok(pid)) => {
            return refused(format!(
                "the sockets were passed to process {pid}, not to this one ({own_pid})"
            ));
        }
        Some(Err(_)) => return refused("LISTEN_PID is not a process id".to_owned()),
        None => {
            return refused(
                "no socket activation file descriptors found (LISTEN_PID is not set)".to_owned(),
            );
        }
    }
    match listen_fds.map(str::parse::<i32>) {
        Some(Ok(count)) if count > 0 && count < 1024 => Ok(count),
        _ => refused("no socket activation file descriptors found (LISTEN_FDS)".to_owned()),
    }
}

/// Takes over the inherited descriptor `fd`, which must be a listening TCP socket: as
/// go-systemd does, the socket is kept close-on-exec (a duplicate made so) and `fd` is closed.
fn adopt_listener(fd: i32) -> Result<TcpListener, Error> {
    use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd};
    // SAFETY: `fd` is in the range systemd passed to this very process (LISTEN_PID checked),
    // and nothing else of the process uses it; borrowed only to duplicate it.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let socket = borrowed.try_clone_to_owned().map_err(|error| {
        Error::Config(format!(
            "--web.systemd-socket: file descriptor {fd} is not open: {error}"
        ))
    })?;
    // SAFETY: `fd` is open (it was just duplicated) and owned by nobody else.
    drop(unsafe { OwnedFd::from_raw_fd(fd) });
    let listener = TcpListener::from(socket);
    match listener.local_addr() {
        Ok(_) => Ok(listener),
        Err(error) => Err(Error::Config(format!(
            "--web.systemd-socket: file descriptor {fd} is not a TCP socket: {error}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::passed_fd_count;

    #[test]
    fn sockets_passed_to_another_process_are_refused() {
        assert_eq!(passed_fd_count(Some("42"), Some("2"), 42).unwrap(), 2);
        for (pid, fds) in [
            (Some("41"), Some("1")),
            (None, Some("1")),
            (Some("x"), Some("1")),
            (Some("42"), Some("0")),
            (Some("42"), None),
        ] {
            let error = passed_fd_count(pid, fds, 42).unwrap_err().to_string();
            assert!(error.contains("--web.systemd-socket"), "{error}");
        }
    }
}
