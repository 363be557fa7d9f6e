import { describe, expect, it } from 'vitest';
import type { SubscriberPause } from '../../runtime/store/port.js';
import type { Given } from './store-fixtures.js';

/**
 * Subscriber pauses (runtime/store/port.ts, SubscriberPauses): one pause per subscriber in force at a time, seen
 * by every instance; two instances racing for it cannot both take it; an expired pause is taken over; only its
 * holder renews or ends it. And the deliverers' reports, one per (subscriber, deliverer), replaced as they come.
 */

const T0 = Date.parse('2026-12-03T09:00:00Z');

const pause = (holder: string, fields: Partial<SubscriberPause> = {}): SubscriberPause => ({
  subscriber: 'projector:accounts',
  holder,
  reason: 'replay',
  since: T0,
  expiresAt: T0 + 10_000,
  ...fields,
});

export const pausesContract = (fresh: () => Promise<Given>): void => {
  describe('subscriber pauses', () => {
    it('are none at first', async () => {
      const { store } = await fresh();
      expect(await store.readPause('projector:accounts')).toBeUndefined();
      expect(await store.listDeliverers('projector:accounts')).toEqual([]);
    });

    it('a pause taken is seen by another instance, and refused to another holder while it is in force', async () => {
      const { store, open } = await fresh();
      const other = await open();
      expect(await store.takePause(pause('a'))).toEqual(pause('a'));
      expect(await other.readPause('projector:accounts')).toEqual(pause('a'));
      // Refused: the answer is the pause in force, unchanged.
      expect(await other.takePause(pause('b', { since: T0 + 5000, expiresAt: T0 + 15_000 }))).toEqual(
        pause('a'),
      );
      expect(await store.readPause('projector:accounts')).toEqual(pause('a'));
      // Another subscriber is not paused by it.
      expect(await other.takePause(pause('b', { subscriber: 'saga:billing' }))).toEqual(
        pause('b', { subscriber: 'saga:billing' }),
      );
      // Its holder may take it again (a new expiry).
      expect(await store.takePause(pause('a', { expiresAt: T0 + 20_000 }))).toEqual(
        pause('a', { expiresAt: T0 + 20_000 }),
      );
    });

    it('an expired pause is taken over; only its holder renews or ends a pause', async () => {
      const { store, open } = await fresh();
      const other = await open();
      await store.takePause(pause('a'));
      const later = pause('b', { since: T0 + 10_001, expiresAt: T0 + 20_000 });
      expect(await other.takePause(later)).toEqual(later);
      // The old holder lost it: it cannot renew or end it.
      expect(await store.renewPause('projector:accounts', 'a', T0 + 30_000)).toBe(false);
      await store.endPause('projector:accounts', 'a');
      expect(await store.readPause('projector:accounts')).toEqual(later);
      expect(await other.renewPause('projector:accounts', 'b', T0 + 30_000)).toBe(true);
      expect((await store.readPause('projector:accounts'))?.expiresAt).toBe(T0 + 30_000);
      await other.endPause('projector:accounts', 'b');
      expect(await store.readPause('projector:accounts')).toBeUndefined();
      expect(await store.renewPause('projector:accounts', 'b', T0 + 40_000)).toBe(false);
    });

    it('of instances racing for one pause, exactly one takes it', async () => {
      const { open } = await fresh();
      const stores = await Promise.all([open(), open(), open(), open()]);
      for (let round = 0; round < 5; round += 1) {
        const subscriber = `projector:race-${round}`;
        const answers = await Promise.all(
          stores.map((store, index) => store.takePause(pause(`p${index}`, { subscriber }))),
        );
        const holders = new Set(answers.map((answer) => answer.holder));
        expect(holders.size).toBe(1);
        const [holder] = holders;
        expect((await stores[0]!.readPause(subscriber))?.holder).toBe(holder);
      }
    });

    it("keeps each deliverer's last report, and forgets one", async () => {
      const { store, open } = await fresh();
      const other = await open();
      await store.reportDeliverer({
        subscriber: 'projector:accounts',
        deliverer: 'p1',
        pausedFor: undefined,
        at: T0,
      });
      await other.reportDeliverer({
        subscriber: 'projector:accounts',
        deliverer: 'p2',
        pausedFor: 'a',
        at: T0 + 1,
      });
      await other.reportDeliverer({
        subscriber: 'saga:billing',
        deliverer: 'p2',
        pausedFor: undefined,
        at: T0 + 2,
      });
      await store.reportDeliverer({
        subscriber: 'projector:accounts',
        deliverer: 'p1',
        pausedFor: 'a',
        at: T0 + 3,
      });
      expect(await other.listDeliverers('projector:accounts')).toEqual([
        { subscriber: 'projector:accounts', deliverer: 'p1', pausedFor: 'a', at: T0 + 3 },
        { subscriber: 'projector:accounts', deliverer: 'p2', pausedFor: 'a', at: T0 + 1 },
      ]);
      await store.reportDeliverer({
        subscriber: 'projector:accounts',
        deliverer: 'p1',
        pausedFor: undefined,
        at: T0 + 4,
      });
      await store.forgetDeliverer('projector:accounts', 'p2');
      expect(await other.listDeliverers('projector:accounts')).toEqual([
        { subscriber: 'projector:accounts', deliverer: 'p1', pausedFor: undefined, at: T0 + 4 },
      ]);
      expect(await store.listDeliverers('saga:billing')).toHaveLength(1);
    });
  });
};
