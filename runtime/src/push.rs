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

/// How long a push may take, connection included.
const PUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// The most of the Pushgateway's answer read (it is only quoted in errors).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Pushes a registry's metrics to a Pushgateway under a job and grouping labels.
#[derive(Debug, Clone)]
pub struct Pusher {
    /// `host:port` to connect to.
    address: String,
    /// `Host` header.
    host: String,
    /// `/metrics/job/<job>/<label>/<value>...`, encoded.
    path: String,
}

impl Pusher {
    /// A pusher to the Pushgateway at `url` (`http://host:port`, plain HTTP) for `job`.
    pub fn new(url: &str, job: &str) -> Result<Self, Error> {
        let invalid = |why: &str| {
            Error::Io(std::io::Error::other(format!(
                "pushgateway URL {url:?}: {why}"
            )))
        };
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| invalid("only http:// is supported"))?;
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
        } else {
            format!("{host}:80")
        };
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
        };
        pusher.append("job", job);
        Ok(pusher)
    }

    /// Adds a grouping label (e.g. `instance`), which every pushed series carries.
    pub fn grouping(mut self, label: &str, value: &str) -> Self {
        self.append(label, value);
        self
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
        let body = registry.map(|r| r.render(Format::Text)).unwrap_or_default();
        let request = Request::builder()
            .method(method)
            .uri(&self.path)
            .header(hyper::header::HOST, &self.host)
            .header(hyper::header::CONTENT_TYPE, Format::Text.content_type())
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| Error::Io(std::io::Error::other(e)))?;
        let exchange = async {
            let stream = tokio::net::TcpStream::connect(&self.address).await?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(std::io::Error::other)?;
            tokio::spawn(connection);
            let response = sender
                .send_request(request)
                .await
                .map_err(std::io::Error::other)?;
            let status = response.status();
            let body = http_body_util::Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| {
                    std::io::Error::other(format!("reading the pushgateway's answer: {e}"))
                })?;
            Ok::<_, std::io::Error>((status, body.to_bytes()))
        };
        let (status, body) = tokio::time::timeout(PUSH_TIMEOUT, exchange)
            .await
            .map_err(|_| {
                Error::Io(std::io::Error::other(
                    "pushgateway did not answer within 10 s",
                ))
            })??;
        if status.is_success() || status == StatusCode::ACCEPTED {
            Ok(())
        } else {
            Err(Error::Io(std::io::Error::other(format!(
                "pushgateway answered {status}: {}",
                String::from_utf8_lossy(&body).trim()
            ))))
        }
    }
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
        assert!(Pusher::new("https://gw", "j").is_err());
    }
}
