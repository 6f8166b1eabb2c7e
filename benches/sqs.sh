#!/usr/bin/env bash
# SQS on moto (127.0.0.1:4566; `bash scripts/brokers/start.sh` starts it): tidings and
# the raw aws-sdk-sqs client on the same fresh queues, same run. FastStream 0.7.8 has no
# SQS broker. Each run uses queues of its own (a prefix with the time). JSON lines to
# $BENCH_OUT/sqs.jsonl. moto is slow (a few dozen to a few hundred requests a second,
# by the machine's load), so N defaults to 500 messages (SQS_N; pick it so a run takes a
# minute or two); RUNS repetitions (default 3). Each round also measures end-to-end latency
# at a steady rate (`latency` rows: SQS_LAT_N messages at SQS_RATE a second).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-bench}"
OUT="${BENCH_OUT:-$HERE/results}"; mkdir -p "$OUT"
RUNS="${RUNS:-3}"; N="${SQS_N:-500}"
timeout 1 bash -c 'exec 3<>/dev/tcp/127.0.0.1/4566' 2>/dev/null || bash "$ROOT/scripts/brokers/start.sh"
(cd "$ROOT" && cargo build --release --quiet -p tidings-benches --features sqs --bin sqs)
S="$CARGO_TARGET_DIR/release/sqs"
f="$OUT/sqs.jsonl"; : >"$f"
echo "[bench] load:$(cut -d' ' -f1-3 /proc/loadavg)" >&2
for r in $(seq "$RUNS"); do
  run="bench$(date +%s)r$r-"
  # The raw producer fills the queue the raw consumer reads; tidings publishes the
  # queue it then consumes.
  "$S" raw-publish --queue "${run}raw-orders" --n "$N" 2>/dev/null | tee -a "$f"
  "$S" raw-consume --queue "${run}raw-orders" --n "$N" 2>/dev/null | tee -a "$f"
  "$S" raw-publish --queue "${run}bench-orders" --n "$N" 2>/dev/null >/dev/null
  "$S" tidings-consume --prefix "$run" --n "$N" 2>/dev/null | tee -a "$f"
  "$S" tidings-publish --prefix "${run}p-" --n "$N" 2>/dev/null | tee -a "$f"
  # Latency at a steady rate (SQS_RATE a second, default 20; SQS_LAT_N messages, default
  # 200), each on a queue of its own; the order rotates.
  # `rawh` also sends the four headers tidings sets, as message attributes.
  lat=(raw rawh tidings)
  for i in 0 1 2; do
    case ${lat[$(( (i + r) % 3 ))]} in
      raw) "$S" raw-latency --queue "${run}raw-latency" --n "${SQS_LAT_N:-200}" --rate "${SQS_RATE:-20}" 2>/dev/null | tee -a "$f" ;;
      rawh) "$S" raw-latency --headers --queue "${run}rawh-latency" --n "${SQS_LAT_N:-200}" --rate "${SQS_RATE:-20}" 2>/dev/null | tee -a "$f" ;;
      tidings) "$S" tidings-latency --prefix "${run}l-" --n "${SQS_LAT_N:-200}" --rate "${SQS_RATE:-20}" 2>/dev/null | tee -a "$f" ;;
    esac
  done
done
echo "[bench] load:$(cut -d' ' -f1-3 /proc/loadavg)" >&2
