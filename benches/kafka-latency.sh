#!/usr/bin/env bash
# Kafka end-to-end latency on Tansu (127.0.0.1:9092) at a steady rate: the raw rdkafka
# client, tidings and FastStream (aiokafka), each publishing RATE orders a second (default
# 1,000) for LAT_N messages (default 5,000) and consuming them in the same process; the
# handler records now minus the send time stamped in a header. Each at the fetch waits
# of FETCH_WAITS (default "default 10 1": the consumer's default, 500 ms for librdkafka
# and aiokafka, then 10 and 1 ms): Tansu holds a fetch that finds nothing for that long,
# so at the default the wait, not the client, sets the latency. LAT_PROGS picks the
# programs (default "raw raw-handoff tidings faststream"; `raw-handoff` is the raw client
# in tidings' shape, a polling thread handing rounds to a task, to tell the hop's share
# of tidings' latency; `tidings-rawpub`, tidings' consumer fed by the raw client's
# sends, its publishing side's share). RUNS rounds (default 3), the programs' order rotating every
# round; fresh topics for every run, on a Tansu restarted first (KAFKA_RESTART=0 keeps a
# running one). JSON lines to
# $BENCH_OUT/kafka-latency.jsonl, each with the fetch wait it ran at.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
RUNS="${RUNS:-3}"; LAT_N="${LAT_N:-5000}"; RATE="${RATE:-1000}"; FETCH_WAITS="${FETCH_WAITS:-default 10 1}"
# shellcheck source=common.sh
source "$HERE/common.sh"
read -ra progs <<<"${LAT_PROGS:-raw raw-handoff tidings faststream}"
# A fresh Tansu, as kafka.sh (KAFKA_RESTART=0 keeps the running one): its memory storage
# keeps every message of earlier runs, and its latency grows with that.
if [[ ${KAFKA_RESTART:-1} == 1 ]]; then bash "$ROOT/scripts/brokers/stop.sh" kafka; fi
timeout 1 bash -c 'exec 3<>/dev/tcp/127.0.0.1/9092' 2>/dev/null || bash "$ROOT/scripts/brokers/start.sh"
f="$OUT/kafka-latency.jsonl"; : >"$f"
# Appends the fetch wait to the program's JSON line.
tag() { tag_line fetch_wait_ms "$1"; }
# A program that fails (one that cannot keep up ends after a minute) is reported, and the
# run goes on.
failed() { echo "[bench] $1 failed at fetch wait $2 ms (round $r)" >&2; }
echo "[bench] load:$(cut -d' ' -f1-3 /proc/loadavg)" >&2
for r in $(seq "$RUNS"); do
  for wait in $FETCH_WAITS; do
    run="lat$(date +%s)r$r-w$wait-"
    opt=(); fs_opt=(); shown=500
    if [[ $wait != default ]]; then opt=(--fetch-wait-ms "$wait"); fs_opt=(--fetch-wait-ms "$wait"); shown=$wait; fi
    for i in "${!progs[@]}"; do
      case ${progs[$(( (i + r) % ${#progs[@]} ))]} in
        raw) "$K" raw-latency --topic "${run}raw.latency" --n "$LAT_N" --rate "$RATE" "${opt[@]}" 2>/dev/null | tag "$shown" || failed raw "$shown" ;;
        raw-handoff) "$K" raw-latency --handoff --topic "${run}rawh.latency" --n "$LAT_N" --rate "$RATE" "${opt[@]}" 2>/dev/null | tag "$shown" || failed raw-handoff "$shown" ;;
        tidings) "$K" tidings-latency --prefix "${run}t-" --n "$LAT_N" --rate "$RATE" "${opt[@]}" 2>/dev/null | tag "$shown" || failed tidings "$shown" ;;
        tidings-rawpub) "$K" tidings-latency --raw-producer --prefix "${run}tr-" --n "$LAT_N" --rate "$RATE" "${opt[@]}" 2>/dev/null | tag "$shown" || failed tidings-rawpub "$shown" ;;
        faststream) (cd "$HERE/peers/faststream" && "$PY" bench_kafka.py latency --topic "${run}fs.latency" --n "$LAT_N" --rate "$RATE" "${fs_opt[@]}" 2>/dev/null) | tag "$shown" || failed faststream "$shown" ;;
      esac
    done
  done
done
echo "[bench] load:$(cut -d' ' -f1-3 /proc/loadavg)" >&2
