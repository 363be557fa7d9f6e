import { describe, expect, it } from 'vitest';
import { cutBySize } from '../../runtime/projector/call-size.js';
import { encodeEventBatch } from '../../runtime/protocol/event-batch-encoder.js';
import type { EventBook } from '../../runtime/protocol/gen/evented/evented.js';

/** Deliveries cut below a size: every call fits, nothing is lost, reordered or duplicated. */

const book = (root: number, pages: number, bytes: number, snapshot = false): EventBook => ({
  cover: { domain: 'account', root: { value: new Uint8Array(16).fill(root) } },
  snapshot: snapshot ? { sequence: 3, state: { typeUrl: 'state', value: new Uint8Array(10) } } : undefined,
  pages: Array.from({ length: pages }, (_, num) => ({
    num,
    createdAt: { seconds: 1_700_000_000, nanos: 0 },
    Event: { typeUrl: 'type.googleapis.com/account.v1.Opened', value: new Uint8Array(bytes).fill(num % 256) },
    synchronous: false,
  })),
});

const callBytes = (books: EventBook[]): number =>
  encodeEventBatch({ books, firstPosition: 0, lastPosition: 0 }).length;

const pagesOf = (books: EventBook[]): string[] =>
  books.flatMap((b) => b.pages.map((p) => `${b.cover!.root!.value[0]}#${p.num}`));

describe('cutBySize', () => {
  it('keeps books that fit together in one call', () => {
    const books = [book(1, 3, 100), book(2, 2, 100)];
    expect(cutBySize(books, 10_000)).toEqual([books]);
  });

  it('starts a new call before the limit, in order', () => {
    const books = Array.from({ length: 10 }, (_, i) => book(i, 1, 1000));
    const calls = cutBySize(books, 3500);
    expect(calls.length).toBeGreaterThan(3);
    for (const call of calls) expect(callBytes(call)).toBeLessThanOrEqual(3500);
    expect(pagesOf(calls.flat())).toEqual(pagesOf(books));
  });

  it('cuts a book too large for one call into books of consecutive pages, the snapshot with the first', () => {
    const big = book(7, 40, 1000, true);
    const calls = cutBySize([book(1, 1, 10), big, book(2, 1, 10)], 5000);
    for (const call of calls) expect(callBytes(call)).toBeLessThanOrEqual(5000);
    const parts = calls.flat().filter((b) => b.cover!.root!.value[0] === 7);
    expect(parts.length).toBeGreaterThan(5);
    expect(parts.map((b) => b.snapshot !== undefined)).toEqual(parts.map((_, i) => i === 0));
    expect(pagesOf(calls.flat())).toEqual(pagesOf([book(1, 1, 10), big, book(2, 1, 10)]));
  });

  it('sends a single page larger than the limit alone', () => {
    const calls = cutBySize([book(1, 1, 10), book(2, 1, 9000), book(3, 1, 10)], 5000);
    expect(calls.map((call) => pagesOf(call))).toEqual([['1#0'], ['2#0'], ['3#0']]);
  });
});
