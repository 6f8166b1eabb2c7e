#!/usr/bin/env bash
# The project's test command (`bash scripts/test.sh`), for developers and CI alike:
#   1. installs and starts the brokers (idempotent; stops at exit only those it started),
#   2. installs the official AsyncAPI parser's npm packages when missing,
#   3. cargo test --workspace (every test binary runs, even after a failure),
#   4. cargo xtask spec --check (docs/asyncapi/ matches every service binary),
#   5. cargo xtask validate (the official parser over tests/golden and docs/asyncapi),
#   6. cargo doc --workspace --no-deps with warnings as errors (no broken doc links).
# Exits non-zero when any step fails; the last line sums the cargo test results.
# Env: CARGO_TARGET_DIR is honoured; TIDINGS_SKIP_NODE=1 lets a machine without Node.js
# skip the parser steps (the conformance tests then skip too).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [[ -n ${CI:-} && ${CI:-} != false ]]; then export CARGO_TERM_COLOR=never; fi

STARTED_LIST="$(mktemp -t tidings-brokers.XXXXXX)"
TEST_LOG="$(mktemp -t tidings-cargo-test.XXXXXX)"
cleanup() {
  local rc=$?
  local names
  names=$(sort -u "$STARTED_LIST" 2>/dev/null | tr '\n' ' ')
  if [[ -n ${names// /} ]]; then
    echo
    echo "==> stopping the brokers this run started: $names"
    # shellcheck disable=SC2086 # one word per broker name
    bash scripts/brokers/stop.sh $names || true
  fi
  rm -f "$STARTED_LIST" "$TEST_LOG"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step() { printf '\n==> %s\n' "$*"; }
FAILED=()

step "brokers"
bash scripts/brokers/install.sh
TIDINGS_BROKERS_STARTED="$STARTED_LIST" bash scripts/brokers/start.sh

step "official AsyncAPI parser (tests/asyncapi-parser)"
if [[ -f tests/asyncapi-parser/node_modules/@asyncapi/parser/package.json ]]; then
  echo "already installed"
elif ! command -v npm >/dev/null; then
  if [[ ${TIDINGS_SKIP_NODE:-} == 1 ]]; then
    echo "npm not found; TIDINGS_SKIP_NODE=1: skipping the parser"
  else
    echo "ERROR: npm not found: install Node.js 20 with npm (or set TIDINGS_SKIP_NODE=1)" >&2
    exit 1
  fi
else
  # --ignore-scripts: no package needs its scripts, and some write outside the folder.
  (cd tests/asyncapi-parser && npm ci --ignore-scripts --no-audit --no-fund)
fi

step "cargo test --workspace"
# --no-fail-fast: one failing test binary must not hide the results of the others.
if ! cargo test --workspace --no-fail-fast 2>&1 | tee "$TEST_LOG"; then
  FAILED+=("cargo test --workspace")
fi

step "cargo xtask spec --check"
cargo xtask spec --check || FAILED+=("cargo xtask spec --check (run \`cargo xtask spec\`)")

step "cargo xtask validate"
if [[ ${TIDINGS_SKIP_NODE:-} == 1 ]] && ! command -v node >/dev/null; then
  echo "node not found; TIDINGS_SKIP_NODE=1: skipped"
else
  cargo xtask validate || FAILED+=("cargo xtask validate")
fi

step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="${RUSTDOCFLAGS:-} -D warnings" cargo doc --workspace --no-deps --quiet \
  || FAILED+=("cargo doc --workspace --no-deps (broken doc links or HTML)")

# Sum of every "test result:" line cargo printed.
read -r PASSED FAILED_TESTS < <(awk '/^test result:/ {
    for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;?$/) p += $i; if ($(i+1) ~ /^failed;?$/) f += $i }
  } END { print p + 0, f + 0 }' "$TEST_LOG")
echo
if ((${#FAILED[@]})); then
  printf 'FAILED step: %s\n' "${FAILED[@]}"
else
  echo "all steps passed"
fi
echo "tests: $PASSED passed, $FAILED_TESTS failed"
# .ci/run repeats this line last, after its own cleanup output.
if [[ -n ${TIDINGS_TEST_SUMMARY:-} ]]; then echo "tests: $PASSED passed, $FAILED_TESTS failed" >"$TIDINGS_TEST_SUMMARY"; fi
((${#FAILED[@]} == 0))
