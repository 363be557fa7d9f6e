import { describe, expect, it } from 'vitest';
import { toBatches } from '../../runtime/bus/batches.js';
import { encodeEventBatch } from '../../runtime/protocol/event-batch-encoder.js';
import type { StoredEvent } from '../../runtime/store/port.js';

/** A relay round cut into bus messages below a size: each fits, nothing is lost, duplicated or reordered. */

/** Events at positions 1..n, round-robin over `aggregates` aggregates of two domains, `bytes` of payload each. */
const log = (n: number, aggregates: number, bytes: (position: number) => number): StoredEvent[] => {
  const next = new Map<number, number>();
  return Array.from({ length: n }, (_, i) => {
    const aggregate = i % aggregates;
    const sequence = next.get(aggregate) ?? 0;
    next.set(aggregate, sequence + 1);
    return {
      position: i + 1,
      domain: aggregate % 2 === 0 ? 'account' : 'ledger',
      root: new Uint8Array(16).fill(aggregate),
      sequence,
      createdAt: { seconds: 1_700_000_000, nanos: 0 },
      event: { typeUrl: 'type.googleapis.com/test.Event', value: new Uint8Array(bytes(i + 1)) },
      synchronous: false,
    };
  });
};

const eventsOf = (batches: ReturnType<typeof toBatches>): string[] =>
  batches.flatMap(({ batch }) =>
    batch.books.flatMap((book) => book.pages.map((page) => `${book.cover!.root!.value[0]}#${page.num}`)),
  );

describe('toBatches with a size bound', () => {
  it('keeps every message below the bound, with every event once, each aggregate in order', () => {
    const events = log(300, 7, (position) => 1000 + (position % 13) * 500);
    const batches = toBatches(events, 64 * 1024);
    expect(batches.length).toBeGreaterThan(10);
    for (const { batch } of batches) expect(encodeEventBatch(batch).length).toBeLessThanOrEqual(64 * 1024);
    const delivered = eventsOf(batches);
    expect([...delivered].sort()).toEqual(eventsOf(toBatches(events)).sort());
    for (let aggregate = 0; aggregate < 7; aggregate += 1) {
      const sequences = delivered
        .filter((e) => e.startsWith(`${aggregate}#`))
        .map((e) => Number(e.split('#')[1]));
      expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    }
  });

  it('cuts in log order: the messages of a domain cover increasing, disjoint stretches of positions', () => {
    const batches = toBatches(
      log(200, 5, () => 3000),
      32 * 1024,
    );
    for (const domain of ['account', 'ledger']) {
      const ranges = batches.filter((b) => b.domain === domain).map(({ batch }) => batch);
      for (let i = 1; i < ranges.length; i += 1) {
        expect(ranges[i]!.firstPosition).toBeGreaterThan(ranges[i - 1]!.lastPosition);
      }
    }
  });

  it('sends an event larger than the bound alone, and the rest around it as usual', () => {
    const events = log(5, 1, (position) => (position === 3 ? 200_000 : 100));
    const batches = toBatches(events, 64 * 1024);
    expect(batches.map(({ batch }) => batch.books.flatMap((book) => book.pages.map((p) => p.num)))).toEqual([
      [0, 1],
      [2],
      [3, 4],
    ]);
  });

  it('without a bound, is one batch per domain as before', () => {
    expect(toBatches(log(50, 4, () => 100_000)).map((b) => b.domain)).toEqual(['account', 'ledger']);
  });
});
