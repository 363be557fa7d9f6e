import { describe, expect, it } from 'vitest';
import type { Delivery } from '../../runtime/store/port.js';
import { newRef, type Given } from './store-fixtures.js';

/**
 * The delivery log (runtime/store/port.ts, ProgressRecord.applied and listDeliveries): the calls that applied an
 * aggregate's events to a subscriber, saved by the same write as the progress, listed by overlapping sequence
 * range for any instance, kept through a rebuild's reset, and pruned by age.
 */

const T0 = Date.parse('2026-12-03T08:00:00Z');

/** A delivery as a test compares it (the root as a plain array, whatever byte type the driver hands back). */
const plainDelivery = (delivery: Delivery): Record<string, unknown> => ({
  ...delivery,
  root: [...delivery.root],
});
const bySubscriberAndFrom = (a: Delivery, b: Delivery): number =>
  a.subscriber === b.subscriber ? a.from - b.from : a.subscriber < b.subscriber ? -1 : 1;
const sorted = (deliveries: Delivery[]): Record<string, unknown>[] =>
  [...deliveries].sort(bySubscriberAndFrom).map(plainDelivery);

export const deliveryLogContract = (fresh: () => Promise<Given>): void => {
  describe('delivery log', () => {
    it('keeps each applied call with the progress, per subscriber, for every instance', async () => {
      const { store, open } = await fresh();
      const other = await open();
      const [a, b] = [newRef(), newRef('billing')];

      await store.saveProgress(
        'projector:p',
        [
          {
            ...a,
            next: 5,
            applied: [
              { from: 0, to: 3, at: T0 + 10, tookMs: 4 },
              { from: 3, to: 5, at: T0 + 20, tookMs: 7 },
            ],
          },
          { ...b, next: 1, applied: [{ from: 0, to: 1, at: T0 + 30, tookMs: 1 }] },
        ],
        9,
      );
      await store.saveProgress('saga:s', [
        { ...a, next: 2, applied: [{ from: 0, to: 2, at: T0 + 40, tookMs: 12 }] },
      ]);

      expect(sorted(await other.listDeliveries(a))).toEqual([
        { subscriber: 'projector:p', ...a, root: [...a.root], from: 0, to: 3, at: T0 + 10, tookMs: 4 },
        { subscriber: 'projector:p', ...a, root: [...a.root], from: 3, to: 5, at: T0 + 20, tookMs: 7 },
        { subscriber: 'saga:s', ...a, root: [...a.root], from: 0, to: 2, at: T0 + 40, tookMs: 12 },
      ]);
      expect(sorted(await other.listDeliveries(b))).toEqual([
        { subscriber: 'projector:p', ...b, root: [...b.root], from: 0, to: 1, at: T0 + 30, tookMs: 1 },
      ]);
      expect(await other.listDeliveries(newRef())).toEqual([]);
      // The progress and checkpoint went with them.
      expect(await other.loadProgress('projector:p', [a, b])).toEqual([5, 1]);
      expect(await other.getCheckpoint('projector:p')).toBe(9);
    });

    it('lists the calls whose range overlaps the range asked for', async () => {
      const { store } = await fresh();
      const a = newRef();
      await store.saveProgress('projector:p', [
        {
          ...a,
          next: 9,
          applied: [
            { from: 0, to: 3, at: T0, tookMs: 1 },
            { from: 3, to: 6, at: T0 + 1, tookMs: 1 },
            { from: 6, to: 9, at: T0 + 2, tookMs: 1 },
          ],
        },
      ]);
      const ranges = async (from: number, to: number): Promise<number[][]> =>
        (await store.listDeliveries(a, { from, to }))
          .map((d) => [d.from, d.to])
          .sort((x, y) => x[0]! - y[0]!);

      expect(await ranges(4, 5)).toEqual([[3, 6]]);
      expect(await ranges(2, 4)).toEqual([
        [0, 3],
        [3, 6],
      ]);
      expect(await ranges(3, 6)).toEqual([[3, 6]]);
      expect(await ranges(9, 12)).toEqual([]);
      expect((await store.listDeliveries(a)).length).toBe(3);
    });

    it('saves progress without a log entry when no call is given, and keeps the log through a reset', async () => {
      const { store } = await fresh();
      const a = newRef();
      await store.saveProgress('projector:p', [{ ...a, next: 2 }]);
      expect(await store.listDeliveries(a)).toEqual([]);

      await store.saveProgress('projector:p', [
        { ...a, next: 4, applied: [{ from: 2, to: 4, at: T0, tookMs: 3 }] },
      ]);
      await store.resetProgress('projector:p');
      expect(await store.loadProgress('projector:p', [a])).toEqual([0]);
      expect((await store.listDeliveries(a)).map((d) => [d.from, d.to])).toEqual([[2, 4]]);
    });

    it('forgets the calls that ended before the age given, and only those', async () => {
      const { store } = await fresh();
      const a = newRef();
      await store.saveProgress('projector:p', [
        {
          ...a,
          next: 3,
          applied: [
            { from: 0, to: 1, at: T0, tookMs: 1 },
            { from: 1, to: 2, at: T0 + 1000, tookMs: 1 },
            { from: 2, to: 3, at: T0 + 2000, tookMs: 1 },
          ],
        },
      ]);
      await store.pruneDeliveries(T0 + 1000);
      expect((await store.listDeliveries(a)).map((d) => d.at).sort()).toEqual([T0 + 1000, T0 + 2000]);
    });
  });
};
