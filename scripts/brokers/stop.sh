#!/usr/bin/env bash
# Stops brokers that start.sh started, and nothing else: by the PID files in
# $TIDINGS_RUN_DIR, each checked against /proc/PID/cmdline first (a reused PID is left
# alone). `stop.sh` stops every broker with a PID file; `stop.sh NAME...` only those
# (kafka sqs nats rabbitmq redis mosquitto epmd). TERM, then KILL after 30 s.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

stop_one() {
  local name=$1 f="$TIDINGS_RUN_DIR/$1.pid" pid
  [[ -f $f ]] || { log "$name: no PID file (not started by start.sh)"; return 0; }
  pid=$(<"$f")
  if ! ours_alive "$name"; then
    log "$name: not running (or pid $pid is no longer $name); forgetting it"
    rm -f "$f"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null
  local i
  for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    warn "$name: pid $pid ignored TERM for 30s; sending KILL"
    kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$f"
  log "$name: stopped (pid $pid)"
}

if (($#)); then
  names=("$@")
else
  names=()
  for f in "$TIDINGS_RUN_DIR"/*.pid; do [[ -e $f ]] && names+=("$(basename "$f" .pid)"); done
fi
# rabbitmq before the epmd its VM spawned; the rest in any order.
for n in sqs kafka nats redis mosquitto rabbitmq epmd; do
  for m in "${names[@]}"; do [[ $m == "$n" ]] && stop_one "$n"; done
done
for m in "${names[@]}"; do
  case $m in sqs | kafka | nats | redis | mosquitto | rabbitmq | epmd) ;; *) stop_one "$m" ;; esac
done
exit 0
