/**
 * Reads the repository's public contract, docs/openapi.yaml, for the parity tests: the SDK is
 * held against the spec itself, not against a copy that could drift with it.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

/** The SDK folder (the one holding this package's package.json), found upward from this file. */
export function sdkDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && readFileSync(pkg, "utf8").includes('"name": "@payment-orchestrator/node"')) return dir;
    dir = dirname(dir);
  }
  throw new Error("cannot find the SDK folder (package.json of @payment-orchestrator/node)");
}

/** `../../docs/openapi.yaml` from the SDK folder. */
export const SPEC_PATH = join(sdkDir(), "..", "..", "docs", "openapi.yaml");

type Json = Record<string, unknown>;

export interface SpecOperation {
  operationId: string;
  method: string;
  path: string;
  /** Names of the documented query parameters. */
  query: string[];
  /** Names of the documented request-body properties (every alternative of an anyOf/oneOf). */
  body: string[];
}

export function loadSpec(): Json {
  return parse(readFileSync(SPEC_PATH, "utf8")) as Json;
}

function isObj(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Follows a local `$ref` (`#/components/...`). */
export function deref(spec: Json, node: unknown): unknown {
  let n = node;
  for (let i = 0; i < 10 && isObj(n) && typeof n["$ref"] === "string"; i++) {
    const ref = n["$ref"];
    if (!ref.startsWith("#/")) throw new Error(`unsupported $ref ${ref}`);
    n = ref
      .slice(2)
      .split("/")
      .reduce<unknown>((acc, k) => (isObj(acc) ? acc[k] : undefined), spec);
  }
  return n;
}

/** Property names of a schema, through `$ref`, `allOf`, `anyOf` and `oneOf`. */
export function propertyNames(spec: Json, schema: unknown): string[] {
  const s = deref(spec, schema);
  if (!isObj(s)) return [];
  const out = new Set<string>();
  if (isObj(s["properties"])) for (const k of Object.keys(s["properties"])) out.add(k);
  // A map with a closed key set (e.g. Routing: `propertyNames: { enum: [pix, card, boleto] }`).
  const names = deref(spec, s["propertyNames"]);
  if (isObj(names) && Array.isArray(names["enum"])) for (const k of names["enum"]) out.add(String(k));
  for (const key of ["allOf", "anyOf", "oneOf"]) {
    const list = s[key];
    if (Array.isArray(list)) for (const sub of list) for (const k of propertyNames(spec, sub)) out.add(k);
  }
  return [...out].sort();
}

const METHODS = ["get", "post", "put", "patch", "delete"];

/** Every operation of the spec with its method, path, query parameters and body properties. */
export function specOperations(spec: Json): SpecOperation[] {
  const out: SpecOperation[] = [];
  const paths = spec["paths"];
  if (!isObj(paths)) throw new Error("the spec has no paths");
  for (const [path, item] of Object.entries(paths)) {
    if (!isObj(item)) continue;
    const shared = Array.isArray(item["parameters"]) ? item["parameters"] : [];
    for (const method of METHODS) {
      const op = item[method];
      if (!isObj(op) || typeof op["operationId"] !== "string") continue;
      const params = [...shared, ...(Array.isArray(op["parameters"]) ? op["parameters"] : [])]
        .map((p) => deref(spec, p))
        .filter(isObj);
      const query = params.filter((p) => p["in"] === "query").map((p) => String(p["name"]));
      let body: string[] = [];
      const rb = deref(spec, op["requestBody"]);
      if (isObj(rb) && isObj(rb["content"])) {
        const json = rb["content"]["application/json"];
        if (isObj(json)) body = propertyNames(spec, json["schema"]);
      }
      out.push({ operationId: op["operationId"], method: method.toUpperCase(), path, query: query.sort(), body });
    }
  }
  return out;
}

/** The `enum` of `components.schemas.Error.properties.error.properties.<field>`, when the spec has one. */
export function errorEnum(spec: Json, field: "type" | "code"): string[] | null {
  const error = deref(spec, { $ref: "#/components/schemas/Error" });
  const inner = isObj(error) && isObj(error["properties"]) ? deref(spec, error["properties"]["error"]) : undefined;
  const props = isObj(inner) && isObj(inner["properties"]) ? inner["properties"] : undefined;
  const f = props ? deref(spec, props[field]) : undefined;
  if (isObj(f) && Array.isArray(f["enum"])) return f["enum"].map(String);
  return null;
}
