// Runs the README's quick start as written, in a fresh project where the SDK was installed the
// way the README's Install section says. Usage (ci.sh does it):
//   ORCH_API_URL=http://127.0.0.1:8080 node scripts/readme-quickstart.mjs <project dir>
// Every block marked `<!-- quickstart:FILE -->` in README.md is written verbatim to FILE, then
// run against the dev server on a tenant made for this run (so the callback URL it sets touches
// no other test's tenant): pay.mjs (ESM), pay.cjs (CommonJS), pay.mts compiled with the README's
// tsconfig.json, the receiver with one signed delivery and one tampered one, and the test event.
// Prints one `ok - …` / `not ok - …` line per check; exits with the number of failures.
import { spawn } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const SDK_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");
const APP = process.argv[2];
const API = (process.env.ORCH_API_URL ?? "").replace(/\/+$/, "");
const OPERATOR_KEY = process.env.ORCH_OPERATOR_KEY ?? "op_dev_0f1e2d3c4b5a69788796a5b4c3d2e1f0";
const REQUIRED = ["pay.mjs", "pay.cjs", "tsconfig.json", "receiver.mjs", "test-event.mjs"];
const STEP_TIMEOUT_MS = 60_000;

if (!APP || !API) {
  console.error("usage: ORCH_API_URL=… node scripts/readme-quickstart.mjs <project dir>");
  process.exit(2);
}

let failures = 0;
function report(name, ok, detail = "") {
  if (ok) console.log(`ok - quickstart: ${name}`);
  else {
    failures++;
    console.log(`not ok - quickstart: ${name}${detail ? `\n  ${detail.trim().replace(/\n/g, "\n  ")}` : ""}`);
  }
}

/** Runs a command to its end (bounded), with its output. */
function run(cmd, args, env) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: APP, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), STEP_TIMEOUT_MS);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor(what, fn, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (fn()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// 1. The blocks, verbatim.
const readme = readFileSync(join(SDK_DIR, "README.md"), "utf8");
const blocks = new Map();
for (const m of readme.matchAll(/<!-- quickstart:([\w.-]+) -->\s*\n```[a-z]*\n([\s\S]*?)\n```/g)) {
  blocks.set(m[1], `${m[2]}\n`);
}
const missing = REQUIRED.filter((f) => !blocks.has(f));
report(`README has the blocks ${REQUIRED.join(", ")}`, missing.length === 0, `missing: ${missing.join(", ")}`);
for (const [file, text] of blocks) writeFileSync(join(APP, file), text);

// 2. A tenant for this run, made with the installed package's operator client.
const sdk = createRequire(join(APP, "package.json"))("@payment-orchestrator/node");
const tenant = await new sdk.Operator({ apiKey: OPERATOR_KEY, baseUrl: API }).tenants.create({
  name: `node quickstart ${Date.now().toString(36)}`,
});
const env = {
  ORCHESTRATOR_API_KEY: tenant.test_api_key.key,
  ORCHESTRATOR_BASE_URL: API,
  ORCHESTRATOR_WEBHOOK_SECRET: tenant.callback_secret,
  ORCHESTRATOR_LIVE_KEY: tenant.api_key.key,
};
const PAID = /^pay_[0-9A-HJKMNP-TV-Z]{26} pending false \S+/m;

// 3. Create a payment: ESM, CommonJS, TypeScript.
for (const file of ["pay.mjs", "pay.cjs"]) {
  const r = await run(process.execPath, [file], env);
  report(`node ${file} creates a test-mode payment`, r.code === 0 && PAID.test(r.out), r.out);
}
copyFileSync(join(APP, "pay.mjs"), join(APP, "pay.mts"));
const tsc = join(SDK_DIR, "node_modules", "typescript", "bin", "tsc");
const compiled = await run(process.execPath, [tsc, "-p", "tsconfig.json", "--typeRoots", join(SDK_DIR, "node_modules", "@types")], {});
report("pay.mts compiles with the README's tsconfig.json (tsc --strict)", compiled.code === 0, compiled.out);
if (compiled.code === 0) {
  const r = await run(process.execPath, ["build/pay.mjs"], env);
  report("the compiled TypeScript creates a payment", r.code === 0 && PAID.test(r.out), r.out);
}

// 4. The receiver: one signed delivery verified, one tampered refused; then the test event.
const port = await freePort();
const receiver = spawn(process.execPath, ["receiver.mjs"], {
  cwd: APP,
  env: { ...process.env, ...env, PORT: String(port) },
  stdio: ["ignore", "pipe", "pipe"],
});
let received = "";
receiver.stdout.on("data", (d) => (received += d));
receiver.stderr.on("data", (d) => (received += d));
try {
  await waitFor("the receiver to listen", () => received.includes(`listening on ${port}`));
  const wh = new sdk.Webhook(tenant.callback_secret);
  const id = `evt_QUICKSTART${Date.now()}`;
  const body = JSON.stringify({ id, type: "payment.succeeded", livemode: false, created_at: new Date().toISOString(), data: { id: "pay_x" } });
  const post = (b, headers) => fetch(`http://127.0.0.1:${port}/hooks`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: b });
  const signed = wh.generateTestHeaders(body, { msgId: id });
  const okRes = await post(body, signed);
  await waitFor("the receiver's log line", () => received.includes(`verified payment.succeeded ${id}`), 5_000).catch(() => false);
  report("the receiver verifies a signed delivery (204)", okRes.status === 204 && received.includes(`verified payment.succeeded ${id}`), received);
  const badRes = await post(body.replace("succeeded", "failed"), signed);
  await waitFor("the rejection", () => received.includes("rejected WebhookSignatureError"), 5_000).catch(() => false);
  report("the receiver refuses a tampered delivery (400)", badRes.status === 400 && received.includes("rejected WebhookSignatureError"), received);

  // Needs PATCH /v1/settings and POST /v1/webhook_endpoint/test (issue 24).
  const r = await run(process.execPath, ["test-event.mjs"], { ...env, PORT: String(port) });
  const seen = await waitFor("the test event at the receiver", () => /verified webhook\.test evt_/.test(received), 5_000).catch(() => false);
  report("test-event.mjs: the test event is delivered and the receiver verifies it", r.code === 0 && /delivered: true 2\d\d/.test(r.out) && seen, `${r.out}\n${received}`);
} catch (err) {
  report("the receiver harness", false, `${err}\n${received}`);
} finally {
  receiver.kill("SIGTERM");
}

process.exit(Math.min(failures, 100));
