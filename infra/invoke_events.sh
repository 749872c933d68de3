#!/usr/bin/env bash
# Invokes the proxy Lambda (served by `cargo lambda watch` on port $1) with the events/ files
# and checks each answer. Used by infra/test.sh.
set -euo pipefail
PORT=$1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

invoke_fn() { # function name data-file -> writes $TMP/out-name.json
  local fn=$1 name=$2 file=$3 tries=0
  until cargo lambda invoke "$fn" --invoke-port "$PORT" --data-file "$file" >"$TMP/out-$name.json" 2>"$TMP/$name.err"; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then echo "invoke $fn $name failed"; cat "$TMP/$name.err"; return 1; fi
    sleep 5
  done
}

invoke() { invoke_fn proxy "$@"; } # name data-file

check() { # name expected-status [python expression over r (response) and b (parsed body)]
  python3 - "$TMP/out-$1.json" "$2" "${3:-True}" "$1" <<'PY'
import json, sys
path, want, expr, name = sys.argv[1:5]
r = json.load(open(path))
b = json.loads(r.get("body") or "null")
ok = r["statusCode"] == int(want) and eval(expr)
print(f"{'ok  ' if ok else 'FAIL'} {name}: {r['statusCode']} {json.dumps(b)[:140]}")
sys.exit(0 if ok else 1)
PY
}

invoke health events/health.json
check health 200 'b["status"] == "ok"'

invoke create events/create-payment.json
check create 201 'b["status"] == "pending" and b["pix"]["copy_paste"].startswith("000201") and "idempotent-replayed" not in r["headers"]'
ID=$(python3 -c 'import json,sys; print(json.loads(json.load(open(sys.argv[1]))["body"])["id"])' "$TMP/out-create.json")

invoke replay events/create-payment.json
check replay 201 "r['headers'].get('idempotent-replayed') == 'true' and b['id'] == '$ID'"

python3 - "$ID" events/get-payment.json "$TMP/get-created.json" <<'PY'
import json, sys
pid, src, dst = sys.argv[1:4]
e = json.load(open(src))
e["rawPath"] = e["requestContext"]["http"]["path"] = f"/v1/payments/{pid}"
e["pathParameters"] = {"id": pid}
json.dump(e, open(dst, "w"))
PY
invoke get "$TMP/get-created.json"
check get 200 "b['id'] == '$ID' and b['amount'] == 1990"

invoke get_unknown events/get-payment.json
check get_unknown 404 'b["error"]["type"] == "not_found"'

invoke list events/list-payments.json
check list 200 "[p['id'] for p in b['data']] == ['$ID']"

invoke gateways events/gateways.json
check gateways 200 "[(g['gateway'], g['state']) for g in b['data']] == [('asaas', 'closed'), ('efi', 'closed'), ('stripe', 'closed')] and b['data'][1]['priority'] == {'pix': 1}"

invoke routing events/put-routing.json
check routing 200 "b['routing']['card'] == ['asaas', 'stripe'] and b['routing']['pix'] == ['efi', 'asaas', 'stripe']"

# --- webhook receiver and worker ---------------------------------------------------------
patch() { # src dst python-code-over-e(event)-and-b(parsed body)
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys, hmac, hashlib, time, base64
src, dst, code = sys.argv[1:4]
e = json.load(open(src))
b = json.loads(base64.b64decode(e["body"]) if e.get("isBase64Encoded") else e["body"])
exec(code)
e["body"] = json.dumps(b)
e["isBase64Encoded"] = False
if "stripe-signature" in e["headers"]:
    t = int(time.time())
    sig = hmac.new(b"whsec_demo_stripe_endpoint_tenant_a", f"{t}.{e['body']}".encode(), hashlib.sha256).hexdigest()
    e["headers"]["stripe-signature"] = f"t={t},v1={sig}"
json.dump(e, open(dst, "w"))
PY
}


# The shipped Stripe event carries an old signature: refused, nothing enqueued.
invoke_fn webhook-receiver stripe_stale events/webhook-stripe.json
check stripe_stale 401 'b["error"]["type"] == "authentication"'
patch events/webhook-stripe.json "$TMP/stripe-fresh.json" 'pass'
invoke_fn webhook-receiver stripe_fresh "$TMP/stripe-fresh.json"
check stripe_fresh 200 'b["received"] is True'
invoke_fn webhook-receiver efi events/webhook-efi.json
check efi 200 'b["received"] is True'

# A Pix payment on Asaas, through the proxy binary...
python3 - events/create-payment.json "$TMP/create-asaas.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
b = json.loads(e["body"]); b["gateway"] = "asaas"; e["body"] = json.dumps(b)
e["headers"]["idempotency-key"] = "events-create-asaas-1"
json.dump(e, open(sys.argv[2], "w"))
PY
invoke create_asaas "$TMP/create-asaas.json"
check create_asaas 201 'b["gateway"] == "asaas" and b["status"] == "pending"'
ASAAS_ID=$(python3 -c 'import json,sys; print(json.loads(json.load(open(sys.argv[1]))["body"])["id"])' "$TMP/out-create_asaas.json")
GW_ID=$(python3 -c 'import json,sys; print(json.loads(json.load(open(sys.argv[1]))["body"])["gateway_payment_id"])' "$TMP/out-create_asaas.json")

# ...its PAYMENT_RECEIVED webhook through the receiver binary...
patch events/webhook-asaas.json "$TMP/asaas.json" "b['payment']['id'] = '$GW_ID'; b['payment']['externalReference'] = '$ASAAS_ID'"
invoke_fn webhook-receiver asaas "$TMP/asaas.json"
check asaas 200 'b["received"] is True'

# ...and the queued messages (drained from SQS on moto) through the worker binary, shaped
# like events/sqs-batch.json, plus one poisoned message, which the worker moves to the intake
# DLQ itself: no failure is reported (retries are new delayed messages, never held in flight).
python3 - events/sqs-batch.json "$TMP/sqs-live.json" <<'PY'
import boto3, json, os, sys
sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
template = json.load(open(sys.argv[1]))
shape = template["Records"][0]
records = []
for _ in range(5):
    out = sqs.receive_message(QueueUrl=os.environ["WEBHOOK_QUEUE_URL"], MaxNumberOfMessages=10,
                              AttributeNames=["ApproximateReceiveCount"], WaitTimeSeconds=1)
    for m in out.get("Messages", []):
        r = dict(shape, messageId=m["MessageId"], receiptHandle=m["ReceiptHandle"], body=m["Body"])
        r["attributes"] = dict(shape["attributes"], ApproximateReceiveCount=m["Attributes"]["ApproximateReceiveCount"])
        records.append(r)
    if len(records) >= 3:
        break
assert len(records) == 3, f"expected 3 queued webhooks, got {len(records)}"
records.append(template["Records"][1])
json.dump({"Records": records}, open(sys.argv[2], "w"))
PY
invoke_fn worker worker_live "$TMP/sqs-live.json"
python3 - "$TMP/out-worker_live.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
failed = [f["itemIdentifier"] for f in r["batchItemFailures"]]
# Stripe and EFI events name charges this deployment doesn't have (retried: a delayed copy on
# the intake queue); the poisoned message is in the intake DLQ at once; the Asaas event settles
# its payment.
import boto3, os
sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
dlq = sqs.receive_message(QueueUrl=os.environ["WEBHOOK_DLQ_URL"], MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
ok = failed == [] and [m["Body"] for m in dlq] == ["{not an envelope"]
for m in dlq:
    sqs.delete_message(QueueUrl=os.environ["WEBHOOK_DLQ_URL"], ReceiptHandle=m["ReceiptHandle"])
print(f"{'ok  ' if ok else 'FAIL'} worker_live: batchItemFailures={failed}, intake DLQ={len(dlq)}")
sys.exit(0 if ok else 1)
PY

python3 - "$ASAAS_ID" events/get-payment.json "$TMP/get-asaas.json" <<'PY'
import json, sys
pid, src, dst = sys.argv[1:4]
e = json.load(open(src))
e["rawPath"] = e["requestContext"]["http"]["path"] = f"/v1/payments/{pid}"
e["pathParameters"] = {"id": pid}
json.dump(e, open(dst, "w"))
PY
invoke get_asaas "$TMP/get-asaas.json"
check get_asaas 200 "b['id'] == '$ASAAS_ID' and b['status'] == 'succeeded'"

# The shipped batch: an Asaas event for a charge this deployment never created, received long
# ago (past the unmatched grace), is recorded as unmatched and acknowledged; the poisoned
# message goes to the intake DLQ on its first attempt.
invoke_fn worker worker_static events/sqs-batch.json
python3 - "$TMP/out-worker_static.json" <<'PY'
import boto3, json, os, sys
r = json.load(open(sys.argv[1]))
failed = sorted(f["itemIdentifier"] for f in r["batchItemFailures"])
sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
dlq = sqs.receive_message(QueueUrl=os.environ["WEBHOOK_DLQ_URL"], MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
ok = failed == [] and [m["Body"] for m in dlq] == ["{not an envelope"]
print(f"{'ok  ' if ok else 'FAIL'} worker_static: batchItemFailures={failed}, intake DLQ={len(dlq)}")
sys.exit(0 if ok else 1)
PY

# --- the outbox relay (the worker's second event source) ---------------------------------
# The outbox table's stream as moto recorded it (every create and status change above wrote
# one event in its transaction), shaped as Lambda delivers a DynamoDB stream batch: the worker
# hands each insert to the delivery queue and reports no failure.
python3 - "$TMP/stream-live.json" <<'PY'
import boto3, json, os, sys
ep = os.environ["AWS_ENDPOINT_URL"]
arn = boto3.client("dynamodb", endpoint_url=ep).describe_table(TableName=os.environ["OUTBOX_TABLE"])["Table"]["LatestStreamArn"]
st = boto3.client("dynamodbstreams", endpoint_url=ep)
records = []
for shard in st.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
    it = st.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    for r in st.get_records(ShardIterator=it)["Records"]:
        d = r["dynamodb"]
        records.append({"eventID": r["eventID"], "eventName": r["eventName"], "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "eventSourceARN": arn,
            "dynamodb": {"Keys": d["Keys"], "NewImage": d.get("NewImage", {}),
                         "SequenceNumber": d["SequenceNumber"], "StreamViewType": "NEW_IMAGE"}})
inserts = [r for r in records if r["eventName"] == "INSERT"]
assert len(inserts) >= 3, f"expected the events of 2 creates and 1 webhook, got {len(inserts)}"
json.dump({"Records": records}, open(sys.argv[1], "w"))
print(len(inserts), file=open(sys.argv[1] + ".n", "w"))
PY
invoke_fn worker relay_live "$TMP/stream-live.json"
python3 - "$TMP/out-relay_live.json" "$(cat "$TMP/stream-live.json.n")" <<'PY'
import boto3, json, os, sys
r = json.load(open(sys.argv[1]))
want = int(sys.argv[2])
sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
deliveries = 0
for _ in range(10):
    out = sqs.receive_message(QueueUrl=os.environ["DELIVERY_QUEUE_URL"], MaxNumberOfMessages=10, WaitTimeSeconds=1)
    msgs = out.get("Messages", [])
    deliveries += sum(1 for m in msgs if "deliver_event" in json.loads(m["Body"]))
    if not msgs:
        break
ok = r["batchItemFailures"] == [] and deliveries == want
print(f"{'ok  ' if ok else 'FAIL'} relay_live: {want} outbox inserts -> {deliveries} delivery messages, failures={r['batchItemFailures']}")
sys.exit(0 if ok else 1)
PY
invoke_fn worker relay_static events/outbox-stream.json
python3 - "$TMP/out-relay_static.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ok = r == {"batchItemFailures": []}
print(f"{'ok  ' if ok else 'FAIL'} relay_static: {r}")
sys.exit(0 if ok else 1)
PY

# The sweeper binary on its schedule event: one pass over the stale create claims of the tables
# above (every claim here completed, so there is nothing to settle).
invoke_fn sweeper sweep events/sweeper-schedule.json
python3 - "$TMP/out-sweep.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ok = set(r) == {"found", "recorded", "released", "left", "skipped"} and r["left"] == 0
print(f"{'ok  ' if ok else 'FAIL'} sweep: {r}")
sys.exit(0 if ok else 1)
PY

# The same binary on its reconciliation schedule: one pass over every tenant's live gateways.
# Its answer counts the runs made (one per tenant × gateway with credentials), their findings
# and the runs that could not list their gateway.
invoke_fn sweeper reconcile events/reconcile-schedule.json
python3 - "$TMP/out-reconcile.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ok = set(r) == {"runs", "findings", "failed"} and 0 <= r["failed"] <= r["runs"]
print(f"{'ok  ' if ok else 'FAIL'} reconcile: {r}")
sys.exit(0 if ok else 1)
PY
