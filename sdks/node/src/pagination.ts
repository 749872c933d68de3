/**
 * Cursor pagination. `list()` returns a {@link PagePromise}: `await` it for the first
 * {@link Page}, or `for await` over it (or over any page) to walk every item of every page.
 * `limit` is the page size; to cap the total, use `toArray({ maxItems })` or break out of the loop.
 */
import { attachMeta, type ResponseMeta, type WithResponse } from "./core.js";
import type { ListEnvelope } from "./types.js";

/** Fetches the page that follows `cursor` (the previous page's `next_cursor`). */
export type PageFetcher<T> = (cursor: string) => Promise<Page<T>>;

/** One page of a list: the server's envelope plus helpers. Async-iterable over all items from here on. */
export class Page<T> implements AsyncIterable<T> {
  readonly object = "list" as const;
  /** Items of this page. */
  readonly data: T[];
  readonly has_more: boolean;
  /** Pass as `starting_after` for the next page; null on the last page. */
  readonly next_cursor: string | null;
  declare readonly lastResponse: ResponseMeta;
  readonly #fetchNext: PageFetcher<T>;

  constructor(envelope: ListEnvelope<T>, meta: ResponseMeta, fetchNext: PageFetcher<T>) {
    this.data = Array.isArray(envelope.data) ? envelope.data : [];
    this.has_more = envelope.has_more === true;
    this.next_cursor = typeof envelope.next_cursor === "string" ? envelope.next_cursor : null;
    this.#fetchNext = fetchNext;
    attachMeta(this, meta);
  }

  hasNextPage(): boolean {
    return this.has_more && this.next_cursor !== null;
  }

  /** The next page, or null when this is the last one. */
  async getNextPage(): Promise<Page<T> | null> {
    if (!this.hasNextPage() || this.next_cursor === null) return null;
    return this.#fetchNext(this.next_cursor);
  }

  /** This page, then each following page. */
  async *iterPages(): AsyncGenerator<Page<T>, void, undefined> {
    let page: Page<T> | null = this;
    while (page) {
      yield page;
      page = await page.getNextPage();
    }
  }

  /** Every item of this page and of every following page. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const page of this.iterPages()) {
      yield* page.data;
    }
  }

  /** Collects items across pages, at most `maxItems` (required, so a list cannot grow unbounded). */
  async toArray(opts: { maxItems: number }): Promise<T[]> {
    const max = opts?.maxItems;
    if (typeof max !== "number" || !Number.isInteger(max) || max < 0) {
      throw new TypeError("toArray needs { maxItems: <non-negative integer> }");
    }
    const out: T[] = [];
    if (max === 0) return out;
    for await (const item of this) {
      out.push(item);
      if (out.length >= max) break;
    }
    return out;
  }

  toJSON(): ListEnvelope<T> {
    return { object: "list", data: this.data, has_more: this.has_more, next_cursor: this.next_cursor };
  }
}

/**
 * The value of `list()`: a lazy promise of the first page that is also async-iterable over
 * every item. Nothing is requested until it is awaited or iterated.
 */
export class PagePromise<T> implements PromiseLike<WithResponse<Page<T>>>, AsyncIterable<T> {
  readonly #load: () => Promise<Page<T>>;
  #promise: Promise<Page<T>> | undefined;

  constructor(load: () => Promise<Page<T>>) {
    this.#load = load;
  }

  #get(): Promise<Page<T>> {
    this.#promise ??= this.#load();
    return this.#promise;
  }

  then<R1 = WithResponse<Page<T>>, R2 = never>(
    onfulfilled?: ((value: WithResponse<Page<T>>) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return (this.#get() as Promise<WithResponse<Page<T>>>).then(onfulfilled, onrejected);
  }

  catch<R = never>(
    onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null,
  ): Promise<WithResponse<Page<T>> | R> {
    return this.then(undefined, onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<WithResponse<Page<T>>> {
    return (this.#get() as Promise<WithResponse<Page<T>>>).finally(onfinally);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    const first = await this.#get();
    yield* first;
  }

  /** Every page, starting with the first. */
  async *iterPages(): AsyncGenerator<Page<T>, void, undefined> {
    const first = await this.#get();
    yield* first.iterPages();
  }

  /** Collects items across pages, at most `maxItems`. */
  async toArray(opts: { maxItems: number }): Promise<T[]> {
    const first = await this.#get();
    return first.toArray(opts);
  }

  get [Symbol.toStringTag](): string {
    return "PagePromise";
  }
}
