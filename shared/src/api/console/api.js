// The API client: same origin, the tenant key from sessionStorage, errors normalized.
const KEY = "orch_key";

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status; this.type = e.type; this.code = e.code; this.param = e.param; this.requestId = e.request_id;
  }
  // A missing route (a feature this server doesn't have yet), as opposed to a missing resource.
  get routeMissing() { return this.status === 404 && /no such route/i.test(this.message); }
  get retryable() { return this.status === 409 || this.status === 503 || this.status === 429 || this.status === 0; }
}

const MODE = "orch_mode";

export function getKey() { return sessionStorage.getItem(KEY); }
export function setKey(k) { sessionStorage.setItem(KEY, k); }
export function clearKey() {
  for (const k of [KEY, MODE, "orch_key_test", "orch_key_live", "orch_ident_test", "orch_ident_live"]) sessionStorage.removeItem(k);
}

/** The console's mode toggle: the key of each mode signed in with during this tab's life (a
 *  tenant's test and live keys are different secrets; neither is derivable from the other). */
export function rememberKey(key, mode) { sessionStorage.setItem(`orch_key_${mode}`, key); }
export function keyOfMode(mode) { return sessionStorage.getItem(`orch_key_${mode}`); }
/** Makes `key` (of `mode`) the active one, keeping the other mode's key for the toggle. */
export function useKey(key, mode) {
  sessionStorage.setItem(KEY, key); sessionStorage.setItem(MODE, mode); rememberKey(key, mode);
}

/** The mode ("test" or "live") of the signed-in key: its prefix (`sk_test_`, `sk_live_`), else
 *  what the server says (`livemode` of `/v1/usage`: a key of neither form keeps its tenant's
 *  mode). Kept next to the key for the tab's life. */
export async function keyMode(key = getKey()) {
  const known = key === getKey() ? sessionStorage.getItem(MODE) : null;
  if (known === "test" || known === "live") return known;
  let mode = key && key.startsWith("sk_test_") ? "test" : key && key.startsWith("sk_live_") ? "live" : null;
  if (!mode) {
    try {
      const { data } = await api("GET", "/v1/usage", { key, quiet401: true });
      mode = data && data.livemode === false ? "test" : "live";
    } catch { mode = "live"; }
  }
  if (key === getKey()) sessionStorage.setItem(MODE, mode);
  return mode;
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(f) { onUnauthorized = f; }

export function newIdempotencyKey(prefix) {
  return `console-${prefix}-${crypto.randomUUID()}`;
}

/** Calls the API. `opts`: {body, idem, query, key, quiet401}. Resolves {status, data}. */
export async function api(method, path, opts = {}) {
  const key = opts.key || getKey();
  const headers = { Accept: "application/json" };
  if (key) headers.Authorization = `Bearer ${key}`;
  if (opts.idem) headers["Idempotency-Key"] = opts.idem;
  let body;
  if (opts.body !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(opts.body); }
  let url = path;
  if (opts.query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
    const s = q.toString();
    if (s) url += `?${s}`;
  }
  let resp;
  try {
    resp = await fetch(url, { method, headers, body, cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer" });
  } catch (e) {
    throw new ApiError(0, { error: { message: "network" } });
  }
  let data = null;
  const text = await resp.text();
  if (text) { try { data = JSON.parse(text); } catch { data = null; } }
  if (resp.status === 401 && !opts.quiet401) {
    onUnauthorized();
    throw new ApiError(401, data);
  }
  if (!resp.ok) throw new ApiError(resp.status, data);
  return { status: resp.status, data, replayed: resp.headers.get("Idempotent-Replayed") === "true" };
}

/** Every page of a cursor list, calling `each(page)`; stops when `each` returns false. */
export async function pages(path, query, each) {
  let after;
  for (;;) {
    const { data } = await api("GET", path, { query: { ...query, starting_after: after } });
    if ((await each(data)) === false) return;
    if (!data.has_more || !data.next_cursor) return;
    after = data.next_cursor;
  }
}
