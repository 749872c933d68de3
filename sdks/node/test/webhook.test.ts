import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { inspect } from "node:util";
import * as official from "standardwebhooks";
import {
  Webhook,
  errors,
  WebhookHeaderError,
  WebhookPayloadError,
  WebhookRawBodyError,
  WebhookSignatureError,
  WebhookTimestampError,
  WebhookVerificationError,
} from "../src/index.js";

// The vectors of the server's signing tests (shared/src/signing/standard_webhooks.rs), which are
// the upstream Standard Webhooks vectors.
const VECTOR_A = {
  secret: "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
  id: "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
  ts: 1649367553,
  body: '{"email":"test@example.com","username":"test_user"}',
  sig: "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
};
const VECTOR_B = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  ts: 1614265330,
  body: '{"test": 2432232314}',
  sig: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};
const OLD = VECTOR_B.secret;
const NEW = VECTOR_A.secret;
const TENANT_A = "whsec_deNBX1rNhVB82yDA0ttry1Yakpbc3sfy";

const EVENT = JSON.stringify({
  id: "evt_01TEST",
  type: "payment.succeeded",
  created_at: "2026-01-01T00:00:00.000Z",
  data: { id: "pay_01TEST", status: "succeeded" },
});

function headers(id: string, ts: number, sig: string): Record<string, string> {
  return { "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": sig };
}

describe("Webhook.sign: shared vectors", () => {
  test("vector A and B", () => {
    assert.equal(new Webhook(VECTOR_A.secret).sign(VECTOR_A.id, VECTOR_A.ts, VECTOR_A.body), VECTOR_A.sig);
    assert.equal(new Webhook(VECTOR_B.secret).sign(VECTOR_B.id, VECTOR_B.ts, VECTOR_B.body), VECTOR_B.sig);
    // A Date and bytes give the same; the prefix is optional.
    assert.equal(
      new Webhook(VECTOR_A.secret.slice(6)).sign(VECTOR_A.id, new Date(VECTOR_A.ts * 1000), Buffer.from(VECTOR_A.body)),
      VECTOR_A.sig,
    );
  });

  test("rotation: one signature per secret, either secret verifies, others do not", () => {
    const h = new Webhook([NEW, OLD]).sign("msg_1", 1000, "{}");
    assert.equal(h.split(" ").length, 2);
    const opts = { now: 1010 };
    // "{}" is not an event: a valid signature over it is a payload error, which proves the match.
    assert.throws(() => new Webhook(OLD).verify("{}", headers("msg_1", 1000, h), opts), WebhookPayloadError);
    assert.throws(() => new Webhook(NEW).verify("{}", headers("msg_1", 1000, h), opts), WebhookPayloadError);
    assert.throws(
      () => new Webhook(OLD).verify("{}", headers("msg_1", 1000, "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="), opts),
      WebhookSignatureError,
    );
    assert.throws(() => new Webhook(OLD).verify("{x}", headers("msg_1", 1000, h), opts), WebhookSignatureError);
    assert.throws(() => new Webhook(OLD).verify("{}", headers("msg_1", 1000, h), { now: 1400 }), WebhookTimestampError);
  });
});

describe("Webhook.verify", () => {
  const wh = new Webhook(TENANT_A);
  const now = 1_800_000_000;
  const sig = wh.sign("evt_01TEST", now, EVENT);

  test("returns the typed event", () => {
    const ev = wh.verify(EVENT, headers("evt_01TEST", now, sig), { now });
    assert.equal(ev.id, "evt_01TEST");
    assert.equal(ev.type, "payment.succeeded");
    if (ev.type === "payment.succeeded") assert.equal(ev.data.status, "succeeded");
  });

  test("accepts Buffer, Uint8Array, ArrayBuffer; Fetch Headers; Node header arrays; any case", () => {
    const buf = Buffer.from(EVENT);
    const u8 = new Uint8Array(buf);
    for (const body of [buf, u8, u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength)]) {
      assert.equal(wh.verify(body, headers("evt_01TEST", now, sig), { now }).id, "evt_01TEST");
    }
    const fetchHeaders = new Headers(headers("evt_01TEST", now, sig));
    assert.equal(wh.verify(EVENT, fetchHeaders, { now }).id, "evt_01TEST");
    assert.equal(
      wh.verify(EVENT, { "Webhook-Id": "evt_01TEST", "WEBHOOK-TIMESTAMP": String(now), "webhook-signature": [sig] }, { now }).id,
      "evt_01TEST",
    );
  });

  test("several signatures: any v1 match wins; other versions and junk entries are skipped", () => {
    const bogus = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
    for (const header of [
      `${bogus} ${sig}`,
      `v1a,abcd ${sig}`,
      `garbage ${sig}`,
      `v1,!!!notbase64 ${sig}`,
      `v1, ${sig}`,
      `${bogus}, ${sig}`, // repeated headers joined by Node with ", "
      `  ${sig}  `,
    ]) {
      assert.equal(wh.verify(EVENT, headers("evt_01TEST", now, header), { now }).id, "evt_01TEST", header);
    }
  });

  test("malformed signature headers never crash: a WebhookHeaderError", () => {
    for (const header of ["garbage", "v1", "v1,", "v1,!!!", ",abc", "v1,abc def", "v2,AAAA"]) {
      const err = (() => {
        try {
          wh.verify(EVENT, headers("evt_01TEST", now, header), { now });
        } catch (e) {
          return e;
        }
        return null;
      })();
      assert.ok(err instanceof WebhookVerificationError, `${header}: ${String(err)}`);
      assert.ok(err instanceof WebhookHeaderError || err instanceof WebhookSignatureError, header);
    }
    assert.throws(() => wh.verify(EVENT, headers("evt_01TEST", now, "v1,!!!"), { now }), WebhookHeaderError);
    // Base64, but not 32 bytes: no HMAC-SHA256 at all, so malformed (as in the Python SDK).
    assert.throws(() => wh.verify(EVENT, headers("evt_01TEST", now, "v1,AAAA"), { now }), WebhookHeaderError);
  });

  test("tampered body, tampered id or timestamp, wrong secret: WebhookSignatureError", () => {
    assert.throws(() => wh.verify(EVENT.replace("succeeded", "failed"), headers("evt_01TEST", now, sig), { now }), WebhookSignatureError);
    assert.throws(() => wh.verify(EVENT + " ", headers("evt_01TEST", now, sig), { now }), WebhookSignatureError);
    assert.throws(() => wh.verify(EVENT, headers("evt_other", now, sig), { now }), WebhookSignatureError);
    assert.throws(() => wh.verify(EVENT, headers("evt_01TEST", now + 1, sig), { now }), WebhookSignatureError);
    assert.throws(() => new Webhook(OLD).verify(EVENT, headers("evt_01TEST", now, sig), { now }), WebhookSignatureError);
  });

  test("timestamp tolerance in both directions, distinct reasons, configurable", () => {
    const at = (delta: number) => {
      try {
        wh.verify(EVENT, headers("evt_01TEST", now, sig), { now: now + delta });
        return "ok";
      } catch (e) {
        return e instanceof WebhookTimestampError ? e.reason : String(e);
      }
    };
    assert.equal(at(300), "ok");
    assert.equal(at(-300), "ok");
    assert.equal(at(301), "too_old");
    assert.equal(at(-301), "too_new");
    assert.doesNotThrow(() => wh.verify(EVENT, headers("evt_01TEST", now, sig), { now: now + 1000, tolerance: 1000 }));
    assert.throws(() => new Webhook(TENANT_A, { tolerance: 10 }).verify(EVENT, headers("evt_01TEST", now, sig), { now: now + 11 }), WebhookTimestampError);
    // Real clock: a fresh signature verifies without `now`.
    const t = Math.floor(Date.now() / 1000);
    assert.equal(wh.verify(EVENT, headers("evt_01TEST", t, wh.sign("evt_01TEST", t, EVENT))).id, "evt_01TEST");
    // An extreme timestamp is out of tolerance, not a crash.
    assert.throws(() => wh.verify(EVENT, headers("evt_01TEST", 0, sig), { now }), WebhookTimestampError);
    assert.throws(() => wh.verify(EVENT, { ...headers("evt_01TEST", 0, sig), "webhook-timestamp": "99999999999999999999" }, { now }), WebhookTimestampError);
  });

  test("a parsed body is refused with a clear raw-body error", () => {
    for (const body of [JSON.parse(EVENT) as unknown, null, undefined, [1], 42]) {
      assert.throws(
        () => wh.verify(body as string, headers("evt_01TEST", now, sig), { now }),
        (e: unknown) => e instanceof WebhookRawBodyError && /raw request body/.test(e.message) && /express\.raw/.test(e.message),
      );
    }
  });

  test("missing or malformed headers", () => {
    assert.throws(() => wh.verify(EVENT, {}, { now }), /missing required header\(s\): webhook-id, webhook-timestamp, webhook-signature/);
    assert.throws(() => wh.verify(EVENT, { "webhook-id": "x", "webhook-timestamp": "12a", "webhook-signature": sig }, { now }), WebhookHeaderError);
    assert.throws(() => wh.verify(EVENT, { "webhook-id": "x", "webhook-timestamp": "-5", "webhook-signature": sig }, { now }), WebhookHeaderError);
  });

  test("a valid signature over a body that is not an event: WebhookPayloadError", () => {
    for (const body of ["not json", "[1,2]", '{"id":"x"}']) {
      const h = headers("evt_x", now, wh.sign("evt_x", now, body));
      assert.throws(() => wh.verify(body, h, { now }), WebhookPayloadError);
    }
  });

  test("bad secrets are refused at construction; the secret never shows", () => {
    assert.throws(() => new Webhook("whsec_not base64!"), TypeError);
    assert.throws(() => new Webhook(""), TypeError);
    assert.throws(() => new Webhook([]), TypeError);
    const s = inspect(wh, { showHidden: true, depth: 5 }) + JSON.stringify(wh);
    assert.ok(!s.includes(TENANT_A.slice(6)));
  });

  test("every webhook error is an OrchestratorError", () => {
    assert.ok(new WebhookSignatureError("x") instanceof errors.OrchestratorError);
    assert.ok(new WebhookRawBodyError("x") instanceof errors.WebhookVerificationError);
  });
});

describe("cross-check with the official standardwebhooks package", () => {
  const now = Math.floor(Date.now() / 1000);

  test("identical signatures for the vectors and for random messages", () => {
    for (const v of [VECTOR_A, VECTOR_B]) {
      assert.equal(new official.Webhook(v.secret).sign(v.id, new Date(v.ts * 1000), v.body), v.sig);
    }
    for (let i = 0; i < 20; i++) {
      const body = JSON.stringify({ i, s: "ação ✓", r: Math.random() });
      const id = `evt_${i}`;
      const ours = new Webhook(TENANT_A).sign(id, now, body);
      const theirs = new official.Webhook(TENANT_A).sign(id, new Date(now * 1000), body);
      assert.equal(ours, theirs);
    }
  });

  test("what we sign the official verifier accepts, and the reverse; both reject tampering", () => {
    const ours = new Webhook(TENANT_A);
    const theirs = new official.Webhook(TENANT_A);
    const h = ours.generateTestHeaders(EVENT, { msgId: "evt_01TEST", timestamp: now });
    assert.deepEqual(theirs.verify(EVENT, h), JSON.parse(EVENT));
    const h2 = { "webhook-id": "evt_01TEST", "webhook-timestamp": String(now), "webhook-signature": theirs.sign("evt_01TEST", new Date(now * 1000), EVENT) };
    assert.equal(ours.verify(EVENT, h2).id, "evt_01TEST");
    assert.throws(() => theirs.verify(EVENT.replace("succeeded", "failed"), h), official.WebhookVerificationError);
    assert.throws(() => ours.verify(EVENT.replace("succeeded", "failed"), h), WebhookSignatureError);
    const rotated = new Webhook([NEW, TENANT_A]).generateTestHeaders(EVENT, { msgId: "evt_01TEST", timestamp: now });
    assert.deepEqual(theirs.verify(EVENT, rotated), JSON.parse(EVENT));
  });
});

/**
 * The bad-header table both SDKs share (sdks/python/tests has the same cases by the same names):
 * one defect per case, and the same error class name in Node and Python.
 */
describe("bad headers: the table shared with the Python SDK", () => {
  const secret = TENANT_A;
  const wh = new Webhook(secret);
  const now = 1_700_000_000;
  const id = "evt_01TEST";
  const sig = wh.sign(id, now, EVENT);
  const good = headers(id, now, sig);
  const without = (name: string): Record<string, string> =>
    Object.fromEntries(Object.entries(good).filter(([k]) => k !== name));
  const otherScheme = `v1a,${sig.slice(3)}`;
  const cases: Array<{ name: string; body?: string; headers: Record<string, string>; error: string }> = [
    { name: "missing webhook-id", headers: without("webhook-id"), error: "WebhookHeaderError" },
    { name: "missing webhook-timestamp", headers: without("webhook-timestamp"), error: "WebhookHeaderError" },
    { name: "missing webhook-signature", headers: without("webhook-signature"), error: "WebhookHeaderError" },
    { name: "empty webhook-signature", headers: { ...good, "webhook-signature": "" }, error: "WebhookHeaderError" },
    { name: "timestamp not an integer", headers: { ...good, "webhook-timestamp": "12a" }, error: "WebhookHeaderError" },
    { name: "signature without a version", headers: { ...good, "webhook-signature": "abc" }, error: "WebhookHeaderError" },
    { name: "signature not base64", headers: { ...good, "webhook-signature": "v1,!!!" }, error: "WebhookHeaderError" },
    { name: "signature of the wrong length", headers: { ...good, "webhook-signature": "v1,AAAA" }, error: "WebhookHeaderError" },
    { name: "only another scheme", headers: { ...good, "webhook-signature": otherScheme }, error: "WebhookHeaderError" },
    {
      name: "expired timestamp",
      headers: headers(id, now - 301, wh.sign(id, now - 301, EVENT)),
      error: "WebhookTimestampError",
    },
    {
      name: "timestamp too far in the future",
      headers: headers(id, now + 301, wh.sign(id, now + 301, EVENT)),
      error: "WebhookTimestampError",
    },
    { name: "wrong secret", headers: headers(id, now, new Webhook(OLD).sign(id, now, EVENT)), error: "WebhookSignatureError" },
    { name: "altered body", body: EVENT.replace("succeeded", "failed"), headers: good, error: "WebhookSignatureError" },
    { name: "altered webhook-id", headers: { ...good, "webhook-id": "evt_02OTHER" }, error: "WebhookSignatureError" },
  ];

  test("the untouched delivery verifies (so each case below fails for its one defect)", () => {
    assert.equal(wh.verify(EVENT, good, { now }).id, id);
  });

  for (const c of cases) {
    test(`${c.name} -> ${c.error}`, () => {
      let caught: unknown = null;
      try {
        wh.verify(c.body ?? EVENT, c.headers, { now });
      } catch (e) {
        caught = e;
      }
      assert.ok(caught instanceof WebhookVerificationError, `${c.name}: ${String(caught)}`);
      assert.equal(caught.name, c.error, `${c.name}: ${caught.message}`);
      // Subclasses checked by name only: make sure each name is a class of the SDK.
      assert.ok((errors as Record<string, unknown>)[c.error], c.error);
    });
  }
});
