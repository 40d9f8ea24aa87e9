//! The web config file of Prometheus' exporter-toolkit (`--web.config.file`): TLS and basic
//! auth, in the same YAML format every official Go exporter accepts.
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

use crate::Error;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// A checked web config file of Prometheus' exporter-toolkit: TLS and basic auth settings.
///
/// [`Server::web_config_file`](crate::Server::web_config_file) loads one for promexport's own
/// server; for an axum service, [`WebConfigListener`](crate::axum::WebConfigListener) and
/// [`BasicAuthLayer`](crate::axum::BasicAuthLayer) (feature `axum`) apply one. Cloning is cheap.
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
    pub(crate) tls: Option<Arc<rustls::ServerConfig>>,
    basic_auth: Option<Arc<BasicAuth>>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field("basic_auth", &self.basic_auth.is_some())
            .finish()
    }
}

/// A YAML value of the small subset the web config uses: nested maps, scalars, lists of
/// scalars (only accepted settings take lists, whose items are not needed).
enum Node {
    Map(Vec<(String, usize, Node)>),
    Scalar(String),
    List,
}

struct Line<'a> {
    number: usize,
    indent: usize,
    text: &'a str,
}

fn config_error(path: &Path, line: usize, message: impl std::fmt::Display) -> Error {
    Error::WebConfig(format!("{}:{line}: {message}", path.display()))
}

fn strip_comment(text: &str) -> &str {
    let mut quote = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if i == 0 || text[..i].ends_with(' ') => return &text[..i],
            _ => {}
        }
    }
    text
}

fn unquote(value: &str) -> String {
    let value = value.trim();
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            return inner.to_owned();
        }
    }
    value.to_owned()
}

fn parse_yaml(path: &Path, text: &str) -> Result<Node, Error> {
    let mut lines = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        if raw.trim_start().starts_with('\t') || raw.starts_with('\t') {
            return Err(config_error(
                path,
                number,
                "tabs are not allowed for indentation",
            ));
        }
        let content = strip_comment(raw).trim_end();
        if content.trim().is_empty() || content.trim() == "---" {
            continue;
        }
        let indent = content.len() - content.trim_start().len();
        lines.push(Line {
            number,
            indent,
            text: content.trim_start(),
        });
    }
    let mut at = 0;
    let node = parse_map(path, &lines, &mut at, 0)?;
    match lines.get(at) {
        Some(line) => Err(config_error(path, line.number, "unexpected indentation")),
        None => Ok(node),
    }
}

fn parse_map(path: &Path, lines: &[Line], at: &mut usize, indent: usize) -> Result<Node, Error> {
    let mut entries = Vec::new();
    while let Some(line) = lines.get(*at).filter(|l| l.indent == indent) {
        let Some((key, value)) = line.text.split_once(':') else {
            return Err(config_error(
                path,
                line.number,
                format!("expected `key: value`, found {:?}", line.text),
            ));
        };
        let (key, value) = (unquote(key), value.trim());
        *at += 1;
        let node = match value {
            "" => match lines.get(*at).filter(|next| next.indent > indent) {
                Some(next) if next.text.starts_with("- ") || next.text == "-" => {
                    let list_indent = next.indent;
                    while let Some(item) = lines.get(*at).filter(|l| l.indent == list_indent) {
                        if !item.text.starts_with('-') {
                            return Err(config_error(
                                path,
                                item.number,
                                "expected a list item (`- value`)",
                            ));
                        }
                        *at += 1;
                    }
                    Node::List
                }
                Some(next) => parse_map(path, lines, at, next.indent)?,
                None => Node::Scalar(String::new()),
            },
            "{}" => Node::Map(Vec::new()),
            list if list.starts_with('[') && list.ends_with(']') => Node::List,
            scalar => Node::Scalar(unquote(scalar)),
        };
        if entries
            .iter()
            .any(|(k, _, _): &(String, usize, Node)| *k == key)
        {
            return Err(config_error(
                path,
                line.number,
                format!("`{key}` is given twice"),
            ));
        }
        entries.push((key, line.number, node));
    }
    Ok(Node::Map(entries))
}

impl WebConfig {
    /// Reads and checks a web config file: the certificate and key are loaded and must match,
    /// every password must be a bcrypt hash. Each error names the file and line.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::WebConfig(format!("{}: {e}", path.display())))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let Node::Map(entries) = parse_yaml(path, &text)? else {
            return Err(config_error(path, 1, "expected a map of settings"));
        };
        let mut config = WebConfig {
            tls: None,
            basic_auth: None,
        };
        for (key, line, node) in entries {
            match (key.as_str(), node) {
                ("tls_server_config", Node::Map(tls)) => {
                    config.tls = Some(Arc::new(tls_config(path, base, line, tls)?));
                }
                ("basic_auth_users", Node::Map(users)) => {
                    let mut hashes = HashMap::new();
                    for (user, user_line, hash) in users {
                        let Node::Scalar(hash) = hash else {
                            return Err(config_error(path, user_line, "expected a bcrypt hash"));
                        };
                        if !hash.starts_with("$2") {
                            return Err(config_error(
                                path,
                                user_line,
                                format!("the password of `{user}` is not a bcrypt hash ($2y$...)"),
                            ));
                        }
                        hashes.insert(user, hash);
                    }
                    config.basic_auth = Some(Arc::new(BasicAuth::new(hashes)));
                }
                // HTTP/2 is not served (HTTP/1.1 only); the setting is accepted for compatibility.
                ("http_server_config", Node::Map(_)) => {}
                ("tls_server_config" | "basic_auth_users" | "http_server_config", _) => {
                    return Err(config_error(path, line, format!("`{key}` must be a map")));
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
        Ok(config)
    }

    /// Whether connections must use TLS (`tls_server_config`).
    pub fn has_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Whether requests need credentials (`basic_auth_users`).
    pub fn has_basic_auth(&self) -> bool {
        self.basic_auth.is_some()
    }

    /// Whether a request with these headers may be served: always without `basic_auth_users`,
    /// else only with valid credentials. bcrypt, slow by design, runs off the async runtime's
    /// threads and once per (user, password).
    pub(crate) fn authorize(
        &self,
        headers: &hyper::HeaderMap,
    ) -> impl Future<Output = bool> + Send + 'static {
        let auth = self.basic_auth.clone();
        let authorization = headers
            .get(hyper::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        async move {
            let Some(auth) = auth else {
                return true;
            };
            if let Some(known) = auth.allows_cached(authorization.as_deref()) {
                return known;
            }
            let Ok(permit) = auth.verifying.clone().acquire_owned().await else {
                return false;
            };
            let verify = move || {
                let _permit = permit;
                auth.allows(authorization.as_deref())
            };
            tokio::task::spawn_blocking(verify).await.unwrap_or(false)
        }
    }
}

fn tls_config(
    path: &Path,
    base: &Path,
    line: usize,
    entries: Vec<(String, usize, Node)>,
) -> Result<rustls::ServerConfig, Error> {
    let mut settings: HashMap<String, (usize, String)> = HashMap::new();
    for (key, key_line, node) in entries {
        let accepted = [
            "cert_file",
            "key_file",
            "client_auth_type",
            "client_ca_file",
            "min_version",
            "max_version",
        ];
        match node {
            Node::Scalar(value) if accepted.contains(&key.as_str()) => {
                settings.insert(key, (key_line, value));
            }
            // Cipher suites and their order are rustls' (all modern AEAD suites).
            Node::List | Node::Scalar(_)
                if key == "cipher_suites"
                    || key == "prefer_server_cipher_suites"
                    || key == "curve_preferences" => {}
            _ => {
                return Err(config_error(
                    path,
                    key_line,
                    format!(
                        "unknown or malformed TLS setting `{key}`; expected one of: {}",
                        accepted.join(", ")
                    ),
                ));
            }
        }
    }
    let file = |key: &str| -> Result<(usize, PathBuf), Error> {
        let (key_line, value) = settings
            .get(key)
            .ok_or_else(|| config_error(path, line, format!("tls_server_config needs `{key}`")))?;
        Ok((*key_line, base.join(value)))
    };
    let (cert_line, cert_file) = file("cert_file")?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_file)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| {
            config_error(
                path,
                cert_line,
                format!("reading {}: {e}", cert_file.display()),
            )
        })?;
    if certs.is_empty() {
        return Err(config_error(
            path,
            cert_line,
            format!("{} holds no certificate", cert_file.display()),
        ));
    }
    let (key_line, key_file) = file("key_file")?;
    let key = PrivateKeyDer::from_pem_file(&key_file).map_err(|e| {
        config_error(
            path,
            key_line,
            format!("reading {}: {e}", key_file.display()),
        )
    })?;
    let versions: &[&rustls::SupportedProtocolVersion] =
        match settings.get("min_version").map(|(l, v)| (*l, v.as_str())) {
            None | Some((_, "TLS12")) => &[&rustls::version::TLS12, &rustls::version::TLS13],
            Some((_, "TLS13")) => &[&rustls::version::TLS13],
            Some((version_line, other)) => {
                return Err(config_error(
                    path,
                    version_line,
                    format!("min_version `{other}` is not supported; use TLS12 or TLS13"),
                ));
            }
        };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| config_error(path, line, e))?;
    let auth_type = settings
        .get("client_auth_type")
        .map(|(l, v)| (*l, v.as_str()));
    let client_cas = || -> Result<rustls::RootCertStore, Error> {
        let (ca_line, ca_file) = file("client_ca_file")?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(&ca_file).map_err(|e| {
            config_error(path, ca_line, format!("reading {}: {e}", ca_file.display()))
        })? {
            let cert = cert.map_err(|e| config_error(path, ca_line, e))?;
            roots
                .add(cert)
                .map_err(|e| config_error(path, ca_line, e))?;
        }
        Ok(roots)
    };
    let builder = match auth_type {
        None | Some((_, "NoClientCert")) => builder.with_no_client_auth(),
        Some((auth_line, kind @ ("RequireAndVerifyClientCert" | "VerifyClientCertIfGiven"))) => {
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(client_cas()?),
                provider,
            );
            let verifier = if kind == "VerifyClientCertIfGiven" {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(
                verifier
                    .build()
                    .map_err(|e| config_error(path, auth_line, e))?,
            )
        }
        Some((auth_line, other)) => {
            return Err(config_error(
                path,
                auth_line,
                format!(
                    "client_auth_type `{other}` is not supported; use NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert"
                ),
            ));
        }
    };
    builder.with_single_cert(certs, key).map_err(|e| {
        config_error(
            path,
            key_line,
            format!("the key does not fit the certificate: {e}"),
        )
    })
}

/// Basic auth against bcrypt hashes, with a cache so bcrypt (tens of milliseconds by design)
/// runs once per (user, password), not at every scrape.
struct BasicAuth {
    hashes: HashMap<String, String>,
    /// Keyed hashes of verified `user:password` pairs (never the passwords themselves).
    verified: Mutex<HashSet<u64>>,
    key: RandomState,
    /// One bcrypt at a time (as exporter-toolkit does): a flood of wrong passwords takes one
    /// core, not all of them, and never delays requests with verified credentials.
    verifying: Arc<tokio::sync::Semaphore>,
}

impl BasicAuth {
    fn new(hashes: HashMap<String, String>) -> Self {
        BasicAuth {
            hashes,
            verified: Mutex::new(HashSet::new()),
            key: RandomState::new(),
            verifying: Arc::new(tokio::sync::Semaphore::new(1)),
        }
    }

    /// Whether an `Authorization` header value carries valid credentials, when that is known
    /// without bcrypt (malformed, or verified before); `None` when [`allows`](Self::allows) must
    /// run bcrypt.
    fn allows_cached(&self, authorization: Option<&str>) -> Option<bool> {
        let Some((user, password)) = authorization.and_then(decode_basic) else {
            return Some(false);
        };
        let fingerprint = self.key.hash_one((&user, &password));
        let verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        verified.contains(&fingerprint).then_some(true)
    }

    /// Whether an `Authorization` header value carries valid credentials (runs bcrypt once per
    /// new user and password: call it off the async runtime's threads).
    fn allows(&self, authorization: Option<&str>) -> bool {
        let Some((user, password)) = authorization.and_then(decode_basic) else {
            return false;
        };
        let fingerprint = self.key.hash_one((&user, &password));
        let cache = || self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        if cache().contains(&fingerprint) {
            return true;
        }
        let hash = self.hashes.get(&user);
        // An unknown user's password is checked against a configured hash all the same, so the
        // answer takes as long as for a known user (no user enumeration by timing). No bcrypt
        // runs at load: a hash may claim any cost (31 takes days).
        let Some(checked) = hash.or_else(|| self.hashes.values().next()) else {
            return false;
        };
        let valid = bcrypt::verify(&password, checked).unwrap_or(false) && hash.is_some();
        if valid {
            cache().insert(fingerprint);
        }
        valid
    }
}

/// `Basic base64(user:password)` → (user, password).
pub(crate) fn decode_basic(header: &str) -> Option<(String, String)> {
    let encoded = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))?;
    let decoded = String::from_utf8(crate::base64::decode(encoded.trim())?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("promexport-webconfig-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn errors_name_the_line() {
        let dir = temp_dir("errors");
        let refusal = |text: &str| {
            let path = write(&dir, "web.yml", text);
            WebConfig::load(&path).unwrap_err().to_string()
        };
        let error = refusal("# comment\nbasic_auth_users:\n  alice: not-a-hash\n");
        assert!(
            error.ends_with("web.yml:3: the password of `alice` is not a bcrypt hash ($2y$...)"),
            "{error}"
        );
        let error = refusal("tls_server_config:\n  cert_file: a.crt\n  keyfile: a.key\n");
        assert!(
            error.contains("web.yml:3: unknown or malformed TLS setting `keyfile`"),
            "{error}"
        );
        let error = refusal("tls_server_config:\n  cert_file: missing.crt\n  key_file: a.key\n");
        assert!(error.contains("web.yml:2: reading"), "{error}");
        let error = refusal("basic_auth_user:\n  a: b\n");
        assert!(error.contains("web.yml:1: unknown setting"), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn basic_auth_checks_bcrypt_once() {
        let hash = bcrypt::hash("secret", 4).unwrap();
        let auth = BasicAuth::new(HashMap::from([("alice".to_owned(), hash)]));
        let header = |credentials: &str| format!("Basic {}", encode(credentials.as_bytes()));
        assert!(auth.allows(Some(&header("alice:secret"))));
        assert!(auth.allows(Some(&header("alice:secret"))), "from the cache");
        assert!(!auth.allows(Some(&header("alice:wrong"))));
        assert!(!auth.allows(Some(&header("bob:secret"))));
        assert!(!auth.allows(Some("Bearer x")));
        assert!(!auth.allows(None));
    }

    #[test]
    fn loading_runs_no_bcrypt_whatever_cost_a_hash_claims() {
        // Cost 31 takes days: a load that hashed at the file's cost would never return (a timeout
        // of fuzz/fuzz_targets/web_config.rs; the input is fuzz/corpus/web_config/bcrypt-cost-31).
        let dir = temp_dir("cost");
        let path = write(&dir, "web.yml", "basic_auth_users:\n  alice: $2y$31$\n");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || sender.send(WebConfig::load(&path).map(|c| c.has_basic_auth())));
        let loaded = receiver.recv_timeout(std::time::Duration::from_secs(60));
        assert!(matches!(loaded, Ok(Ok(true))), "{loaded:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn encode(bytes: &[u8]) -> String {
        crate::base64::encode(bytes, crate::base64::STANDARD)
    }

    #[test]
    fn decodes_basic_credentials() {
        assert_eq!(
            decode_basic("Basic YWxpY2U6czNjcjN0"),
            Some(("alice".into(), "s3cr3t".into()))
        );
        assert_eq!(
            decode_basic("Basic YTpiOmM="),
            Some(("a".into(), "b:c".into()))
        );
        assert_eq!(decode_basic("Basic !!"), None);
    }
}
