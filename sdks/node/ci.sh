#!/usr/bin/env bash
# CI of the Node SDK. Run from anywhere (the project runs `bash sdks/node/ci.sh` from the repo root).
#   env ORCH_API_URL=http://127.0.0.1:8080   a running dev server: enables the real-server suite
# Steps: npm ci -> strict type check (src + tests) -> dual build (ESM + CJS + .d.ts) -> unit and
# real-server tests (node:test) -> npm pack -> install the tarball into a scratch project and
# import it with ESM `import`, CJS `require` and TypeScript (NodeNext, both module kinds) ->
# with ORCH_API_URL: install from the local path into a fresh `npm init -y` project and run the
# README's quick-start blocks verbatim (scripts/readme-quickstart.mjs).
# Ends with one line `node-sdk: N passed, N failed, N skipped`; exits non-zero on any failure.
set -uo pipefail

SDK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$SDK_DIR"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/node-sdk-ci.XXXXXX")"
STEP="start"
PASSED=0
FAILED=0
SKIPPED=0
STARTED=$SECONDS

finish() {
  local rc=$?
  rm -rf "$WORK"
  if [ "$rc" -ne 0 ]; then
    echo "node-sdk ci: FAILED in step '$STEP' (exit $rc)"
    [ "$FAILED" -eq 0 ] && FAILED=1
  fi
  echo "node-sdk ci: $((SECONDS - STARTED)) s"
  echo "node-sdk: $PASSED passed, $FAILED failed, $SKIPPED skipped"
  exit "$rc"
}
trap finish EXIT
set -e

step() {
  STEP="$1"
  echo
  echo "==> $1"
}

export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

step "npm ci"
node -e 'const [maj, min] = process.versions.node.split(".").map(Number); if (maj < 20) { console.error(`Node >= 20 needed, this is ${process.version}`); process.exit(1); }'
npm ci --no-audit --no-fund

TSC="node $SDK_DIR/node_modules/typescript/bin/tsc"

step "type check (tsc --strict, src + tests)"
rm -rf .test-build
$TSC -p tsconfig.test.json

step "build (dist/esm + dist/cjs)"
node scripts/build.mjs

step "tests (unit; real server when ORCH_API_URL is set)"
if [ -z "${ORCH_API_URL:-}" ]; then
  echo "ORCH_API_URL is not set: the real-server suite is skipped"
else
  echo "real-server suite against $ORCH_API_URL"
fi
TAP="$WORK/tests.tap"
set +e
node --test --test-concurrency=1 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$TAP" \
  .test-build/test/*.test.js
TEST_RC=$?
set -e
count() { { grep -E "^# $1 [0-9]+$" "$TAP" || echo "# $1 0"; } | tail -1 | awk '{print $3}'; }
PASSED=$(count pass)
FAILED=$(count fail)
SKIPPED=$(count skipped)
SKIPPED_SUITES=$(grep -c "# SKIP" "$TAP" || true)
[ "$SKIPPED_SUITES" -gt "$SKIPPED" ] && SKIPPED=$SKIPPED_SUITES
CANCELLED=$(count cancelled)
FAILED=$((FAILED + CANCELLED))
if [ "$TEST_RC" -ne 0 ] || [ "$FAILED" -ne 0 ] || [ "$PASSED" -eq 0 ]; then
  exit 1
fi

step "npm pack"
TARBALL="$(npm pack --ignore-scripts --pack-destination "$WORK" --silent | tail -1)"
TARBALL="$WORK/$TARBALL"
tar -tzf "$TARBALL" | sort > "$WORK/contents.txt"
cat "$WORK/contents.txt"
for f in package/package.json package/README.md package/LICENSE package/dist/esm/index.js package/dist/esm/index.d.ts \
  package/dist/esm/package.json package/dist/cjs/index.js package/dist/cjs/index.d.ts package/dist/cjs/package.json; do
  grep -qx "$f" "$WORK/contents.txt" || { echo "missing from the tarball: $f"; exit 1; }
done
tar -xzOf "$TARBALL" package/LICENSE | grep -q "MIT License" || { echo "the packed LICENSE is not the MIT text"; exit 1; }
tar -xzOf "$TARBALL" package/package.json | grep -q '"license": "MIT"' || { echo "package.json does not say MIT"; exit 1; }
if grep -Eq '^package/(src|test|node_modules|\.test-build)/' "$WORK/contents.txt"; then
  echo "the tarball ships sources or build leftovers"; exit 1
fi

smoke() {
  local name="$1"; shift
  if "$@"; then
    PASSED=$((PASSED + 1)); echo "ok - $name"
  else
    FAILED=$((FAILED + 1)); echo "not ok - $name"
  fi
}

step "install the tarball into a scratch project"
APP="$WORK/app"
mkdir -p "$APP"
cd "$APP"
echo '{"name":"scratch-app","version":"1.0.0","private":true}' > package.json
npm install --no-audit --no-fund --no-package-lock "$TARBALL"

cat > esm.mjs <<'EOF'
import assert from "node:assert/strict";
import { Orchestrator, Webhook, errors, Page, VERSION } from "@payment-orchestrator/node";
import * as whole from "@payment-orchestrator/node";
const c = new Orchestrator({ apiKey: "sk_x", baseUrl: "http://127.0.0.1:9", fetch: async () => new Response(JSON.stringify({ error: { type: "not_found", code: "resource_missing", message: "no" } }), { status: 404 }) });
await assert.rejects(c.payments.retrieve("pay_1"), errors.NotFoundError);
await assert.rejects(c.payments.retrieve("pay_1"), whole.NotFoundError);
const wh = new Webhook("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
assert.equal(wh.sign("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553, '{"email":"test@example.com","username":"test_user"}'), "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
assert.equal(typeof Page, "function");
assert.match(import.meta.resolve("@payment-orchestrator/node"), /\/dist\/esm\/index\.js$/);
console.log(`ESM import ok (${VERSION})`);
EOF
cat > cjs.cjs <<'EOF'
const assert = require("node:assert/strict");
const { Orchestrator, Webhook, errors, VERSION } = require("@payment-orchestrator/node");
assert.match(require.resolve("@payment-orchestrator/node"), /\/dist\/cjs\/index\.js$/);
const c = new Orchestrator({ apiKey: "sk_x", baseUrl: "http://127.0.0.1:9", maxRetries: 0, fetch: async () => new Response("{}", { status: 503 }) });
c.payments.create({ amount: 1, currency: "BRL", method: "pix" }).then(
  () => { throw new Error("expected an error"); },
  (e) => {
    assert.ok(e instanceof errors.ServiceUnavailableError);
    assert.ok(e.idempotencyKey);
    const wh = new Webhook(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]);
    assert.equal(wh.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}'), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    console.log(`CJS require ok (${VERSION})`);
  },
).catch((e) => { console.error(e); process.exit(1); });
EOF
cat > types.mts <<'EOF'
import { Orchestrator, Webhook, errors, type Payment, type WebhookEvent } from "@payment-orchestrator/node";
const c = new Orchestrator({ apiKey: "k", baseUrl: "http://x" });
export async function f(): Promise<string | null> {
  const p: Payment = await c.payments.create({ amount: 1, currency: "BRL", method: "pix" }, { idempotencyKey: "a" });
  const created = await c.payments.create({ amount: 1, currency: "BRL", method: "pix" });
  for await (const item of c.payments.list({ limit: 10 })) { const q: Payment = item; void q; }
  const ev: WebhookEvent = new Webhook("whsec_x").verify("{}", {});
  void ev; void p;
  try { await c.gateways.list(); } catch (e) { if (e instanceof errors.APIError) return e.code; }
  return created.lastResponse.idempotencyKey;
}
EOF
cat > types.cts <<'EOF'
import sdk = require("@payment-orchestrator/node");
const c = new sdk.Orchestrator({ apiKey: "k", baseUrl: "http://x" });
export const r: Promise<sdk.Payment> = c.payments.retrieve("pay_1");
export const isErr = (e: unknown): boolean => e instanceof sdk.errors.IdempotencyKeyReusedError;
EOF
cat > tsconfig.json <<EOF
{
  "compilerOptions": {
    "module": "NodeNext", "moduleResolution": "NodeNext", "target": "ES2022", "strict": true,
    "noEmit": true, "skipLibCheck": false, "types": ["node"], "typeRoots": ["$SDK_DIR/node_modules/@types"]
  },
  "files": ["types.mts", "types.cts"]
}
EOF

step "smoke: ESM import, CJS require, TypeScript types"
set +e
smoke "ESM import of the installed tarball" node esm.mjs
smoke "CJS require of the installed tarball" node cjs.cjs
smoke "TypeScript (NodeNext) resolves import and require types" $TSC -p tsconfig.json
set -e
cd "$SDK_DIR"
STEP="smoke checks"
[ "$FAILED" -eq 0 ]

step "README quick start, verbatim, in a fresh npm init -y project (install from the local path)"
if [ -z "${ORCH_API_URL:-}" ]; then
  echo "ORCH_API_URL is not set: the README quick start is SKIPPED (it needs a dev server)"
  SKIPPED=$((SKIPPED + 1))
else
  QS="$WORK/quickstart"
  mkdir -p "$QS"
  ( cd "$QS" && npm init -y >/dev/null && npm install --no-audit --no-fund "$SDK_DIR" )
  set +e
  node scripts/readme-quickstart.mjs "$QS" | tee "$WORK/quickstart.out"
  set -e
  QS_PASS=$(grep -c '^ok - ' "$WORK/quickstart.out" || true)
  QS_FAIL=$(grep -c '^not ok - ' "$WORK/quickstart.out" || true)
  PASSED=$((PASSED + QS_PASS))
  FAILED=$((FAILED + QS_FAIL))
  [ "$QS_PASS" -gt 0 ] || FAILED=$((FAILED + 1))
  STEP="README quick start"
  [ "$FAILED" -eq 0 ]
fi
STEP="done"
