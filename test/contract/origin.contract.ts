import { describe, expect, it } from 'vitest';
import type { Origin } from '../../runtime/protocol/gen/evented/evented.js';
import { force, newRef, num, positionsOf, range, tagsOf, type Given } from './store-fixtures.js';

/** Each event's origin (correlation, causation, trace context): stored with it, returned by every read. */
export const originContract = (fresh: () => Promise<Given>): void => {
  const originOf = (correlationId: string, more: Partial<Origin> = {}): Origin => ({
    correlationId,
    commandId: `command-of-${correlationId}`,
    commandType: 'type.googleapis.com/test.v1.Act',
    causationId: '',
    saga: '',
    traceparent: '',
    ...more,
  });

  describe('origin', () => {
    it('is returned with every event of the append by load, readAggregate, readLog and readCorrelation', async () => {
      const { store } = await fresh();
      const ref = newRef();
      const origin = originOf('corr-1', {
        causationId: 'orders/3f2b5c1e-0000-4000-8000-000000000001/4',
        saga: 'fulfilment',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      });

      await store.append({ ...ref, events: [num(0), num(1)], origin });

      const expected = [origin, origin];
      expect((await store.load(ref)).events.map((e) => e.origin)).toEqual(expected);
      expect((await store.readAggregate(ref)).map((e) => e.origin)).toEqual(expected);
      expect((await store.readLog(0, 10)).map((e) => e.origin)).toEqual(expected);
      expect((await store.readCorrelation('corr-1', 10)).map((e) => e.origin)).toEqual(expected);
    });

    it('is undefined for an event appended without one, and such events have no correlation', async () => {
      const { store } = await fresh();
      const ref = newRef();
      await store.append({ ...ref, events: [num(0)] });
      await store.append({ ...ref, events: [num(1)], origin: originOf('') });

      const [without, emptyCorrelation] = await store.readAggregate(ref);
      expect(without!.origin).toBeUndefined();
      expect(emptyCorrelation!.origin).toEqual(originOf(''));
      expect(await store.readCorrelation('', 10)).toEqual([]);
    });

    it('keeps each append of one group-commit batch its own origin', async () => {
      const { store } = await fresh();
      const refs = range(0, 20).map(() => newRef());
      await Promise.all(
        refs.map((ref, i) =>
          store.append({ ...ref, events: [force(`e${i}`)], origin: originOf(`corr-${i}`) }),
        ),
      );
      for (const [i, ref] of refs.entries()) {
        const [event] = await store.readAggregate(ref);
        expect(event!.origin?.correlationId).toBe(`corr-${i}`);
      }
    });
  });

  describe('readCorrelation', () => {
    it("returns one correlation's events across aggregates and domains, in position order, at most `limit`", async () => {
      const { store } = await fresh();
      const [order, invoice, other] = [newRef('orders'), newRef('billing'), newRef('orders')];
      await store.append({ ...order, events: [num(0, 'placed')], origin: originOf('work') });
      await store.append({ ...other, events: [num(0, 'unrelated')], origin: originOf('other-work') });
      await store.append({ ...invoice, events: [num(0, 'invoiced')], origin: originOf('work') });
      await store.append({ ...other, events: [num(1, 'no origin')] });
      await store.append({ ...order, events: [num(1, 'shipped')], origin: originOf('work') });

      const all = await store.readCorrelation('work', 100);
      expect(tagsOf(all)).toEqual(['placed', 'invoiced', 'shipped']);
      expect(positionsOf(all)).toEqual([...positionsOf(all)].sort((a, b) => a - b));
      expect(all.map((e) => e.domain)).toEqual(['orders', 'billing', 'orders']);
      expect(tagsOf(await store.readCorrelation('work', 2))).toEqual(['placed', 'invoiced']);
      expect(await store.readCorrelation('unknown', 100)).toEqual([]);
      // Exact match, not a prefix.
      expect(await store.readCorrelation('wor', 100)).toEqual([]);
    });
  });
};
