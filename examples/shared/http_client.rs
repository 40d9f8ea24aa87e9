//! A minimal HTTP/1.1 GET client (plain `http://` only): enough to poll a status page without
//! pulling an HTTP client stack into the example.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest status response read.
const MAX_RESPONSE_BYTES: u64 = 1 << 20;

/// The address to connect to, the `Host` header and the request path of an `http://` URL.
pub(crate) fn http_target(url: &str) -> Result<(String, &str, &str), String> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(match url.split_once("://") {
            Some((scheme, _)) => format!("unsupported URL scheme {scheme:?} (only http://)"),
            None => format!("{url:?} is not an http:// URL"),
        });
    };
    let (host, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let bad = |c: char| c.is_whitespace() || c.is_control();
    if host.is_empty() || host.contains('@') || url.contains(bad) {
        return Err(format!("{url:?} is not a valid http:// URL"));
    }
    let port = host.rsplit_once(':').map(|(_, port)| port);
    let addr = match port.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) {
        true => host.to_owned(),
        false => format!("{host}:80"),
    };
    Ok((addr, host, if path.is_empty() { "/" } else { path }))
}

/// `GET url` over HTTP/1.1; the body of a 200 response.
pub(crate) async fn http_get(url: &str) -> Result<String, String> {
    let (addr, host, path) = http_target(url)?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: app_exporter\r\n\
         Accept: application/json\r\nConnection: close\r\n\r\n"
    );
    let mut response = Vec::new();
    let exchange = async {
        let mut stream = TcpStream::connect(&addr).await?;
        stream.write_all(request.as_bytes()).await?;
        stream
            .take(MAX_RESPONSE_BYTES + 1)
            .read_to_end(&mut response)
            .await
    };
    exchange.await.map_err(|e| e.to_string())?;
    if response.len() as u64 > MAX_RESPONSE_BYTES {
        return Err(format!("response larger than {MAX_RESPONSE_BYTES} bytes"));
    }
    parse_http_response(&response)
}

pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The body of a complete HTTP/1.x response, if its status is 200.
pub(crate) fn parse_http_response(response: &[u8]) -> Result<String, String> {
    let end = find(response, b"\r\n\r\n").ok_or("not an HTTP response (no end of headers)")?;
    let head = String::from_utf8_lossy(&response[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    match status_line.split_once(' ') {
        Some((version, status)) if version.starts_with("HTTP/1.") => {
            if !status.starts_with("200 ") && status != "200" {
                return Err(format!("unexpected HTTP status {status:?}"));
            }
        }
        _ => {
            let start: String = status_line.chars().take(40).collect();
            return Err(format!("not an HTTP/1.x response: {start:?}"));
        }
    }
    let (mut chunked, mut length) = (false, None);
    for (name, value) in lines.filter_map(|line| line.split_once(':')) {
        match (name.to_ascii_lowercase().as_str(), value.trim()) {
            ("transfer-encoding", value) => chunked = value.eq_ignore_ascii_case("chunked"),
            ("content-length", value) => length = Some(value.parse().map_err(|_| "bad length")?),
            _ => {}
        }
    }
    let body = &response[end + 4..];
    let body = match (chunked, length) {
        (true, _) => dechunk(body)?,
        (false, Some(length)) => body
            .get(..length)
            .ok_or("body shorter than its length")?
            .into(),
        (false, None) => body.to_vec(),
    };
    String::from_utf8(body).map_err(|_| "response body is not UTF-8".into())
}

/// Decodes a `Transfer-Encoding: chunked` body.
fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line = find(body, b"\r\n").ok_or("truncated chunked body")?;
        let size = String::from_utf8_lossy(&body[..line]);
        let size = size.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| "bad chunk size")?;
        body = &body[line + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(body.get(..size).ok_or("truncated chunked body")?);
        body = body[size..]
            .strip_prefix(b"\r\n")
            .ok_or("malformed chunked body")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_address_host_and_path() {
        let target = |url| http_target(url).map(|(a, h, p)| format!("{a} {h} {p}"));
        assert_eq!(
            target("http://10.0.0.1:81/status"),
            Ok("10.0.0.1:81 10.0.0.1:81 /status".into())
        );
        assert_eq!(target("http://app"), Ok("app:80 app /".into()));
        assert_eq!(target("http://[::1]?x=1"), Ok("[::1]:80 [::1] ?x=1".into()));
        assert!(target("http:///status").is_err());
        assert!(target("http://h/a b").is_err());
    }

    #[test]
    fn parses_http_responses() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}junk";
        assert_eq!(parse_http_response(ok), Ok("{}".into()));
        let chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\
                        2\r\n{\"\r\n3;x\r\na\":\r\n3\r\n 1}\r\n0\r\n\r\n";
        assert_eq!(parse_http_response(chunked), Ok("{\"a\": 1}".into()));
        let error = parse_http_response(b"HTTP/1.0 503 Service Unavailable\r\n\r\n");
        assert!(error.unwrap_err().contains("503 Service Unavailable"));
        assert!(parse_http_response(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(parse_http_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}").is_err());
        let bad_chunk = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        assert!(parse_http_response(bad_chunk).is_err());
        assert!(parse_http_response(b"").is_err());
    }
}
