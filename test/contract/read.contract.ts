import { describe, expect, it } from 'vitest';
import { timestampNow } from '../../runtime/protocol/timestamp.js';
import type { AggregateRef, NewEvent } from '../../runtime/store/port.js';
import {
  collect,
  force,
  hex,
  keyOf,
  newRef,
  num,
  plain,
  range,
  sequencesOf,
  tagsOf,
  type Given,
} from './store-fixtures.js';

/** Reading one aggregate (bounds, order, exact round trips) and listing aggregates. */
export const readContract = (fresh: () => Promise<Given>): void => {
  describe('reading an aggregate', () => {
    const storedZeroOneTwo = async (): Promise<{ given: Given; ref: AggregateRef }> => {
      const given = await fresh();
      const ref = newRef();
      // Interleave another aggregate and separate appends, so storage order is not sequence order by accident.
      const other = newRef();
      await given.store.append({ ...ref, events: [num(0)] });
      await given.store.append({ ...other, events: [num(0), num(1)] });
      await given.store.append({ ...ref, events: [num(1), num(2)] });
      return { given, ref };
    };

    it('follows the original feature file: all, from, to, from–to, unknown', async () => {
      const { given, ref } = await storedZeroOneTwo();
      const read = async (range?: { from?: number; to?: number }): Promise<number[]> =>
        sequencesOf(await given.store.readAggregate(ref, range));
      expect(await read()).toEqual([0, 1, 2]);
      expect(await read({})).toEqual([0, 1, 2]);
      expect(await read({ from: 2 })).toEqual([2]);
      expect(await read({ to: 2 })).toEqual([0, 1]);
      expect(await read({ from: 1, to: 2 })).toEqual([1]);
      expect(await read({ from: 0, to: 10 })).toEqual([0, 1, 2]);
      expect(await read({ from: 3 })).toEqual([]);
      expect(await read({ from: 2, to: 2 })).toEqual([]);
      expect(await given.store.readAggregate(newRef())).toEqual([]);
    });

    it('returns the events sorted by sequence, with their domain and root', async () => {
      const { given, ref } = await storedZeroOneTwo();
      const events = await given.store.readAggregate(ref);
      expect(tagsOf(events)).toEqual(['e0', 'e1', 'e2']);
      expect(events.map((e) => keyOf(e))).toEqual(range(0, 3).map(() => keyOf(ref)));
    });

    it('preserves timestamps exactly (seconds and nanos) and fills in "now" when absent', async () => {
      const { store } = await fresh();
      const ref = newRef();
      const before = timestampNow().seconds;
      await store.append({
        ...ref,
        events: [
          { ...num(0), createdAt: { seconds: 1_136_214_245, nanos: 123_456_789 } },
          { ...num(1), createdAt: { seconds: 0, nanos: 1 } },
          { ...num(2), createdAt: { seconds: 4_102_444_800, nanos: 999_999_999 } },
          num(3),
        ],
      });
      const after = timestampNow().seconds;
      const events = await store.readAggregate(ref);
      expect(events.slice(0, 3).map((e) => e.createdAt)).toEqual([
        { seconds: 1_136_214_245, nanos: 123_456_789 },
        { seconds: 0, nanos: 1 },
        { seconds: 4_102_444_800, nanos: 999_999_999 },
      ]);
      const filled = events[3]!.createdAt;
      expect(filled.seconds).toBeGreaterThanOrEqual(before);
      expect(filled.seconds).toBeLessThanOrEqual(after);
      expect(filled.nanos).toBeGreaterThanOrEqual(0);
      expect(filled.nanos).toBeLessThan(1_000_000_000);
    });

    it('round-trips payloads: bytes and typeUrl, an empty Any stays an Any, no payload stays undefined', async () => {
      const { store } = await fresh();
      const ref = newRef();
      const bytes = Uint8Array.from(range(0, 256));
      const events: NewEvent[] = [
        {
          num: 0,
          event: { typeUrl: 'type.googleapis.com/shop.v1.OrderPlaced', value: bytes },
          synchronous: false,
        },
        { num: 1, event: { typeUrl: 'test/Empty', value: new Uint8Array() }, synchronous: true },
        { num: 2, event: undefined, synchronous: false },
      ];
      await store.append({ ...ref, events });

      const [full, empty, none] = await store.readAggregate(ref);

      expect(full!.event?.typeUrl).toBe('type.googleapis.com/shop.v1.OrderPlaced');
      expect(hex(full!.event?.value)).toBe(hex(bytes));
      expect(empty!.event).toBeDefined();
      expect(empty!.event!.typeUrl).toBe('test/Empty');
      expect(empty!.event!.value).toHaveLength(0);
      expect(none!.event).toBeUndefined();
      expect([full!.synchronous, empty!.synchronous, none!.synchronous]).toEqual([false, true, false]);
      // The global log carries the same thing.
      const logged = await store.readLog(0, 10);
      expect(plain(logged)).toEqual(plain(await store.readAggregate(ref)));
    });
  });

  describe('listing aggregates', () => {
    it('lists each aggregate once, all or of one domain; the same root in two domains is two aggregates', async () => {
      const { store } = await fresh();
      const a = newRef('orders');
      const b = newRef('orders');
      const sameRoot = { domain: 'billing', root: a.root };
      await store.append({ ...a, events: [num(0), num(1)] });
      await store.append({ ...b, events: [num(0)] });
      await store.append({ ...a, events: [num(2)] });
      await store.append({ ...sameRoot, events: [num(0)] });

      const all = (await collect(store.listAggregates())).map(keyOf).sort();
      expect(all).toEqual([a, b, sameRoot].map(keyOf).sort());
      const orders = (await collect(store.listAggregates('orders'))).map(keyOf).sort();
      expect(orders).toEqual([a, b].map(keyOf).sort());
      expect((await collect(store.listAggregates('billing'))).map(keyOf)).toEqual([keyOf(sameRoot)]);
      expect(await collect(store.listAggregates('unknown'))).toEqual([]);
      expect(sequencesOf(await store.readAggregate(sameRoot))).toEqual([0]);
    });

    it('misses and repeats nothing beyond one page (more than 1000 aggregates)', async () => {
      const { store } = await fresh();
      const alpha = range(0, 1050).map(() => newRef('alpha'));
      const beta = alpha.slice(0, 300).map((ref) => ({ domain: 'beta', root: ref.root }));
      await Promise.all([...alpha, ...beta].map((ref) => store.append({ ...ref, events: [force()] })));

      const all = (await collect(store.listAggregates())).map(keyOf);
      expect(all).toHaveLength(1350);
      expect(new Set(all)).toEqual(new Set([...alpha, ...beta].map(keyOf)));
      const ofAlpha = (await collect(store.listAggregates('alpha'))).map(keyOf);
      expect(ofAlpha).toHaveLength(1050);
      expect(new Set(ofAlpha)).toEqual(new Set(alpha.map(keyOf)));
      const ofBeta = (await collect(store.listAggregates('beta'))).map(keyOf);
      expect(new Set(ofBeta)).toEqual(new Set(beta.map(keyOf)));
      expect(ofBeta).toHaveLength(300);
      for (const ref of await collect(store.listAggregates('beta'))) expect(ref.root).toHaveLength(16);
    });

    it('does not list an aggregate whose only append failed', async () => {
      const { store } = await fresh();
      const ref = newRef();
      await expect(store.append({ ...ref, events: [num(5)] })).rejects.toThrow();
      expect(await collect(store.listAggregates())).toEqual([]);
      expect(await store.headPosition()).toBe(0);
    });
  });
};
