/**
 * The SDK's `ErrorType` / `ErrorCode` unions against the contract: equal to the spec's enums of
 * `components.schemas.Error.properties.error.properties.{type,code}` when the spec has them. While
 * the spec has no `code` enum, the fixed codes of the server's `classify`
 * (shared/src/api/error_response.rs) must be in the SDK's list.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ERROR_CODES, ERROR_TYPES } from "../src/index.js";
import { errorEnum, loadSpec, sdkDir } from "./spec.js";

const spec = loadSpec();
const SERVER_SRC = join(sdkDir(), "..", "..", "shared", "src");

/** `(status, "type", "code".into())` of the server's classify. */
function classifyPairs(): Array<{ type: string; code: string | null }> {
  const src = readFileSync(join(SERVER_SRC, "api", "error_response.rs"), "utf8");
  const body = src.slice(src.indexOf("fn classify"), src.indexOf("\n}\n", src.indexOf("fn classify")));
  const out: Array<{ type: string; code: string | null }> = [];
  for (const m of body.matchAll(/\(\s*\d{3},\s*"([a-z_]+)",\s*(?:"([a-z_]+)"|[^)]*)/g)) {
    out.push({ type: m[1] as string, code: m[2] ?? null });
  }
  return out;
}

describe("error type and code unions", () => {
  test("the server's classify is readable from here", () => {
    assert.ok(classifyPairs().length >= 10);
  });

  test("ErrorType equals the spec's enum (or, without one, covers every type classify sends)", () => {
    const specTypes = errorEnum(spec, "type");
    if (specTypes) {
      assert.deepEqual([...ERROR_TYPES].sort(), [...specTypes].sort());
    }
    const sent = new Set(classifyPairs().map((p) => p.type));
    assert.deepEqual([...sent].filter((t) => !(ERROR_TYPES as readonly string[]).includes(t)), []);
  });

  test("ErrorCode equals the spec's enum (or, without one, covers every code the server visibly sends)", (t) => {
    const specCodes = errorEnum(spec, "code");
    if (specCodes) {
      const sdk = [...ERROR_CODES].sort();
      assert.deepEqual(
        { missing_in_sdk: specCodes.filter((c) => !sdk.includes(c as never)).sort(), not_in_spec: sdk.filter((c) => !specCodes.includes(c)) },
        { missing_in_sdk: [], not_in_spec: [] },
      );
      return;
    }
    t.diagnostic("the spec has no error.code enum yet: checking against the server's classify");
    const fixed = classifyPairs().flatMap((p) => (p.code ? [p.code] : []));
    const known = ERROR_CODES as readonly string[];
    assert.deepEqual(fixed.filter((c) => !known.includes(c)), []);
  });

  test("no duplicates in the unions", () => {
    assert.equal(new Set(ERROR_CODES).size, ERROR_CODES.length);
    assert.equal(new Set(ERROR_TYPES).size, ERROR_TYPES.length);
  });
});
