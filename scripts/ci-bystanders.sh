#!/usr/bin/env bash
# CI's check that the test set-up (scripts/test-deps.sh) and the tests leave the machine alone:
# `start` runs stand-in processes named like the services a developer's machine may run (nginx,
# prometheus, prometheus-pushgateway) and records which of those packages are installed; `check`
# fails unless every stand-in still runs and no package was installed or removed, then stops the
# stand-ins it started (by PID).
set -euo pipefail
cd "$(dirname "$0")/.."
state=target/ci-bystanders
names=(nginx prometheus prometheus-pushgateway)

installed() {
  for package in "${names[@]}"; do
    printf '%s %s\n' "$package" "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || echo absent)"
  done
}

case "${1:-}" in
start)
  rm -rf "$state" && mkdir -p "$state/bin"
  installed >"$state/packages.before"
  for name in "${names[@]}"; do
    cp "$(command -v sleep)" "$state/bin/$name"
    "$state/bin/$name" 3600 &
    echo $! >>"$state/pids"
  done
  ;;
check)
  status=0
  while read -r pid; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "ci-bystanders: the stand-in with PID $pid was killed by the test set-up" >&2
      status=1
    fi
  done <"$state/pids"
  if ! installed | diff "$state/packages.before" - >&2; then
    echo "ci-bystanders: the test set-up installed or removed a package that brings a service" >&2
    status=1
  fi
  while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$state/pids"
  exit "$status"
  ;;
*)
  echo "usage: $0 start|check" >&2
  exit 2
  ;;
esac
