#!/usr/bin/env bash
# Cold builds (release by default) of small programs as a user builds them: a new crate in a
# temp dir that depends on promexport by path (or on a peer), its own empty target dir, the crates compiled counted from
# cargo's `Compiling` lines. The versions are pinned by the workspace's Cargo.lock; the peers' few
# crates outside it are fetched once before any timing (`cargo fetch`), so the timed builds run
# `--offline` and measure compiling only.
#
#   [PROFILE=dev] [PROGRAMS="core serve ..."] benches/build/run.sh [RUNS] [PROMEXPORT_DIR]
#
# PROFILE=dev measures debug builds (`cargo build`, what `cargo run` gives a user) instead of
# release ones; PROGRAMS picks some of the programs below (all by default).
# RUNS (default 2) cold builds per program, run in turn (a b a b) so a drift of the machine's
# speed touches both; PROMEXPORT_DIR (default: this checkout's runtime/) lets an older checkout
# be measured by the same script.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
runs="${1:-2}"
runtime="${2:-$root/runtime}"
lock="$(cd "$runtime/.." && pwd)/Cargo.lock"
work="$(mktemp -d /tmp/build-probe-XXXXXX)"
trap 'rm -rf "$work"' EXIT
case "${PROFILE:-release}" in
  release) profile_flag=--release profile_dir=release ;;
  dev) profile_flag= profile_dir=debug ;;
  *) echo "PROFILE is release or dev" >&2; exit 2 ;;
esac

# One program per name: its [dependencies] lines and its main.rs. Every program sets 4 gauges and
# writes the text exposition (core) or serves it over HTTP (serve); the peers do the same with
# their own crate, as their READMEs show.
programs=(core serve prometheus-client tikv-prometheus measured axum-tokio-prometheus
  metrics-exporter-prometheus)
if [ -n "${PROGRAMS:-}" ]; then read -r -a programs <<<"$PROGRAMS"; fi

dependencies() {
  case "$1" in
    core) echo "promexport = { path = \"$runtime\" }" ;;
    serve) echo "promexport = { path = \"$runtime\", features = [\"serve\"] }" ;;
    prometheus-client) echo 'prometheus-client = { version = "0.26", default-features = false }' ;;
    tikv-prometheus) echo 'prometheus = { version = "0.14", default-features = false }' ;;
    measured) echo 'measured = { version = "0.0.22", default-features = false }' ;;
    axum-tokio-prometheus)
      echo 'axum = { version = "0.8", default-features = false, features = ["tokio", "http1"] }'
      echo 'tokio = { version = "1", default-features = false, features = ["rt", "net", "macros"] }'
      echo 'prometheus = { version = "0.14", default-features = false }' ;;
    metrics-exporter-prometheus)
      # Its HTTP listener only: the default `push-gateway` adds a TLS client (aws-lc-rs).
      echo 'metrics-exporter-prometheus = { version = "0.18", default-features = false, features = ["http-listener"] }'
      echo 'metrics = { version = "0.24", default-features = false }' ;;
  esac
}

main_rs() {
  case "$1" in
    core | serve)
      if [ "$1" = serve ]; then
        tail='promexport::serve("127.0.0.1:0")'
      else
        tail='print!("{}", promexport::render(promexport::Format::Text)); Ok(())'
      fi
      cat <<RS
use promexport::{Gauge, Metrics};

#[derive(Metrics)]
#[metrics(prefix = "probe")]
struct ProbeMetrics {
    /// First.
    first: Gauge,
    /// Second.
    second: Gauge,
    /// Third.
    third: Gauge,
    /// Fourth.
    fourth: Gauge,
}

fn main() -> Result<(), promexport::Error> {
    let metrics = ProbeMetrics::global();
    metrics.first.set(1);
    metrics.second.set(2);
    metrics.third.set(3);
    metrics.fourth.set(4);
    $tail
}
RS
      ;;
    prometheus-client)
      cat <<'RS'
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

fn main() {
    let mut registry = Registry::default();
    for (i, name) in ["first", "second", "third", "fourth"].into_iter().enumerate() {
        let gauge = Gauge::<i64>::default();
        gauge.set(i as i64 + 1);
        registry.register(format!("probe_{name}"), name, gauge);
    }
    let mut out = String::new();
    encode(&mut out, &registry).unwrap();
    print!("{out}");
}
RS
      ;;
    tikv-prometheus)
      cat <<'RS'
use prometheus::{Encoder, IntGauge, TextEncoder};

fn main() {
    for (i, name) in ["first", "second", "third", "fourth"].into_iter().enumerate() {
        let gauge = IntGauge::new(format!("probe_{name}"), name).unwrap();
        gauge.set(i as i64 + 1);
        prometheus::register(Box::new(gauge)).unwrap();
    }
    let mut out = Vec::new();
    TextEncoder::new().encode(&prometheus::gather(), &mut out).unwrap();
    print!("{}", String::from_utf8(out).unwrap());
}
RS
      ;;
    measured)
      cat <<'RS'
use measured::{Gauge, MetricGroup};

#[derive(MetricGroup)]
struct ProbeMetrics {
    /// First.
    probe_first: Gauge,
    /// Second.
    probe_second: Gauge,
    /// Third.
    probe_third: Gauge,
    /// Fourth.
    probe_fourth: Gauge,
}

fn main() {
    let metrics = ProbeMetrics {
        probe_first: Gauge::new(),
        probe_second: Gauge::new(),
        probe_third: Gauge::new(),
        probe_fourth: Gauge::new(),
    };
    metrics.probe_first.set(1);
    metrics.probe_second.set(2);
    metrics.probe_third.set(3);
    metrics.probe_fourth.set(4);
    let mut encoder = measured::text::BufferedTextEncoder::new();
    metrics.collect_group_into(&mut encoder).unwrap();
    print!("{}", String::from_utf8(encoder.finish().to_vec()).unwrap());
}
RS
      ;;
    axum-tokio-prometheus)
      cat <<'RS'
use axum::{Router, routing::get};
use prometheus::{Encoder, IntGauge, TextEncoder};

async fn metrics() -> Vec<u8> {
    let mut out = Vec::new();
    TextEncoder::new().encode(&prometheus::gather(), &mut out).unwrap();
    out
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    for (i, name) in ["first", "second", "third", "fourth"].into_iter().enumerate() {
        let gauge = IntGauge::new(format!("probe_{name}"), name).unwrap();
        gauge.set(i as i64 + 1);
        prometheus::register(Box::new(gauge)).unwrap();
    }
    let app = Router::new().route("/metrics", get(metrics));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
RS
      ;;
    metrics-exporter-prometheus)
      cat <<'RS'
fn main() {
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(([127, 0, 0, 1], 0))
        .install()
        .unwrap();
    for (i, name) in ["first", "second", "third", "fourth"].into_iter().enumerate() {
        metrics::gauge!(format!("probe_{name}")).set(i as f64 + 1.0);
    }
    std::thread::park();
}
RS
      ;;
  esac
}

for name in "${programs[@]}"; do
  mkdir -p "$work/$name/src"
  {
    printf '[package]\nname = "probe-%s"\nversion = "0.1.0"\nedition = "2024"\n\n[dependencies]\n' "$name"
    dependencies "$name"
    printf '\n[workspace]\n'
  } >"$work/$name/Cargo.toml"
  main_rs "$name" >"$work/$name/src/main.rs"
  cp "$lock" "$work/$name/Cargo.lock"
  (cd "$work/$name" && cargo fetch -q)
done

# Wall time is what the user waits; CPU time (user + system of cargo and every rustc) moves less
# when other work shares the machine.
printf '| program | run | wall s | CPU s | crates compiled | stripped binary bytes | touch rebuild wall s |\n'
printf '|---|---:|---:|---:|---:|---:|---:|\n'
TIMEFORMAT='%R %U %S'
for run in $(seq 1 "$runs"); do
  for name in "${programs[@]}"; do
    target="$work/target-$name"
    rm -rf "$target"
    { time (cd "$work/$name" && CARGO_TARGET_DIR="$target" CARGO_TERM_COLOR=never \
      cargo build ${profile_flag:+"$profile_flag"} --offline 2>"$work/$name.log") ; } 2>"$work/$name.time" \
      || { cat "$work/$name.log" >&2; exit 1; }
    read -r wall user system <"$work/$name.time"
    crates=$(grep -c '^ *Compiling ' "$work/$name.log")
    # A touch rebuild: the program's own crate again, as after an edit (wall time).
    touch "$work/$name/src/main.rs"
    { time (cd "$work/$name" && CARGO_TARGET_DIR="$target" CARGO_TERM_COLOR=never \
      cargo build ${profile_flag:+"$profile_flag"} --offline -q 2>>"$work/$name.log") ; } 2>"$work/$name.touch" \
      || { cat "$work/$name.log" >&2; exit 1; }
    read -r touch_wall _ <"$work/$name.touch"
    strip -o "$work/$name.stripped" "$target/$profile_dir/probe-$name"
    bytes=$(stat -c %s "$work/$name.stripped")
    printf '| %s | %s | %.1f | %.1f | %s | %s | %.2f |\n' "$name" "$run" "$wall" \
      "$(echo "$user + $system" | bc)" "$crates" "$bytes" "$touch_wall"
    rm -rf "$target"
  done
done
