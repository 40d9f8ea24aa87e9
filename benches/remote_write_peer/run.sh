#!/usr/bin/env bash
# promexport's remote write against prometheus-reqwest-remote-write in one process (src/main.rs):
# one request of 10,000 series, then an agent of each sending them every 250 ms for 6 s.
# Its own workspace and target dir, so the project's builds never compile the peer's reqwest.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
CARGO_TARGET_DIR="$here/../../target/remote-write-peer" cargo run --release --quiet
