#!/usr/bin/env bash
# Installs the Python peer of the benchmarks, idempotently: FastStream 0.7.8 (with its CLI,
# Kafka client aiokafka and Pydantic) into a venv at
#   ${TIDINGS_TOOLS:-$HOME/.cache/tidings-tools}/bench-venv
# from PyPI. A second run with the same pinned list only checks.
# The Rust peer (RustStream) is a Cargo project, benches/peers/ruststream: cargo fetches it.
set -euo pipefail
TOOLS="${TIDINGS_TOOLS:-$HOME/.cache/tidings-tools}"
VENV="$TOOLS/bench-venv"
PKGS=("faststream[kafka,cli]==0.7.8" "pydantic>=2,<3" "email-validator>=2" "PyYAML>=6")
log() { echo "peers/install.sh: $*" >&2; }

mkdir -p "$TOOLS"
# Two runs at once must not pip into the same venv together.
exec 9>"$TOOLS/.bench-install.lock"
flock -w 600 9 || { log "another install holds $TOOLS/.bench-install.lock"; exit 1; }

MARKER="$VENV/.tidings-bench-installed"
if [[ -x $VENV/bin/faststream && "$(cat "$MARKER" 2>/dev/null)" == "${PKGS[*]}" ]]; then
  log "already installed in $VENV (${PKGS[*]})"
  exit 0
fi
PYTHON="${PYTHON:-python3}"
[[ -x $VENV/bin/python ]] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --no-input --disable-pip-version-check "${PKGS[@]}"
"$VENV/bin/python" -c 'import importlib.metadata as m; print("faststream", m.version("faststream"), "aiokafka", m.version("aiokafka"))' >&2
echo "${PKGS[*]}" >"$MARKER"
log "installed in $VENV"
