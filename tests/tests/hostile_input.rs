//! Whatever a client or a config file sends, the answer is a response or an error, never a
//! panic: arbitrary request lines and headers against the scrape handler, arbitrary web config
//! files against the parser.

use http_body_util::BodyExt;
use promexport::{Counter, Format, Metrics, Registry, WebConfig};
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_query_and_headers_get_an_answer(
        query in text_from(vec!["name[]=", "name%5B%5D=", "served_requests_total", "served_errors", "&", "%", "%ZZ", "=", "+", "[", "]"], 12),
        accept in text_from(vec!["application/openmetrics-text", "text/plain", ";", ",", "q=", "0.5", "version=1.0.0", "escaping=", "*/*", " "], 12),
        encoding in text_from(vec!["gzip", "identity", ";q=0", ",", "*", " ", "deflate"], 8),
    ) {
        let registry = Registry::new();
        registry.register(Arc::new(Served::new())).unwrap();
        // Characters a URI cannot hold are percent-encoded; `%` itself is left, so malformed
        // escapes reach the handler.
        let query: String = query
            .chars()
            .map(|c| match c {
                '#' => "%23".to_owned(),
                c if c.is_ascii_graphic() => c.to_string(),
                c => c.to_string().bytes().map(|b| format!("%{b:02X}")).collect(),
            })
            .collect();
        let uri = format!("/metrics?{query}");
        // Not every string is a header value: those are refused before the handler.
        let request = hyper::Request::get(uri)
            .header("accept", accept.as_bytes())
            .header("accept-encoding", encoding.as_bytes())
            .body(());
        if let Ok(request) = request {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let response = runtime.block_on(promexport::handle_request(&registry, &request));
            prop_assert_eq!(response.status(), 200);
            let gzipped = response.headers().get("content-encoding").is_some_and(|e| e == "gzip");
            let body = runtime.block_on(response.into_body().collect()).unwrap().to_bytes();
            let mut text = String::new();
            if gzipped {
                let mut decoder = flate2::read::GzDecoder::new(&body[..]);
                std::io::Read::read_to_string(&mut decoder, &mut text).unwrap();
            } else {
                text = String::from_utf8(body.to_vec()).unwrap();
            }
            // The served families (all, or those `name[]` selects) and nothing else.
            for line in text.lines() {
                prop_assert!(line.starts_with("# ") || line.starts_with("served_"), "{}", line);
            }
        }
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
