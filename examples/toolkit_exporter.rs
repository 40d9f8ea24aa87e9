//! `toolkit_exporter`: a complete exporter on `promexport::exporter`, with the standard flags of
//! Go's exporters, two switchable collectors and a blackbox-style `/probe` endpoint.
//!
//! ```text
//! $ cargo run --example toolkit_exporter -- --web.listen-address=:9199 --no-collector.uptime
//! time=... level=INFO source=mod.rs:... msg="Starting toolkit_exporter" version="(version=0.1.0, ...)"
//! $ curl -s localhost:9199/metrics | grep ^toolkit_
//! toolkit_load1 0.42
//! toolkit_scrape_collector_success{collector="load"} 1
//! $ curl -s 'localhost:9199/probe?target=localhost:22&module=tcp_connect' | grep ^probe_
//! probe_tcp_connect_duration_seconds 0.000173
//! probe_success 1
//! ```
//!
//! A modules file (`--config.file`) names the probe's settings, as blackbox_exporter's does:
//!
//! ```yaml
//! modules:
//!   tcp_connect:
//!     timeout_seconds: 2
//! ```

use promexport::exporter::{Exporter, ProbeRequest};
use promexport::{Gauge, Metrics};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

promexport::build_info!("toolkit_exporter");

#[derive(clap::Parser)]
struct Cli {
    #[command(flatten)]
    exporter: promexport::exporter::Flags,
    /// The file of the load collector.
    #[arg(long = "load.file", default_value = "/proc/loadavg")]
    load_file: PathBuf,
    /// The modules file of /probe (without it: one module, `default`, of default settings).
    #[arg(long = "config.file")]
    config_file: Option<PathBuf>,
}

#[derive(Metrics)]
#[metrics(prefix = "toolkit", no_global)]
struct LoadMetrics {
    /// 1m load average.
    load1: Gauge<f64>,
    /// 5m load average.
    load5: Gauge<f64>,
    /// 15m load average.
    load15: Gauge<f64>,
}

#[derive(Metrics)]
#[metrics(prefix = "toolkit", no_global)]
struct UptimeMetrics {
    /// How long the system has been up.
    #[metric(unit = "seconds")]
    uptime: Gauge<f64>,
}

#[derive(Metrics)]
#[metrics(prefix = "probe_tcp", no_global)]
struct TcpProbeMetrics {
    /// How long the TCP connection took.
    #[metric(unit = "seconds")]
    connect_duration: Gauge<f64>,
}

/// A module of the modules file.
#[derive(serde::Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct TcpModule {
    /// At most this, or the probe's deadline if shorter.
    timeout_seconds: Option<f64>,
}

/// The first `count` numbers of a whitespace-separated line of `path`.
fn read_numbers(
    path: &PathBuf,
    count: usize,
) -> Result<Vec<f64>, Box<dyn std::error::Error + Send + Sync>> {
    let text = std::fs::read_to_string(path)?;
    let numbers = text
        .split_whitespace()
        .take(count)
        .map(str::parse)
        .collect::<Result<Vec<f64>, _>>()?;
    match numbers.len() == count {
        true => Ok(numbers),
        false => Err(format!("{}: fewer than {count} numbers", path.display()).into()),
    }
}

fn read_load(cli: &Cli) -> Result<LoadMetrics, Box<dyn std::error::Error + Send + Sync>> {
    let numbers = read_numbers(&cli.load_file, 3)?;
    let metrics = LoadMetrics::new();
    metrics.load1.set(numbers[0]);
    metrics.load5.set(numbers[1]);
    metrics.load15.set(numbers[2]);
    Ok(metrics)
}

fn read_uptime(_: &Cli) -> Result<UptimeMetrics, Box<dyn std::error::Error + Send + Sync>> {
    let metrics = UptimeMetrics::new();
    metrics
        .uptime
        .set(read_numbers(&"/proc/uptime".into(), 1)?[0]);
    Ok(metrics)
}

async fn probe_tcp(probe: ProbeRequest<TcpModule>) -> Result<TcpProbeMetrics, std::io::Error> {
    let limit = probe.module.timeout_seconds.map(Duration::from_secs_f64);
    let timeout = limit.map_or(probe.deadline, |limit| limit.min(probe.deadline));
    let start = Instant::now();
    let connect = tokio::net::TcpStream::connect(probe.target);
    tokio::time::timeout(timeout, connect).await??;
    let metrics = TcpProbeMetrics::new();
    metrics.connect_duration.set(start.elapsed().as_secs_f64());
    Ok(metrics)
}

fn main() -> ExitCode {
    Exporter::<Cli>::new("toolkit_exporter")
        .description("Exports this machine's load and uptime, and probes TCP ports.")
        .default_address(":9199")
        .blocking_collector("load", true, read_load)
        .blocking_collector("uptime", true, read_uptime)
        .probe(
            "/probe",
            |cli: &Cli| cli.config_file.clone(),
            |_, probe| probe_tcp(probe),
        )
        .run()
}
