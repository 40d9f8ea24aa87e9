//! `app_exporter`: polls an application's JSON status endpoint and serves it as Prometheus
//! metrics, with the names of the classic Python exporter (trstringer.com, "quick and easy
//! Prometheus exporter"). The application answers `GET /status` with a flat JSON object:
//! `{"requests_current": 4, "requests_pending": 1, "uptime_seconds": 104.9, "health": "healthy"}`.
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
//! $ cargo run --example app_exporter -- --app-url http://127.0.0.1:1/status
//! app_exporter: serving metrics on http://127.0.0.1:9877/metrics
//! app_exporter: polling http://127.0.0.1:1/status: Connection refused (os error 111)
//! ```
//!
//! It polls in one of two modes (`--mode`): every `--interval` in the background, as the seed
//! does (the default), or at each scrape (`--mode scrape`, within the timeout Prometheus
//! announces; concurrent scrapes share one poll). While the application cannot be polled,
//! `app_up` is 0, `app_collection_errors_total{reason}` counts it, a line on stderr says why, and
//! the application's own series are left out rather than served stale. Also served:
//! `process_*`, `tokio_*` and `app_exporter_build_info`.

use promexport::{Collector, Gauge, LabelValue, Metrics, StateSet};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;
use tokio::net::TcpListener;

promexport::build_info!("app_exporter");

/// Writes `app_exporter: <message>` to stdout or stderr (`say!(stderr, "...")`), ignoring
/// errors: a closed stream is no reason to crash.
macro_rules! say {
    ($stream:ident, $($arg:tt)*) => {{
        let _ = writeln!(std::io::$stream(), "app_exporter: {}", format_args!($($arg)*));
    }};
}

mod demo_app;
#[path = "../shared/http_client.rs"]
mod http_client;
mod status;

use http_client::http_target;
use status::parse_status;

/// Health the application reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
pub(crate) enum Health {
    Healthy,
    Unhealthy,
}

#[derive(Metrics)]
#[metrics(prefix = "app", no_global)]
struct AppMetrics {
    /// Current requests
    requests_current: Gauge,
    /// Pending requests
    requests_pending: Gauge,
    /// Uptime
    // No `unit = "seconds"`: the seed's dashboards query `app_uptime`.
    uptime: Gauge<f64>,
    /// Health
    health: StateSet<Health>,
}

const USAGE: &str = "\
Usage: app_exporter [FLAGS]

Polls an application's JSON status endpoint and serves it as Prometheus metrics.
Without --app-url, starts an embedded demo application on 127.0.0.1 and polls it.

Flags (--flag VALUE or --flag=VALUE; flags win over environment variables):
  --web.listen-address HOST:PORT  where to serve metrics (default 127.0.0.1:9877;
                                  env EXPORTER_PORT sets the default's port)
  --web.telemetry-path PATH       path of the metrics (default /metrics)
  --web.config.file PATH          TLS and basic auth settings (exporter-toolkit format)
  --mode interval|scrape          poll every --interval (default), or at each scrape
  --interval SECONDS              time between polls (default 5; env POLLING_INTERVAL_SECONDS)
  --app-url URL                   http:// URL of the application's status endpoint
                                  (default: the demo application; env APP_PORT sets its port)
  -h, --help                      print this help";

/// Time allowed for one poll (connect, request and response).
const POLL_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, PartialEq)]
struct Config {
    listen_address: String,
    telemetry_path: String,
    /// The exporter-toolkit web config file (TLS, basic auth).
    web_config: Option<String>,
    /// `None`: poll at each scrape.
    interval: Option<Duration>,
    app_url: Option<String>,
    demo_port: u16,
}

/// Parses the flags (without the program name), `None` for `--help`; `env` reads variables.
fn parse_args(
    args: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Config>, String> {
    let port = |text: &str, what: &str| {
        let port = text.trim().parse::<u16>();
        port.map_err(|_| format!("{what}: {text:?} is not a port number"))
    };
    let (mut listen, mut path, mut interval, mut app_url) = (None, None, None, None);
    let (mut mode, mut web_config) = (None, None);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        let slot = match name {
            "-h" | "--help" => return Ok(None),
            "--web.listen-address" => &mut listen,
            "--web.telemetry-path" => &mut path,
            "--interval" => &mut interval,
            "--mode" => &mut mode,
            "--web.config.file" => &mut web_config,
            "--app-url" => &mut app_url,
            _ if name.starts_with('-') => return Err(format!("unknown flag {name}")),
            _ => return Err(format!("unexpected argument {arg:?}")),
        };
        let value = inline.or_else(|| args.next());
        *slot = Some(value.ok_or_else(|| format!("flag {name} needs a value"))?);
    }
    let listen_address = match (listen, env("EXPORTER_PORT")) {
        (Some(addr), _) if addr.starts_with(':') => format!("0.0.0.0{addr}"), // Go's ":9877"
        (Some(addr), _) => addr,
        (None, Some(p)) => format!("127.0.0.1:{}", port(&p, "EXPORTER_PORT")?),
        (None, None) => "127.0.0.1:9877".to_owned(),
    };
    let (what, interval) = match interval {
        Some(text) => ("--interval", text),
        None => (
            "POLLING_INTERVAL_SECONDS",
            env("POLLING_INTERVAL_SECONDS").unwrap_or("5".into()),
        ),
    };
    let interval = match interval.trim().parse::<f64>() {
        Ok(secs) if (0.001..=86_400.0).contains(&secs) => Duration::from_secs_f64(secs),
        _ => {
            return Err(format!(
                "{what}: {interval:?} is not a number in 0.001..=86400"
            ));
        }
    };
    if let Some(url) = &app_url {
        http_target(url).map_err(|e| format!("--app-url: {e}"))?;
    }
    let demo_port = match env("APP_PORT") {
        Some(p) if app_url.is_none() => port(&p, "APP_PORT")?,
        _ => 0,
    };
    let telemetry_path = path.unwrap_or_else(|| "/metrics".to_owned());
    let interval = match mode.as_deref() {
        None | Some("interval") => Some(interval),
        Some("scrape") => None,
        Some(other) => return Err(format!("--mode: {other:?} is neither interval nor scrape")),
    };
    Ok(Some(Config {
        listen_address,
        telemetry_path,
        web_config,
        interval,
        app_url,
        demo_port,
    }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let config = match parse_args(std::env::args().skip(1), |name| std::env::var(name).ok()) {
        Ok(Some(config)) => config,
        Ok(None) => {
            let _ = writeln!(std::io::stdout(), "{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            say!(stderr, "{message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Err(message) = run(config).await {
        say!(stderr, "{message}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

async fn run(config: Config) -> Result<(), String> {
    // Spawned from inside this runtime, the server also serves the runtime's `tokio_*` metrics.
    let server = promexport::Server::bind(&config.listen_address);
    let server = server.and_then(|server| match &config.web_config {
        Some(path) => server.web_config_file(path),
        None => Ok(server),
    });
    let handle = server.and_then(|server| server.path(config.telemetry_path).spawn());
    let handle = handle.map_err(|e| format!("serving on {}: {e}", config.listen_address))?;
    say!(stdout, "serving metrics on {}", handle.url());
    let app_url = match config.app_url {
        Some(url) => url,
        None => {
            let listener = TcpListener::bind(("127.0.0.1", config.demo_port)).await;
            let listener = listener.map_err(|e| format!("starting the demo application: {e}"))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            tokio::spawn(demo_app::serve(listener));
            say!(stdout, "demo application on http://{addr}/status");
            format!("http://{addr}/status")
        }
    };
    let app_url: std::sync::Arc<str> = app_url.into();
    let collector = Collector::new("app", move || poll(app_url.clone()));
    let collector = match config.interval {
        Some(interval) => collector.interval(interval),
        None => collector,
    };
    collector
        .timeout(POLL_TIMEOUT)
        .register()
        .map_err(|e| format!("registering the collector: {e}"))?;
    shutdown_signal().await;
    handle
        .shutdown()
        .map_err(|e| format!("metrics server: {e}"))
}

/// Polls `url` once: the application's metrics, or why there are none.
async fn poll(url: std::sync::Arc<str>) -> Result<AppMetrics, String> {
    let status = match tokio::time::timeout(POLL_TIMEOUT, http_client::http_get(&url)).await {
        Ok(body) => body.and_then(|body| parse_status(&body)),
        Err(_) => Err(format!("no response within {POLL_TIMEOUT:?}")),
    };
    match status {
        Ok(status) => {
            let metrics = AppMetrics::new();
            metrics.requests_current.set(status.requests_current);
            metrics.requests_pending.set(status.requests_pending);
            metrics.uptime.set(status.uptime_seconds);
            metrics.health.set(status.health);
            Ok(metrics)
        }
        Err(message) => {
            say!(stderr, "polling {url}: {message}");
            Err(message)
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str], env: &[(&str, &str)]) -> Result<Option<Config>, String> {
        let args = args.iter().map(|arg| arg.to_string());
        let env = |name: &str| Some(env.iter().find(|(k, _)| *k == name)?.1.to_owned());
        parse_args(args, env)
    }

    #[test]
    fn flags_have_defaults_env_vars_and_both_syntaxes() {
        let defaults = config(&[], &[]).unwrap().unwrap();
        assert_eq!(defaults.listen_address, "127.0.0.1:9877");
        assert_eq!(defaults.telemetry_path, "/metrics");
        assert_eq!(defaults.interval, Some(Duration::from_secs(5)));
        assert_eq!((defaults.app_url, defaults.demo_port), (None, 0));

        let env = [("EXPORTER_PORT", "91"), ("POLLING_INTERVAL_SECONDS", "0.5")];
        let env = [&env[..], &[("APP_PORT", "80")]].concat();
        let from_env = config(&[], &env).unwrap().unwrap();
        assert_eq!(from_env.listen_address, "127.0.0.1:91");
        assert_eq!(from_env.interval, Some(Duration::from_millis(500)));
        assert_eq!(from_env.demo_port, 80);

        let args =
            "--web.listen-address=:92 --interval 2 --app-url=http://h/s --web.telemetry-path m";
        let flags = config(&args.split(' ').collect::<Vec<_>>(), &env);
        let flags = flags.unwrap().unwrap();
        assert_eq!(flags.listen_address, "0.0.0.0:92");
        assert_eq!(flags.interval, Some(Duration::from_secs(2)));
        let scrape = config(&["--mode", "scrape"], &[]).unwrap().unwrap();
        assert_eq!(scrape.interval, None);
        assert_eq!(flags.app_url.as_deref(), Some("http://h/s"));
        assert_eq!((flags.telemetry_path.as_str(), flags.demo_port), ("m", 0));
        assert_eq!(config(&["--interval", "1", "--help"], &[]), Ok(None));
    }

    #[test]
    fn bad_flags_are_errors() {
        let error = |args: &[&str], env: &[(&str, &str)]| config(args, env).unwrap_err();
        assert!(error(&["--nope"], &[]).contains("unknown flag --nope"));
        assert!(error(&["stray"], &[]).contains("unexpected argument"));
        assert!(error(&["--interval"], &[]).contains("needs a value"));
        assert!(error(&["--mode", "push"], &[]).contains("--mode"));
        assert!(error(&["--interval=0"], &[]).contains("--interval"));
        assert!(error(&["--interval=NaN"], &[]).contains("--interval"));
        assert!(error(&[], &[("POLLING_INTERVAL_SECONDS", "x")]).contains("POLLING_INTERVAL"));
        assert!(error(&[], &[("EXPORTER_PORT", "99999")]).contains("EXPORTER_PORT"));
        assert!(error(&["--app-url", "https://h/"], &[]).contains("unsupported URL scheme"));
        assert!(error(&["--app-url", "h:80/s"], &[]).contains("not an http:// URL"));
    }
}
