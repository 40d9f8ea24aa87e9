#!/usr/bin/env bash
# The runtime's unit tests under Miri, which checks the unsafe code (the series index of
# `Family`, the lock-free caller list of instrumented functions) for undefined behaviour.
# Installs Miri for the nightly toolchain if needed. Tests that read /proc are skipped: Miri
# cannot run the system calls they make (getrlimit, sysconf).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo +nightly miri --version >/dev/null 2>&1; then
  rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
  rustup component add --toolchain nightly miri rust-src
fi
MIRIFLAGS="-Zmiri-disable-isolation" cargo +nightly miri test -p promexport --lib -- --skip collector::
