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

use crate::http_client::{Failure, Target, basic_authorization};
use crate::{Error, Format, Registry};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use std::time::Duration;

/// How long a push may take, connection included, unless [`Pusher::timeout`] says otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

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
    /// Where to connect; its path is `<base>/metrics/job/<job>/<label>/<value>...`, encoded.
    target: Target,
    /// `Authorization` header.
    authorization: Option<String>,
    /// How long a push may take.
    timeout: Duration,
    /// The first problem of the grouping, reported by every push.
    problem: Option<String>,
}

impl Pusher {
    /// A pusher to the Pushgateway at `url` for `job`: `http://host:port`, or `https://host:port`
    /// (feature `web-config`, with `ca_certificate`).
    pub fn new(url: &str, job: &str) -> Result<Self, Error> {
        if job.is_empty() {
            return Err(Error::Config(
                "a push needs a job name; it is empty".to_owned(),
            ));
        }
        let mut target = Target::parse(url, "pushgateway")?;
        let base = target.path.trim_end_matches('/');
        target.path = format!("{base}/metrics");
        let mut pusher = Pusher {
            target,
            authorization: None,
            timeout: DEFAULT_TIMEOUT,
            problem: None,
        };
        pusher.append("job", job);
        Ok(pusher)
    }

    /// Adds a grouping label (e.g. `instance`), which every pushed series carries.
    ///
    /// `label` must be a label name other than `job` (given to [`new`](Self::new)); otherwise
    /// every push answers [`Error::Config`] saying so.
    pub fn grouping(mut self, label: &str, value: &str) -> Self {
        let problem = match crate::naming::legacy_label_name_problem(label) {
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
        self.authorization = Some(basic_authorization(user, password));
        self
    }

    /// The CA certificates (PEM) an `https://` Pushgateway's certificate must be signed by.
    #[cfg(feature = "web-config")]
    #[cfg_attr(docsrs, doc(cfg(feature = "web-config")))]
    pub fn ca_certificate(mut self, pem: &str) -> Result<Self, Error> {
        self.target.set_ca_certificate(pem)?;
        Ok(self)
    }

    fn append(&mut self, label: &str, value: &str) {
        let path = &mut self.target.path;
        // Values with `/` (or empty ones) go base64url-encoded, as the Pushgateway specifies.
        if value.is_empty() || value.contains('/') {
            path.push_str(&format!("/{label}@base64/{}", base64url(value.as_bytes())));
        } else {
            path.push_str(&format!("/{label}/{}", percent_encode(value)));
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
            .uri(&self.target.path)
            .header(hyper::header::HOST, &self.target.host)
            .header(hyper::header::CONTENT_TYPE, Format::Text.content_type());
        if let Some(authorization) = &self.authorization {
            request = request.header(hyper::header::AUTHORIZATION, authorization);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| Error::Config(format!("pushgateway request: {e}")))?;
        let address = &self.target.address;
        let failed = |message: String| Error::Push {
            status: None,
            message,
        };
        let answer =
            self.target
                .send(request, self.timeout)
                .await
                .map_err(|failure| match failure {
                    Failure::Timeout => failed(format!(
                        "pushgateway {address} did not answer within {:?}",
                        self.timeout
                    )),
                    Failure::Transport(e) => failed(format!("pushgateway {address}: {e}")),
                })?;
        let status = answer.status;
        if status.is_success() || status == StatusCode::ACCEPTED {
            Ok(())
        } else {
            Err(Error::Push {
                status: Some(status.as_u16()),
                message: format!(
                    "pushgateway {address} answered {status}: {}",
                    String::from_utf8_lossy(&answer.body).trim()
                ),
            })
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
        assert_eq!(
            pusher.target.path,
            "/metrics/job/my%20job/path@base64/L2EvYg=="
        );
        assert_eq!(pusher.target.address, "gw:9091");
        let based = Pusher::new("http://gw:9091/base/", "j").unwrap();
        assert_eq!(based.target.path, "/base/metrics/job/j");
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
    fn a_ca_is_for_https_pushgateways() {
        let pusher = Pusher::new("https://gw.example", "j").unwrap();
        assert_eq!(pusher.target.address, "gw.example:443");
        assert!(pusher.clone().ca_certificate("not a pem").is_err());
        let plain = Pusher::new("http://gw", "j").unwrap();
        assert!(
            plain.ca_certificate("").is_err(),
            "a CA is for https:// only"
        );
    }
}
