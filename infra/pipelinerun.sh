#!/usr/bin/env bash
# Webhook pipeline run (docs/BENCHMARKS.md "Webhook pipeline: one dead and one hanging endpoint
# among 50 tenants"): the release dev server on memory with a small queue in-flight limit
# (ORCH_QUEUE_INFLIGHT_CAP), 50 tenants — 48 with a healthy callback endpoint, one answering 500,
# one that never answers — creating Pix payments and posting Asaas's "paid" webhook for each;
# then the healthy tenants' callback delays, the queue's in-flight peak and a no-event-lost
# check. Loopback only; stops by itself (about 3 minutes). Extra arguments go to
# `loadtest pipeline` (e.g. --seconds 60 --inflight-cap 600 --hang-rate 0). Exit 1 on a
# violation.
exec "$(dirname "$0")/loadtest.sh" pipeline "$@"
