#!/usr/bin/env bash
# wrk against each example's metrics path with its real target behind it, in one run on loopback:
# app_exporter (its demo application, polled every 5 s), nginx_exporter (nginx's stub_status, read
# at each scrape), redis_exporter (redis-server's INFO at each scrape: /metrics and
# /scrape?target=), axum_service (its own /metrics), plain and with Accept-Encoding: gzip.
# nginx and redis-server come from target/test-tools (scripts/test-deps.sh), as for the tests.
# With BEFORE_DIR (app_exporter, nginx_exporter, redis_exporter and axum_service binaries built
# from an older checkout), each case runs against those too, in the same run.
# Bounded: each case runs DURATION seconds (default 3). Usage:
#   benches/http/examples.sh [DURATION] [BEFORE_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=${1:-3}
before_dir=${2:-}
command -v wrk >/dev/null || { echo "examples: apt-get install -y wrk" >&2; exit 1; }
tools=target/test-tools/bin
[ -x "$tools/nginx" ] && [ -x "$tools/redis-server" ] || { echo "examples: run scripts/test-deps.sh" >&2; exit 1; }

cargo build --release -q -p promexport-examples --example app_exporter --example nginx_exporter \
  --example redis_exporter --example axum_service
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; sleep 0.2; rm -rf "$dir"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; echo "examples: nothing on port $1" >&2; exit 1; }

p_nginx=$(port); p_redis=$(port)
mkdir -p "$dir/nginx"
cat >"$dir/nginx/nginx.conf" <<EOF
daemon off; master_process off; worker_processes 1; pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn; events { worker_connections 1024; }
http { access_log off; client_body_temp_path $dir/nginx/body; proxy_temp_path $dir/nginx/proxy;
  fastcgi_temp_path $dir/nginx/fastcgi; uwsgi_temp_path $dir/nginx/uwsgi; scgi_temp_path $dir/nginx/scgi;
  server { listen 127.0.0.1:$p_nginx; location = /stub_status { stub_status; } } }
EOF
"$tools/nginx" -p "$dir/nginx" -e "$dir/nginx/error.log" -c "$dir/nginx/nginx.conf" &
"$tools/redis-server" --bind 127.0.0.1 --port "$p_redis" --save "" --appendonly no --dir "$dir" >/dev/null &
wait_port "$p_nginx"; wait_port "$p_redis"
for db in 0 1; do
  for i in $(seq 20); do echo "SET key:$i v"; done | "$tools/redis-cli" -p "$p_redis" -n "$db" >/dev/null
done

# Starts the four examples of the binaries in $1; sets pid_<name> and port_<name> with suffix $2.
start() {
  local bin=$1 tag=$2 p
  p=$(port); env -u APP_PORT -u EXPORTER_PORT "$bin/app_exporter" --web.listen-address "127.0.0.1:$p" >/dev/null 2>&1 &
  eval "pid_app$tag=$! port_app$tag=$p"
  p=$(port); "$bin/nginx_exporter" --web.listen-address "127.0.0.1:$p" \
    --nginx.scrape-uri "http://127.0.0.1:$p_nginx/stub_status" >/dev/null 2>&1 &
  eval "pid_nginx$tag=$! port_nginx$tag=$p"
  p=$(port); "$bin/redis_exporter" --web.listen-address "127.0.0.1:$p" \
    --redis.addr "redis://127.0.0.1:$p_redis" >/dev/null 2>&1 &
  eval "pid_redis$tag=$! port_redis$tag=$p"
  p=$(port); "$bin/axum_service" --web.listen-address "127.0.0.1:$p" >/dev/null 2>&1 &
  eval "pid_axum$tag=$! port_axum$tag=$p"
}
start target/release/examples ""
[ -n "$before_dir" ] && start "$before_dir" _before
for v in ${!port_*}; do wait_port "${!v}"; done

# Fails unless $1 answers 200 with the series $2; prints the body's size (gzip with $3).
check() {
  local body
  for _ in $(seq 100); do
    body=$(curl -sf ${3:+-H "$3"} --compressed "$1" || true)
    grep -q "^$2" <<<"$body" && break
    sleep 0.1
  done
  grep -q "^$2" <<<"$body" || { echo "examples: $1 does not serve $2" >&2; exit 1; }
  curl -s ${3:+-H "$3"} "$1" | wc -c
}

# CPU time (user + system, in clock ticks) the process $1 has used so far.
ticks() { awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
run() { # label url series pid [header]
  local out rps p99 errors before cpu bytes
  bytes=$(check "$2" "$3" "${5:-}")
  before=$(ticks "$4")
  out=$(wrk -t2 -c16 -d"${duration}s" --latency ${5:+-H "$5"} "$2")
  # The exporter's CPU time per answered request, in µs (its target's is not counted).
  cpu=$(awk -v t="$(( $(ticks "$4") - before ))" -v hz="$hz" \
    '/requests in/ {printf "%.0f", t * 1e6 / hz / $1}' <<<"$out")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10}
                END {print n + 0}' <<<"$out")
  printf '| %-44s | %10s | %9s | %6s | %6s | %8s |\n' "$1" "$rps" "$p99" "$errors" "$bytes" "$cpu"
}
gz="Accept-Encoding: gzip"
echo "| case (wrk -t2 -c16 -d${duration}s) | requests/s | p99 | errors | bytes | CPU µs/request |"
echo "|---|---:|---:|---:|---:|---:|"
for tag in "" ${before_dir:+_before}; do
  name=${tag:+ (before)}
  a=port_app$tag; n=port_nginx$tag; r=port_redis$tag; x=port_axum$tag
  pa=pid_app$tag; pn=pid_nginx$tag; pr=pid_redis$tag; px=pid_axum$tag
  for h in "" "$gz"; do
    enc=${h:+, gzip}
    run "app_exporter$name$enc" "http://127.0.0.1:${!a}/metrics" "app_up 1" "${!pa}" "$h"
    run "nginx_exporter$name$enc" "http://127.0.0.1:${!n}/metrics" "nginx_up 1" "${!pn}" "$h"
    run "redis_exporter /metrics$name$enc" "http://127.0.0.1:${!r}/metrics" "redis_up 1" "${!pr}" "$h"
    run "redis_exporter /scrape?target=$name$enc" \
      "http://127.0.0.1:${!r}/scrape?target=redis://127.0.0.1:$p_redis" "redis_up 1" "${!pr}" "$h"
    run "axum_service /metrics$name$enc" "http://127.0.0.1:${!x}/metrics" "process_cpu_seconds_total" "${!px}" "$h"
  done
done
