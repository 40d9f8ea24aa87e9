#!/usr/bin/env bash
# Cold release builds of small programs as a user builds them: a new crate in a temp dir that
# depends on promexport by path, its own empty target dir, the crates compiled counted from
# cargo's `Compiling` lines. The versions are pinned by the workspace's Cargo.lock, so the
# registry is not asked (`--offline`) and every run builds the same crates.
#
#   benches/build/run.sh [RUNS] [PROMEXPORT_DIR]
#
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

# One program per line: name, then the promexport dependency's extra keys.
programs=(
  "core|"
  "serve|features = [\"serve\"]"
)

for program in "${programs[@]}"; do
  name="${program%%|*}"
  extra="${program#*|}"
  mkdir -p "$work/$name/src"
  cat >"$work/$name/Cargo.toml" <<TOML
[package]
name = "probe-$name"
version = "0.1.0"
edition = "2024"

[dependencies]
promexport = { path = "$runtime"${extra:+, $extra} }

[workspace]
TOML
  if [ "$name" = serve ]; then
    tail='promexport::serve("127.0.0.1:0")'
  else
    tail='print!("{}", promexport::render(promexport::Format::Text)); Ok(())'
  fi
  cat >"$work/$name/src/main.rs" <<RS
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
  cp "$lock" "$work/$name/Cargo.lock"
done

# Wall time is what the user waits; CPU time (user + system of cargo and every rustc) moves less
# when other work shares the machine.
printf '| program | run | wall s | CPU s | crates compiled | stripped binary bytes |\n'
printf '|---|---:|---:|---:|---:|---:|\n'
TIMEFORMAT='%R %U %S'
for run in $(seq 1 "$runs"); do
  for program in "${programs[@]}"; do
    name="${program%%|*}"
    target="$work/target-$name"
    rm -rf "$target"
    { time (cd "$work/$name" && CARGO_TARGET_DIR="$target" CARGO_TERM_COLOR=never \
      cargo build --release --offline 2>"$work/$name.log") ; } 2>"$work/$name.time" \
      || { cat "$work/$name.log" >&2; exit 1; }
    read -r wall user system <"$work/$name.time"
    crates=$(grep -c '^ *Compiling ' "$work/$name.log")
    strip -o "$work/$name.stripped" "$target/release/probe-$name"
    bytes=$(stat -c %s "$work/$name.stripped")
    printf '| %s | %s | %.1f | %.1f | %s | %s |\n' "$name" "$run" "$wall" \
      "$(echo "$user + $system" | bc)" "$crates" "$bytes"
    rm -rf "$target"
  done
done
