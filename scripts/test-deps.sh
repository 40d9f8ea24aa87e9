#!/usr/bin/env bash
# Installs what the test suite runs for real: Debian's `prometheus` package (prometheus, promtool),
# `nginx` (the target of the nginx exporter's test), `prometheus-pushgateway` and Python's
# prometheus_client (the independent exposition parser). Idempotent: installs only
# what is missing. Tests fail, never skip, when a tool is missing.
set -euo pipefail

missing_packages=()
command -v promtool >/dev/null && command -v prometheus >/dev/null || missing_packages+=(prometheus)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || missing_packages+=(nginx)
command -v prometheus-pushgateway >/dev/null || missing_packages+=(prometheus-pushgateway)

if ((${#missing_packages[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-deps: need root to install ${missing_packages[*]} (apt-get)" >&2
    exit 1
  fi
  # Keep apt from starting the packaged services: the tests start their own on loopback.
  policy=/usr/sbin/policy-rc.d
  had_policy=false
  [ -e "$policy" ] && had_policy=true && cp "$policy" "$policy.promexport-backup"
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  restore_policy() {
    if $had_policy; then mv "$policy.promexport-backup" "$policy"; else rm -f "$policy"; fi
  }
  trap restore_policy EXIT
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_packages[@]}" >/dev/null
  # The package may have started nothing, but make sure no packaged service holds a port.
  pkill -x prometheus 2>/dev/null || true
  pkill -x nginx 2>/dev/null || true
  pkill -x prometheus-pushgateway 2>/dev/null || true
fi

if ! python3 -c 'import prometheus_client' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore prometheus_client
fi

promtool --version 2>&1 | head -n 1
/usr/sbin/nginx -v 2>&1
python3 -c 'import prometheus_client, sys; sys.stdout.write("prometheus_client ok\n")'
