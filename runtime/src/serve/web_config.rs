//! The web config file of Prometheus' exporter-toolkit (`--web.config.file`): TLS, basic auth
//! and response headers, in the same YAML format every official Go exporter accepts.
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt          # paths are relative to this file
//!   key_file: server.key
//!   client_auth_type: RequireAndVerifyClientCert   # or NoClientCert (default), ...
//!   client_ca_file: clients-ca.crt
//!   min_version: TLS12             # or TLS13
//! basic_auth_users:
//!   prometheus: $2y$10$...         # bcrypt hash (htpasswd -nBC 10 "" | tr -d ':\n')
//! ```
//!
//! The file is watched as exporter-toolkit re-reads it: see [`WebConfig`].

mod basic_auth;
mod files;
mod http;
mod tls;
mod yaml;

use crate::Error;
use basic_auth::{Credentials, Users};
use files::Files;
use hyper::header::{HeaderName, HeaderValue};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock, TryLockError};
use std::time::{Duration, Instant};
use yaml::{Node, config_error, parse_yaml};

pub(crate) use basic_auth::Verdict;
#[cfg(feature = "fuzzing")]
pub(crate) use basic_auth::decode_basic;

/// How often, at most, a handshake or a request checks whether the files changed.
const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// A checked web config file of Prometheus' exporter-toolkit: TLS, basic auth and response
/// header settings.
///
/// [`Server::web_config_file`](crate::Server::web_config_file) loads one for promexport's own
/// server; for an axum service, `axum::WebConfigListener` and `axum::BasicAuthLayer` (feature
/// `axum`) apply one. Clones share the file and what was loaded from it.
///
/// # Reloading
///
/// As exporter-toolkit re-reads its file for each handshake and request, a rotated certificate
/// or edited `basic_auth_users` apply without a restart: a TLS handshake or a request checks,
/// at most once a second, whether the file or a certificate, key or CA file it names changed
/// (`stat`: size, modification time, inode), and if so loads it again. New handshakes then
/// get the new certificate; requests are checked against the new users, and verified
/// credentials of removed or changed users are forgotten. A file that became invalid is
/// logged (`tracing` error, with its line) and the config in force stays, so the server keeps
/// serving; so does a change between TLS and plain HTTP, which needs a restart.
/// [`reload`](Self::reload) checks at once (e.g. on `SIGHUP`).
///
/// The default is what no file means: plain HTTP, no credentials.
///
/// ```no_run
/// let config = promexport::WebConfig::load("web.yml")?;
/// println!("TLS: {}, basic auth: {}", config.has_tls(), config.has_basic_auth());
/// # Ok::<(), promexport::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct WebConfig {
    watched: Arc<Watched>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("path", &self.watched.path)
            .field("tls", &self.has_tls())
            .field("basic_auth", &self.has_basic_auth())
            .finish()
    }
}

/// What a web config file says, checked: what handshakes and requests need.
#[derive(Default)]
struct Settings {
    tls: Option<Arc<rustls::ServerConfig>>,
    users: Option<Users>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

/// A web config file and the settings loaded from it last.
struct Watched {
    /// `None`: no file (the default config).
    path: Option<PathBuf>,
    current: RwLock<Arc<Settings>>,
    check: Mutex<Check>,
    credentials: Arc<Credentials>,
}

/// When to look at the files next, and what they were at the last load (good or not: a bad
/// file is tried again only once it changes).
struct Check {
    next: Instant,
    files: Files,
}

impl Default for Watched {
    fn default() -> Self {
        Watched::new(None, Settings::default(), Files::default())
    }
}

impl Watched {
    fn new(path: Option<PathBuf>, settings: Settings, files: Files) -> Self {
        Watched {
            path,
            current: RwLock::new(Arc::new(settings)),
            check: Mutex::new(Check {
                next: Instant::now() + CHECK_INTERVAL,
                files,
            }),
            credentials: Arc::new(Credentials::new(basic_auth::BCRYPT_WAIT)),
        }
    }
}

impl WebConfig {
    /// Reads and checks a web config file: the certificate and key are loaded and must match,
    /// every password must be a valid bcrypt hash, every setting is honoured or refused. Each
    /// error names the file and line.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let mut files = Files::default();
        let settings = load_settings(path, &mut files)?;
        Ok(WebConfig {
            watched: Arc::new(Watched::new(Some(path.to_owned()), settings, files)),
        })
    }

    /// Loads the file again now if it, or a file it names, changed since it was last read:
    /// `Ok(true)` when new settings are in force, `Ok(false)` when nothing changed. When the
    /// changed file is invalid (or switches between TLS and plain HTTP), the error says why and
    /// the settings in force stay.
    ///
    /// Handshakes and requests do this by themselves, once a second at most; call it to apply
    /// a change at once, e.g. on `SIGHUP`.
    pub fn reload(&self) -> Result<bool, Error> {
        let mut check = self
            .watched
            .check
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        check.next = Instant::now() + CHECK_INTERVAL;
        self.reload_if_changed(&mut check)
    }

    /// Whether connections must use TLS (`tls_server_config`). This never changes on reload.
    pub fn has_tls(&self) -> bool {
        self.current().tls.is_some()
    }

    /// Whether requests need credentials (`basic_auth_users` with at least one user), as of
    /// the last load.
    pub fn has_basic_auth(&self) -> bool {
        self.current().users.is_some()
    }

    fn current(&self) -> Arc<Settings> {
        let current = self
            .watched
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        current.clone()
    }

    /// Reloads if a second has passed since the last check and a file changed; never waits
    /// for another caller doing so.
    fn refresh(&self) {
        let Some(path) = &self.watched.path else {
            return;
        };
        let mut check = match self.watched.check.try_lock() {
            Ok(check) => check,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        let now = Instant::now();
        if now < check.next {
            return;
        }
        check.next = now + CHECK_INTERVAL;
        match self.reload_if_changed(&mut check) {
            Ok(true) => tracing::info!(file = %path.display(), "web config reloaded"),
            Ok(false) => {}
            Err(error) => {
                tracing::error!(%error, "web config not reloaded; the previous one stays in force");
            }
        }
    }

    fn reload_if_changed(&self, check: &mut Check) -> Result<bool, Error> {
        let Some(path) = &self.watched.path else {
            return Ok(false);
        };
        if check.files.unchanged() {
            return Ok(false);
        }
        let mut files = Files::default();
        let loaded = load_settings(path, &mut files);
        check.files = files;
        let settings = loaded?;
        let had_tls = self.has_tls();
        if settings.tls.is_some() != had_tls {
            let serving = if had_tls { "TLS" } else { "plain HTTP" };
            return Err(Error::WebConfig(format!(
                "{}: switching between TLS and plain HTTP needs a restart; still serving {serving}",
                path.display()
            )));
        }
        self.watched.credentials.retain(settings.users.as_ref());
        *self
            .watched
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(settings);
        Ok(true)
    }

    /// The TLS acceptor for a new connection, with the certificate in force now (`None` without
    /// `tls_server_config`).
    pub(crate) fn tls_acceptor(&self) -> Option<tokio_rustls::TlsAcceptor> {
        self.refresh();
        self.current()
            .tls
            .clone()
            .map(tokio_rustls::TlsAcceptor::from)
    }

    /// Whether a request with these headers may be served: always without `basic_auth_users`,
    /// else only with valid credentials. bcrypt, slow by design, runs off the async runtime's
    /// threads and once per (user, password).
    pub(crate) fn authorize(
        &self,
        headers: &hyper::HeaderMap,
    ) -> impl Future<Output = Verdict> + Send + 'static {
        self.refresh();
        let authorization = headers
            .get(hyper::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let credentials = self.watched.credentials.clone();
        credentials.verify(self.current(), authorization)
    }

    /// Adds the `http_server_config.headers` to a response's headers, unless already set.
    pub(crate) fn add_headers(&self, headers: &mut hyper::HeaderMap) {
        for (name, value) in &self.current().headers {
            headers.entry(name.clone()).or_insert_with(|| value.clone());
        }
    }
}

impl Verdict {
    /// The answer to a request refused by basic auth; `None` when it may be served.
    pub(crate) fn refusal(
        self,
    ) -> Option<hyper::Response<http_body_util::Full<hyper::body::Bytes>>> {
        match self {
            Verdict::Allowed => None,
            Verdict::Refused => Some(super::handler::unauthorized()),
            Verdict::Busy => {
                let mut response = super::handler::plain(
                    hyper::StatusCode::TOO_MANY_REQUESTS,
                    "too many credentials being verified; try again\n",
                );
                response
                    .headers_mut()
                    .insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("1"));
                Some(response)
            }
        }
    }
}

/// Reads and checks the file at `path`, recording in `files` every file read.
fn load_settings(path: &Path, files: &mut Files) -> Result<Settings, Error> {
    let bytes = files
        .read(path)
        .map_err(|e| Error::WebConfig(format!("{}: {e}", path.display())))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::WebConfig(format!("{}: not UTF-8 text", path.display())))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let Node::Map(entries) = parse_yaml(path, &text)? else {
        return Err(config_error(path, 1, "expected a map of settings"));
    };
    let mut settings = Settings::default();
    for (key, line, node) in entries {
        match (key.as_str(), node) {
            ("tls_server_config", Node::Map(tls)) => {
                let config = tls::tls_config(path, base, line, tls, files)?;
                settings.tls = Some(Arc::new(config));
            }
            ("basic_auth_users", Node::Map(users)) => {
                settings.users = Users::parse(path, users)?;
            }
            ("http_server_config", Node::Map(http)) => {
                settings.headers = http::response_headers(path, http)?;
            }
            ("tls_server_config" | "basic_auth_users" | "http_server_config", _) => {
                return Err(config_error(path, line, format!("`{key}` must be a map")));
            }
            ("rate_limit", _) => {
                return Err(config_error(
                    path,
                    line,
                    "`rate_limit` is not supported (see Server::max_concurrent_scrapes); remove the setting",
                ));
            }
            (other, _) => {
                return Err(config_error(
                    path,
                    line,
                    format!(
                        "unknown setting `{other}`; expected tls_server_config, basic_auth_users or http_server_config"
                    ),
                ));
            }
        }
    }
    Ok(settings)
}

#[cfg(test)]
mod tests;
