#!/usr/bin/env bash
# The runtime's unit tests under Miri, which checks the unsafe code for undefined behaviour:
# the reference-counted series of `Family` (also from racing threads that remove and re-create
# them, `racing_` below), the lock-free caller list of
# instrumented functions, and the pin projections of `InstrumentedFuture` and of the axum
# layer's `ResponseFuture` (polled by hand in instrument/future_tests.rs and axum/tests.rs;
# feature `axum`, which brings `serve` along).
#
# Skipped: the tests of the process collector (`collector::defaults::`), which read /proc and make
# system calls Miri cannot run (getrlimit, sysconf), and those of gzip (`serve::gzip::`), which
# run no unsafe code of ours but compress hundreds of KB in zlib-rs: many minutes under Miri; and
# those of native histograms (`metrics::native_histogram::`) and summaries (`metrics::summary::`),
# which have no unsafe code: the first check bucket bounds to the last bit, while Miri adds random
# rounding errors to `powi` and `log2` on purpose (they are not exact on every platform), the
# second feed hundreds of thousands of observations; and those of streamed scrapes
# (`serve::stream::`), which have no unsafe code and encode and compress 30,000 series in every
# format; and those of the protobuf label writer (`encoding::protobuf::labels::`), byte slicing
# without unsafe code that compares every pair of about 180 label lists (with them this script
# ran for 20 minutes without finishing them; without them it takes 3.5). Nothing else is skipped.
# On the nightly of scripts/nightly.sh, installed with Miri if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/nightly.sh
ensure_nightly miri rust-src
MIRIFLAGS="-Zmiri-disable-isolation" cargo +"$NIGHTLY" miri test -p promexport --lib \
  --features axum -- --skip collector::defaults:: --skip serve::gzip:: \
  --skip metrics::native_histogram:: --skip metrics::summary:: --skip serve::stream:: \
  --skip encoding::protobuf::labels::
# The tests whose threads race (Family's series index, the callers of an instrumented
# function), again on 8 seeds of Miri's scheduler: other interleavings of the same threads.
MIRIFLAGS="-Zmiri-disable-isolation -Zmiri-many-seeds=0..8" cargo +"$NIGHTLY" miri test \
  -p promexport --lib --features axum -- racing_
