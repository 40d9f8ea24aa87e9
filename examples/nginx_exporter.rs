//! `nginx_exporter`: exports nginx's `stub_status` page, read at each scrape, with the names and
//! flags of the official nginx-prometheus-exporter.
//!
//! ```text
//! $ cargo run --example nginx_exporter -- --nginx.scrape-uri http://127.0.0.1:8080/stub_status
//! nginx_exporter: serving metrics on http://127.0.0.1:9113/metrics
//! $ curl -s localhost:9113/metrics | grep ^nginx_
//! nginx_up 1
//! nginx_connections_active 1
//! nginx_connections_accepted_total 42
//! nginx_connections_handled_total 42
//! nginx_connections_reading 0
//! nginx_connections_writing 1
//! nginx_connections_waiting 0
//! nginx_http_requests_total 97
//! ```
//!
//! The counters carry `_total`: OpenMetrics requires it, and it is the name Prometheus stores
//! for the official exporter's counters too when it scrapes OpenMetrics (its default). When nginx
//! cannot be read, `nginx_up` is 0, the `nginx_connections_*` and `nginx_http_*` series are left
//! out, and the scrape still answers 200.

use promexport::{Collector, Counter, Gauge, Metrics};
use std::process::ExitCode;

#[path = "shared/http_client.rs"]
mod http_client;

promexport::build_info!("nginx_exporter");

#[derive(Metrics)]
#[metrics(prefix = "nginx", no_global)]
struct NginxMetrics {
    /// Active client connections
    connections_active: Gauge,
    /// Accepted client connections
    connections_accepted: Counter,
    /// Handled client connections
    connections_handled: Counter,
    /// Connections where NGINX is reading the request header
    connections_reading: Gauge,
    /// Connections where NGINX is writing the response back to the client
    connections_writing: Gauge,
    /// Idle client connections
    connections_waiting: Gauge,
    /// Total http requests
    http_requests: Counter,
}

/// Reads a `stub_status` page:
///
/// ```text
/// Active connections: 2
/// server accepts handled requests
///  16 16 31
/// Reading: 0 Writing: 1 Waiting: 1
/// ```
fn parse_stub_status(page: &str) -> Result<NginxMetrics, String> {
    let numbers_after = |label: &str| -> Result<u64, String> {
        let rest = page
            .split(label)
            .nth(1)
            .ok_or_else(|| format!("no {label:?} in the page"))?;
        let number = rest.split_whitespace().next().unwrap_or_default();
        number
            .parse()
            .map_err(|_| format!("{label:?} is followed by {number:?}, not a number"))
    };
    let totals: Vec<u64> = page
        .lines()
        .skip_while(|line| {
            !line
                .trim_start()
                .starts_with("server accepts handled requests")
        })
        .nth(1)
        .ok_or("no accepts/handled/requests line in the page")?
        .split_whitespace()
        .map(|n| n.parse().map_err(|_| format!("{n:?} is not a number")))
        .collect::<Result<_, _>>()?;
    let [accepted, handled, requests] = totals[..] else {
        return Err(format!("expected 3 totals, found {}", totals.len()));
    };
    let gauge =
        |label| numbers_after(label).and_then(|n| i64::try_from(n).map_err(|e| e.to_string()));
    let metrics = NginxMetrics::new();
    metrics
        .connections_active
        .set(gauge("Active connections:")?);
    metrics.connections_reading.set(gauge("Reading:")?);
    metrics.connections_writing.set(gauge("Writing:")?);
    metrics.connections_waiting.set(gauge("Waiting:")?);
    metrics.connections_accepted.inc_by(accepted);
    metrics.connections_handled.inc_by(handled);
    metrics.http_requests.inc_by(requests);
    Ok(metrics)
}

struct Config {
    scrape_uri: String,
    listen_address: String,
    telemetry_path: String,
    web_config: String,
}

const USAGE: &str = "\
Usage: nginx_exporter [FLAGS]

  --nginx.scrape-uri URL          nginx's stub_status page (default http://127.0.0.1:8080/stub_status)
  --web.listen-address HOST:PORT  where to serve metrics (default 127.0.0.1:9113)
  --web.telemetry-path PATH       path of the metrics (default /metrics)
  --web.config.file PATH          TLS and basic auth settings (exporter-toolkit format)
  -h, --help                      print this help";

/// The flags (without the program name); `None` for `--help`.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Config>, String> {
    let mut config = Config {
        scrape_uri: "http://127.0.0.1:8080/stub_status".to_owned(),
        listen_address: "127.0.0.1:9113".to_owned(),
        telemetry_path: "/metrics".to_owned(),
        web_config: String::new(),
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                (name.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let slot = match name.as_str() {
            "-h" | "--help" => return Ok(None),
            "--nginx.scrape-uri" => &mut config.scrape_uri,
            "--web.listen-address" => &mut config.listen_address,
            "--web.telemetry-path" => &mut config.telemetry_path,
            "--web.config.file" => &mut config.web_config,
            _ => return Err(format!("unknown argument {arg:?}")),
        };
        *slot = inline
            .or_else(|| args.next())
            .ok_or_else(|| format!("{name} needs a value"))?;
    }
    http_client::http_target(&config.scrape_uri).map_err(|e| format!("--nginx.scrape-uri: {e}"))?;
    Ok(Some(config))
}

async fn scrape_nginx(uri: std::sync::Arc<str>) -> Result<NginxMetrics, String> {
    // A failure is told by promexport: once per change on stderr, or at each collection to a
    // `tracing` subscriber.
    let page = http_client::http_get(&uri).await;
    page.and_then(|page| parse_stub_status(&page))
        .map_err(|message| format!("reading {uri}: {message}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(Some(config)) => config,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("nginx_exporter: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let uri: std::sync::Arc<str> = config.scrape_uri.into();
    let registered = Collector::new("nginx", move || scrape_nginx(uri.clone())).register();
    let server = registered.and_then(|()| promexport::Server::bind(&config.listen_address));
    let server = server.and_then(|server| match config.web_config.as_str() {
        "" => Ok(server),
        path => server.web_config_file(path),
    });
    let handle = match server.and_then(|server| server.path(config.telemetry_path).spawn()) {
        Ok(handle) => handle,
        Err(error) => {
            eprintln!("nginx_exporter: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("nginx_exporter: serving metrics on {}", handle.url());
    let _ = tokio::signal::ctrl_c().await;
    match handle.shutdown() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("nginx_exporter: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_stub_status_page() {
        let page = "Active connections: 2 \nserver accepts handled requests\n 16 15 31 \nReading: 0 Writing: 1 Waiting: 1 \n";
        let metrics = parse_stub_status(page).unwrap();
        assert_eq!(metrics.connections_active.get(), 2);
        assert_eq!(metrics.connections_accepted.get(), 16);
        assert_eq!(metrics.connections_handled.get(), 15);
        assert_eq!(metrics.http_requests.get(), 31);
        assert_eq!(metrics.connections_writing.get(), 1);
        assert_eq!(metrics.connections_waiting.get(), 1);
    }

    #[test]
    fn rejects_other_pages() {
        assert!(parse_stub_status("<html>502 Bad Gateway</html>").is_err());
        assert!(
            parse_stub_status("Active connections: x\nserver accepts handled requests\n 1 2 3\n")
                .is_err()
        );
        assert!(
            parse_stub_status("Active connections: 1\nserver accepts handled requests\n 1 2\n")
                .is_err()
        );
    }

    #[test]
    fn flags_follow_the_official_exporter() {
        let args = |list: &[&str]| parse_args(list.iter().map(|s| s.to_string()));
        let defaults = args(&[]).unwrap().unwrap();
        assert_eq!(defaults.scrape_uri, "http://127.0.0.1:8080/stub_status");
        assert_eq!(defaults.listen_address, "127.0.0.1:9113");
        let set = args(&[
            "--nginx.scrape-uri=http://h:1/s",
            "--web.listen-address",
            ":9",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            (set.scrape_uri.as_str(), set.listen_address.as_str()),
            ("http://h:1/s", ":9")
        );
        assert!(args(&["--nginx.scrape-uri", "https://h/"]).is_err());
        assert!(args(&["--verbose"]).is_err());
    }
}
