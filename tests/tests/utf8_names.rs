//! UTF-8 metric and label names (Prometheus 3): served quoted under `escaping=allow-utf-8`,
//! escaped under the other schemes, read back by prometheus_client (Python) in both text
//! formats, by client_golang from protobuf, and stored by a real Prometheus 2.42 (which asks
//! for no scheme) under the underscore name.

use promexport::{
    Counter, Escaping, Family, Format, Gauge, Histogram, LabelSet, Metrics, Registry, Server,
};
use promexport_tests::{
    ParsedSample, Prometheus, TempDir, go_decode, http_get, promtool_check_metrics,
    python_parse_utf8, wait_for,
};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq, Hash, LabelSet)]
struct ErrorLabels {
    #[label(name = "error.message")]
    message: String,
    method: &'static str,
}

#[derive(Metrics)]
#[metrics(no_global)]
struct OtelMetrics {
    /// Requests served.
    #[metric(name = "http.server.requests")]
    requests: Counter,
    /// Errors, by message.
    #[metric(name = "http.server.errors")]
    errors: Family<ErrorLabels, Counter>,
    /// Time to serve a request.
    #[metric(name = "http.server.duration", unit = "seconds", buckets = [0.5])]
    duration: Histogram,
    /// A legacy name beside them.
    open_connections: Gauge,
}

fn filled() -> Registry {
    let metrics = Arc::new(OtelMetrics::new());
    metrics.requests.inc_by(3);
    metrics
        .errors
        .get(&ErrorLabels {
            message: "timeout \"db\"".into(),
            method: "GET",
        })
        .inc();
    metrics.duration.observe(0.25);
    metrics.open_connections.set(2);
    let registry = Registry::new();
    registry.register(metrics).unwrap();
    registry
}

fn render(registry: &Registry, format: Format, escaping: Escaping) -> String {
    let mut out = Vec::new();
    registry.encode_escaped(format, escaping, &mut out, &[]);
    String::from_utf8(out).unwrap()
}

fn sample(name: &str, labels: &[(&str, &str)], value: f64) -> ParsedSample {
    let mut labels: Vec<(String, String)> = labels
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    labels.sort();
    ParsedSample {
        name: name.to_owned(),
        labels,
        value,
    }
}

#[test]
fn text_1_0_0_quotes_the_names_as_client_golang_writes_them() {
    let text = render(&filled(), Format::Text, Escaping::AllowUtf8);
    assert_eq!(
        text,
        "# HELP \"http.server.requests_total\" Requests served.\n\
         # TYPE \"http.server.requests_total\" counter\n\
         {\"http.server.requests_total\"} 3\n\
         # HELP \"http.server.errors_total\" Errors, by message.\n\
         # TYPE \"http.server.errors_total\" counter\n\
         {\"http.server.errors_total\",\"error.message\"=\"timeout \\\"db\\\"\",method=\"GET\"} 1\n\
         # HELP \"http.server.duration_seconds\" Time to serve a request.\n\
         # TYPE \"http.server.duration_seconds\" histogram\n\
         {\"http.server.duration_seconds_bucket\",le=\"0.5\"} 1\n\
         {\"http.server.duration_seconds_bucket\",le=\"+Inf\"} 1\n\
         {\"http.server.duration_seconds_sum\"} 0.25\n\
         {\"http.server.duration_seconds_count\"} 1\n\
         # HELP open_connections A legacy name beside them.\n\
         # TYPE open_connections gauge\n\
         open_connections 2\n"
    );
}

#[test]
fn prometheus_client_reads_quoted_names_in_both_text_formats() {
    let registry = filled();
    for (format, open_metrics) in [(Format::Text, false), (Format::OpenMetrics, true)] {
        let text = render(&registry, format, Escaping::AllowUtf8);
        let families = python_parse_utf8(&text, open_metrics);
        let names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
        // The parser names a counter family without its `_total`, in both formats.
        assert!(names.contains(&"http.server.requests"), "{names:?}\n{text}");
        let errors = families
            .iter()
            .find(|f| f.name.starts_with("http.server.errors"))
            .unwrap_or_else(|| panic!("{names:?}"));
        assert_eq!(
            errors.samples,
            [sample(
                "http.server.errors_total",
                &[("error.message", "timeout \"db\""), ("method", "GET")],
                1.0
            )],
            "{text}"
        );
        let duration = families
            .iter()
            .find(|f| f.name == "http.server.duration_seconds")
            .unwrap_or_else(|| panic!("{names:?}"));
        assert_eq!(duration.kind, "histogram");
        assert_eq!(duration.samples.len(), 4, "{text}");
        assert!(names.contains(&"open_connections"), "{names:?}");
    }
}

#[test]
fn every_escaping_scheme_is_read_back_under_its_escaped_names() {
    let registry = filled();
    let expected = [
        (
            Escaping::Underscores,
            "http_server_requests",
            "error_message",
            "http_server_duration_seconds",
        ),
        (
            Escaping::Dots,
            "http_dot_server_dot_requests",
            "error_dot_message",
            "http_dot_server_dot_duration__seconds",
        ),
        (
            Escaping::Values,
            "U__http_2e_server_2e_requests",
            "U__error_2e_message",
            "U__http_2e_server_2e_duration__seconds",
        ),
    ];
    for (scheme, requests, message, duration) in expected {
        for (format, open_metrics) in [(Format::Text, false), (Format::OpenMetrics, true)] {
            let text = render(&registry, format, scheme);
            assert!(!text.contains('"') || !text.contains("{\""), "{text}");
            let families = python_parse_utf8(&text, open_metrics);
            let names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
            // The parser names a counter family without its `_total`, in both formats.
            assert!(names.contains(&requests), "{scheme:?} {names:?}\n{text}");
            assert!(names.contains(&duration), "{scheme:?} {names:?}\n{text}");
            // The legacy name is byte for byte as it was.
            assert!(text.contains("\nopen_connections 2\n"), "{text}");
            let errors = families
                .iter()
                .flat_map(|f| &f.samples)
                .find(|s| s.name.ends_with("errors_total"))
                .unwrap_or_else(|| panic!("{text}"));
            assert_eq!(
                errors.labels,
                [
                    (message.to_owned(), "timeout \"db\"".to_owned()),
                    ("method".to_owned(), "GET".to_owned())
                ],
                "{scheme:?}"
            );
        }
        // The escaped exposition is one a pre-UTF-8 parser reads.
        promtool_check_metrics(&render(&registry, Format::Text, scheme));
    }
}

#[test]
fn client_golang_decodes_the_names_of_the_negotiated_scheme_from_protobuf() {
    let registry = filled();
    let names = |scheme| {
        let mut out = Vec::new();
        registry.encode_escaped(Format::Protobuf, scheme, &mut out, &[]);
        go_decode(&out)
            .into_iter()
            .map(|family| {
                let labels: Vec<String> = family["metrics"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|m| m["labels"].as_array().cloned().unwrap_or_default())
                    .map(|pair| pair[0].as_str().unwrap_or_default().to_owned())
                    .collect();
                (
                    family["name"].as_str().unwrap_or_default().to_owned(),
                    labels,
                )
            })
            .collect::<Vec<_>>()
    };
    // Debian's client_golang (1.14) validates names the legacy way and refuses UTF-8 ones:
    // under allow-utf-8 the names are checked in the bytes, as they are, unquoted.
    let mut utf8 = Vec::new();
    registry.encode_escaped(Format::Protobuf, Escaping::AllowUtf8, &mut utf8, &[]);
    let holds = |text: &str| utf8.windows(text.len()).any(|w| w == text.as_bytes());
    assert!(holds("\u{18}http.server.errors_total"), "{utf8:02x?}");
    assert!(holds("\u{0d}error.message"), "{utf8:02x?}");
    assert!(!holds("\"error.message\""), "{utf8:02x?}");
    let values = names(Escaping::Values);
    assert!(
        values.contains(&(
            "U__http_2e_server_2e_errors_total".to_owned(),
            vec!["U__error_2e_message".to_owned(), "method".to_owned()]
        )),
        "{values:?}"
    );
    assert!(
        values.iter().any(|(name, _)| name == "open_connections"),
        "{values:?}"
    );
}

fn content_type(answer: &(u16, Vec<(String, String)>, Vec<u8>)) -> &str {
    answer
        .1
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| value.as_str())
        .unwrap_or_default()
}

#[test]
fn the_accept_headers_of_prometheus_3_get_quoted_names_and_others_escaped_ones() {
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(filled())
        .spawn()
        .unwrap();
    let url = format!("http://{}/metrics", server.local_addr());
    // Prometheus 3.14's default (scrape_protocols without protobuf).
    let prometheus_3_14 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
                           application/openmetrics-text;version=0.0.1;q=0.5,\
                           text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,\
                           text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
    let answer = http_get(&url, &[("accept", prometheus_3_14)]);
    assert_eq!(
        content_type(&answer),
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
    );
    let body = String::from_utf8(answer.2.clone()).unwrap();
    assert!(
        body.contains("# TYPE \"http.server.requests\" counter\n"),
        "{body}"
    );
    assert!(body.ends_with("# EOF\n"), "{body}");
    python_parse_utf8(&body, true);

    // The text entry of the same header, alone.
    let text_1_0_0 = "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,*/*;q=0.2";
    let answer = http_get(&url, &[("accept", text_1_0_0)]);
    assert_eq!(
        content_type(&answer),
        "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
    );
    let body = String::from_utf8(answer.2.clone()).unwrap();
    assert!(
        body.contains("\n{\"http.server.requests_total\"} 3\n"),
        "{body}"
    );
    python_parse_utf8(&body, false);

    // Prometheus 3.0 to 3.3: the scheme on every entry, protobuf first.
    let prometheus_3_0 = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;escaping=allow-utf-8;q=0.5,\
                          application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.4,\
                          application/openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.3,\
                          text/plain;version=0.0.4;escaping=allow-utf-8;q=0.2,*/*;q=0.1";
    let answer = http_get(&url, &[("accept", prometheus_3_0)]);
    assert_eq!(
        content_type(&answer),
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=allow-utf-8"
    );
    // (Debian's client_golang refuses UTF-8 names: the bytes are checked.)
    let name = b"http.server.requests_total";
    assert!(answer.2.windows(name.len()).any(|w| w == name));

    // Prometheus 2.42's header names no scheme: underscores.
    let prometheus_2_42 = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
                           version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let answer = http_get(&url, &[("accept", prometheus_2_42)]);
    assert_eq!(
        content_type(&answer),
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
    );
    let body = String::from_utf8(answer.2.clone()).unwrap();
    assert!(body.contains("\nhttp_server_requests_total 3\n"), "{body}");
    assert!(
        body.contains(
            "http_server_errors_total{error_message=\"timeout \\\"db\\\"\",method=\"GET\"} 1\n"
        ),
        "{body}"
    );

    for (scheme, name) in [
        ("dots", "http_dot_server_dot_requests_total"),
        ("values", "U__http_2e_server_2e_requests_total"),
        ("underscores", "http_server_requests_total"),
        // Unknown schemes are ignored, as client_golang does.
        ("rot13", "http_server_requests_total"),
    ] {
        let accept = format!("text/plain;version=0.0.4;escaping={scheme}");
        let answer = http_get(&url, &[("accept", &accept)]);
        let echoed = if scheme == "rot13" {
            "underscores"
        } else {
            scheme
        };
        assert_eq!(
            content_type(&answer),
            format!("text/plain; version=0.0.4; charset=utf-8; escaping={echoed}")
        );
        let body = String::from_utf8(answer.2.clone()).unwrap();
        assert!(body.contains(&format!("\n{name} 3\n")), "{scheme}: {body}");
    }
    server.shutdown().unwrap();
}

#[test]
fn prometheus_2_42_stores_a_dotted_metric_under_its_underscore_name() {
    let server = Server::bind("127.0.0.1:0")
        .unwrap()
        .registry(filled())
        .spawn()
        .unwrap();
    let dir = TempDir::new("prometheus-utf8");
    let mut prometheus = Prometheus::start(
        &dir,
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: otel\n    static_configs:\n      - targets: ['{}']\n",
            server.local_addr()
        ),
    );
    let query = "/api/v1/query?query=http_server_requests_total";
    let answer = wait_for(
        "Prometheus to store http_server_requests_total",
        Duration::from_secs(60),
        || {
            let answer = prometheus.api(query)?;
            answer.contains("\"value\"").then_some(answer)
        },
    );
    assert!(answer.contains("\"job\":\"otel\""), "{answer}");
    assert!(answer.contains("\"3\"]"), "{answer}");
    let errors = "/api/v1/query?query=http_server_errors_total%7Berror_message%3D%22timeout%20%5C%22db%5C%22%22%7D";
    let answer = prometheus.api(errors).expect("errors query");
    assert!(answer.contains("\"method\":\"GET\""), "{answer}");
    let targets = prometheus.api("/api/v1/targets").expect("targets");
    assert!(targets.contains("\"lastError\":\"\""), "{targets}");
    server.shutdown().unwrap();
}
