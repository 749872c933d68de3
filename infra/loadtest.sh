#!/usr/bin/env bash
# Runs `tools/loadtest` in release: `infra/loadtest.sh load|faults|pipeline [args…]`
# (infra/loadrun.sh, infra/faultrun.sh and infra/pipelinerun.sh call it). Creates the venv if
# missing (moto; not for `pipeline`, which runs on memory), builds the dev server and the tool,
# and runs the tool in its own process group so everything it started ends with it, whatever
# happens. Loopback only; the tool stops by itself (a watchdog ends it after 30 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:?usage: infra/loadtest.sh load|faults|pipeline [args...]}
shift
case "$MODE" in
  load) LOGDIR=loadtest ;;
  faults) LOGDIR=faultrun ;;
  pipeline) LOGDIR=pipelinerun ;;
  *) echo "load, faults or pipeline, not $MODE" >&2; exit 2 ;;
esac
VENV=${VENV:-$PWD/.venv}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
if [ "$MODE" != pipeline ] && [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r infra/requirements-test.txt
fi
# Built one at a time: built together, cargo would unify features and compile the dev server
# with the test crate's failpoints.
cargo build --quiet --release -p devserver
cargo build --quiet --release -p loadtest
setsid "$TARGET/release/loadtest" "$MODE" --devserver "$TARGET/release/devserver" \
  --python "$VENV/bin/python" --logs "$TARGET/$LOGDIR" "$@" &
PID=$!
trap 'kill -- "-$PID" 2>/dev/null || true' EXIT INT TERM
wait "$PID"
