#!/usr/bin/env bash
# Kafka on Tansu (127.0.0.1:9092; `bash scripts/brokers/start.sh` starts it): tidings,
# the raw rdkafka client and FastStream (aiokafka) on the same fresh topics, same run.
# Each run uses topics of its own (a prefix with the time), so runs do not read each
# other's messages. JSON lines to $BENCH_OUT/kafka.jsonl. N messages (default 100000),
# RUNS repetitions (default 3); FastStream reads FS_N (default 20000). BEFORE=DIR: also
# runs DIR/kafka (a build of an older tidings) on the same topics, into kafka-before.jsonl.
# FS=0 skips FastStream. KAFKA_RESTART=0 keeps a running Tansu instead of restarting it.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-bench}"
OUT="${BENCH_OUT:-$HERE/results}"; mkdir -p "$OUT"
RUNS="${RUNS:-3}"; N="${N:-100000}"; FS_N="${FS_N:-20000}"
TOOLS="${TIDINGS_TOOLS:-$HOME/.cache/tidings-tools}"
PY="$TOOLS/bench-venv/bin/python"
# A fresh Tansu (KAFKA_RESTART=0 keeps the running one): its memory storage keeps every
# message of earlier runs, and it slows down as that grows. stop.sh stops only a Tansu
# that start.sh started.
if [[ ${KAFKA_RESTART:-1} == 1 ]]; then bash "$ROOT/scripts/brokers/stop.sh" kafka; fi
timeout 1 bash -c 'exec 3<>/dev/tcp/127.0.0.1/9092' 2>/dev/null || bash "$ROOT/scripts/brokers/start.sh"
(cd "$ROOT" && cargo build --release --quiet -p tidings-benches --features kafka --bin kafka)
bash "$HERE/peers/install.sh"
K="$CARGO_TARGET_DIR/release/kafka"
f="$OUT/kafka.jsonl"; : >"$f"
fb="$OUT/kafka-before.jsonl"
[[ -z ${BEFORE:-} ]] || : >"$fb"
echo "[bench] load:$(cut -d' ' -f1-3 /proc/loadavg)" >&2
for r in $(seq "$RUNS"); do
  run="bench$(date +%s)r$r-"
  # The raw producer fills the topic that the raw consumer and tidings then read (keyed,
  # so the partitions get even shares); its publish figure is the unkeyed run below,
  # which publishes as tidings and FastStream do (no key), to a topic of its own.
  "$K" raw-publish --keys --topic "${run}bench.orders" --n "$N" 2>/dev/null >/dev/null
  # The publishers, each to a topic of its own, in an order that rotates every round:
  # Tansu's memory storage slows as it fills, and a fixed order would always hand the
  # last publisher the slowest broker.
  pubs=(raw raw1 raw1e raw1eh tidings)
  for i in "${!pubs[@]}"; do
    p=${pubs[$(( (i + r) % ${#pubs[@]} ))]}
    case $p in
      # Unkeyed, as tidings' and FastStream's publishes, at librdkafka's default linger (5 ms).
      raw) "$K" raw-publish --topic "${run}raw.published" --n "$N" 2>/dev/null | tee -a "$f" ;;
      # At tidings' linger (1 ms).
      raw1) "$K" raw-publish --linger-ms 1 --topic "${run}raw1.published" --n "$N" 2>/dev/null | tee -a "$f" ;;
      # Encoding the order for every send, as tidings' typed publish does; then also with
      # the four headers a tidings publish carries: like for like.
      raw1e) "$K" raw-publish --linger-ms 1 --encode --topic "${run}raw1e.published" --n "$N" 2>/dev/null | tee -a "$f" ;;
      raw1eh) "$K" raw-publish --linger-ms 1 --encode --headers --topic "${run}raw1eh.published" --n "$N" 2>/dev/null | tee -a "$f" ;;
      tidings) "$K" tidings-publish --prefix "${run}p-" --n "$N" 2>/dev/null | tee -a "$f" ;;
    esac
  done
  # The consumers read the same topic; which goes first alternates, as above.
  # The raw consumer decodes with serde_json::from_slice, as a raw client usually does;
  # with --str-decode, as tidings' codec does (one UTF-8 check, then from_str); with
  # --headers it also reads every header, as tidings does (librdkafka then parses each
  # message's header section, empty or not).
  raw_consume() {
    "$K" raw-consume --topic "${run}bench.orders" --n "$N" 2>/dev/null | tee -a "$f"
    "$K" raw-consume --str-decode --topic "${run}bench.orders" --n "$N" 2>/dev/null | tee -a "$f"
    "$K" raw-consume --str-decode --headers --topic "${run}bench.orders" --n "$N" 2>/dev/null | tee -a "$f"
  }
  if (( r % 2 )); then raw_consume; fi
  "$K" tidings-consume --prefix "$run" --n "$N" 2>/dev/null | tee -a "$f"
  if (( r % 2 == 0 )); then raw_consume; fi
  # The older build reads the same topic in a consumer group of its own.
  [[ -z ${BEFORE:-} ]] || "$BEFORE/kafka" tidings-consume --prefix "${run}" --group-prefix "${run}before-" --n "$N" 2>/dev/null | tee -a "$fb"
  [[ ${FS:-1} == 0 ]] && continue
  (cd "$HERE/peers/faststream" && "$PY" bench_kafka.py consume --topic "${run}bench.orders" --n "$FS_N" 2>/dev/null) | tee -a "$f"
  (cd "$HERE/peers/faststream" && "$PY" bench_kafka.py publish --topic "${run}fs.published" --n "$FS_N" 2>/dev/null) | tee -a "$f"
done
echo "[bench] load:$(cut -d' ' -f1-3 /proc/loadavg)" >&2
