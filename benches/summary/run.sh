#!/bin/sh
# Summary observe, promexport against client_golang, back to back on this machine: builds and
# runs benches/go/summary (GOPATH mode, Debian's client_golang, offline) and the criterion bench
# benches/benches/summary.rs, then prints ns/op side by side.
#
#   benches/summary/run.sh            # from the workspace root
#
# Needs `go` and client_golang: apt-get install -y --no-install-recommends golang-go \
#   golang-github-prometheus-client-golang-dev golang-github-prometheus-client-model-dev \
#   golang-github-prometheus-common-dev
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

command -v go >/dev/null || { echo "go is missing: see the apt-get line at the top of $0" >&2; exit 1; }
# GOPATH mode reads the package from GOPATH/src: link the bench into a private GOPATH that also
# sees Debian's packages.
mkdir -p "$out/gopath/src/promexport"
ln -s "$root/benches/go/summary" "$out/gopath/src/promexport/summary"
(cd "$out/gopath/src/promexport/summary" &&
    GO111MODULE=off GOPATH="$out/gopath:/usr/share/gocode" GOCACHE="$out/gocache" \
    go test -run '^$' -bench . -benchtime 2s -cpu 1,2 -count 1) >"$out/go.txt"

(cd "$root" && cargo bench -p promexport-benches --bench summary -- --noplot) >"$out/rust.txt" 2>&1

go_ns() { # benchmark name, -cpu suffix ("" for 1)
    awk -v name="$1$2" '$1 == name { print $3 }' "$out/go.txt"
}
rust_ns() { # criterion id
    # "time:   [low mid high]" (on the id's line or the next): the middle estimate, in ns.
    awk -v id="$1" '
        $1 == id { found = 1 }
        found {
            for (i = 1; i <= NF; i++) if ($i == "time:") {
                value = $(i + 3); unit = $(i + 4)
                if (unit == "ps") value /= 1000
                if (unit == "µs" || unit == "us") value *= 1000
                if (unit == "ms") value *= 1000000
                print value; exit
            }
        }' "$out/rust.txt"
}

printf '%-34s %14s %14s\n' "summary observe (ns/op)" "promexport" "client_golang"
printf '%-34s %14s %14s\n' "objectives, 1 thread" "$(rust_ns summary_observe/promexport/1_thread)" "$(go_ns BenchmarkSummaryObserve "")"
printf '%-34s %14s %14s\n' "no objectives, 1 thread" "$(rust_ns summary_observe/promexport/no_objectives)" "$(go_ns BenchmarkSummaryObserveNoObjectives "")"
printf '%-34s %14s %14s\n' "objectives, 2 threads at once" "$(rust_ns summary_observe/promexport/2_threads)" "$(go_ns BenchmarkSummaryObserveParallel -2)"
