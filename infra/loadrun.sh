#!/usr/bin/env bash
# Load runs (docs/BENCHMARKS.md "Load runs"): the release dev server on memory and on DynamoDB
# (moto), 1/16/64/256 concurrent clients, four scenarios each, then the invariant checks.
# Loopback only; stops by itself (a watchdog ends it after 30 minutes). Extra arguments go to
# `loadtest load` (e.g. --stores memory --clients 16 --requests 500). Exit 1 on a violation.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-$PWD/.venv}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r infra/requirements-test.txt
fi
# Built one at a time: built together, cargo would unify features and compile the dev server
# with the test crate's failpoints.
cargo build --quiet --release -p devserver
cargo build --quiet --release -p loadtest
# Its own process group, so everything it started ends with it whatever happens.
setsid "$TARGET/release/loadtest" load --devserver "$TARGET/release/devserver" \
  --python "$VENV/bin/python" --logs "$TARGET/loadtest" "$@" &
PID=$!
trap 'kill -- "-$PID" 2>/dev/null || true' EXIT INT TERM
wait "$PID"
