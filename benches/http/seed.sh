#!/usr/bin/env bash
# wrk against /metrics of the seed's exporter: examples/app_exporter (promexport) and the seed,
# trstringer.com's Python exporter (benches/http/seed_exporter.py, prometheus_client) and the
# same exporter on client_golang's promhttp (benches/go/seed_exporter: with Go's default Go and
# process collectors, and with the seed's families alone), all polling the same demo
# application's /status, in one run on loopback.
# Cases: app_exporter polling every 5 s (the default, as the seed does), app_exporter polling at
# each scrape (--mode scrape: concurrent scrapes share one poll), and the Python seed; then the
# seed, Go and the default app_exporter with Accept-Encoding: gzip, as Prometheus scrapes.
# Go and client_golang: the apt-get line of benches/summary/run.sh (Debian's packages, offline).
# Bounded: each case runs DURATION seconds (default 5). Usage: benches/http/seed.sh [DURATION]
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=${1:-5}
command -v wrk >/dev/null || { echo "seed: apt-get install -y wrk" >&2; exit 1; }
python3 -c 'import prometheus_client' 2>/dev/null || python3 -m pip install --quiet prometheus_client

command -v go >/dev/null || { echo "seed: go is missing: see benches/summary/run.sh" >&2; exit 1; }

cargo build --release -q --example app_exporter
gobuild=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$gobuild"' EXIT
# GOPATH mode reads the package from GOPATH/src: a private GOPATH that also sees Debian's packages.
mkdir -p "$gobuild/src/seed"
cp benches/go/seed_exporter/main.go "$gobuild/src/seed/"
(cd "$gobuild/src/seed" && GO111MODULE=off GOPATH="$gobuild:/usr/share/gocode" \
  GOCACHE="$gobuild/cache" go build -o "$gobuild/seed_exporter" .)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
p_app=$(port); p_interval=$(port); p_scrape=$(port); p_py=$(port); p_go=$(port); p_go_seed=$(port)

# The interval-mode exporter also runs the demo application (on $p_app) that all three poll.
APP_PORT=$p_app target/release/examples/app_exporter \
  --web.listen-address "127.0.0.1:$p_interval" >/dev/null &
pid_interval=$!
for p in "$p_app" "$p_interval"; do
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.1; done
done
target/release/examples/app_exporter --mode scrape --app-url "http://127.0.0.1:$p_app/status" \
  --web.listen-address "127.0.0.1:$p_scrape" >/dev/null &
pid_scrape=$!
APP_PORT=$p_app EXPORTER_PORT=$p_py EXPORTER_ADDR=127.0.0.1 \
  python3 benches/http/seed_exporter.py &
pid_py=$!
"$gobuild/seed_exporter" -registry default -listen "127.0.0.1:$p_go" \
  -app-url "http://127.0.0.1:$p_app/status" &
pid_go=$!
"$gobuild/seed_exporter" -registry seed -listen "127.0.0.1:$p_go_seed" \
  -app-url "http://127.0.0.1:$p_app/status" &
pid_go_seed=$!
for p in "$p_scrape" "$p_py" "$p_go" "$p_go_seed"; do
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.1; done
done

# Fails unless the exporter at $1 serves the seed's series (within 5 s); prints the body's size.
check() {
  python3 - "$1" <<'PY'
import sys, time, urllib.request
url = sys.argv[1]
want = ["app_requests_current ", "app_requests_pending ", "app_uptime ",
        'app_health{app_health="healthy"} ', 'app_health{app_health="unhealthy"} ']
missing, body = want, b""
for _ in range(50):
    try:
        body = urllib.request.urlopen(url, timeout=2).read()
        lines = body.decode().splitlines()
        missing = [w for w in want if not any(line.startswith(w) for line in lines)]
        if not missing:
            break
    except OSError as e:
        missing = [f"(no answer: {e})"]
    time.sleep(0.1)
if missing:
    sys.exit(f"seed: {url} does not serve {', '.join(missing)}")
print(len(body))
PY
}
bytes_interval=$(check "http://127.0.0.1:$p_interval/metrics")
bytes_scrape=$(check "http://127.0.0.1:$p_scrape/metrics")
bytes_py=$(check "http://127.0.0.1:$p_py/metrics")
bytes_go=$(check "http://127.0.0.1:$p_go/metrics")
bytes_go_seed=$(check "http://127.0.0.1:$p_go_seed/metrics")

# CPU time (user + system, in clock ticks) the process $1 has used so far.
ticks() { awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
rps_py=
run() { # label url bytes pid [header]
  local out rps p99 errors ratio before cpu
  before=$(ticks "$4")
  out=$(wrk -t2 -c16 -d"${duration}s" --latency ${5:+-H "$5"} "$2")
  # The exporter's CPU time per answered request, in µs: less sensitive than requests/s to
  # whatever else the machine is running.
  cpu=$(awk -v t="$(( $(ticks "$4") - before ))" -v hz="$hz" \
    '/requests in/ {printf "%.0f", t * 1e6 / hz / $1}' <<<"$out")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  # Non-2xx answers and socket errors (connect, read, write, timeout), summed.
  errors=$(awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10}
                END {print n + 0}' <<<"$out")
  ratio=$(awk -v a="$rps" -v b="${rps_py:-0}" 'BEGIN {if (b > 0) printf "%.1f×", a / b; else print "1×"}')
  printf '| %-40s | %10s | %9s | %6s | %6s | %8s | %8s |\n' \
    "$1" "$rps" "$p99" "$errors" "$3" "$cpu" "$ratio"
}
echo "| case (wrk -t2 -c16 -d${duration}s --latency) | requests/s | p99 | errors | bytes | CPU µs/request | ÷ Python |"
echo "|---|---:|---:|---:|---:|---:|---:|"
# The seed first: the other rows are divided by its requests/s.
out=$(run "seed: Python prometheus_client" "http://127.0.0.1:$p_py/metrics" "$bytes_py" "$pid_py")
rps_py=$(awk -F'|' '{gsub(/ /, "", $3); print $3}' <<<"$out")
echo "$out"
run "app_exporter, --mode interval (default)" "http://127.0.0.1:$p_interval/metrics" "$bytes_interval" "$pid_interval"
run "app_exporter, --mode scrape" "http://127.0.0.1:$p_scrape/metrics" "$bytes_scrape" "$pid_scrape"
run "Go promhttp (+ Go and process collectors)" "http://127.0.0.1:$p_go/metrics" "$bytes_go" "$pid_go"
run "Go promhttp, seed families only" "http://127.0.0.1:$p_go_seed/metrics" "$bytes_go_seed" "$pid_go_seed"
# As Prometheus scrapes: it always sends Accept-Encoding: gzip (bytes: the compressed body).
gz="Accept-Encoding: gzip"
gzbytes() { curl -s -H "$gz" "$1" | wc -c; }
run "seed: Python, gzip" "http://127.0.0.1:$p_py/metrics" "$(gzbytes "http://127.0.0.1:$p_py/metrics")" "$pid_py" "$gz"
run "app_exporter, --mode interval, gzip" "http://127.0.0.1:$p_interval/metrics" \
  "$(gzbytes "http://127.0.0.1:$p_interval/metrics")" "$pid_interval" "$gz"
run "Go promhttp (+ collectors), gzip" "http://127.0.0.1:$p_go/metrics" \
  "$(gzbytes "http://127.0.0.1:$p_go/metrics")" "$pid_go" "$gz"
run "Go promhttp, seed families only, gzip" "http://127.0.0.1:$p_go_seed/metrics" \
  "$(gzbytes "http://127.0.0.1:$p_go_seed/metrics")" "$pid_go_seed" "$gz"
