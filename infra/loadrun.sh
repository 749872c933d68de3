#!/usr/bin/env bash
# Load runs (docs/BENCHMARKS.md "Load runs"): the release dev server on memory and on DynamoDB
# (moto), 1/16/64/256 concurrent clients, four scenarios each, then the invariant checks.
# Loopback only; stops by itself (a watchdog ends it after 30 minutes). Extra arguments go to
# `loadtest load` (e.g. --stores memory --clients 16 --requests 500). Exit 1 on a violation.
exec "$(dirname "$0")/loadtest.sh" load "$@"
