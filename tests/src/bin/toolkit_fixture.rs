//! An exporter whose collectors misbehave on purpose, beside healthy ones: the subject of
//! tests/tests/exporter_*.rs.

use promexport::exporter::{Exporter, ProbeError, ProbeRequest};
use promexport::{Gauge, Metrics};
use std::process::ExitCode;
use std::time::Duration;

promexport::build_info!("toolkit_fixture");

#[derive(clap::Parser)]
struct Cli {
    #[command(flatten)]
    exporter: promexport::exporter::Flags,
    /// How long the `slow` collector takes.
    #[arg(long = "fixture.slow-seconds", default_value_t = 0.0)]
    slow_seconds: f64,
}

#[derive(Metrics)]
#[metrics(prefix = "fixture", no_global)]
struct Healthy {
    /// Always 1.
    healthy: Gauge,
}

#[derive(Metrics)]
#[metrics(prefix = "fixture", no_global)]
struct Slow {
    /// 1 once the slow collector finished.
    slow: Gauge,
}

#[derive(Metrics)]
#[metrics(prefix = "fixture", no_global)]
struct Sluggish {
    /// 1 once the sluggish collector finished.
    sluggish: Gauge,
}

#[derive(Metrics)]
#[metrics(prefix = "fixture", no_global)]
struct Blocking {
    /// 1, read on a blocking thread.
    blocking: Gauge,
}

#[derive(Metrics)]
#[metrics(prefix = "fixture", no_global)]
struct Optional {
    /// 1 when the collector off by default was switched on.
    optional: Gauge,
}

#[derive(Metrics)]
#[metrics(prefix = "fixture", no_global)]
struct Never {
    /// Never served: its collector fails or panics.
    never: Gauge,
}

fn explode() -> Result<Never, std::io::Error> {
    panic!("a collector panicked")
}

#[derive(Metrics)]
#[metrics(prefix = "fixture_target", no_global)]
struct Target {
    /// What a `Collector` registered at start read.
    read: Gauge,
}

#[derive(Metrics)]
#[metrics(prefix = "fixture_probe", no_global)]
struct Answered {
    /// 0: the probed target refused (served beside `probe_success 0`).
    answered: Gauge,
}

fn main() -> ExitCode {
    Exporter::<Cli>::new("toolkit_fixture")
        .on_start(|_: &Cli| {
            promexport::Collector::new("fixture_target", || async {
                let metrics = Target::new();
                metrics.read.set(7);
                Ok::<_, std::io::Error>(metrics)
            })
            .register()
        })
        .collector("healthy", true, |_: &Cli| async {
            let metrics = Healthy::new();
            metrics.healthy.set(1);
            Ok::<_, std::io::Error>(metrics)
        })
        .collector("failing", true, |_: &Cli| async {
            Err::<Never, _>(std::io::Error::other("the target refused"))
        })
        .collector("slow", true, |cli: &Cli| {
            let pause = Duration::from_secs_f64(cli.slow_seconds);
            async move {
                tokio::time::sleep(pause).await;
                let metrics = Slow::new();
                metrics.slow.set(1);
                Ok::<_, std::io::Error>(metrics)
            }
        })
        // As slow as `slow`: the two run at the same time.
        .collector("sluggish", true, |cli: &Cli| {
            let pause = Duration::from_secs_f64(cli.slow_seconds);
            async move {
                tokio::time::sleep(pause).await;
                Ok::<_, std::io::Error>(Sluggish::new())
            }
        })
        .collector("panicking", true, |_: &Cli| async { explode() })
        .blocking_collector("blocking", true, |_: &Cli| {
            let metrics = Blocking::new();
            metrics.blocking.set(1);
            Ok::<_, std::io::Error>(metrics)
        })
        .collector("optional", false, |_: &Cli| async {
            let metrics = Optional::new();
            metrics.optional.set(1);
            Ok::<_, std::io::Error>(metrics)
        })
        // The target is how many seconds the probe takes, `panic`, `refused` (a failure with
        // metrics) or `nonsense` (a bad target).
        .probe(
            "/probe",
            |_: &Cli| None,
            |_: &Cli, probe: ProbeRequest<()>| async move {
                match probe.target.as_str() {
                    "panic" => panic!("a probe panicked"),
                    "refused" => {
                        let error = ProbeError::with_metrics("the target refused", Answered::new());
                        return Err(error.into());
                    }
                    "nonsense" => return Err(ProbeError::bad_target("not a probe target").into()),
                    _ => {}
                }
                let seconds: f64 = probe.target.parse()?;
                tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Healthy::new())
            },
        )
        .run()
}
