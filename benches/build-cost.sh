#!/usr/bin/env bash
# Compile time a service author pays: a generated service with K=50 handlers, written
# with the macros and hand-wired, dev profile. Dependencies are built first (not
# counted); then, RUNS times, the two variants interleaved: the service crate from clean
# (`cargo clean -p`), and two incremental builds after an edit of handler 7's body.
#   - "in place": a literal changed to one of the same length, so no other span moves;
#   - "shifting": the literal grows by 8 bytes, so every span after it moves.
# Each edit is the same in both variants. rustc re-checks every item whose position
# moved, so the two kinds differ by about a second here; an edit of random length (this
# script's earlier form, `$RANDOM`) mixed them and made the variants look different.
# Median of RUNS. JSON lines to $BENCH_OUT/build.jsonl.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
OUT="${BENCH_OUT:-$HERE/results}"; mkdir -p "$OUT"
RUNS="${RUNS:-5}"
K="${K:-50}"
WORK="${CARGO_TARGET_DIR:-/work/target-bench}/buildcost"
export CARGO_TARGET_DIR="$WORK/target"
f="$OUT/build.jsonl"; : >"$f"
python3 "$HERE/gen_service.py" "$WORK/src" "$ROOT" "$K" >/dev/null
variants=(svc-macros svc-manual)
for v in "${variants[@]}"; do
  d="$WORK/src/$v"
  cp "$ROOT/Cargo.lock" "$d/Cargo.lock"
  # Dependencies, not counted: offline first (the lockfile is the workspace's).
  if ! (cd "$d" && cargo build --quiet --offline 2>/dev/null); then (cd "$d" && cargo build --quiet); fi
done
secs() { local t0 t1; t0=$(date +%s.%N); (cd "$1" && cargo build --quiet --offline); t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
# Handler 7's error message: `event 7 too large: ...` as generated.
edit() { sed -i "s/event 7 too large[^:]*:/event 7 too large$2:/" "$1/src/main.rs"; }
declare -A clean inplace shifting
for r in $(seq "$RUNS"); do
  for v in "${variants[@]}"; do
    d="$WORK/src/$v"
    edit "$d" " (run $((r % 10)))"            # before the clean build: not measured
    (cd "$d" && cargo clean --quiet -p "$v")
    clean[$v]+="$(secs "$d") "
    edit "$d" " (run $(((r + 1) % 10)))"      # in place: one digit changed
    inplace[$v]+="$(secs "$d") "
    edit "$d" " (run $(((r + 1) % 10)), edited)"  # 8 bytes more: every span after it moves
    shifting[$v]+="$(secs "$d") "
  done
done
med() { printf '%s\n' $1 | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
for v in "${variants[@]}"; do
  d="$WORK/src/$v"
  lines=$(wc -l <"$d/src/main.rs")
  echo "{\"name\":\"$v\",\"handlers\":$K,\"source_lines\":$lines,\"runs\":$RUNS,\"clean_s\":$(med "${clean[$v]}"),\"incremental_in_place_s\":$(med "${inplace[$v]}"),\"incremental_shifting_s\":$(med "${shifting[$v]}"),\"clean_runs\":\"${clean[$v]% }\",\"in_place_runs\":\"${inplace[$v]% }\",\"shifting_runs\":\"${shifting[$v]% }\",\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}" | tee -a "$f"
done
