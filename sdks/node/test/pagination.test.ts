import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Orchestrator, Page, PagePromise, errors, type Payment } from "../src/index.js";
import { PAYMENT, errorBody, scriptedFetch, type RecordedCall } from "./helpers.js";

/** A fake list endpoint over `total` payments, newest first, honouring limit and starting_after. */
function listServer(total: number) {
  const ids = Array.from({ length: total }, (_, i) => `pay_${String(total - i).padStart(3, "0")}`);
  return scriptedFetch([
    ({ url }: RecordedCall) => {
      const q = new URL(url).searchParams;
      const limit = Number(q.get("limit") ?? "20");
      const after = q.get("starting_after");
      const start = after ? ids.indexOf(after) + 1 : 0;
      const slice = ids.slice(start, start + limit);
      const hasMore = start + limit < ids.length;
      const body = {
        object: "list",
        data: slice.map((id) => ({ ...PAYMENT, id })),
        has_more: hasMore,
        next_cursor: hasMore ? (slice[slice.length - 1] ?? null) : null,
      };
      return new Response(JSON.stringify(body), { status: 200, headers: { "x-request-id": `req_${start}` } });
    },
  ]);
}

function client(fetch: ReturnType<typeof scriptedFetch>["fetch"]) {
  return new Orchestrator({ apiKey: "sk_test", baseUrl: "http://orch.test", fetch, initialRetryDelayMs: 1 });
}

describe("pagination", () => {
  test("await gives the first page with the server's envelope", async () => {
    const s = listServer(5);
    const page = await client(s.fetch).payments.list({ limit: 2 });
    assert.ok(page instanceof Page);
    assert.deepEqual(page.data.map((p) => p.id), ["pay_005", "pay_004"]);
    assert.equal(page.has_more, true);
    assert.equal(page.next_cursor, "pay_004");
    assert.equal(page.hasNextPage(), true);
    assert.equal(page.lastResponse.requestId, "req_0");
    assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(page))), ["object", "data", "has_more", "next_cursor"]);
    assert.equal(s.calls.length, 1);
  });

  test("for await over list() walks every item of every page; limit is the page size", async () => {
    const s = listServer(5);
    const ids: string[] = [];
    for await (const p of client(s.fetch).payments.list({ limit: 2, status: "pending" })) ids.push(p.id);
    assert.deepEqual(ids, ["pay_005", "pay_004", "pay_003", "pay_002", "pay_001"]);
    assert.equal(s.calls.length, 3);
    const urls = s.calls.map((c) => new URL(c.url));
    assert.deepEqual(urls.map((u) => u.searchParams.get("starting_after")), [null, "pay_004", "pay_002"]);
    assert.ok(urls.every((u) => u.searchParams.get("limit") === "2" && u.searchParams.get("status") === "pending"));
  });

  test("for await over an awaited page; iterPages; getNextPage ends with null", async () => {
    const s = listServer(3);
    const page = await client(s.fetch).payments.list({ limit: 2 });
    const ids: string[] = [];
    for await (const p of page) ids.push(p.id);
    assert.deepEqual(ids, ["pay_003", "pay_002", "pay_001"]);
    const sizes: number[] = [];
    for await (const pg of page.iterPages()) sizes.push(pg.data.length);
    assert.deepEqual(sizes, [2, 1]);
    const second = await page.getNextPage();
    assert.ok(second);
    assert.equal(second.hasNextPage(), false);
    assert.equal(await second.getNextPage(), null);
  });

  test("toArray needs maxItems and stops fetching once reached", async () => {
    const s = listServer(10);
    const list = client(s.fetch).payments.list({ limit: 3 });
    assert.ok(list instanceof PagePromise);
    const items: Payment[] = await list.toArray({ maxItems: 4 });
    assert.equal(items.length, 4);
    assert.equal(s.calls.length, 2);
    await assert.rejects(list.toArray({} as { maxItems: number }), TypeError);
  });

  test("breaking out of the loop stops fetching", async () => {
    const s = listServer(10);
    let n = 0;
    for await (const _ of client(s.fetch).payments.list({ limit: 2 })) {
      if (++n === 3) break;
    }
    assert.equal(s.calls.length, 2);
  });

  test("list() is lazy: nothing is requested until awaited or iterated", async () => {
    const s = listServer(1);
    const list = client(s.fetch).events.list({ limit: 1 });
    assert.equal(s.calls.length, 0);
    await list;
    await list; // memoized
    assert.equal(s.calls.length, 1);
  });

  test("an empty list and a failing page", async () => {
    const s = listServer(0);
    const ids: string[] = [];
    for await (const p of client(s.fetch).payments.list()) ids.push(p.id);
    assert.deepEqual(ids, []);
    const bad = scriptedFetch([{ status: 400, body: errorBody("invalid_request", "parameter_invalid_integer", "limit", "limit") }]);
    await assert.rejects(
      (async () => {
        for await (const _ of client(bad.fetch).payments.list({ limit: 500 })) void _;
      })(),
      errors.InvalidRequestError,
    );
  });
});
