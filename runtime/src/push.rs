//! Pushing to a Prometheus Pushgateway, for batch jobs that end before any scrape.
//!
//! ```no_run
//! use promexport::{Counter, Metrics, Registry, push::Pusher};
//!
//! #[derive(Metrics)]
//! #[metrics(prefix = "backup", no_global)]
//! struct BackupMetrics {
//!     /// Files copied.
//!     files: Counter,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), promexport::Error> {
//! let registry = Registry::new();
//! let metrics = std::sync::Arc::new(BackupMetrics::new());
//! registry.register(metrics.clone())?;
//! metrics.files.inc_by(1200);
//! Pusher::new("http://127.0.0.1:9091", "nightly_backup")?
//!     .grouping("instance", "db-1")
//!     .push(&registry)
//!     .await
//! # }
//! ```

use crate::{Error, Format, Registry};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::time::Duration;

/// How long a push may take, connection included, unless [`Pusher::timeout`] says otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The most of the Pushgateway's answer read (it is only quoted in errors).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Pushes a registry's metrics to a Pushgateway under a job and grouping labels.
///
/// A Pushgateway started with a web config file (TLS, basic auth) takes
/// [`basic_auth`](Self::basic_auth) and, with the feature `web-config`, `https://` URLs verified
/// against the CA given to [`ca_certificate`].
///
/// A push that fails is an [`Error::Push`] (with the Pushgateway's status when it answered); a
/// pusher set up wrongly (a grouping label name that is not a label name, or `job`) refuses to
/// push with [`Error::Config`].
#[derive(Debug, Clone)]
#[doc = ""]
#[cfg_attr(
    feature = "web-config",
    doc = "[`ca_certificate`]: Self::ca_certificate"
)]
#[cfg_attr(not(feature = "web-config"), doc = "[`ca_certificate`]: #")]
pub struct Pusher {
    /// `host:port` to connect to.
    address: String,
    /// `Host` header.
    host: String,
    /// `/metrics/job/<job>/<label>/<value>...`, encoded.
    path: String,
    /// `Authorization` header.
    authorization: Option<String>,
    /// How long a push may take.
    timeout: Duration,
    /// The first problem of the grouping, reported by every push.
    problem: Option<String>,
    /// `https://`: the name the certificate must carry, and the CAs it is checked against (set
    /// by `ca_certificate`; an `https://` pusher without them refuses to push).
    #[cfg(feature = "web-config")]
    tls: Option<Tls>,
}

#[cfg(feature = "web-config")]
#[derive(Debug, Clone)]
struct Tls {
    server_name: String,
    config: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl Pusher {
    /// A pusher to the Pushgateway at `url` for `job`: `http://host:port`, or `https://host:port`
    /// (feature `web-config`, with `ca_certificate`).
    pub fn new(url: &str, job: &str) -> Result<Self, Error> {
        let invalid = |why: &str| Error::Config(format!("pushgateway URL {url:?}: {why}"));
        if job.is_empty() {
            return Err(Error::Config(
                "a push needs a job name; it is empty".to_owned(),
            ));
        }
        let (rest, https) = match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
            (Some(rest), _) => (rest, false),
            (None, Some(rest)) if cfg!(feature = "web-config") => (rest, true),
            (None, Some(_)) => return Err(invalid("https:// needs the `web-config` feature")),
            (None, None) => return Err(invalid("expected http:// or https://")),
        };
        let (host, base) = rest
            .split_once('/')
            .map_or((rest, ""), |(host, path)| (host, path));
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let address = if host
            .rsplit_once(':')
            .is_some_and(|(_, port)| port.parse::<u16>().is_ok())
        {
            host.to_owned()
        } else if https {
            format!("{host}:443")
        } else {
            format!("{host}:80")
        };
        #[cfg(feature = "web-config")]
        let tls = https.then(|| Tls {
            server_name: server_name(host).to_owned(),
            config: None,
        });
        let base = base.trim_end_matches('/');
        let prefix = if base.is_empty() {
            String::new()
        } else {
            format!("/{base}")
        };
        let mut pusher = Pusher {
            address,
            host: host.to_owned(),
            path: format!("{prefix}/metrics"),
            authorization: None,
            timeout: DEFAULT_TIMEOUT,
            problem: None,
            #[cfg(feature = "web-config")]
            tls,
        };
        pusher.append("job", job);
        Ok(pusher)
    }

    /// Adds a grouping label (e.g. `instance`), which every pushed series carries.
    ///
    /// `label` must be a label name other than `job` (given to [`new`](Self::new)); otherwise
    /// every push answers [`Error::Config`] saying so.
    pub fn grouping(mut self, label: &str, value: &str) -> Self {
        let problem = match crate::naming::label_name_problem(label) {
            Some(problem) => Some(format!("grouping label: {problem}")),
            None if label == "job" => Some(
                "grouping label `job`: the job is the second argument of `Pusher::new`".to_owned(),
            ),
            None => None,
        };
        match problem {
            Some(problem) => {
                self.problem.get_or_insert(problem);
            }
            None => self.append(label, value),
        }
        self
    }

    /// How long a push may take, connection included (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends `user` and `password` with every request (HTTP basic auth), as a Pushgateway with
    /// `basic_auth_users` in its web config file requires. Use it with `https://`: over plain
    /// HTTP the password travels in clear.
    pub fn basic_auth(mut self, user: &str, password: &str) -> Self {
        let credentials = format!("{user}:{password}");
        let encoded = crate::base64::encode(credentials.as_bytes(), crate::base64::STANDARD);
        self.authorization = Some(format!("Basic {encoded}"));
        self
    }

    /// The CA certificates (PEM) an `https://` Pushgateway's certificate must be signed by.
    #[cfg(feature = "web-config")]
    #[cfg_attr(docsrs, doc(cfg(feature = "web-config")))]
    pub fn ca_certificate(mut self, pem: &str) -> Result<Self, Error> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let invalid = Error::Config;
        let Some(tls) = &mut self.tls else {
            return Err(invalid("a CA certificate is for https:// URLs".to_owned()));
        };
        let mut roots = rustls::RootCertStore::empty();
        for certificate in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let certificate = certificate.map_err(|e| invalid(format!("CA certificate: {e}")))?;
            roots
                .add(certificate)
                .map_err(|e| invalid(format!("CA certificate: {e}")))?;
        }
        if roots.is_empty() {
            return Err(invalid("no certificate in the CA PEM".to_owned()));
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(format!("TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.config = Some(std::sync::Arc::new(config));
        Ok(self)
    }

    fn append(&mut self, label: &str, value: &str) {
        // Values with `/` (or empty ones) go base64url-encoded, as the Pushgateway specifies.
        if value.is_empty() || value.contains('/') {
            self.path
                .push_str(&format!("/{label}@base64/{}", base64url(value.as_bytes())));
        } else {
            self.path
                .push_str(&format!("/{label}/{}", percent_encode(value)));
        }
    }

    /// Replaces every metric of the group with `registry`'s (HTTP `PUT`).
    pub async fn push(&self, registry: &Registry) -> Result<(), Error> {
        self.send(Method::PUT, Some(registry)).await
    }

    /// Replaces only the metric families `registry` has (HTTP `POST`).
    pub async fn push_add(&self, registry: &Registry) -> Result<(), Error> {
        self.send(Method::POST, Some(registry)).await
    }

    /// Deletes every metric of the group (HTTP `DELETE`).
    pub async fn delete(&self) -> Result<(), Error> {
        self.send(Method::DELETE, None).await
    }

    async fn send(&self, method: Method, registry: Option<&Registry>) -> Result<(), Error> {
        if let Some(problem) = &self.problem {
            return Err(Error::Config(problem.clone()));
        }
        let body = registry.map(|r| r.render(Format::Text)).unwrap_or_default();
        let mut request = Request::builder()
            .method(method)
            .uri(&self.path)
            .header(hyper::header::HOST, &self.host)
            .header(hyper::header::CONTENT_TYPE, Format::Text.content_type());
        if let Some(authorization) = &self.authorization {
            request = request.header(hyper::header::AUTHORIZATION, authorization);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| Error::Config(format!("pushgateway request: {e}")))?;
        let exchange = async {
            let stream = tokio::net::TcpStream::connect(&self.address).await?;
            #[cfg(feature = "web-config")]
            if let Some(tls) = &self.tls {
                return exchange(connect_tls(tls, stream).await?, request).await;
            }
            exchange(stream, request).await
        };
        let failed = |message: String| Error::Push {
            status: None,
            message,
        };
        let (status, body) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| {
                failed(format!(
                    "pushgateway {} did not answer within {:?}",
                    self.address, self.timeout
                ))
            })?
            .map_err(|e| failed(format!("pushgateway {}: {e}", self.address)))?;
        if status.is_success() || status == StatusCode::ACCEPTED {
            Ok(())
        } else {
            Err(Error::Push {
                status: Some(status.as_u16()),
                message: format!(
                    "pushgateway {} answered {status}: {}",
                    self.address,
                    String::from_utf8_lossy(&body).trim()
                ),
            })
        }
    }
}

/// Sends `request` over `io` and reads the answer (at most `MAX_RESPONSE_BYTES` of it).
async fn exchange<I>(io: I, request: Request<Full<Bytes>>) -> std::io::Result<(StatusCode, Bytes)>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(std::io::Error::other)?;
    // Ends by itself once `sender` is dropped (after the answer, or when the push gives up).
    tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(std::io::Error::other)?;
    let status = response.status();
    let body = http_body_util::Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
        .collect()
        .await
        .map_err(|e| std::io::Error::other(format!("reading the pushgateway's answer: {e}")))?;
    Ok((status, body.to_bytes()))
}

#[cfg(feature = "web-config")]
async fn connect_tls(
    tls: &Tls,
    stream: tokio::net::TcpStream,
) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let config = tls.config.clone().ok_or_else(|| {
        std::io::Error::other(
            "https:// needs the CA of the pushgateway's certificate: `ca_certificate`",
        )
    })?;
    let server_name = rustls::pki_types::ServerName::try_from(tls.server_name.clone())
        .map_err(|e| std::io::Error::other(format!("TLS name {:?}: {e}", tls.server_name)))?;
    tokio_rustls::TlsConnector::from(config)
        .connect(server_name, stream)
        .await
}

/// The host of `host:port` without its port, nor the brackets of an IPv6 address.
#[cfg(feature = "web-config")]
fn server_name(host: &str) -> &str {
    let name = match host.rsplit_once(':') {
        Some((name, port))
            if port.parse::<u16>().is_ok() && (!name.contains(':') || name.ends_with(']')) =>
        {
            name
        }
        _ => host,
    };
    name.trim_start_matches('[').trim_end_matches(']')
}

/// Base64 with the URL-safe alphabet and padding, as the Pushgateway decodes it (`=` for empty).
fn base64url(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "=".to_owned();
    }
    crate::base64::encode(bytes, crate::base64::URL_SAFE)
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_grouping_values_as_the_pushgateway_reads_them() {
        assert_eq!(base64url(b""), "=");
        assert_eq!(base64url(b"a/b"), "YS9i");
        assert_eq!(base64url(b"/path/x"), "L3BhdGgveA==");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8=");
        let pusher = Pusher::new("http://gw:9091", "my job")
            .unwrap()
            .grouping("path", "/a/b");
        assert_eq!(pusher.path, "/metrics/job/my%20job/path@base64/L2EvYg==");
        assert_eq!(pusher.address, "gw:9091");
        assert!(Pusher::new("ftp://gw", "j").is_err());
        assert!(Pusher::new("http://", "j").is_err());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_wrong_job_or_grouping_label_is_refused_before_sending() {
        assert!(matches!(
            Pusher::new("http://gw:9091", ""),
            Err(Error::Config(_))
        ));
        for label in ["a/b", "", "1x", "__name__", "job"] {
            let pusher = Pusher::new("http://127.0.0.1:1", "j")
                .unwrap()
                .grouping(label, "v");
            let error = pusher.delete().await.unwrap_err();
            assert!(
                matches!(&error, Error::Config(m) if m.contains("grouping label")),
                "{label}: {error}"
            );
        }
    }

    #[cfg(feature = "web-config")]
    #[test]
    fn https_urls_name_their_host() {
        let pusher = Pusher::new("https://gw.example", "j").unwrap();
        assert_eq!(pusher.address, "gw.example:443");
        assert_eq!(server_name("gw.example:9091"), "gw.example");
        assert_eq!(server_name("gw.example"), "gw.example");
        assert_eq!(server_name("[::1]:9091"), "::1");
        assert_eq!(server_name("[::1]"), "::1");
        assert!(pusher.clone().ca_certificate("not a pem").is_err());
        let plain = Pusher::new("http://gw", "j").unwrap();
        assert!(
            plain.ca_certificate("").is_err(),
            "a CA is for https:// only"
        );
    }
}
