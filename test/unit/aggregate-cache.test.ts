import { describe, expect, it } from 'vitest';
import {
  createAggregateCache,
  entryBytes,
  type CachedAggregate,
} from '../../runtime/command/aggregate-cache.js';

/** An aggregate whose encoded pages weigh `pageBytes` each. */
const aggregate = (pages: number, pageBytes: number): CachedAggregate => ({
  cover: new Uint8Array(20),
  snapshot: undefined,
  pages: Array.from({ length: pages }, (_, sequence) => ({ sequence, bytes: new Uint8Array(pageBytes) })),
  next: pages,
});

describe('the aggregate cache', () => {
  it('stays under its byte bound, dropping the least recently used aggregates first', () => {
    const cache = createAggregateCache({
      maxAggregates: 10_000,
      maxBytes: 1_000_000,
      maxPagesPerAggregate: 10_000,
    });
    for (let i = 0; i < 100; i += 1) {
      cache.set(`a${i}`, aggregate(10, 10_000)); // 100,020 bytes each: ten fit at most
      expect(cache.bytes).toBeLessThanOrEqual(1_000_000);
    }
    expect(cache.size).toBe(9);
    expect(cache.get('a99')).toBeDefined();
    expect(cache.get('a90')).toBeUndefined();
    expect(cache.bytes).toBe(9 * entryBytes(aggregate(10, 10_000)));
  });

  it('keeps no aggregate larger than the whole bound, and forgets the old entry of one that grew past it', () => {
    const cache = createAggregateCache({ maxAggregates: 10, maxBytes: 1000, maxPagesPerAggregate: 10_000 });
    cache.set('small', aggregate(1, 100));
    cache.set('grows', aggregate(1, 100));
    cache.set('grows', aggregate(20, 100));
    expect(cache.get('grows')).toBeUndefined();
    expect(cache.get('small')).toBeDefined();
    expect(cache.bytes).toBe(120);
  });

  it('still bounds the count, and accounts replaced and deleted entries', () => {
    const cache = createAggregateCache({
      maxAggregates: 2,
      maxBytes: 1_000_000,
      maxPagesPerAggregate: 10_000,
    });
    cache.set('a', aggregate(1, 10));
    cache.set('b', aggregate(1, 10));
    cache.set('a', aggregate(2, 10));
    cache.set('c', aggregate(1, 10));
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBeUndefined();
    cache.delete('a');
    expect(cache.bytes).toBe(30);
  });
});
