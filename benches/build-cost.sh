#!/usr/bin/env bash
# Compile time a service author pays: a generated service with K=50 handlers, written
# with the macros and hand-wired, dev profile. Dependencies are built first (not
# counted); then, for each variant: the service crate from clean (`cargo clean -p`),
# and incremental (one handler's body changed). Median of RUNS. JSON lines to
# $BENCH_OUT/build.jsonl.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
OUT="${BENCH_OUT:-$HERE/results}"; mkdir -p "$OUT"
RUNS="${RUNS:-3}"
K="${K:-50}"
WORK="${CARGO_TARGET_DIR:-/work/target-bench}/buildcost"
export CARGO_TARGET_DIR="$WORK/target"
f="$OUT/build.jsonl"; : >"$f"
python3 "$HERE/gen_service.py" "$WORK/src" "$ROOT" "$K" >/dev/null
for v in svc-macros svc-manual; do
  d="$WORK/src/$v"
  cp "$ROOT/Cargo.lock" "$d/Cargo.lock"
  # Dependencies, not counted: offline first (the lockfile is the workspace's).
  if ! (cd "$d" && cargo build --quiet --offline 2>/dev/null); then (cd "$d" && cargo build --quiet); fi
  clean=(); incr=()
  for _ in $(seq "$RUNS"); do
    (cd "$d" && cargo clean --quiet -p "$v")
    t0=$(date +%s.%N); (cd "$d" && cargo build --quiet --offline); t1=$(date +%s.%N)
    clean+=("$(echo "$t1 - $t0" | bc)")
    # Incremental: change one handler's body (a literal in its error message).
    sed -i "s/event 7 too large[^:]*:/event 7 too large $RANDOM:/" "$d/src/main.rs"
    t0=$(date +%s.%N); (cd "$d" && cargo build --quiet --offline); t1=$(date +%s.%N)
    incr+=("$(echo "$t1 - $t0" | bc)")
  done
  med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
  lines=$(wc -l <"$d/src/main.rs")
  echo "{\"name\":\"$v\",\"handlers\":$K,\"source_lines\":$lines,\"clean_s\":$(med "${clean[@]}"),\"incremental_s\":$(med "${incr[@]}"),\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}" | tee -a "$f"
done
