//! Whatever a client or a config file sends, the answer is a response or an error, never a
//! panic: arbitrary request lines and headers against the scrape handler, arbitrary web config
//! files against the parser.

use http_body_util::BodyExt;
use promexport::{Collector, Counter, Format, Metrics, Registry, WebConfig};
use proptest::prelude::*;
use std::sync::Arc;

#[derive(Metrics)]
#[metrics(no_global)]
struct Served {
    /// Requests.
    served_requests: Counter,
    /// Errors.
    served_errors: Counter,
}

/// Text made mostly of the characters that matter to the parser at hand.
fn text_from(special: Vec<&'static str>, len: usize) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => prop::sample::select(special).prop_map(str::to_owned),
        1 => any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..len).prop_map(|pieces| pieces.concat())
}

/// The bytes of a header value made mostly of `special`: any byte a header value may hold
/// (visible ASCII, space, tab and every byte of 0x80-0xFF, so all of non-ASCII UTF-8), with the
/// control characters HTTP forbids left out, so that every case reaches the handler.
fn header_from(special: Vec<&'static str>, len: usize) -> impl Strategy<Value = Vec<u8>> {
    text_from(special, len).prop_map(|text| {
        text.bytes()
            .filter(|&b| b == b'\t' || (b >= b' ' && b != 0x7f))
            .collect()
    })
}

/// Metrics of a collector that reads its target at scrape time, so the announced timeout is used.
#[derive(Metrics)]
#[metrics(prefix = "hostile", no_global)]
struct Target {
    /// Reads of the target.
    reads: Counter,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_query_and_headers_get_an_answer(
        query in text_from(vec!["name[]=", "name%5B%5D=", "served_requests_total", "served_errors", "hostile_up", "&", "%", "%ZZ", "=", "+", "[", "]"], 12),
        accept in header_from(vec!["application/openmetrics-text", "text/plain", ";", ",", "q=", "0.5", "version=1.0.0", "escaping=", "*/*", " "], 12),
        encoding in header_from(vec!["gzip", "identity", ";q=0", ",", "*", " ", "deflate"], 8),
        scrape_timeout in header_from(vec!["1e300", "1e20", "18446744073709551616", "inf", "NaN", "-", "0", "0.000001", "5e-324", ".", "e", "10", "+", " "], 4),
    ) {
        let registry = Registry::new();
        registry.register(Arc::new(Served::new())).unwrap();
        Collector::new("hostile", || async { Ok::<_, std::io::Error>(Target::new()) })
            .register_in(&registry)
            .unwrap();
        // Characters a URI's query cannot hold are percent-encoded; `%` itself is left, so
        // malformed escapes reach the handler.
        let query: String = query
            .chars()
            .map(|c| match c {
                c if c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/?%[]".contains(c) => c.to_string(),
                c => c.to_string().bytes().map(|b| format!("%{b:02X}")).collect(),
            })
            .collect();
        let uri = format!("/metrics?{query}");
        let request = hyper::Request::get(uri)
            .header("accept", &accept[..])
            .header("accept-encoding", &encoding[..])
            .header("x-prometheus-scrape-timeout-seconds", &scrape_timeout[..])
            .body(());
        let request = request.expect("every generated value is a valid header value");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let response = runtime.block_on(promexport::handle_request(&registry, &request));
        prop_assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        let gzipped = response.headers().get("content-encoding").is_some_and(|e| e == "gzip");
        let body = runtime.block_on(response.into_body().collect()).unwrap().to_bytes();
        let mut text = String::new();
        if gzipped {
            let mut decoder = flate2::read::GzDecoder::new(&body[..]);
            std::io::Read::read_to_string(&mut decoder, &mut text).unwrap();
        } else {
            text = String::from_utf8(body.to_vec()).unwrap();
        }
        // The body is in the format the Content-Type names.
        let open_metrics = content_type.starts_with("application/openmetrics-text");
        prop_assert_eq!(text.ends_with("# EOF\n"), open_metrics, "{}: {}", content_type, text);
        // The served families (all, or those `name[]` selects) and nothing else.
        for line in text.lines() {
            prop_assert!(
                line.starts_with("# ") || line.starts_with("served_") || line.starts_with("hostile_"),
                "{}",
                line
            );
        }
        let accept = String::from_utf8_lossy(&accept);
        prop_assert!(matches!(Format::from_accept(&accept), Format::Text | Format::OpenMetrics));
    }

    #[test]
    fn any_web_config_file_is_loaded_or_refused_with_its_line(
        text in text_from(vec![
            "tls_server_config:", "basic_auth_users:", "http_server_config:", "\n", "  ", "    ",
            "cert_file: ", "key_file: ", "client_auth_type: ", "min_version: ", "TLS13", "alice: ",
            "$2y$04$", "\"", "'", "#", ":", "- ", "[", "]", "{", "}", "\t",
        ], 24),
    ) {
        let dir = promexport_tests::TempDir::new("hostile-web-config");
        let path = dir.path().join("web.yml");
        std::fs::write(&path, &text).unwrap();
        if let Err(error) = WebConfig::load(&path) {
            let error = error.to_string();
            prop_assert!(error.contains("web.yml"), "{}", error);
        }
    }
}
