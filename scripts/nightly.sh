# The one nightly toolchain of scripts/miri.sh and scripts/fuzz.sh (sourced by both).
#
# Pinned to a dated nightly so that a new nightly cannot break CI: 2026-05-20 is the newest
# nightly that rustup can install here (a later date, e.g. nightly-2026-11-20, has no release
# on this machine's channel), the same build (rustc 1.97.0-nightly e50aa6fba 2026-05-19) as the
# undated `nightly` already installed. Change the date here only.
NIGHTLY=nightly-2026-05-20

# Installs the pinned nightly with the components given, unless they are installed already.
ensure_nightly() {
  if ! rustup run "$NIGHTLY" rustc --version >/dev/null 2>&1; then
    rustup toolchain install "$NIGHTLY" --profile minimal
  fi
  local installed
  installed=$(rustup component list --toolchain "$NIGHTLY" --installed)
  for component in "$@"; do
    grep -q "^$component" <<<"$installed" || rustup component add --toolchain "$NIGHTLY" "$component"
  done
}
