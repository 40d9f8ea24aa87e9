//! The HTTP/1.1 client of the push and remote write features: one connection per request, over
//! TCP or (feature `web-config`) TLS verified against a given CA, with a timeout.

use crate::Error;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{HeaderMap, Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::time::Duration;

/// The most of an answer read (it is only quoted in errors).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Where requests go: the `host:port` to connect to, the `Host` header, and the path of the URL.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// `host:port` to connect to.
    pub(crate) address: String,
    /// `Host` header.
    pub(crate) host: String,
    /// The URL's path and query, `""` when it has none.
    pub(crate) path: String,
    /// What the server is, in errors (`pushgateway`).
    peer: &'static str,
    /// `https://`: the name the certificate must carry, and the CAs it is checked against (set
    /// by `set_ca_certificate`; an `https://` target without them refuses to send).
    #[cfg(feature = "web-config")]
    tls: Option<Tls>,
}

#[cfg(feature = "web-config")]
#[derive(Debug, Clone)]
struct Tls {
    server_name: String,
    config: Option<std::sync::Arc<rustls::ClientConfig>>,
}

/// An answer: its status, headers and (the start of) its body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    /// Read by remote write only (`Retry-After`).
    #[cfg_attr(not(feature = "remote-write"), allow(dead_code))]
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// Why no answer came.
#[derive(Debug)]
pub(crate) enum Failure {
    /// None within the timeout.
    Timeout,
    /// The connection failed or broke.
    Transport(std::io::Error),
}

impl Target {
    /// The target of `url` (`http://host[:port][/path]`, or `https://` with `web-config`);
    /// `peer` names the server in errors (`pushgateway`).
    pub(crate) fn parse(url: &str, peer: &'static str) -> Result<Self, Error> {
        let invalid = |why: &str| Error::Config(format!("{peer} URL {url:?}: {why}"));
        let (rest, https) = match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
            (Some(rest), _) => (rest, false),
            (None, Some(rest)) if cfg!(feature = "web-config") => (rest, true),
            (None, Some(_)) => return Err(invalid("https:// needs the `web-config` feature")),
            (None, None) => return Err(invalid("expected http:// or https://")),
        };
        let (host, path) = match rest.find(['/', '?']) {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, ""),
        };
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
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_owned()
        };
        Ok(Target {
            address,
            host: host.to_owned(),
            path,
            peer,
            #[cfg(feature = "web-config")]
            tls: https.then(|| Tls {
                server_name: server_name(host).to_owned(),
                config: None,
            }),
        })
    }

    /// Verifies an `https://` target's certificate against the CAs of `pem`.
    #[cfg(feature = "web-config")]
    pub(crate) fn set_ca_certificate(&mut self, pem: &str) -> Result<(), Error> {
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
        Ok(())
    }

    /// Sends `request` on a new connection and reads the answer, all within `timeout`.
    pub(crate) async fn send(
        &self,
        request: Request<Full<Bytes>>,
        timeout: Duration,
    ) -> Result<Answer, Failure> {
        let exchange = async {
            let stream = tokio::net::TcpStream::connect(&self.address).await?;
            #[cfg(feature = "web-config")]
            if let Some(tls) = &self.tls {
                return exchange(
                    connect_tls(tls, stream, self.peer).await?,
                    request,
                    self.peer,
                )
                .await;
            }
            exchange(stream, request, self.peer).await
        };
        match tokio::time::timeout(timeout, exchange).await {
            Err(_) => Err(Failure::Timeout),
            Ok(answer) => answer.map_err(Failure::Transport),
        }
    }
}

/// The `Authorization` header value of HTTP basic auth.
pub(crate) fn basic_authorization(user: &str, password: &str) -> String {
    let credentials = format!("{user}:{password}");
    let encoded = crate::base64::encode(credentials.as_bytes(), crate::base64::STANDARD);
    format!("Basic {encoded}")
}

/// Sends `request` over `io` and reads the answer (at most `MAX_RESPONSE_BYTES` of it).
async fn exchange<I>(io: I, request: Request<Full<Bytes>>, peer: &str) -> std::io::Result<Answer>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(std::io::Error::other)?;
    // Ends by itself once `sender` is dropped (after the answer, or when the sender gives up).
    tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(std::io::Error::other)?;
    let (parts, body) = response.into_parts();
    let body = http_body_util::Limited::new(body, MAX_RESPONSE_BYTES)
        .collect()
        .await
        .map_err(|e| std::io::Error::other(format!("reading the {peer}'s answer: {e}")))?;
    Ok(Answer {
        status: parts.status,
        headers: parts.headers,
        body: body.to_bytes(),
    })
}

#[cfg(feature = "web-config")]
async fn connect_tls(
    tls: &Tls,
    stream: tokio::net::TcpStream,
    peer: &str,
) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let config = tls.config.clone().ok_or_else(|| {
        std::io::Error::other(format!(
            "https:// needs the CA of the {peer}'s certificate: `ca_certificate`"
        ))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_address_host_and_path() {
        let target = Target::parse("http://gw:9091/base/", "test").unwrap();
        assert_eq!(
            (&*target.address, &*target.host, &*target.path),
            ("gw:9091", "gw:9091", "/base/")
        );
        let target = Target::parse("http://vm?extra_label=a", "test").unwrap();
        assert_eq!(
            (&*target.address, &*target.path),
            ("vm:80", "/?extra_label=a")
        );
        assert!(Target::parse("ftp://gw", "test").is_err());
        assert!(Target::parse("http://", "test").is_err());
        assert!(Target::parse("http:///path", "test").is_err());
    }

    #[cfg(feature = "web-config")]
    #[test]
    fn https_urls_name_their_host() {
        let target = Target::parse("https://gw.example", "test").unwrap();
        assert_eq!(target.address, "gw.example:443");
        assert_eq!(server_name("gw.example:9091"), "gw.example");
        assert_eq!(server_name("gw.example"), "gw.example");
        assert_eq!(server_name("[::1]:9091"), "::1");
        assert_eq!(server_name("[::1]"), "::1");
        assert!(target.clone().set_ca_certificate("not a pem").is_err());
        let mut plain = Target::parse("http://gw", "test").unwrap();
        assert!(
            plain.set_ca_certificate("").is_err(),
            "a CA is for https:// only"
        );
    }
}
