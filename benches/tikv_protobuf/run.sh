#!/usr/bin/env bash
# promexport's protobuf encoding against tikv prometheus' `ProtobufEncoder` (src/main.rs), 10,000
# labelled counters, in one process. Its own workspace and target dir (see Cargo.toml).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
CARGO_TARGET_DIR="$here/../../target/tikv-protobuf" cargo run --release --quiet
