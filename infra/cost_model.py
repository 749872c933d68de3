"""What one million payments cost on AWS: a model fed by this repository's measurements.

usage: python3 infra/cost_model.py [--gateway-ms 400] [--merchant-ms 200] [--cpu-create-ms 1.0]

Prints the markdown table of docs/BENCHMARKS.md "Cost per million payments". Measured inputs
(with the command that measured them) and assumed ones are listed below; prices are us-east-1,
on-demand, as published on the AWS pricing pages (Lambda, API Gateway, DynamoDB, SQS,
CloudWatch), read on 2026-11-22 (the DynamoDB on-demand prices are those after the
1 Nov 2024 cut). Free tiers are ignored. Stdlib only.
"""

import argparse
import math

# --- prices (USD) ------------------------------------------------------------------------------
LAMBDA_ARM_GB_S = 0.0000133334      # per GB-second, arm64, first 7.5 billion GB-s a month
LAMBDA_REQUEST = 0.20 / 1e6         # per invocation
HTTP_API_REQUEST = 1.00 / 1e6       # API Gateway HTTP API, first 300 million a month
DDB_WRU = 0.625 / 1e6               # DynamoDB on-demand write request unit
DDB_RRU = 0.125 / 1e6               # DynamoDB on-demand read request unit
SQS_REQUEST = 0.40 / 1e6            # standard queue, per 64 KB request
LOGS_GB = 0.50                      # CloudWatch Logs ingestion per GB

# --- measured here ---------------------------------------------------------------------------------
MEMORY_GB = 128 / 1024              # template.yaml Globals MemorySize
VCPU_SHARE = 128 / 1769             # Lambda gives a full vCPU at 1,769 MB, proportionally less below
# item sizes in bytes (infra/coldstart.py --item-sizes, after card creates)
ITEM = {"idempotency_done": 1133, "idempotency_claim": 300, "payment": 1170, "outbox": 1500,
        "usage": 124, "rate": 100, "event_record": 300}
CPU_RECEIVER_MS = 0.57              # infra/coldstart.py, warm Stripe webhook
CPU_WORKER_MSG_MS = 0.45            # infra/coldstart.py, worker batch ÷ messages
DDB_CALL_MS = 8                     # assumed in-region DynamoDB round trip (p50 of a transaction)
SQS_CALL_MS = 10                    # assumed SendMessage round trip
LOG_BYTES = {"create": 1700, "webhook": 1200, "delivery": 900}  # log lines + EMF + REPORT, measured sizes rounded up


def wru(size, transactional=False):
    """Write units for one item write: 1 per started KB, doubled inside a transaction."""
    return math.ceil(size / 1024) * (2 if transactional else 1)


def lambda_cost(ms):
    return LAMBDA_REQUEST + MEMORY_GB * (math.ceil(ms) / 1000) * LAMBDA_ARM_GB_S


def stretched(cpu_ms):
    """CPU time measured on a whole core, run at the function's vCPU share."""
    return cpu_ms / VCPU_SHARE


def create(a):
    """POST /v1/payments that succeeds at the first gateway (2 DynamoDB requests)."""
    claim = wru(ITEM["idempotency_claim"], True) + wru(ITEM["rate"], True)
    commit = (wru(ITEM["payment"], True) + wru(ITEM["idempotency_done"], True)
              + wru(ITEM["outbox"], True) + wru(ITEM["usage"], True))
    gsi = 2 * wru(ITEM["payment"]) + 2 * wru(ITEM["outbox"])  # by_tenant + by_gateway_ref; by_tenant + by_payment
    ms = stretched(a.cpu_create_ms) + 2 * DDB_CALL_MS + a.gateway_ms
    return {"API Gateway": HTTP_API_REQUEST, "Lambda (proxy)": lambda_cost(ms),
            "DynamoDB writes": (claim + commit + gsi) * DDB_WRU, "DynamoDB reads": 0.0,
            "SQS": 0.0, "CloudWatch Logs": LOG_BYTES["create"] / 1e9 * LOGS_GB}


def delivery(a):
    """One merchant event: relay (stream batch of 100), queue, worker batch of 10, callback."""
    write = wru(ITEM["outbox"] + 200, True) + wru(ITEM["usage"], True) + 2 * wru(ITEM["outbox"] + 200)
    relay_ms = (stretched(0.2) + SQS_CALL_MS) / 1      # per event; the batch's invocation shared below
    worker_ms = (stretched(10 * CPU_WORKER_MSG_MS) + 2 * DDB_CALL_MS + a.merchant_ms) / 10
    lam = (LAMBDA_REQUEST / 100 + MEMORY_GB * relay_ms / 1000 * LAMBDA_ARM_GB_S
           + LAMBDA_REQUEST / 10 + MEMORY_GB * worker_ms / 1000 * LAMBDA_ARM_GB_S)
    return {"Lambda (worker)": lam, "DynamoDB writes": write * DDB_WRU, "DynamoDB reads": 1 * DDB_RRU,
            "SQS": (1 + 0.2) * SQS_REQUEST, "CloudWatch Logs": LOG_BYTES["delivery"] / 1e9 * LOGS_GB}


def webhook(a, changes=True):
    """One gateway webhook: receiver (verify + enqueue), worker applies it (batch of 10)."""
    recv_ms = stretched(CPU_RECEIVER_MS) + SQS_CALL_MS
    worker_ms = (stretched(10 * CPU_WORKER_MSG_MS) + 3 * DDB_CALL_MS) / 10
    writes = 0
    if changes:
        writes = (wru(ITEM["event_record"]) + wru(ITEM["payment"], True) + wru(ITEM["outbox"], True)
                  + wru(ITEM["usage"], True) + 2 * wru(ITEM["payment"]) + 2 * wru(ITEM["outbox"]))
    return {"API Gateway": HTTP_API_REQUEST,
            "Lambda (receiver, worker)": lambda_cost(recv_ms) + LAMBDA_REQUEST / 10
            + MEMORY_GB * worker_ms / 1000 * LAMBDA_ARM_GB_S,
            "DynamoDB writes": writes * DDB_WRU, "DynamoDB reads": 1 * DDB_RRU,
            "SQS": (1 + 0.2) * SQS_REQUEST, "CloudWatch Logs": LOG_BYTES["webhook"] / 1e9 * LOGS_GB}


def failover(a):
    """One extra gateway attempt before the one that succeeds (unavailable after ~200 ms)."""
    return {"Lambda (proxy)": MEMORY_GB * 0.2 * LAMBDA_ARM_GB_S,
            "DynamoDB writes": wru(200) * DDB_WRU}  # the breaker window's conditional update


def add(*parts):
    out = {}
    for p in parts:
        for k, v in p.items():
            out[k] = out.get(k, 0.0) + v
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gateway-ms", type=float, default=400.0, help="gateway answer time (assumed)")
    ap.add_argument("--merchant-ms", type=float, default=200.0, help="merchant callback answer time (assumed)")
    ap.add_argument("--cpu-create-ms", type=float, default=1.0, help="proxy CPU per warm create (coldstart.py)")
    a = ap.parse_args()
    cases = [
        ("card, settled at once (1 event)", add(create(a), delivery(a))),
        ("Pix: create + 1 gateway webhook (2 events)", add(create(a), delivery(a), webhook(a), delivery(a))),
        ("Pix + 1 failover", add(create(a), delivery(a), webhook(a), delivery(a), failover(a))),
        ("Pix + 1 duplicate webhook", add(create(a), delivery(a), webhook(a), delivery(a), webhook(a, False))),
    ]
    keys = ["API Gateway", "Lambda (proxy)", "Lambda (receiver, worker)", "Lambda (worker)",
            "DynamoDB writes", "DynamoDB reads", "SQS", "CloudWatch Logs"]
    print("| per million payments (USD) | " + " | ".join(n for n, _ in cases) + " |")
    print("|---|" + "---|" * len(cases))
    for k in keys:
        print(f"| {k} | " + " | ".join(f"{c.get(k, 0.0) * 1e6:.2f}" for _, c in cases) + " |")
    print("| **total** | " + " | ".join(f"**{sum(c.values()) * 1e6:.2f}**" for _, c in cases) + " |")


if __name__ == "__main__":
    main()
