#!/usr/bin/env bash
# What a consumed Kafka message costs in CPU, tidings beside the raw rdkafka client, on
# Tansu (127.0.0.1:9092; `bash scripts/brokers/start.sh` starts it). Two measures:
#
# - instructions a message (callgrind, every thread of the process, load-independent):
#   a run that consumes a whole topic of 20,000 messages and one that consumes a whole
#   topic of 40,000, per message = the difference / 20,000 (start-up and the group join
#   cancel out; consuming whole topics keeps read-ahead out of it); each the least of
#   REPS (default 3) runs;
# - CPU time (`perf stat -e task-clock`, every thread) to consume a topic of N messages
#   (default 100,000), start-up included, in ROUNDS (default 7) interleaved rounds, the
#   order of the programs rotated every round; and in each round also the first SMALL
#   (default 1,000) messages of the topic, so that a message's own CPU time is the
#   difference (start-up, the group join and shutdown cancel out: tidings' cost more,
#   about 15 ms, for its producer and the connection check at start).
#
# Programs: tidings (this tree), the raw `StreamConsumer` decoding as tidings' codec does
# (`--str-decode`) with and without reading the headers, the same raw client polling on a
# thread of its own and handing each round to a task (`raw-consume-handoff`: tidings'
# shape without the framework), and with BEFORE=DIR an older build's DIR/kafka. JSON
# lines to $BENCH_OUT/kafka-instr.jsonl and kafka-cpu.jsonl.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-bench}"
OUT="${BENCH_OUT:-$HERE/results}"; mkdir -p "$OUT"
N="${N:-100000}"; ROUNDS="${ROUNDS:-7}"; SMALL="${SMALL:-1000}"
timeout 1 bash -c 'exec 3<>/dev/tcp/127.0.0.1/9092' 2>/dev/null || bash "$ROOT/scripts/brokers/start.sh"
(cd "$ROOT" && cargo build --release --quiet -p tidings-benches --features kafka --bin kafka)
K="$CARGO_TARGET_DIR/release/kafka"
run="cpu$(date +%s)-"
"$K" raw-publish --keys --topic "${run}s-bench.orders" --n 20000 >/dev/null 2>&1
"$K" raw-publish --keys --topic "${run}l-bench.orders" --n 40000 >/dev/null 2>&1
"$K" raw-publish --keys --topic "${run}bench.orders" --n "$N" >/dev/null 2>&1

# The consume command of program $1 on the topic of prefix $2, for $3 messages.
cmd() {
  local prog=$1 prefix=$2 n=$3
  case $prog in
    raw-str) echo "$K raw-consume --str-decode --topic ${prefix}bench.orders --n $n" ;;
    raw-str-headers) echo "$K raw-consume --str-decode --headers --topic ${prefix}bench.orders --n $n" ;;
    raw-handoff) echo "$K raw-consume-handoff --topic ${prefix}bench.orders --n $n" ;;
    tidings) echo "$K tidings-consume --prefix $prefix --group-prefix g$(date +%s%N)- --n $n" ;;
    before) echo "$BEFORE/kafka tidings-consume --prefix $prefix --group-prefix g$(date +%s%N)- --n $n" ;;
  esac
}
progs=(tidings raw-str raw-str-headers raw-handoff)
[[ -z ${BEFORE:-} ]] || progs+=(before)
name() { case $1 in raw-str) echo "rdkafka + str decode" ;; raw-str-headers) echo "rdkafka + str decode + headers" ;;
  raw-handoff) echo "rdkafka + str decode + headers, handed to a task" ;;
  before) echo "tidings (before)" ;; *) echo "$1" ;; esac; }

# The fewest instructions of REPS runs (default 3) of program $1 on the topic of prefix
# $2 ($3 messages), each run in a new group. A run's count varies with how librdkafka's
# fetches and wake-ups fall under valgrind's slowness (seen: 3 million instructions from
# run to run, 150 a message in the difference); the least is the run with the fewest
# idle wake-ups, and the same program's least is stable.
instr() {
  local best='' v
  for _ in $(seq "${REPS:-3}"); do
    # shellcheck disable=SC2046 # one word per argument
    v=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null $(cmd "$@") 2>&1 >/dev/null | awk '/Collected/{print $4}')
    if [[ -z $best || $v -lt $best ]]; then best=$v; fi
  done
  echo "$best"
}
: >"$OUT/kafka-instr.jsonl"
for p in "${progs[@]}"; do
  a=$(instr "$p" "${run}s-" 20000)
  b=$(instr "$p" "${run}l-" 40000)
  printf '{"impl":"%s","instr_20000":%s,"instr_40000":%s,"instr_per_msg":%s}\n' \
    "$(name "$p")" "$a" "$b" "$(( (b - a) / 20000 ))" | tee -a "$OUT/kafka-instr.jsonl"
done

clock() { perf stat -x, -e task-clock "$@" 2>&1 >/dev/null | awk -F, '/task-clock/{printf "%.0f", $1}'; }
: >"$OUT/kafka-cpu.jsonl"
echo "[bench] load:$(cut -d' ' -f1-3 /proc/loadavg)" >&2
# The order rotates every round: a program's place in the round moved its figure by up to
# 5% (seen: the last of four measured lowest whichever it was).
for r in $(seq "$ROUNDS"); do
  for i in "${!progs[@]}"; do
    p=${progs[$(( (i + r) % ${#progs[@]} ))]}
    for n in "$N" "$SMALL"; do
      # shellcheck disable=SC2046
      ms=$(clock $(cmd "$p" "$run" "$n"))
      printf '{"round":%s,"impl":"%s","n":%s,"task_clock_ms":%s}\n' "$r" "$(name "$p")" "$n" "$ms" | tee -a "$OUT/kafka-cpu.jsonl"
    done
  done
done
# Medians: of N messages, of SMALL, and a message's own (the difference over N - SMALL).
python3 - "$OUT/kafka-cpu.jsonl" "$N" "$SMALL" <<'PY'
import json, statistics, sys
path, n, small = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
runs = {}
for line in open(path):
    j = json.loads(line)
    runs.setdefault((j["impl"], j["n"]), []).append(j["task_clock_ms"])
for impl in sorted({k[0] for k in runs}):
    big, few = statistics.median(runs[(impl, n)]), statistics.median(runs[(impl, small)])
    print(f"[bench] {impl}: {big:.0f} ms for {n}, {few:.0f} ms for {small}, "
          f"{(big - few) * 1000 / (n - small):.2f} us a message", file=sys.stderr)
PY
echo "[bench] load:$(cut -d' ' -f1-3 /proc/loadavg)" >&2
