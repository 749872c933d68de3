#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs the tooling, starts moto on a free
# loopback port, runs fmt/clippy/cargo test, schemathesis and both SDK suites against the dev
# server, cfn-lint, and the Lambda binaries through `cargo lambda watch` + `cargo lambda invoke`
# on the files in events/. Stops what it started, even on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV="$ROOT/.venv"
LOGS="$ROOT/target/test-logs"
mkdir -p "$LOGS"

step() { printf '\n==> %s\n' "$*"; }

PIDS=()
cleanup() {
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT INT TERM

step "Python tooling (moto[server], cfn-lint, cargo-lambda) into .venv"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r infra/requirements-test.txt
export PATH="$VENV/bin:$PATH"

free_port() { "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

step "moto on 127.0.0.1"
MOTO_PORT=$(free_port)
setsid "$VENV/bin/python" infra/moto_serial.py "$MOTO_PORT" >"$LOGS/moto.log" 2>&1 &
PIDS+=($!)
export MOTO_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
for _ in $(seq 1 100); do
  curl -fsS "$MOTO_ENDPOINT/moto-api/" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "$MOTO_ENDPOINT/moto-api/" >/dev/null || { echo "moto did not start"; cat "$LOGS/moto.log"; exit 1; }
echo "moto at $MOTO_ENDPOINT"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "cargo test --workspace (unit, contract, integration; DynamoDB on moto)"
cargo test --workspace 2>&1 | tee "$LOGS/cargo-test.log"
test "${PIPESTATUS[0]}" -eq 0

step "the dev server (the quick start's binary) for the contract and SDK tests"
cargo build --quiet -p devserver
start_devserver() { # name -> sets DEV_URL (not in a subshell, so cleanup can stop it)
  local port
  port=$(free_port)
  setsid ./target/debug/devserver --addr "127.0.0.1:$port" >"$LOGS/devserver-$1.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null || { echo "dev server did not start"; cat "$LOGS/devserver-$1.log"; exit 1; }
  DEV_URL="http://127.0.0.1:$port"
}

step "load and fault smoke (tools/loadtest): bounded, loopback, invariants checked"
# Keeps the load generator, the fault proxy and the invariant checks working (the full runs are
# infra/loadrun.sh and infra/faultrun.sh, docs/BENCHMARKS.md): 16 clients on memory, then a
# Stripe behind a proxy that resets connections. A violated invariant fails the command.
cargo build --quiet -p loadtest
LT=(--devserver ./target/debug/devserver --python "$VENV/bin/python" --logs "$LOGS/loadtest" --max-minutes 5)
./target/debug/loadtest load --stores memory --clients 16 --requests 300 "${LT[@]}" | tee "$LOGS/loadtest-load.md"
test "${PIPESTATUS[0]}" -eq 0
./target/debug/loadtest faults --targets gateway --modes reset --clients 8 --phase-seconds 3 "${LT[@]}" \
  | tee "$LOGS/loadtest-faults.md" | tail -4
test "${PIPESTATUS[0]}" -eq 0

# Money across time, black-box: a dev server on moto killed mid-charge at a fake Asaas, then
# retried 24 h later, after DynamoDB's TTL ran, and never (the sweeper names the charge).
./target/debug/loadtest clock "${LT[@]}" | tee "$LOGS/loadtest-clock.md"
test "${PIPESTATUS[0]}" -eq 0

step "README: the quick start's dev server command and every simulator recipe, run as written"
# Starts the dev server with the README's own first command (on a free port through ORCH_ADDR)
# and runs each ```sh recipe``` block, comparing what it prints with its `# expect:` lines.
RECIPES_SERVER_LOG="$LOGS/readme-recipes-devserver.log" python3 infra/readme_recipes.py

step "schemathesis: every operation of docs/openapi.yaml against the dev server"
# The limit is raised so the fuzzing reaches every POST (429 is in the contract anyway).
RATE_LIMIT_PER_MINUTE=1000000 start_devserver schemathesis
# Every check; the built-in not_a_server_error gives way to the hook's variant (the documented
# 502), and infra/schemathesis.toml declares the 422s (README, "Contract and SDKs").
SCHEMATHESIS_HOOKS=infra.schemathesis_hooks PYTHONPATH="$ROOT" st --config-file infra/schemathesis.toml run docs/openapi.yaml \
  --url "$DEV_URL" -H "Authorization: Bearer sk_demo_tenant_a_4f9c2b7e1d8a6350" \
  --checks all --exclude-checks not_a_server_error \
  --max-examples 150 --seed 1 --no-color 2>&1 | tee "$LOGS/schemathesis.log" | tail -25
test "${PIPESTATUS[0]}" -eq 0
# The operator API, with the dev server's operator key.
SCHEMATHESIS_HOOKS=infra.schemathesis_hooks PYTHONPATH="$ROOT" st --config-file infra/schemathesis.toml run docs/openapi.yaml \
  --url "$DEV_URL" -H "Authorization: Bearer op_dev_0f1e2d3c4b5a69788796a5b4c3d2e1f0" --include-tag admin \
  --checks all --exclude-checks not_a_server_error \
  --max-examples 60 --seed 1 --no-color 2>&1 | tee "$LOGS/schemathesis-admin.log" | tail -6
test "${PIPESTATUS[0]}" -eq 0
# The same server's Prometheus metrics moved with the traffic schemathesis sent.
curl -fsS "$DEV_URL/metrics" >"$LOGS/devserver-metrics.txt"
grep -Eq '^PaymentProcessed\{service="devserver",Gateway="[a-z_]+"\} [1-9]' "$LOGS/devserver-metrics.txt" \
  || { echo "dev server /metrics shows no PaymentProcessed"; exit 1; }
echo "dev server /metrics: $(grep -c '^[A-Za-z]' "$LOGS/devserver-metrics.txt") series"

step "Node SDK (sdks/node): build, types, unit, real-server and fault tests, packed install"
start_devserver node
ORCH_API_URL="$DEV_URL" bash sdks/node/ci.sh

step "Python SDK (sdks/python): build, mypy --strict, unit, real-server and fault tests, wheel install"
start_devserver python
ORCH_API_URL="$DEV_URL" PYTHON="$VENV/bin/python" bash sdks/python/ci.sh

step "console (/dashboard) in a real headless Chromium (Selenium), screenshots in target/console-screenshots"
command -v chromium >/dev/null && command -v chromedriver >/dev/null \
  || (apt-get update && apt-get install -y chromium chromium-driver)
# A short breaker cool-down so the test sees a breaker open and then close again.
BREAKER_COOL_DOWN_SECONDS=3 start_devserver console
tests/console/run.sh "$DEV_URL" "$VENV/bin/python"

step "template.yaml: cfn-lint and sam validate --lint (offline)"
VENV_BIN="$VENV/bin" bash infra/lint_template.sh

step "sam build: the four functions for arm64 (rust-cargolambda, Zig from the venv), checked for architecture and size"
# cargo-lambda cross-compiles with Zig (the `ziglang` wheel in the venv) for the aarch64 target.
rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
SAM_CLI_TELEMETRY=0 sam build --beta-features 2>&1 | tee "$LOGS/sam-build.log" | tail -3
test "${PIPESTATUS[0]}" -eq 0
python3 infra/check_artifacts.py --build-dir .aws-sam/build --max-bytes 10000000
# The check itself can fail: an x86_64 (unstripped, debug) binary in the same layout is refused.
NOT_ARM="$LOGS/not-arm64"
for f in ProxyFunction WebhookReceiverFunction WorkerFunction SweeperFunction; do
  mkdir -p "$NOT_ARM/$f" && cp ./target/debug/devserver "$NOT_ARM/$f/bootstrap"
done
if python3 infra/check_artifacts.py --build-dir "$NOT_ARM" >"$LOGS/check-artifacts-negative.log" 2>&1; then
  echo "check_artifacts accepted x86_64 binaries"; exit 1
fi

step "the four Lambda binaries through cargo lambda invoke (DynamoDB and SQS on moto)"
export AWS_ENDPOINT_URL="$MOTO_ENDPOINT" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
  IDEMPOTENCY_TABLE=invoke-idempotency PAYMENTS_TABLE=invoke-payments TENANTS_TABLE=invoke-tenants \
  EVENTS_TABLE=invoke-events BREAKER_TABLE=invoke-breakers OUTBOX_TABLE=invoke-outbox \
  USAGE_TABLE=invoke-usage \
  GATEWAY_RESERVE_MS=500
cargo run --quiet -p devserver -- seed --tenants infra/tenants.dev.json >"$LOGS/seed.log" 2>&1
# The deployment's four queues: intake and delivery, each with its DLQ (template.yaml).
mkq() { python3 -c 'import boto3,os,sys; print(boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).create_queue(QueueName=sys.argv[1])["QueueUrl"])' "$1"; }
WEBHOOK_QUEUE_URL=$(mkq invoke-webhooks)
WEBHOOK_DLQ_URL=$(mkq invoke-webhooks-dlq)
DELIVERY_QUEUE_URL=$(mkq invoke-deliveries)
DELIVERY_DLQ_URL=$(mkq invoke-deliveries-dlq)
export WEBHOOK_QUEUE_URL WEBHOOK_DLQ_URL DELIVERY_QUEUE_URL DELIVERY_DLQ_URL
INVOKE_PORT=$(free_port)
# moto, bloated by the whole suite by now, can pause for seconds: generous AWS timeouts here.
AWS_ATTEMPT_TIMEOUT_MS=20000 AWS_OPERATION_TIMEOUT_MS=25000 \
  setsid cargo lambda watch --invoke-port "$INVOKE_PORT" --timeout 29 --ignore-changes >"$LOGS/lambda-watch.log" 2>&1 &
PIDS+=($!)
bash infra/invoke_events.sh "$INVOKE_PORT"
# Each Lambda's stdout holds valid EMF (rules, limits, dimensions, request and trace ids).
./target/debug/devserver emf-check "$LOGS/lambda-watch.log" \
  --expect proxy:ColdStart --expect proxy:PaymentProcessed --expect proxy:GatewayLatency \
  --expect proxy:IdempotentReplay --expect webhook-receiver:WebhookReceived \
  --expect worker:ColdStart --expect sweeper:ColdStart

step "all checks passed"
# One plain closing line with the totals of every cargo test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?/) p += $(i-1); if ($i ~ /^failed;?/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$LOGS/cargo-test.log"
