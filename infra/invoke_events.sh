#!/usr/bin/env bash
# Invokes the proxy Lambda (served by `cargo lambda watch` on port $1) with the events/ files
# and checks each answer. Used by infra/test.sh.
set -euo pipefail
PORT=$1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

invoke() { # name data-file -> writes $TMP/name.json
  local name=$1 file=$2 tries=0
  until cargo lambda invoke proxy --invoke-port "$PORT" --data-file "$file" >"$TMP/$name.json" 2>"$TMP/$name.err"; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then echo "invoke $name failed"; cat "$TMP/$name.err"; return 1; fi
    sleep 5
  done
}

check() { # name expected-status [python expression over r (response) and b (parsed body)]
  python3 - "$TMP/$1.json" "$2" "${3:-True}" "$1" <<'PY'
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
ID=$(python3 -c 'import json,sys; print(json.loads(json.load(open(sys.argv[1]))["body"])["id"])' "$TMP/create.json")

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
