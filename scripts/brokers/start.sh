#!/usr/bin/env bash
# Starts, on 127.0.0.1 only, the brokers the tests use, and waits (bounded) until each
# accepts connections:
#   kafka      Tansu 0.6.0 on 9092, in-memory storage   (installed by install.sh; run here)
#   sqs        moto server 5.2.5 on 4566                 (installed by install.sh; run here)
#   nats 4222, rabbitmq 5672, redis 6379, mosquitto 1883: normally already running on this
#              kind of machine; started with the machine's own commands when not. A missing
#              daemon binary is a warning, not a failure.
#
# Idempotent: a broker that is already up is left alone. A port held by a process this
# script did not start is used as is and never stopped. What it starts gets a PID file
# under $TIDINGS_RUN_DIR (logs in $TIDINGS_RUN_DIR/logs); stop.sh stops only those.
# When TIDINGS_BROKERS_STARTED names a file, the names of the brokers started by THIS run
# are appended to it, so a caller can stop exactly what it started (scripts/test.sh does).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$HERE/common.sh"

bash "$HERE/install.sh"
mkdir -p "$TIDINGS_RUN_DIR" "$LOG_DIR"
# Two starts at once must not both launch the same broker.
exec 8>"$TIDINGS_RUN_DIR/.start.lock"
flock -w 300 8 || die "another start.sh has held $TIDINGS_RUN_DIR/.start.lock for 5 minutes"

declare -A STATE=()
# Listed as soon as it has a PID file, so a caller's cleanup also stops a broker that was
# launched but then failed to come up.
record_started() {
  if [[ -n ${TIDINGS_BROKERS_STARTED:-} ]]; then echo "$1" >>"$TIDINGS_BROKERS_STARTED"; fi
}
note_ready() { STATE[$1]="started by this run (pid $(cat "$TIDINGS_RUN_DIR/$1.pid" 2>/dev/null || echo '?'))"; }

fail_with_log() { # name log message
  if [[ -f $2 ]]; then echo "----- last lines of $2 -----" >&2; tail -n 25 "$2" >&2; echo "-----" >&2; fi
  die "$1: $3; see $2"
}

# wait_port NAME PORT TIMEOUT_S LOG [PID]: until 127.0.0.1:PORT accepts connections; fails
# early when PID (the process we launched) has exited.
wait_port() {
  local name=$1 port=$2 timeout=$3 logf=$4 pid=${5:-} deadline=$((SECONDS + $3))
  until port_open "$port"; do
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
      fail_with_log "$name" "$logf" "exited before accepting connections on 127.0.0.1:$port"
    fi
    if ((SECONDS >= deadline)); then
      fail_with_log "$name" "$logf" "not accepting connections on 127.0.0.1:$port after ${timeout}s"
    fi
    sleep 0.2
  done
}

# A Kafka ApiVersions v0 round trip (stdlib Python): the port being open is not enough to
# know the broker answers the protocol.
kafka_answers() {
  "$VENV/bin/python" - "$1" <<'PY' >/dev/null 2>&1
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
body = struct.pack(">hhih", 18, 0, 7, 5) + b"ready"  # api key 18 v0, correlation id 7, client id
s.sendall(struct.pack(">i", len(body)) + body)
head = b""
while len(head) < 10:
    chunk = s.recv(10 - len(head))
    if not chunk:
        sys.exit(1)
    head += chunk
_, corr, err = struct.unpack(">iih", head)
sys.exit(0 if corr == 7 and err == 0 else 1)
PY
}

# ---- kafka and sqs: ours, launched in the background together, then awaited ----
LAUNCHED=()
launch() { # NAME PORT COMMAND...
  local name=$1 port=$2; shift 2
  if ours_alive "$name"; then
    STATE[$name]="already running (pid $(<"$TIDINGS_RUN_DIR/$name.pid"), started earlier by start.sh)"
    return
  fi
  rm -f "$TIDINGS_RUN_DIR/$name.pid"
  if port_open "$port"; then
    STATE[$name]="127.0.0.1:$port already served by a process start.sh did not start; used as is"
    return
  fi
  # 8>&-: the broker must not inherit (and so hold forever) the start lock.
  nohup "$@" >"$LOG_DIR/$name.log" 2>&1 </dev/null 8>&- &
  echo $! >"$TIDINGS_RUN_DIR/$name.pid"
  record_started "$name"
  LAUNCHED+=("$name")
}

TANSU="$(tansu_bin)"
launch kafka 9092 "$TANSU" broker \
  --listener-url tcp://127.0.0.1:9092 \
  --advertised-listener-url tcp://127.0.0.1:9092 \
  --storage-engine memory://tansu/
launch sqs 4566 "$VENV/bin/moto_server" -H 127.0.0.1 -p 4566

for name in "${LAUNCHED[@]}"; do
  pid=$(<"$TIDINGS_RUN_DIR/$name.pid")
  case $name in
    kafka)
      wait_port kafka 9092 30 "$LOG_DIR/kafka.log" "$pid"
      deadline=$((SECONDS + 30))
      until kafka_answers 9092; do
        ((SECONDS < deadline)) || fail_with_log kafka "$LOG_DIR/kafka.log" "port 9092 open but no Kafka ApiVersions answer after 30s"
        sleep 0.2
      done ;;
    sqs) wait_port sqs 4566 60 "$LOG_DIR/sqs.log" "$pid" ;;
  esac
  note_ready "$name"
done

# ---- the machine's own daemons: start only when down ----
listener_pid() { ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2; }

# system_broker NAME PORT TIMEOUT_S BINARY LOG COMMAND...
system_broker() {
  local name=$1 port=$2 timeout=$3 binary=$4 logf=$5; shift 5
  if port_open "$port"; then
    if ours_alive "$name"; then
      STATE[$name]="already running (pid $(<"$TIDINGS_RUN_DIR/$name.pid"), started earlier by start.sh)"
    else
      rm -f "$TIDINGS_RUN_DIR/$name.pid"
      STATE[$name]="up (the machine's)"
    fi
    return
  fi
  if [[ ! -x $binary ]] && ! command -v "$binary" >/dev/null 2>&1; then
    warn "$name is not running on 127.0.0.1:$port and $binary is not installed; tests that need $name will fail"
    STATE[$name]="MISSING ($binary not installed)"
    return
  fi
  local epmd_was_up=1
  if [[ $name == rabbitmq ]] && ! port_open 4369; then epmd_was_up=0; fi
  log "$name is down; starting it: $(printf "%q " "$@")"
  # stdio to a file: a daemon must not hold the caller's stdout (CI reads it to EOF).
  "$@" </dev/null >>"$LOG_DIR/$name-start.log" 2>&1 8>&- \
    || fail_with_log "$name" "$LOG_DIR/$name-start.log" "start command failed (its daemon log: $logf)"
  wait_port "$name" "$port" "$timeout" "$logf"
  local pid
  pid=$(listener_pid "$port")
  if [[ -n $pid ]]; then
    echo "$pid" >"$TIDINGS_RUN_DIR/$name.pid"
    record_started "$name"
    note_ready "$name"
  else
    STATE[$name]="started, but its pid is unknown (stop.sh cannot stop it)"
  fi
  # The Erlang VM spawns epmd (4369) when none runs: it is ours to stop too.
  if ((epmd_was_up == 0)) && pid=$(listener_pid 4369) && [[ -n $pid ]]; then
    echo "$pid" >"$TIDINGS_RUN_DIR/epmd.pid"
    record_started epmd
    note_ready epmd
  fi
}

mkdir -p /var/lib/nats-server
system_broker nats 4222 30 /usr/sbin/nats-server /var/log/nats-server.log \
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
  -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log

system_broker rabbitmq 5672 120 rabbitmq-server "/var/log/rabbitmq/" rabbitmq-server -detached

mkdir -p /var/lib/redis /var/log/redis
system_broker redis 6379 30 redis-server /var/log/redis/ci.log \
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
  --dir /var/lib/redis --logfile /var/log/redis/ci.log

# mosquitto drops to its own user and writes its PID file in /run/mosquitto.
if id mosquitto >/dev/null 2>&1 && [[ ! -d /run/mosquitto ]]; then
  mkdir -p /run/mosquitto && chown mosquitto: /run/mosquitto
fi
system_broker mosquitto 1883 30 mosquitto /var/log/mosquitto/mosquitto.log \
  mosquitto -d -c /etc/mosquitto/mosquitto.conf

addr() {
  case $1 in
    kafka) echo 127.0.0.1:9092 ;; sqs) echo http://127.0.0.1:4566 ;; nats) echo nats://127.0.0.1:4222 ;;
    rabbitmq) echo amqp://127.0.0.1:5672 ;; redis) echo redis://127.0.0.1:6379 ;; mosquitto) echo mqtt://127.0.0.1:1883 ;;
    epmd) echo 127.0.0.1:4369 ;;
  esac
}
for name in kafka sqs nats rabbitmq redis mosquitto epmd; do
  [[ -n ${STATE[$name]:-} ]] && printf '[brokers] %-10s %-24s %s\n' "$name" "$(addr "$name")" "${STATE[$name]}"
done
log "PID files and logs: $TIDINGS_RUN_DIR"
