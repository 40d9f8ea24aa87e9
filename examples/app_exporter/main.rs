//! `app_exporter`: polls an application's JSON status endpoint and serves it as Prometheus
//! metrics, with the names of the classic Python exporter (trstringer.com, "quick and easy
//! Prometheus exporter"). The application answers `GET /status` with a JSON object such as
//! `{"requests_current": 4, "requests_pending": 1, "uptime_seconds": 104.9, "health": "healthy"}`
//! (other fields, nested or not, are ignored).
//!
//! Without `--app-url` it starts an embedded demo application on 127.0.0.1 (port `APP_PORT`, else
//! a free one) whose numbers change over time, and polls that. It is built on
//! `promexport::exporter`: `--help` lists its flags beside the standard ones of Go's exporters
//! (`--web.listen-address`, `--web.config.file`, `--log.level`, `--version`, ...).
//!
//! ```text
//! $ cargo run --example app_exporter
//! time=... level=INFO source=main.rs:... msg="Demo application" url=http://127.0.0.1:33069/status
//! time=... level=INFO source=mod.rs:... msg="Listening on" address=127.0.0.1:9877
//! $ curl -s localhost:9877/metrics | grep -v '^[#pt]'    # without process_*, tokio_*, comments
//! app_exporter_build_info{version="0.1.0",revision="unknown",rustc_version="1.95.0",target="x86_64-unknown-linux-gnu"} 1
//! app_requests_current 8
//! app_requests_pending 0
//! app_uptime 20.002
//! app_health{app_health="healthy"} 1
//! app_health{app_health="unhealthy"} 0
//! app_up 1
//! ```
//!
//! It listens on 127.0.0.1:9877 (port `EXPORTER_PORT` if set) unless `--web.listen-address`
//! says otherwise. It polls in one of two modes (`--mode`): every `--interval` in the
//! background, as the seed does (the default), or at each scrape (`--mode scrape`, within the
//! timeout Prometheus announces; concurrent scrapes share one poll). While the application
//! cannot be polled, `app_up` is 0, `app_collection_errors_total{reason}` counts it, a log line
//! says why, and the application's own series are left out rather than served stale. Also
//! served: `process_*`, `tokio_*`, `promhttp_*` and `app_exporter_build_info`.

use clap::{Parser, ValueEnum};
use promexport::Collector;
use promexport::exporter::Exporter;
use std::process::ExitCode;
use std::time::Duration;

mod demo_app;
mod status;

use status::{POLL_TIMEOUT, poller};

promexport::build_info!("app_exporter");

#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    exporter: promexport::exporter::Flags,
    /// Poll every --interval in the background, or at each scrape.
    #[arg(long, value_enum, default_value = "interval")]
    mode: Mode,
    /// Seconds between polls.
    #[arg(long, env = "POLLING_INTERVAL_SECONDS", default_value = "5", value_parser = seconds)]
    interval: Duration,
    /// http:// URL of the application's status endpoint [default: the demo application].
    #[arg(long = "app-url")]
    app_url: Option<String>,
    /// Port of the demo application (0: a free one).
    #[arg(long = "demo-port", env = "APP_PORT", default_value_t = 0)]
    demo_port: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
enum Mode {
    Interval,
    Scrape,
}

fn seconds(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<f64>() {
        Ok(secs) if (0.001..=86_400.0).contains(&secs) => Ok(Duration::from_secs_f64(secs)),
        _ => Err(format!(
            "{text:?} is not a number of seconds in 0.001..=86400"
        )),
    }
}

fn exporter() -> Exporter<Cli> {
    // The seed's variable for its port; loopback only, as befits a demo.
    let port = std::env::var("EXPORTER_PORT").unwrap_or_else(|_| "9877".to_owned());
    Exporter::<Cli>::new("app_exporter")
        .description(
            "Polls an application's JSON status endpoint and serves it as Prometheus metrics.",
        )
        .default_address(&format!("127.0.0.1:{port}"))
        .on_start(start)
}

/// Starts the demo application unless `--app-url` names one, and the collector polling it.
fn start(cli: &Cli) -> Result<(), promexport::Error> {
    let app_url = match &cli.app_url {
        Some(url) => url.clone(),
        None => {
            let url = demo_app::start(cli.demo_port).map_err(|error| {
                promexport::Error::Config(format!("starting the demo application: {error}"))
            })?;
            tracing::info!(%url, "Demo application");
            url
        }
    };
    let collector =
        Collector::blocking("app", poller("app_exporter", app_url)).timeout(POLL_TIMEOUT * 2);
    match cli.mode {
        Mode::Interval => collector.interval(cli.interval),
        Mode::Scrape => collector,
    }
    .register()
}

fn main() -> ExitCode {
    exporter().run()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        exporter().try_parse_from(args)
    }

    #[test]
    fn flags_have_defaults_env_vars_and_both_syntaxes() {
        let cli = parse(&["app_exporter"]).unwrap();
        if std::env::var_os("EXPORTER_PORT").is_none() {
            assert_eq!(cli.exporter.listen_addresses, ["127.0.0.1:9877"]);
        }
        assert_eq!(cli.exporter.telemetry_path, "/metrics");
        if std::env::var_os("POLLING_INTERVAL_SECONDS").is_none() {
            assert_eq!(
                (cli.mode, cli.interval),
                (Mode::Interval, Duration::from_secs(5))
            );
        }
        let args = "x --web.listen-address=:92 --interval 0.5 --app-url=http://h/s --mode scrape";
        let cli = parse(&args.split(' ').collect::<Vec<_>>()).unwrap();
        assert_eq!(cli.exporter.listen_addresses, [":92"]);
        assert_eq!(
            (cli.mode, cli.interval),
            (Mode::Scrape, Duration::from_millis(500))
        );
        assert_eq!(cli.app_url.as_deref(), Some("http://h/s"));
        for bad in [
            "--nope",
            "--interval=0",
            "--interval=NaN",
            "--mode=push",
            "--demo-port=99999",
        ] {
            assert!(parse(&["x", bad]).is_err(), "{bad}");
        }
    }
}
