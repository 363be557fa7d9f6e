import { describe, expect, it } from 'vitest';
import { force, newRef, num, positionsOf, sequencesOf, wholeLog, type Given } from './store-fixtures.js';

/**
 * What delivery needs from a store: subscriber progress with checkpoints (idempotent, gap-detecting delivery),
 * idempotency keys (a saga's output applied at most once) and the in-process append announcement (the relay).
 */
export const deliveryContract = (fresh: () => Promise<Given>): void => {
  describe('subscriber progress', () => {
    it('is 0 for every aggregate a subscriber has not seen, in the order asked', async () => {
      const { store } = await fresh();
      expect(await store.loadProgress('projector:p', [newRef(), newRef('billing')])).toEqual([0, 0]);
      expect(await store.getCheckpoint('projector:p')).toBe(0);
    });

    it('saves progress and the checkpoint together, per subscriber and aggregate, visible to other instances', async () => {
      const { store, open } = await fresh();
      const other = await open();
      const [a, b] = [newRef(), newRef('billing')];
      await store.saveProgress(
        'projector:p',
        [
          { ...a, next: 3 },
          { ...b, next: 1 },
        ],
        42,
      );
      expect(await other.loadProgress('projector:p', [b, a, newRef()])).toEqual([1, 3, 0]);
      expect(await other.loadProgress('projector:q', [a])).toEqual([0]);
      expect(await other.getCheckpoint('projector:p')).toBe(42);
    });

    it('never moves progress or the checkpoint backwards (a late, redelivered batch)', async () => {
      const { store } = await fresh();
      const a = newRef();
      await store.saveProgress('saga:s', [{ ...a, next: 5 }], 10);
      await store.saveProgress('saga:s', [{ ...a, next: 2 }], 4);
      expect(await store.loadProgress('saga:s', [a])).toEqual([5]);
      expect(await store.getCheckpoint('saga:s')).toBe(10);
    });

    it('forgets a subscriber on reset, and only that one', async () => {
      const { store } = await fresh();
      const a = newRef();
      await store.saveProgress('projector:p', [{ ...a, next: 5 }], 10);
      await store.saveProgress('projector:q', [{ ...a, next: 7 }], 11);
      await store.resetProgress('projector:p');
      expect(await store.loadProgress('projector:p', [a])).toEqual([0]);
      expect(await store.getCheckpoint('projector:p')).toBe(0);
      expect(await store.loadProgress('projector:q', [a])).toEqual([7]);
      expect(await store.getCheckpoint('projector:q')).toBe(11);
    });
  });

  describe('partition checkpoints', () => {
    it('saves a checkpoint under another name with the progress (a partition), and reset forgets those too', async () => {
      const { store } = await fresh();
      const a = newRef();
      await store.saveProgress('projector:p', [{ ...a, next: 2 }], 8, 'projector:p/16.3');
      await store.saveProgress('projector:p', [], 9, 'projector:p/16.12');
      await store.saveProgress('projector:p-other', [], 5, 'projector:p-other/16.3');
      await store.saveProgress('projector:p0', [], 6);
      expect(await store.getCheckpoint('projector:p/16.3')).toBe(8);
      expect(await store.getCheckpoint('projector:p/16.12')).toBe(9);
      expect(await store.getCheckpoint('projector:p')).toBe(0);
      expect(await store.loadProgress('projector:p', [a])).toEqual([2]);

      await store.resetProgress('projector:p');
      expect(await store.getCheckpoint('projector:p/16.3')).toBe(0);
      expect(await store.getCheckpoint('projector:p/16.12')).toBe(0);
      expect(await store.loadProgress('projector:p', [a])).toEqual([0]);
      // Names that only start alike are another subscriber's.
      expect(await store.getCheckpoint('projector:p-other/16.3')).toBe(5);
      expect(await store.getCheckpoint('projector:p0')).toBe(6);
    });
  });

  describe('idempotency keys', () => {
    it('writes an append with a key once; the second answers duplicate and writes nothing', async () => {
      const { store, open } = await fresh();
      const other = await open();
      const a = newRef();
      expect(await store.isApplied('saga:s:1')).toBe(false);
      const first = await store.append({ ...a, idempotencyKey: 'saga:s:1', events: [force('credit')] });
      expect(first.duplicate ?? false).toBe(false);
      const second = await other.append({ ...a, idempotencyKey: 'saga:s:1', events: [force('credit')] });
      expect(second).toMatchObject({ duplicate: true, events: [], next: 1 });
      expect(sequencesOf(await store.readAggregate(a))).toEqual([0]);
      expect(await other.isApplied('saga:s:1')).toBe(true);
      expect(positionsOf(await wholeLog(store))).toEqual([1]);
    });

    it('does not record the key of an append that failed, so it can be tried again', async () => {
      const { store } = await fresh();
      const a = newRef();
      await expect(store.append({ ...a, idempotencyKey: 'k', events: [num(3)] })).rejects.toThrow();
      expect(await store.isApplied('k')).toBe(false);
      await store.append({ ...a, idempotencyKey: 'k', events: [num(0)] });
      expect(await store.isApplied('k')).toBe(true);
    });

    it('answers a duplicate before checking expectedNext (the first attempt moved the aggregate)', async () => {
      const { store } = await fresh();
      const a = newRef();
      await store.append({ ...a, expectedNext: 0, idempotencyKey: 'k', events: [num(0)] });
      const again = await store.append({ ...a, expectedNext: 0, idempotencyKey: 'k', events: [num(0)] });
      expect(again.duplicate).toBe(true);
    });
  });

  describe('append announcements', () => {
    it('calls listeners after a commit that added events, not after a failed or empty append', async () => {
      const { store } = await fresh();
      const a = newRef();
      let calls = 0;
      const stop = store.onAppended(() => (calls += 1));
      await store.append({ ...a, events: [num(0)] });
      expect(calls).toBe(1);
      await expect(store.append({ ...a, events: [num(5)] })).rejects.toThrow();
      await store.append({ ...a, idempotencyKey: 'k', events: [num(1)] });
      await store.append({ ...a, idempotencyKey: 'k', events: [num(2)] });
      expect(calls).toBe(2);
      stop();
      await store.append({ ...a, events: [num(2)] });
      expect(calls).toBe(2);
    });
  });
};
