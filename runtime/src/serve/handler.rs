//! The `/metrics` handler: content negotiation, gzip, HEAD; usable inside any hyper or axum service.

use crate::collector::{collection_timeout, own_collections};
use crate::{Escaping, Format, Registry};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use std::future::Future;

/// Answers a scrape of `registry`: the exposition in the format the `Accept` header asks for,
/// gzip-compressed when `Accept-Encoding` allows it. `GET` and `HEAD` only (405 otherwise).
///
/// Mount it on a route of an existing service so the metrics share its port; it answers every
/// path, so route to it yourself. In axum:
///
/// ```text
/// let app = Router::new().route("/metrics", get(|request: Request| async move {
///     promexport::handle_request(promexport::registry(), &request).await
/// }));
/// ```
///
/// It reads the method and headers of the request, runs the scrape-time
/// [`Collector`](crate::Collector)s within the timeout Prometheus announces
/// (`X-Prometheus-Scrape-Timeout-Seconds`), then encodes:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let request = hyper::Request::get("/metrics").header("accept", "text/plain").body(())?;
/// let response = promexport::handle_request(promexport::registry(), &request).await;
/// assert_eq!(response.status(), 200);
/// assert_eq!(
///     response.headers()["content-type"],
///     "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"
/// );
/// # Ok(())
/// # }
/// ```
///
/// The returned future owns what it needs (not the request), so it is `Send + 'static`.
pub fn handle_request<B>(
    registry: &Registry,
    request: &Request<B>,
) -> impl Future<Output = Response<Full<Bytes>>> + Send + 'static {
    ScrapeRequest::read(request).answer(registry.clone())
}

/// What a scrape asks for, read from its request.
#[derive(Debug)]
pub(crate) struct ScrapeRequest {
    pub(crate) allowed: bool,
    pub(crate) head_only: bool,
    pub(crate) format: Format,
    pub(crate) escaping: Escaping,
    pub(crate) content_type: &'static str,
    pub(crate) gzip: bool,
    pub(crate) timeout: Option<std::time::Duration>,
    pub(crate) selected: Vec<String>,
}

/// The value of header `name` as text; empty when it is missing or not visible ASCII.
pub(crate) fn header_text<B>(request: &Request<B>, name: impl header::AsHeaderName) -> &str {
    request
        .headers()
        .get(name)
        .and_then(|value: &HeaderValue| value.to_str().ok())
        .unwrap_or_default()
}

/// The time a collection may take within this scrape, from the timeout Prometheus announces
/// in `X-Prometheus-Scrape-Timeout-Seconds`; `None` without one.
pub(crate) fn announced_timeout<B>(request: &Request<B>) -> Option<std::time::Duration> {
    collection_timeout(header_text(request, "x-prometheus-scrape-timeout-seconds"))
}

impl ScrapeRequest {
    pub(crate) fn read<B>(request: &Request<B>) -> Self {
        let negotiated = Format::negotiate(header_text(request, header::ACCEPT));
        ScrapeRequest {
            allowed: request.method() == Method::GET || request.method() == Method::HEAD,
            head_only: request.method() == Method::HEAD,
            format: negotiated.format,
            escaping: negotiated.escaping,
            content_type: negotiated.content_type,
            gzip: accepts_gzip(header_text(request, header::ACCEPT_ENCODING)),
            timeout: announced_timeout(request),
            selected: selected_names(request.uri().query().unwrap_or_default()),
        }
    }

    /// The whole exposition in one body.
    pub(crate) async fn answer(self, registry: Registry) -> Response<Full<Bytes>> {
        if !self.allowed {
            return method_not_allowed();
        }
        // Each collector serves the collection this scrape waited for.
        let exposition = own_collections(async {
            registry.collect(self.timeout).await;
            let mut exposition = Vec::new();
            registry.encode_escaped(self.format, self.escaping, &mut exposition, &self.selected);
            exposition
        })
        .await;
        exposition_response(exposition, self.content_type, self.gzip, self.head_only)
    }
}

pub(crate) fn exposition_response(
    exposition: Vec<u8>,
    content_type: &'static str,
    gzip: bool,
    head_only: bool,
) -> Response<Full<Bytes>> {
    let body = if gzip {
        super::gzip::gzip(&exposition).map(Bytes::from)
    } else {
        Ok(Bytes::from(exposition))
    };
    let mut response = match body {
        Ok(body) => Response::new(Full::new(body)),
        Err(_) => return plain(StatusCode::INTERNAL_SERVER_ERROR, "compression failed\n"),
    };
    exposition_headers(response.headers_mut(), content_type, gzip);
    if head_only {
        *response.body_mut() = Full::default();
    }
    response
}

/// The headers of an exposition, whole or streamed.
pub(crate) fn exposition_headers(
    headers: &mut hyper::HeaderMap,
    content_type: &'static str,
    gzip: bool,
) {
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Accept-Encoding"),
    );
    if gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
}

/// The values of the `name[]` query parameters (client_python's filter), percent-decoded.
pub(crate) fn selected_names(query: &str) -> Vec<String> {
    query_values(query, "name[]")
}

/// The values of the `key` query parameters, percent-decoded.
pub(crate) fn query_values(query: &str, key: &str) -> Vec<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(name, _)| percent_decode(name) == key)
        .map(|(_, value)| percent_decode(value))
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push((high * 16 + low) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether an `Accept-Encoding` value allows gzip: a `gzip` entry with a quality above 0, or
/// else a `*` one (RFC 9110: `*` stands only for codings not listed, so `gzip;q=0, *` refuses).
pub(crate) fn accepts_gzip(accept_encoding: &str) -> bool {
    let mut wildcard = None;
    for coding in accept_encoding.split(',') {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        let quality = parts
            .filter_map(|param| param.split_once('='))
            .find(|(key, _)| key.trim().eq_ignore_ascii_case("q"))
            .map_or(1.0, |(_, q)| q.trim().parse::<f32>().unwrap_or(0.0));
        if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            return quality > 0.0;
        }
        if name == "*" {
            wildcard = Some(quality > 0.0);
        }
    }
    wildcard.unwrap_or(false)
}

pub(crate) fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(feature = "web-config")]
pub(crate) fn unauthorized() -> Response<Full<Bytes>> {
    let mut response = plain(StatusCode::UNAUTHORIZED, "unauthorized\n");
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"promexport\""),
    );
    response
}

pub(crate) fn method_not_allowed() -> Response<Full<Bytes>> {
    let mut response = plain(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed: use GET or HEAD\n",
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}

/// A small HTML page linking to the metrics and listing the families served.
pub(super) fn landing_page(registry: &Registry, metrics_path: &str) -> Response<Full<Bytes>> {
    let mut page = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>promexport</title></head><body>\n\
         <h1>Prometheus exporter</h1>\n",
    );
    let path = html_escape(metrics_path);
    page.push_str(&format!("<p><a href=\"{path}\">{path}</a></p>\n<table>\n<tr><th>metric</th><th>type</th><th>help</th></tr>\n"));
    for family in registry.families() {
        page.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>\n",
            html_escape(&family.exposed_name()),
            family.kind.as_str(),
            html_escape(&family.help)
        ));
    }
    page.push_str("</table>\n</body></html>\n");
    let mut response = Response::new(Full::new(Bytes::from(page)));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

pub(crate) fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::accepts_gzip;

    /// The answer is `'static`: it outlives the request (this compiles only if the returned
    /// future captures no lifetime of its arguments).
    #[test]
    fn the_answer_outlives_the_request() {
        let registry = crate::Registry::new();
        let answer = {
            let request = hyper::Request::get("/metrics").body(()).unwrap();
            super::handle_request(&registry, &request)
        };
        drop(registry);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        assert_eq!(runtime.block_on(answer).status(), 200);
    }

    #[test]
    fn reads_name_filters() {
        use super::selected_names;
        assert_eq!(
            selected_names("name[]=a_total&x=1&name%5B%5D=b"),
            ["a_total", "b"]
        );
        assert_eq!(selected_names("name[]=%zz&name[]=c%"), ["%zz", "c%"]);
        assert!(selected_names("").is_empty());
    }

    #[test]
    fn reads_accept_encoding() {
        assert!(accepts_gzip("gzip"));
        assert!(accepts_gzip("deflate, gzip;q=1.0, *;q=0.5"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("identity"));
        assert!(!accepts_gzip(""));
        assert!(accepts_gzip("*"));
        assert!(accepts_gzip("br, *;q=0.5"));
    }

    #[test]
    fn an_explicit_refusal_beats_the_wildcard() {
        assert!(!accepts_gzip("gzip;q=0, *"));
        assert!(!accepts_gzip("*, gzip;q=0"));
        assert!(!accepts_gzip("*;q=0"));
        assert!(accepts_gzip("gzip, *;q=0"));
    }

    #[test]
    fn parameter_names_are_case_insensitive() {
        assert!(!accepts_gzip("gzip;Q=0"));
        assert!(!accepts_gzip("GZIP; Q=0.0, *"));
        assert!(accepts_gzip("gzip;Q=0.5"));
    }
}
