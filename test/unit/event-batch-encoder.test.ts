import { describe, expect, it } from 'vitest';
import { encodeEventBatch, encodeEventBook } from '../../runtime/protocol/event-batch-encoder.js';
import {
  EventBatch,
  EventBook,
  type EventPage,
  type Snapshot,
} from '../../runtime/protocol/gen/evented/evented.js';

/**
 * The hand-written encoder of the delivery path must produce exactly the generated encoder's bytes, for every
 * shape a book can take: with and without snapshot, pages numbered or forced (0 and false included), missing
 * and empty fields, multi-byte text, negative and pre-1970 times, positions past 2^32.
 */

/** A small deterministic generator (mulberry32), so a failure can be run again. */
const random = (seed: number) => {
  let state = seed;
  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (max: number): number => Math.floor(next() * max);
  const pick = <T>(...options: T[]): T => options[int(options.length)]!;
  const bytes = (max: number): Uint8Array => Uint8Array.from({ length: int(max + 1) }, () => int(256));
  return { int, pick, bytes };
};

type Random = ReturnType<typeof random>;

const text = (r: Random): string =>
  r.pick('', 'account', 'type.googleapis.com/account.v1.MoneyDeposited', 'kontō-ü€𝄞', 'x'.repeat(200));

const any = (r: Random) => ({ typeUrl: text(r), value: r.bytes(r.pick(0, 3, 300)) });

const page = (r: Random): EventPage => ({
  ...r.pick(
    { num: r.pick(0, 1, 127, 128, 16_383, 16_384, 4_294_967_295) },
    { force: r.pick(true, false) },
    {},
  ),
  createdAt: r.pick(
    undefined,
    { seconds: 0, nanos: 0 },
    {
      seconds: r.pick(1, 1_700_000_000, -86_400, 2 ** 40),
      nanos: r.pick(0, 1, 999_999_999, -5),
    },
  ),
  Event: r.pick(undefined, any(r)),
  synchronous: r.pick(true, false),
  origin: r.pick(undefined, {
    correlationId: text(r),
    commandId: text(r),
    commandType: text(r),
    causationId: text(r),
    saga: text(r),
    traceparent: text(r),
  }),
});

const snapshot = (r: Random): Snapshot => ({ sequence: r.pick(0, 5, 300), state: r.pick(undefined, any(r)) });

const book = (r: Random): EventBook => ({
  cover: r.pick(
    undefined,
    { domain: text(r), root: undefined },
    {
      domain: text(r),
      root: { value: r.bytes(r.pick(0, 16)) },
    },
  ),
  snapshot: r.pick(undefined, snapshot(r)),
  pages: Array.from({ length: r.int(6) }, () => page(r)),
});

const batch = (r: Random): EventBatch => ({
  books: Array.from({ length: r.int(5) }, () => book(r)),
  firstPosition: r.pick(0, 1, 300, 2 ** 32 + 7, 2 ** 53 - 1),
  lastPosition: r.pick(0, 2, 2 ** 33),
});

describe('the event batch encoder', () => {
  it('writes the generated encoder’s bytes for 2,000 random batches and books', () => {
    const r = random(20261129);
    for (let i = 0; i < 2000; i++) {
      const b = batch(r);
      expect(encodeEventBatch(b).toString('hex')).toBe(
        Buffer.from(EventBatch.encode(b).finish()).toString('hex'),
      );
      const one = book(r);
      expect(encodeEventBook(one).toString('hex')).toBe(
        Buffer.from(EventBook.encode(one).finish()).toString('hex'),
      );
    }
  });

  it('reads back as what was written', () => {
    const r = random(7);
    const b = batch(r);
    expect(EventBatch.decode(encodeEventBatch(b))).toEqual(EventBatch.decode(EventBatch.encode(b).finish()));
  });
});
