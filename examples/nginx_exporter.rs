//! `nginx_exporter`: exports nginx's `stub_status` page, read at each scrape, with the names and
//! flags of the official nginx-prometheus-exporter, on `promexport::exporter` (the standard
//! flags: `--web.listen-address`, `--web.config.file`, `--log.level`, `--version`, ...).
//!
//! ```text
//! $ cargo run --example nginx_exporter -- --nginx.scrape-uri http://127.0.0.1:8080/stub_status
//! time=... level=INFO source=mod.rs:... msg="Listening on" address=[::]:9113
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
//! out, and the scrape still answers 200. As the official exporter, it listens on every interface
//! (`--web.listen-address :9113`) unless told otherwise.

use clap::Parser;
use promexport::exporter::Exporter;
use promexport::{Collector, Counter, Gauge, Metrics};
use std::process::ExitCode;
use std::time::Duration;

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

#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    exporter: promexport::exporter::Flags,
    /// nginx's stub_status page.
    #[arg(
        long = "nginx.scrape-uri",
        default_value = "http://127.0.0.1:8080/stub_status"
    )]
    scrape_uri: String,
}

fn exporter() -> Exporter<Cli> {
    Exporter::<Cli>::new("nginx_exporter")
        .description("Exports nginx's stub_status page as Prometheus metrics.")
        .default_address(":9113")
        .on_start(|cli: &Cli| {
            Collector::blocking("nginx", reader(cli.scrape_uri.clone())).register()
        })
}

fn main() -> ExitCode {
    exporter().run()
}

/// One read of the stub_status page at `uri` per call.
fn reader(uri: String) -> impl Fn() -> Result<NginxMetrics, String> + Send + Sync + 'static {
    // Shorter than the collector's 10 s timeout, so that the blocking read returns by itself.
    let config = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(5)));
    let agent: ureq::Agent = config.build().into();
    // A failure is told by promexport: once per change on stderr, or at each collection to a
    // `tracing` subscriber.
    move || {
        let page = agent
            .get(&uri)
            .call()
            .and_then(|mut answer| answer.body_mut().read_to_string());
        let page = page.map_err(|error| error.to_string());
        page.and_then(|page| parse_stub_status(&page))
            .map_err(|message| format!("reading {uri}: {message}"))
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

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        exporter().try_parse_from(args)
    }

    #[test]
    fn flags_follow_the_official_exporter() {
        let defaults = parse(&["nginx_exporter"]).unwrap();
        assert_eq!(defaults.scrape_uri, "http://127.0.0.1:8080/stub_status");
        assert_eq!(defaults.exporter.listen_addresses, [":9113"]);
        let set = parse(&[
            "x",
            "--nginx.scrape-uri=http://h:1/s",
            "--web.listen-address",
            ":9",
        ]);
        let set = set.unwrap();
        assert_eq!(
            (
                set.scrape_uri.as_str(),
                set.exporter.listen_addresses.as_slice()
            ),
            ("http://h:1/s", &[":9".to_owned()][..])
        );
        assert!(parse(&["x", "--verbose"]).is_err());
    }
}
