#!/usr/bin/env bash
# wrk against /metrics with 1,000 series: promexport (plain, gzip, TLS) and Python's
# prometheus_client serving the same family (plain, gzip, TLS), in one run on loopback.
# Bounded: each case runs DURATION seconds (default 5). Usage: benches/http/run.sh [DURATION]
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=${1:-5}
command -v wrk >/dev/null || { echo "run: apt-get install -y wrk" >&2; exit 1; }
python3 -c 'import prometheus_client' 2>/dev/null || python3 -m pip install --quiet prometheus_client

cargo build --release -q -p promexport-benches --bin http_target
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$dir"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
p_plain=$(port); p_tls=$(port); py_plain=$(port); py_tls=$(port)

target/release/http_target "$p_plain" "$p_tls" "$dir" >/dev/null &
python3 - "$py_plain" "$py_tls" "$dir" <<'PY' &
import sys, time, ssl
from prometheus_client import Counter, start_http_server, CollectorRegistry
plain, tls, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
registry = CollectorRegistry()
requests = Counter("bench_requests", "Requests by path.", ["path"], registry=registry)
for i in range(1000):
    requests.labels(path=f"/api/v1/items/{i}").inc(i * 7)
start_http_server(plain, addr="127.0.0.1", registry=registry)
for _ in range(100):
    try:
        open(f"{d}/server.key").close()
        break
    except FileNotFoundError:
        time.sleep(0.1)
start_http_server(tls, addr="127.0.0.1", registry=registry, certfile=f"{d}/server.crt", keyfile=f"{d}/server.key")
while True:
    time.sleep(3600)
PY
for p in "$p_plain" "$p_tls" "$py_plain" "$py_tls"; do
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.1; done
done

run() { # label url [header]
  local out
  if [ -n "${3:-}" ]; then out=$(wrk -t2 -c16 -d"${duration}s" --latency -H "$3" "$2"); else out=$(wrk -t2 -c16 -d"${duration}s" --latency "$2"); fi
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  printf '| %-28s | %12s | %10s |\n' "$1" "$rps" "$p99"
}
echo "| case (wrk -t2 -c16 -d${duration}s, 1,000 series) | requests/s | p99 |"
echo "|---|---:|---:|"
run "promexport, plain" "http://127.0.0.1:$p_plain/metrics"
run "promexport, gzip" "http://127.0.0.1:$p_plain/metrics" "Accept-Encoding: gzip"
run "promexport, TLS" "https://127.0.0.1:$p_tls/metrics"
run "prometheus_client, plain" "http://127.0.0.1:$py_plain/metrics"
run "prometheus_client, gzip" "http://127.0.0.1:$py_plain/metrics" "Accept-Encoding: gzip"
run "prometheus_client, TLS" "https://127.0.0.1:$py_tls/metrics"
