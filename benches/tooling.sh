#!/usr/bin/env bash
# `tidings validate` and `tidings diff` (crates/tidings-cli, release build) on generated
# documents of 500, 1,000 and 2,000 channels: median wall time and peak RSS of RUNS runs;
# beside them the official tools on the same documents (benches/peers/asyncapi:
# @asyncapi/parser, what `asyncapi validate` runs, and @asyncapi/diff, installed from npm
# here; OFFICIAL=0 skips them). JSON lines to $BENCH_OUT/tooling.jsonl.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-bench}"
OUT="${BENCH_OUT:-$HERE/results}"; mkdir -p "$OUT"
RUNS="${RUNS:-5}"
(cd "$ROOT" && cargo build --release --quiet -p tidings-cli)
CLI="$CARGO_TARGET_DIR/release/tidings"
PEER="$HERE/peers/asyncapi"
if [[ ${OFFICIAL:-1} == 1 && ! -d $PEER/node_modules/@asyncapi/diff ]]; then
  (cd "$PEER" && npm ci --ignore-scripts --no-audit --no-fund --silent)
fi
DOCS="$CARGO_TARGET_DIR/tooling-docs"; mkdir -p "$DOCS"
f="$OUT/tooling.jsonl"; : >"$f"
for n in ${SIZES:-500 1000 2000}; do
  python3 "$HERE/gen_doc.py" "$n" "$DOCS/doc-$n.json"
  python3 "$HERE/gen_doc.py" "$n" "$DOCS/doc-$n-changed.json" --changed
  python3 "$HERE/measure.py" "validate-$n" "$RUNS" -- "$CLI" validate "$DOCS/doc-$n.json" | tee -a "$f"
  # diff exits 1 when it finds breaking changes (it does here).
  python3 "$HERE/measure.py" "diff-$n" "$RUNS" --any-exit -- "$CLI" diff "$DOCS/doc-$n.json" "$DOCS/doc-$n-changed.json" | tee -a "$f"
  if [[ ${OFFICIAL:-1} == 1 ]]; then
    python3 "$HERE/measure.py" "official-validate-$n" "$RUNS" -- node "$PEER/validate.mjs" "$DOCS/doc-$n.json" | tee -a "$f"
    python3 "$HERE/measure.py" "official-diff-$n" "$RUNS" --any-exit -- node "$PEER/diff.mjs" "$DOCS/doc-$n.json" "$DOCS/doc-$n-changed.json" | tee -a "$f"
  fi
done
