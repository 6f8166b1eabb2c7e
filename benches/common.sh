# Sourced by the Kafka bench scripts (kafka-latency.sh, kafka-publish.sh) after they set
# HERE and ROOT: the target and results directories, the Python peer's interpreter, the
# `kafka` bench binary built and FastStream installed, and how a program's JSON line is
# tagged and kept.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-bench}"
OUT="${BENCH_OUT:-$HERE/results}"; mkdir -p "$OUT"
TOOLS="${TIDINGS_TOOLS:-$HOME/.cache/tidings-tools}"
PY="$TOOLS/bench-venv/bin/python"
(cd "$ROOT" && cargo build --release --quiet -p tidings-benches --features kafka --bin kafka)
bash "$HERE/peers/install.sh"
K="$CARGO_TARGET_DIR/release/kafka"

# Appends `"KEY":VALUE` to the JSON line read, and the line to $f (set by the script).
tag_line() { sed "s/}\$/,\"$1\":$2}/" | tee -a "$f"; }
