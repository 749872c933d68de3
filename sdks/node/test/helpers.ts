import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { FetchInitLike, FetchLike } from "../src/index.js";

export interface RecordedCall {
  url: string;
  init: FetchInitLike;
}

export type Step =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | Error
  | ((call: RecordedCall) => Promise<Response> | Response);

/** A fetch that answers from a script, one step per call, and records every call. */
export function scriptedFetch(steps: Step[]): { fetch: FetchLike; calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  let i = 0;
  const fetch: FetchLike = async (url, init) => {
    const call = { url, init };
    calls.push(call);
    const step = steps[Math.min(i++, steps.length - 1)];
    if (step === undefined) throw new Error("script is empty");
    if (step instanceof Error) throw step;
    if (typeof step === "function") return step(call);
    const body =
      step.body === undefined ? "" : typeof step.body === "string" ? step.body : JSON.stringify(step.body);
    return new Response(body, {
      status: step.status,
      headers: { "content-type": "application/json", ...(step.headers ?? {}) },
    });
  };
  return { fetch, calls };
}

/** A fetch failure shaped like undici's: `TypeError: fetch failed` with the socket error as cause. */
export function networkError(code: string): TypeError {
  const cause = Object.assign(new Error(`socket error ${code}`), { code });
  return new TypeError("fetch failed", { cause });
}

export function errorBody(type: string, code: string, message = "x", param?: string): unknown {
  return { error: { type, code, message, ...(param ? { param } : {}) } };
}

export const PAYMENT = {
  id: "pay_01TEST",
  livemode: false,
  status: "pending",
  amount: 1990,
  currency: "BRL",
  method: "pix",
  gateway: "asaas",
  gateway_payment_id: "sim_1",
  reference: null,
  description: null,
  metadata: {},
  pix: null,
  boleto: null,
  next_action: null,
  failure: null,
  refunded_amount: 0,
  refunds: [],
  overdue_at: null,
  attempts: [],
  created_at: "2026-01-01T00:00:00.000Z",
  updated_at: "2026-01-01T00:00:00.000Z",
  version: 1,
};

export type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>;

export interface LocalServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 with a random port. */
export async function startServer(handler: Handler): Promise<LocalServer> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      Promise.resolve(handler(req, res, Buffer.concat(chunks))).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(err));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Forwards a request received by a test proxy to `target` and writes the answer back. */
export async function forward(
  target: string,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
): Promise<void> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (typeof v === "string" && !["host", "connection", "content-length"].includes(k)) headers[k] = v;
  }
  const method = req.method ?? "GET";
  const upstream = await fetch(target + (req.url ?? "/"), {
    method,
    headers,
    ...(method === "GET" || method === "HEAD" ? {} : { body }),
  });
  const text = await upstream.text();
  const out: Record<string, string> = {};
  upstream.headers.forEach((v, k) => {
    if (!["content-length", "connection", "transfer-encoding", "keep-alive"].includes(k)) out[k] = v;
  });
  res.writeHead(upstream.status, out);
  res.end(text);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `fn` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
