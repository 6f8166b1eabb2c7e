#!/usr/bin/env bash
# Kafka confirmed publish on Tansu (127.0.0.1:9092) at several numbers of publishes in
# flight: the raw rdkafka `FutureProducer` at tidings' linger (1 ms) sending the same bytes
# every time, the same JSON-encoding every order and setting the four headers tidings
# sets, tidings, and FastStream (aiokafka, FS_N messages, default 20,000). At 256 in
# flight (kafka.sh's setting) a confirmed publish stream is bound by the in-flight count
# over the linger and the round trip, not by the broker: this sweep shows each client
# where it is fastest. IN_FLIGHTS (default "64 256 1024 4096"), N messages (default 100,000),
# RUNS rounds (default 3), each on a Tansu restarted first (its memory storage slows as
# it fills), the programs' order rotating. JSON lines, each with its in-flight count, to
# $BENCH_OUT/kafka-publish.jsonl.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
RUNS="${RUNS:-3}"; N="${N:-100000}"; FS_N="${FS_N:-20000}"; IN_FLIGHTS="${IN_FLIGHTS:-64 256 1024 4096}"
# shellcheck source=common.sh
source "$HERE/common.sh"
f="$OUT/kafka-publish.jsonl"; : >"$f"
tag() { tag_line in_flight "$1"; }
failed() { echo "[bench] $1 failed at $2 in flight (round $r)" >&2; }
echo "[bench] load:$(cut -d' ' -f1-3 /proc/loadavg)" >&2
progs=(raw raw-eh tidings faststream)
for r in $(seq "$RUNS"); do
  bash "$ROOT/scripts/brokers/stop.sh" kafka
  bash "$ROOT/scripts/brokers/start.sh" >/dev/null
  for fl in $IN_FLIGHTS; do
    run="pub$(date +%s)r$r-f$fl-"
    for i in "${!progs[@]}"; do
      case ${progs[$(( (i + r) % ${#progs[@]} ))]} in
        raw) "$K" raw-publish --topic "${run}raw" --n "$N" --linger-ms 1 --in-flight "$fl" 2>/dev/null | tag "$fl" || failed raw "$fl" ;;
        raw-eh) "$K" raw-publish --topic "${run}raweh" --n "$N" --linger-ms 1 --encode --headers --in-flight "$fl" 2>/dev/null | tag "$fl" || failed raw-eh "$fl" ;;
        tidings) "$K" tidings-publish --prefix "${run}t-" --n "$N" --in-flight "$fl" 2>/dev/null | tag "$fl" || failed tidings "$fl" ;;
        faststream) (cd "$HERE/peers/faststream" && "$PY" bench_kafka.py publish --topic "${run}fs" --n "$FS_N" --in-flight "$fl" 2>/dev/null) | tag "$fl" || failed faststream "$fl" ;;
      esac
    done
  done
done
echo "[bench] load:$(cut -d' ' -f1-3 /proc/loadavg)" >&2
