//! `app_exporter`: polls an application's JSON status endpoint and serves it as Prometheus
//! metrics, with the names of the classic Python exporter (trstringer.com, "quick and easy
//! Prometheus exporter"). The application answers `GET /status` with a JSON object such as
//! `{"requests_current": 4, "requests_pending": 1, "uptime_seconds": 104.9, "health": "healthy"}`
//! (other fields, nested or not, are ignored).
//!
//! Without `--app-url` it starts an embedded demo application on 127.0.0.1 (port `APP_PORT`, else
//! a free one) whose numbers change over time, and polls that. `--help` lists the flags.
//!
//! ```text
//! $ cargo run --example app_exporter
//! app_exporter: serving metrics on http://127.0.0.1:9877/metrics
//! app_exporter: demo application on http://127.0.0.1:33069/status
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
//! It polls in one of two modes (`--mode`): every `--interval` in the background, as the seed
//! does (the default), or at each scrape (`--mode scrape`, within the timeout Prometheus
//! announces; concurrent scrapes share one poll). While the application cannot be polled,
//! `app_up` is 0, `app_collection_errors_total{reason}` counts it, a line on stderr says why, and
//! the application's own series are left out rather than served stale. Also served:
//! `process_*`, `tokio_*` and `app_exporter_build_info`.

use clap::{Parser, ValueEnum};
use promexport::Collector;
use std::process::ExitCode;
use std::time::Duration;

mod demo_app;
mod status;

use status::{POLL_TIMEOUT, poller};

promexport::build_info!("app_exporter");

#[derive(Parser, Debug)]
#[command(
    about = "Polls an application's JSON status endpoint and serves it as Prometheus metrics."
)]
struct Flags {
    /// Address to serve metrics on; `:9877` is every interface [default: 127.0.0.1:9877, or
    /// 127.0.0.1:$EXPORTER_PORT].
    #[arg(long = "web.listen-address")]
    listen_address: Option<String>,
    #[arg(long, env = "EXPORTER_PORT", hide = true)]
    exporter_port: Option<u16>,
    /// Path of the metrics.
    #[arg(long = "web.telemetry-path", default_value = "/metrics")]
    telemetry_path: String,
    /// TLS and basic auth settings (exporter-toolkit format).
    #[arg(long = "web.config.file")]
    web_config: Option<String>,
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

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let flags = Flags::parse();
    let port = flags.exporter_port.unwrap_or(9877);
    let listen_address = flags.listen_address.unwrap_or(format!("127.0.0.1:{port}"));
    // Spawned from inside this runtime, the server also serves the runtime's `tokio_*` metrics.
    let server =
        promexport::Server::bind(&listen_address).and_then(|server| match &flags.web_config {
            Some(path) => server.web_config_file(path),
            None => Ok(server),
        });
    let handle = match server.and_then(|server| server.path(flags.telemetry_path).spawn()) {
        Ok(handle) => handle,
        Err(error) => return fail(format!("serving on {listen_address}: {error}")),
    };
    println!("app_exporter: serving metrics on {}", handle.url());
    let app_url = match flags.app_url {
        Some(url) => url,
        None => match demo_app::start(flags.demo_port).await {
            Ok(url) => url,
            Err(error) => return fail(format!("starting the demo application: {error}")),
        },
    };
    let collector =
        Collector::blocking("app", poller("app_exporter", app_url)).timeout(POLL_TIMEOUT * 2);
    let collector = match flags.mode {
        Mode::Interval => collector.interval(flags.interval),
        Mode::Scrape => collector,
    };
    if let Err(error) = collector.register() {
        return fail(format!("registering the collector: {error}"));
    }
    shutdown_signal().await;
    match handle.shutdown() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(format!("metrics server: {error}")),
    }
}

fn fail(message: String) -> ExitCode {
    eprintln!("app_exporter: {message}");
    ExitCode::FAILURE
}

/// Completes on Ctrl-C or SIGTERM (`docker stop`, Kubernetes).
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        },
        Err(_) => drop(tokio::signal::ctrl_c().await),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_have_defaults_env_vars_and_both_syntaxes() {
        let flags = Flags::try_parse_from(["app_exporter"]).unwrap();
        assert_eq!(
            (flags.listen_address, flags.telemetry_path.as_str()),
            (None, "/metrics")
        );
        assert_eq!(
            (flags.mode, flags.interval),
            (Mode::Interval, Duration::from_secs(5))
        );
        let args = "x --web.listen-address=:92 --interval 0.5 --app-url=http://h/s --mode scrape";
        let flags = Flags::try_parse_from(args.split(' ')).unwrap();
        assert_eq!(flags.listen_address.as_deref(), Some(":92"));
        assert_eq!(
            (flags.mode, flags.interval),
            (Mode::Scrape, Duration::from_millis(500))
        );
        assert_eq!(flags.app_url.as_deref(), Some("http://h/s"));
        for bad in [
            "--nope",
            "--interval=0",
            "--interval=NaN",
            "--mode=push",
            "--demo-port=99999",
        ] {
            assert!(Flags::try_parse_from(["x", bad]).is_err(), "{bad}");
        }
    }
}
