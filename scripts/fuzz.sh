#!/usr/bin/env bash
# Fuzzes every parser of untrusted input (the targets of fuzz/, one per parser) for a bounded
# time each: FUZZ_SECONDS (default 30) per target, after the unit tests of the test parser.
# Fails on any crash, failed check, timeout (10 s for one input) or leak. Installs cargo-fuzz
# for the nightly of scripts/nightly.sh if needed.
#
# New inputs the fuzzer finds go to fuzz/target/corpus/<target> (not committed); the seeds in
# fuzz/corpus/<target> are read, never written. A crashing input is saved in
# fuzz/artifacts/<target>/: once fixed, add it to fuzz/corpus/<target> as a regression seed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/nightly.sh
ensure_nightly
seconds=${FUZZ_SECONDS:-30}
if ! cargo +"$NIGHTLY" fuzz --version >/dev/null 2>&1; then
  cargo +"$NIGHTLY" install cargo-fuzz --locked
fi
cd fuzz
# cargo fuzz has no --locked: this fails instead if fuzz/Cargo.lock is not up to date.
cargo +"$NIGHTLY" fetch --locked --target "$(rustc +"$NIGHTLY" -vV | sed -n "s/^host: //p")"
# The test parser has no dependency: its unit tests build with rustc alone, in seconds, rather
# than with every dependency of the crate built once more without the sanitizer.
mkdir -p target
rustc +"$NIGHTLY" --edition 2024 --test -o target/test-parser src/lib.rs
target/test-parser
# -O: optimized, as fuzzing needs; -a: with debug assertions (overflow checks) all the same.
cargo +"$NIGHTLY" fuzz build -O -a
for target in $(cargo +"$NIGHTLY" fuzz list); do
  mkdir -p "target/corpus/$target"
  cargo +"$NIGHTLY" fuzz run -O -a "$target" "target/corpus/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
done
