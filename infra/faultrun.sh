#!/usr/bin/env bash
# Fault runs (docs/BENCHMARKS.md "Fault runs"): the release dev server on DynamoDB (moto) with a
# TCP fault proxy in front of moto, of the (fake) Stripe and of the merchant's callback
# endpoint — delay, reset, blackhole, each for --phase-seconds under load — then moto killed
# and restarted mid-run; afterwards the invariant checks (no double charge, no stuck key, no
# lost callback, documented statuses only). Loopback only; stops by itself. Extra arguments go
# to `loadtest faults` (e.g. --targets gateway --modes reset --phase-seconds 3). Exit 1 on a
# violation.
exec "$(dirname "$0")/loadtest.sh" faults "$@"
