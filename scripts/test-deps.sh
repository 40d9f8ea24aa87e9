#!/usr/bin/env bash
# Puts what the test suite runs for real into target/test-tools/ (the project's folder, never the
# system's): Prometheus and promtool, the Pushgateway, nginx, redis-server and VictoriaMetrics taken
# out of Debian's packages without installing them (so no service is installed, started or enabled at
# boot, and nothing already running on the machine is touched; the libraries Redis links that the
# machine may lack are unpacked beside it), and Python's prometheus_client, pinned, in a virtual
# environment. Idempotent: fetches only what is missing. The tests run the tools from there and
# fail, never skip, when one is missing.
#
# Outside the project it changes nothing but apt's package lists (`apt-get update`, only when a
# package must be fetched) and, only if they are missing, the service-less libraries nginx links.
set -euo pipefail
cd "$(dirname "$0")/.."

tools=target/test-tools
python_client=prometheus_client==0.21.1
# The first release that parses quoted (UTF-8) metric and label names, in a venv of its own: every
# release since (0.22.0 to 0.25.0) rejects an exemplar label value holding `\"`, which the suite
# serves on purpose, so the rest of the suite keeps 0.21.1.
python_client_utf8=prometheus_client==0.22.0

# Tool root -> the Debian packages unpacked into it (a root holds a tool and the libraries it links
# that the machine may lack; the first package names the root).
declare -A root_packages=(
  [prometheus]="prometheus"
  [prometheus-pushgateway]="prometheus-pushgateway"
  [nginx]="nginx"
  # The server binary is redis-tools' redis-check-rdb; redis-server ships the `redis-server` link to
  # it (Redis picks its mode from argv[0]), so both go into one root.
  [redis]="redis-server redis-tools libjemalloc2 liblzf1"
  [victoria-metrics]="victoria-metrics"
)
# Tool root -> the files of it the tests run (paths inside the root).
declare -A root_files=(
  [prometheus]="usr/bin/prometheus usr/bin/promtool"
  [prometheus-pushgateway]="usr/bin/prometheus-pushgateway"
  [nginx]="usr/sbin/nginx"
  [redis]="usr/bin/redis-server usr/bin/redis-cli"
  # The remote write tests' second receiver (single-node VictoriaMetrics 1.79).
  [victoria-metrics]="usr/bin/victoria-metrics"
)
# Libraries nginx links against; service-less, so installed with apt when absent.
libraries=(libc6 libcrypt1 libpcre2-8-0 libssl3 zlib1g)

mkdir -p "$tools/bin" "$tools/debs"

fetched_lists=false
apt_lists() {
  $fetched_lists || apt-get update -qq
  fetched_lists=true
}

download() {
  local package=$1
  compgen -G "$tools/debs/${package}_*.deb" >/dev/null && return
  if ! (cd "$tools/debs" && apt-get download -qq "$package" 2>/dev/null); then
    apt_lists
    (cd "$tools/debs" && apt-get download -qq "$package")
  fi
}

for root in "${!root_packages[@]}"; do
  stamp="$tools/debs/$root.unpacked"
  packages=${root_packages[$root]}
  if [ "$(cat "$stamp" 2>/dev/null)" != "$packages" ]; then
    rm -rf "${tools:?}/root/$root"
    mkdir -p "$tools/root/$root"
    for package in $packages; do
      download "$package"
      dpkg-deb -x "$tools/debs/${package}"_*.deb "$tools/root/$root"
    done
    printf '%s' "$packages" >"$stamp"
  fi
  library_dirs=$(find "$tools/root/$root" -path '*/lib/*-linux-gnu' -type d -printf '$root/%P:')
  for file in ${root_files[$root]}; do
    link="$tools/bin/$(basename "$file")"
    rm -f "$link"
    if [ -z "$library_dirs" ]; then
      ln -s "../root/$root/$file" "$link"
    else
      # A wrapper, so the libraries unpacked beside the tool are found (and only by it).
      printf '#!/bin/sh\nroot="$(dirname "$0")/../root/%s"\nLD_LIBRARY_PATH="%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$root/%s" "$@"\n' \
        "$root" "${library_dirs%:}" "$file" >"$link"
      chmod +x "$link"
    fi
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
venv_utf8="$tools/venv-utf8"
if [ ! -f "$venv_utf8/$python_client_utf8.installed" ]; then
  rm -rf "$venv_utf8"
  python3 -m venv "$venv_utf8"
  "$venv_utf8/bin/python" -m pip install --quiet --disable-pip-version-check "$python_client_utf8"
  touch "$venv_utf8/$python_client_utf8.installed"
fi
rm -f "$tools/bin/python3-utf8"
printf '#!/bin/sh\nexec "$(dirname "$0")/../venv-utf8/bin/python" "$@"\n' >"$tools/bin/python3-utf8"
chmod +x "$tools/bin/python3-utf8"

"$tools/bin/promtool" --version 2>&1 | head -n 1
"$tools/bin/prometheus-pushgateway" --version 2>&1 | head -n 1
"$tools/bin/nginx" -v 2>&1
"$tools/bin/redis-server" --version
# Debian's build prints an empty -version; the package says which it is.
"$tools/bin/victoria-metrics" -version >/dev/null
echo "victoria-metrics $(dpkg-deb -f "$tools"/debs/victoria-metrics_*.deb Version)"
go version
"$tools/bin/python3" -c 'import prometheus_client, sys; sys.stdout.write("prometheus_client ok\n")'
