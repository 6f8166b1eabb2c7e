#!/usr/bin/env bash
# The benchmarks of docs/benchmarks.md, tidings beside its peers, in one run on one machine.
#
#   bash benches/run.sh spec      # --asyncapi: tidings vs RustStream vs FastStream (time, RSS, parser)
#   bash benches/run.sh memory    # in-memory broker: consume/publish throughput, latency (flood and 1,000/s), RSS
#   bash benches/run.sh rss       # idle RSS of a service; RSS as a publisher runs ahead
#   bash benches/run.sh kafka     # Kafka (Tansu on 127.0.0.1:9092): tidings vs raw rdkafka vs FastStream
#   bash benches/run.sh kafka-cpu # Kafka consume: instructions (callgrind) and CPU time a message, vs raw rdkafka
#   bash benches/run.sh kafka-latency # Kafka end-to-end latency at a steady rate, vs raw rdkafka and FastStream
#   bash benches/run.sh kafka-publish # Kafka confirmed publish at 64 to 4,096 in flight, vs raw rdkafka and FastStream
#   bash benches/run.sh sqs       # SQS (moto on 127.0.0.1:4566): tidings vs raw aws-sdk-sqs
#   bash benches/run.sh build     # compile time of a 50-handler service, with and without the macros
#   bash benches/run.sh tooling   # tidings validate/diff on documents of three sizes, vs @asyncapi/parser and @asyncapi/diff
#   bash benches/run.sh instr     # callgrind: instructions and allocations per message (load-independent)
#   bash benches/run.sh chart     # docs/benchmarks-throughput.svg from the results
#   bash benches/run.sh all
#
# Results: one JSON line per measurement, appended to $BENCH_OUT/<section>.jsonl
# (default benches/results). RUNS (default 5) sets repetitions (SPEC_RUNS, default 21, those
# of `spec`); N (default 100000) messages.
# BEFORE=DIR: also run DIR/memory (a build of an older tidings) into memory-before.jsonl.
# AHEAD_SIZES (default "10000 40000 160000"): message counts of the run-ahead memory runs.
# Builds use CARGO_TARGET_DIR (default /work/target-bench); peers are installed by
# benches/peers/install.sh (FastStream venv) and built here (RustStream, its own project).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-bench}"
REL="$CARGO_TARGET_DIR/release"
PEER_TARGET="$CARGO_TARGET_DIR/peer-ruststream"
PEER_BIN="$PEER_TARGET/release"
TOOLS="${TIDINGS_TOOLS:-$HOME/.cache/tidings-tools}"
PY="$TOOLS/bench-venv/bin/python"
OUT="${BENCH_OUT:-$HERE/results}"
RUNS="${RUNS:-5}"
N="${N:-100000}"
mkdir -p "$OUT"
# Absolute: some programs run from another directory (FastStream's `--out` under --cwd).
OUT="$(cd "$OUT" && pwd)"
log() { echo "[bench] $*" >&2; }

machine() {
  log "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); load:$(cut -d' ' -f1-3 /proc/loadavg)"
}

# One cargo run per service binary: built together, cargo would unify the tidings
# features of both (order-producer's `kafka`, order-fulfilment's `sqs`) into each.
build_tidings() {
  (cd "$ROOT" && cargo build --release --quiet -p tidings-benches \
    && cargo build --release --quiet -p order-producer && cargo build --release --quiet -p order-fulfilment)
}
build_ruststream() { (cd "$HERE/peers/ruststream" && CARGO_TARGET_DIR="$PEER_TARGET" cargo build --release --quiet); }
peers_python() { bash "$HERE/peers/install.sh"; }

# Runs a bench program RUNS times, appending its JSON lines to $1.
repeat() {
  local file=$1; shift
  for _ in $(seq "$RUNS"); do "$@" | tee -a "$file"; done
}

spec() {
  build_tidings; build_ruststream; peers_python
  local docs="$OUT/spec-docs"; mkdir -p "$docs"
  local f="$OUT/spec.jsonl"; : >"$f"
  machine
  # Peak RSS moves by a few hundred KB from run to run with where ASLR puts the code
  # (see resident-code.py), so these rows take more runs than the others (SPEC_RUNS).
  local RUNS="${SPEC_RUNS:-21}"
  python3 "$HERE/measure.py" tidings-order-producer "$RUNS" --save "$docs/tidings-order-producer.yaml" -- "$REL/order-producer" --asyncapi | tee -a "$f"
  python3 "$HERE/measure.py" tidings-order-fulfilment "$RUNS" --save "$docs/tidings-order-fulfilment.yaml" -- "$REL/order-fulfilment" --asyncapi | tee -a "$f"
  # The same service as RustStream's peer, with no broker crate linked (as the peer).
  python3 "$HERE/measure.py" tidings-order-service "$RUNS" --save "$docs/tidings-order-service.yaml" -- "$REL/order-service" --asyncapi | tee -a "$f"
  # The same with a describing `fn main() -> App` (as RustStream's `#[app] fn app()`):
  # the document answered before any runtime starts.
  python3 "$HERE/measure.py" tidings-order-service-app "$RUNS" --save "$docs/tidings-order-service-app.yaml" -- "$REL/order-service-app" --asyncapi | tee -a "$f"
  python3 "$HERE/measure.py" ruststream "$RUNS" --save "$docs/ruststream.yaml" -- "$PEER_BIN/ruststream-order-peer" asyncapi gen | tee -a "$f"
  # FastStream writes the document to a file (--out), not to stdout.
  python3 "$HERE/measure.py" faststream "$RUNS" --cwd "$HERE/peers/faststream" -- \
    "$TOOLS/bench-venv/bin/faststream" docs gen app.main:app --yaml --out "$docs/faststream.yaml" | tee -a "$f"
  log "document sizes (bytes): $(wc -c "$docs"/*.yaml | tr '\n' ';')"
  # The code each run keeps resident, averaged over the 16 alignments ASLR can give it:
  # exact and the same from run to run (callgrind), where peak RSS is not.
  if command -v valgrind >/dev/null; then
    python3 "$HERE/resident-code.py" tidings-order-service -- "$REL/order-service" --asyncapi | tee -a "$f"
    python3 "$HERE/resident-code.py" tidings-order-service-app -- "$REL/order-service-app" --asyncapi | tee -a "$f"
    python3 "$HERE/resident-code.py" ruststream -- "$PEER_BIN/ruststream-order-peer" asyncapi gen | tee -a "$f"
  fi
  local parser="$ROOT/tests/asyncapi-parser"
  [[ -d $parser/node_modules/@asyncapi/parser ]] || (cd "$parser" && npm ci --ignore-scripts --silent)
  for doc in "$docs"/*.yaml; do
    if node "$parser/validate.mjs" "$doc" >"$doc.parser.txt" 2>&1; then v=valid; else v=invalid; fi
    echo "{\"name\":\"$(basename "$doc" .yaml)\",\"parser\":\"$v\",\"bytes\":$(wc -c <"$doc")}" | tee -a "$f"
  done
}

memory() {
  build_tidings; build_ruststream; peers_python
  local f="$OUT/memory.jsonl"; : >"$f"
  machine
  local fb="$OUT/memory-before.jsonl"
  [[ -z ${BEFORE:-} ]] || : >"$fb"
  for mode in consume publish; do
    # Interleaved, so a change of the machine's load hits every program alike.
    for _ in $(seq "$RUNS"); do
      "$REL/memory" "$mode" --n "$N" 2>/dev/null | tee -a "$f"
      [[ -z ${BEFORE:-} ]] || "$BEFORE/memory" "$mode" --n "$N" 2>/dev/null | tee -a "$fb"
      "$PEER_BIN/memory" "$mode" --n "$N" | tee -a "$f"
    done
  done
  # A message's own latency: 1,000 a second, LAT_N (default 10,000) messages a run.
  for _ in $(seq "$RUNS"); do
    "$REL/memory" latency --n "${LAT_N:-10000}" 2>/dev/null | tee -a "$f"
    "$PEER_BIN/memory" latency --n "${LAT_N:-10000}" | tee -a "$f"
  done
  # FastStream's TestKafkaBroker runs the handler inside publish, at a few hundred a
  # second here: fewer messages, one run.
  (cd "$HERE/peers/faststream" && "$PY" bench_memory.py consume --n "${FS_N:-2000}" 2>/dev/null) | tee -a "$f"
  machine
}

# Resident set of a process $2 seconds after it started (idle: nothing to consume).
idle_rss() {
  local name=$1 wait=$2; shift 2
  "$@" >/dev/null 2>&1 &
  local pid=$!
  sleep "$wait"
  local kb; kb=$(awk '/VmRSS/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  echo "{\"name\":\"$name\",\"idle_rss_kb\":$kb}"
}

rss() {
  build_tidings; build_ruststream
  local f="$OUT/rss.jsonl"; : >"$f"
  machine
  for _ in $(seq 3); do
    idle_rss tidings-order-fulfilment 2 "$REL/order-fulfilment" | tee -a "$f"
    idle_rss tidings-order-service 2 "$REL/order-service" | tee -a "$f"
    idle_rss ruststream-order-peer 2 "$PEER_BIN/ruststream-order-peer" run | tee -a "$f"
  done
  # A publisher running ahead of slow handlers (1 ms each, 8 at once): peak RSS by how
  # far ahead it can get.
  for n in ${AHEAD_SIZES-10000 40000 160000}; do
    RUNS=1 repeat "$f" "$REL/memory" ahead --n "$n"
    RUNS=1 repeat "$f" "$PEER_BIN/memory" ahead --n "$n"
  done
}

# Instructions (callgrind) and heap blocks (DHAT) per message: the difference between
# runs of 10,000 and 20,000 messages over 10,000, so start-up cancels out. Exact and
# independent of the machine's load, unlike the wall clock.
instr() {
  build_tidings; build_ruststream
  local f="$OUT/instr.jsonl"; : >"$f"
  local progs=("tidings:$REL/memory" "ruststream:$PEER_BIN/memory")
  [[ -z ${BEFORE:-} ]] || progs+=("tidings-before:$BEFORE/memory")
  for p in "${progs[@]}"; do
    local name=${p%%:*} bin=${p#*:}
    for mode in consume publish; do
      local i1 i2 b1 b2
      i1=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$mode" --n 10000 2>&1 >/dev/null | awk '/Collected/{print $4}')
      i2=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$mode" --n 20000 2>&1 >/dev/null | awk '/Collected/{print $4}')
      b1=$(valgrind --tool=dhat --dhat-out-file=/dev/null "$bin" "$mode" --n 10000 2>&1 >/dev/null | awk '/Total:/{gsub(",","",$6); print $6}')
      b2=$(valgrind --tool=dhat --dhat-out-file=/dev/null "$bin" "$mode" --n 20000 2>&1 >/dev/null | awk '/Total:/{gsub(",","",$6); print $6}')
      echo "{\"impl\":\"$name\",\"mode\":\"$mode\",\"instr_per_msg\":$(( (i2 - i1) / 10000 )),\"allocs_per_msg\":$(echo "scale=1; ($b2 - $b1) / 10000" | bc)}" | tee -a "$f"
    done
  done
}

kafka() { bash "$HERE/kafka.sh"; }
sqs() { bash "$HERE/sqs.sh"; }
build() { bash "$HERE/build-cost.sh"; }
tooling() { bash "$HERE/tooling.sh"; }
chart() { python3 "$HERE/chart.py" "$OUT" "$ROOT/docs/benchmarks-throughput.svg"; }

case "${1:-all}" in
  spec) spec ;;
  memory) memory ;;
  rss) rss ;;
  kafka) kafka ;;
  kafka-cpu) bash "$HERE/kafka-cpu.sh" ;;
  kafka-latency) bash "$HERE/kafka-latency.sh" ;;
  kafka-publish) bash "$HERE/kafka-publish.sh" ;;
  sqs) sqs ;;
  build) build ;;
  tooling) tooling ;;
  chart) chart ;;
  instr) instr ;;
  all) spec; memory; instr; rss; kafka; bash "$HERE/kafka-cpu.sh"; bash "$HERE/kafka-latency.sh"; bash "$HERE/kafka-publish.sh"; sqs; build; tooling; chart ;;
  *) echo "usage: $0 [spec|memory|instr|rss|kafka|kafka-cpu|kafka-latency|kafka-publish|sqs|build|tooling|chart|all]" >&2; exit 2 ;;
esac
