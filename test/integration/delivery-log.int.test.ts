import { describe, expect, it } from 'vitest';
import { deliveryLogPolicy } from '../../runtime/subscriber/delivery-log.js';
import { createProgressTracker } from '../../runtime/subscriber/progress.js';
import type { EventStore } from '../../runtime/store/port.js';
import { storedAggregate } from '../helpers/stored-aggregate.js';

/**
 * What the progress tracker puts in the delivery log (runtime/subscriber/progress.ts, delivery-log.ts), on a real
 * SQLite store: each successful call's range, with its time, in the save of the progress; nothing for books set
 * aside (no call); a call of pages handled before (a replay) too; nothing at all with the log off.
 */

/** Calls end now-ish: older ones than the retention (24 h) are pruned by the save. */
const T = Date.now();

const rangesOf = async (store: EventStore, ref: { domain: string; root: Uint8Array }) =>
  (await store.listDeliveries(ref)).map((d) => [d.subscriber, d.from, d.to, d.at, d.tookMs]).sort();

describe('delivery log, as the progress tracker keeps it', () => {
  it('logs each successful call with the progress it saves; a book set aside (no call) is not logged', async () => {
    const { store, ref, book } = await storedAggregate(5);
    const tracker = createProgressTracker(store, 'projector:p');
    await tracker.open();

    tracker.advance([book(0, 1)], { endedAt: T, tookMs: 4 });
    tracker.advance([book(2)], { endedAt: T + 10, tookMs: 2 });
    tracker.advance([book(3)]); // set aside
    expect(await store.listDeliveries(ref)).toEqual([]); // not before the save
    await tracker.save();

    expect(await rangesOf(store, ref)).toEqual([
      ['projector:p', 0, 2, T, 4],
      ['projector:p', 2, 3, T + 10, 2],
    ]);
    expect(await store.loadProgress('projector:p', [ref])).toEqual([4]);
  });

  it('logs a call of events handled before (a replay), and keeps the progress where it was', async () => {
    const { store, ref, book } = await storedAggregate(3);
    const tracker = createProgressTracker(store, 'projector:p');
    await tracker.open();
    tracker.advance([book(0, 1, 2)], { endedAt: T, tookMs: 1 });
    await tracker.save();

    tracker.advance([book(0, 1)], { endedAt: T + 1000, tookMs: 3 });
    await tracker.save();

    expect(await rangesOf(store, ref)).toEqual([
      ['projector:p', 0, 2, T + 1000, 3],
      ['projector:p', 0, 3, T, 1],
    ]);
    expect(await store.loadProgress('projector:p', [ref])).toEqual([3]);
  });

  it('logs nothing with delivery.deliveryLogRetentionHours 0', async () => {
    const { store, ref, book } = await storedAggregate(2);
    const tracker = createProgressTracker(store, 'projector:p', 'projector:p', deliveryLogPolicy(0));
    await tracker.open();
    tracker.advance([book(0, 1)], { endedAt: T, tookMs: 1 });
    await tracker.save();
    expect(await store.listDeliveries(ref)).toEqual([]);
    expect(await store.loadProgress('projector:p', [ref])).toEqual([2]);
  });

  it('forgets entries older than the retention when it saves (one prune per store, from time to time)', async () => {
    const { store, ref, book } = await storedAggregate(3);
    const dayAndAnHourAgo = T - 25 * 3_600_000;
    await store.saveProgress('saga:s', [
      { ...ref, next: 1, applied: [{ from: 0, to: 1, at: dayAndAnHourAgo, tookMs: 1 }] },
    ]);
    const tracker = createProgressTracker(store, 'projector:p');
    await tracker.open();

    tracker.advance([book(0, 1, 2)], { endedAt: T, tookMs: 1 });
    await tracker.save();

    expect(await rangesOf(store, ref)).toEqual([['projector:p', 0, 3, T, 1]]);
  });
});
