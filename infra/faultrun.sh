#!/usr/bin/env bash
# Fault runs (docs/BENCHMARKS.md "Fault runs"): the release dev server on DynamoDB (moto) with a
# TCP fault proxy in front of moto, of the (fake) Stripe and of the merchant's callback
# endpoint — delay, reset, blackhole, each for --phase-seconds under load — then moto killed
# and restarted mid-run; afterwards the invariant checks (no double charge, no stuck key, no
# lost callback, documented statuses only). Loopback only; stops by itself. Extra arguments go
# to `loadtest faults` (e.g. --targets gateway --modes reset --phase-seconds 3). Exit 1 on a
# violation.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-$PWD/.venv}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r infra/requirements-test.txt
fi
cargo build --quiet --release -p devserver
cargo build --quiet --release -p loadtest
setsid "$TARGET/release/loadtest" faults --devserver "$TARGET/release/devserver" \
  --python "$VENV/bin/python" --logs "$TARGET/faultrun" "$@" &
PID=$!
trap 'kill -- "-$PID" 2>/dev/null || true' EXIT INT TERM
wait "$PID"
