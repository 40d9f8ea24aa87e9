#!/usr/bin/env bash
# Puts what the test suite runs for real into target/test-tools/ (the project's folder, never the
# system's): Prometheus and promtool, the Pushgateway and nginx taken out of Debian's packages
# without installing them (so no service is installed, started or enabled at boot, and nothing
# already running on the machine is touched), and Python's prometheus_client, pinned, in a virtual
# environment. Idempotent: fetches only what is missing. The tests run the tools from there and
# fail, never skip, when one is missing.
#
# Outside the project it changes nothing but apt's package lists (`apt-get update`, only when a
# package must be fetched) and, only if they are missing, the service-less libraries nginx links.
set -euo pipefail
cd "$(dirname "$0")/.."

tools=target/test-tools
python_client=prometheus_client==0.21.1

# Debian package -> the files of it the tests run (paths inside the package).
declare -A package_files=(
  [prometheus]="usr/bin/prometheus usr/bin/promtool"
  [prometheus-pushgateway]="usr/bin/prometheus-pushgateway"
  [nginx]="usr/sbin/nginx"
)
# Libraries nginx links against; service-less, so installed with apt when absent.
libraries=(libc6 libcrypt1 libpcre2-8-0 libssl3 zlib1g)

mkdir -p "$tools/bin" "$tools/debs"

fetched_lists=false
apt_lists() {
  $fetched_lists || apt-get update -qq
  fetched_lists=true
}

for package in "${!package_files[@]}"; do
  stamp="$tools/debs/$package.unpacked"
  if [ ! -f "$stamp" ]; then
    rm -f "$tools/debs/${package}"_*.deb
    if ! (cd "$tools/debs" && apt-get download -qq "$package" 2>/dev/null); then
      apt_lists
      (cd "$tools/debs" && apt-get download -qq "$package")
    fi
    rm -rf "$tools/root/$package"
    mkdir -p "$tools/root"
    dpkg-deb -x "$tools/debs/${package}"_*.deb "$tools/root/$package"
    touch "$stamp"
  fi
  for file in ${package_files[$package]}; do
    ln -sf "../root/$package/$file" "$tools/bin/$(basename "$file")"
  done
done

missing_libraries=()
for library in "${libraries[@]}"; do
  dpkg-query -W -f='${Status}' "$library" 2>/dev/null | grep -q 'install ok installed' ||
    missing_libraries+=("$library")
done
if ((${#missing_libraries[@]})); then
  apt_lists
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing_libraries[@]}" >/dev/null
fi

# The reference implementation the protobuf tests decode with (tests/go/decode): Go and Debian's
# client_golang sources, built offline in GOPATH mode. Service-less, so installed with apt.
go_packages=(golang-go golang-github-prometheus-client-golang-dev
  golang-github-prometheus-client-model-dev golang-github-prometheus-common-dev)
if ! command -v go >/dev/null ||
  [ ! -d /usr/share/gocode/src/github.com/prometheus/common/expfmt ] ||
  [ ! -d /usr/share/gocode/src/github.com/prometheus/client_golang/prometheus ]; then
  apt_lists
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${go_packages[@]}" >/dev/null
fi

venv="$tools/venv"
if [ ! -f "$venv/$python_client.installed" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$python_client"
  touch "$venv/$python_client.installed"
fi
# A wrapper, not a symlink: Python finds its venv from the path it was started by.
rm -f "$tools/bin/python3"
printf '#!/bin/sh\nexec "$(dirname "$0")/../venv/bin/python" "$@"\n' >"$tools/bin/python3"
chmod +x "$tools/bin/python3"

"$tools/bin/promtool" --version 2>&1 | head -n 1
"$tools/bin/prometheus-pushgateway" --version 2>&1 | head -n 1
"$tools/bin/nginx" -v 2>&1
go version
"$tools/bin/python3" -c 'import prometheus_client, sys; sys.stdout.write("prometheus_client ok\n")'
