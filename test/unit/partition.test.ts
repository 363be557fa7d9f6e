import { describe, expect, it } from 'vitest';
import { toBatches } from '../../runtime/bus/batches.js';
import { hashAggregate, partitionOf } from '../../runtime/bus/partition.js';
import type { StoredEvent } from '../../runtime/store/port.js';

/** An aggregate's partition: stable (the same on every machine and version) and spread evenly. */

const rootOf = (n: number): Uint8Array => {
  const root = new Uint8Array(16);
  new DataView(root.buffer).setUint32(12, n);
  root[0] = n % 251;
  return root;
};

describe('partitionOf', () => {
  it('is stable: fixed values that every relay and consumer, of any version, must agree on', () => {
    // FNV-1a 32 then fmix32 (partition.ts), frozen here: changing them would move aggregates between partitions.
    expect([
      partitionOf('account', new Uint8Array(16), 16),
      partitionOf('account', new Uint8Array(16).fill(1), 16),
      partitionOf('ledger', new Uint8Array(16), 16),
      hashAggregate('', new Uint8Array(0)),
    ]).toEqual([14, 15, 9, 0x0578ab1b]);
  });

  it('depends on the domain as well as the root', () => {
    const differ = Array.from({ length: 64 }, (_, n) => rootOf(n)).filter(
      (root) => partitionOf('account', root, 16) !== partitionOf('ledger', root, 16),
    );
    expect(differ.length).toBeGreaterThan(32);
  });

  it('spreads 16,000 aggregates over 16 partitions within 10% of even', () => {
    const counts = new Array<number>(16).fill(0);
    for (let n = 0; n < 16_000; n += 1) counts[partitionOf('account', rootOf(n), 16)]! += 1;
    for (const count of counts) expect(Math.abs(count - 1000)).toBeLessThan(100);
  });

  it('is 0 for one partition, and always within range', () => {
    expect(partitionOf('account', rootOf(7), 1)).toBe(0);
    for (let n = 0; n < 1000; n += 1) {
      const partition = partitionOf('d', rootOf(n), 7);
      expect(partition).toBeGreaterThanOrEqual(0);
      expect(partition).toBeLessThan(7);
    }
  });
});

describe('toBatches with partitions', () => {
  const events: StoredEvent[] = Array.from({ length: 200 }, (_, i) => ({
    position: i + 1,
    domain: 'account',
    root: rootOf(i % 20),
    sequence: Math.floor(i / 20),
    createdAt: { seconds: 1_700_000_000, nanos: 0 },
    event: undefined,
    synchronous: false,
  }));

  it('puts each aggregate in the batch of its partition, in sequence order, with the stretch positions', () => {
    const batches = toBatches(events, Number.POSITIVE_INFINITY, 4);
    expect(new Set(batches.map((b) => b.partition)).size).toBeGreaterThan(1);
    for (const { partition, batch } of batches) {
      expect([batch.firstPosition, batch.lastPosition]).toEqual([1, 200]);
      for (const book of batch.books) {
        expect(partitionOf('account', book.cover!.root!.value, 4)).toBe(partition);
        expect(book.pages.map((page) => page.num)).toEqual([...Array(10).keys()]);
      }
    }
    expect(batches.flatMap((b) => b.batch.books).length).toBe(20);
  });
});
