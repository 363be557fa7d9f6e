import { describe, expect, it } from 'vitest';
import { StoreError } from '../../runtime/errors/index.js';
import type { EventStore } from '../../runtime/store/port.js';
import {
  collect,
  force,
  keyOf,
  newRef,
  num,
  positionsOf,
  range,
  rejectionOf,
  sequencesOf,
  tagsOf,
  wholeLog,
  type Given,
} from './store-fixtures.js';

/** The global log (positions, readLog, headPosition), subscriber checkpoints, and close(). */
export const logContract = (fresh: () => Promise<Given>): void => {
  describe('global log', () => {
    it('is empty at first: head 0, nothing to read', async () => {
      const { store } = await fresh();
      expect(await store.headPosition()).toBe(0);
      expect(await store.readLog(0, 100)).toEqual([]);
    });

    it('numbers events from 1 in commit order, across aggregates and domains', async () => {
      const { store, open } = await fresh();
      const other = await open();
      const a = newRef('orders');
      const b = newRef('billing');
      await store.append({ ...a, events: [num(0, 'a0'), num(1, 'a1')] });
      await other.append({ ...b, events: [num(0, 'b0')] });
      await store.append({ ...a, events: [num(2, 'a2')] });
      await other.append({ ...b, events: [num(1, 'b1'), num(2, 'b2')] });

      const log = await store.readLog(0, 100);

      expect(positionsOf(log)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(tagsOf(log)).toEqual(['a0', 'a1', 'b0', 'a2', 'b1', 'b2']);
      expect(log.map(keyOf)).toEqual([a, a, b, a, b, b].map(keyOf));
      expect(sequencesOf(log)).toEqual([0, 1, 0, 2, 1, 2]);
      expect(await store.headPosition()).toBe(6);
      expect(await other.headPosition()).toBe(6);
    });

    it('counts the events after a position and their aggregates, optionally of some domains', async () => {
      const { store } = await fresh();
      const a = newRef('orders');
      const b = newRef('orders');
      const c = newRef('billing');
      await store.append({ ...a, events: [num(0), num(1)] });
      await store.append({ ...c, events: [num(0)] });
      await store.append({ ...b, events: [num(0)] });
      await store.append({ ...a, events: [num(2)] });

      expect(await store.countLog(0)).toEqual({ events: 5, aggregates: 3 });
      expect(await store.countLog(3)).toEqual({ events: 2, aggregates: 2 });
      expect(await store.countLog(0, ['orders'])).toEqual({ events: 4, aggregates: 2 });
      expect(await store.countLog(0, ['billing', 'orders'])).toEqual({ events: 5, aggregates: 3 });
      expect(await store.countLog(0, ['shipping'])).toEqual({ events: 0, aggregates: 0 });
      expect(await store.countLog(5)).toEqual({ events: 0, aggregates: 0 });
    });

    it('returns positions after `after`, in order, at most `limit`', async () => {
      const { store } = await fresh();
      const ref = newRef();
      await store.append({ ...ref, events: range(0, 10).map((n) => num(n)) });
      expect(positionsOf(await store.readLog(0, 3))).toEqual([1, 2, 3]);
      expect(positionsOf(await store.readLog(3, 3))).toEqual([4, 5, 6]);
      expect(positionsOf(await store.readLog(8, 5))).toEqual([9, 10]);
      expect(await store.readLog(10, 5)).toEqual([]);
      expect(await store.readLog(99, 5)).toEqual([]);
      expect(positionsOf(await store.readLog(4, 1))).toEqual([5]);
      expect(sequencesOf(await store.readLog(4, 1))).toEqual([4]);
    });

    it('gives failed appends no positions: no holes', async () => {
      const { store } = await fresh();
      const ref = newRef();
      await store.append({ ...ref, events: [num(0), num(1)] });
      await expect(store.append({ ...ref, events: [num(2), num(9)] })).rejects.toThrow();
      await expect(store.append({ ...ref, expectedNext: 0, events: [force()] })).rejects.toThrow();
      await store.append({ ...ref, events: [num(2)] });
      expect(positionsOf(await wholeLog(store))).toEqual([1, 2, 3]);
      expect(await store.headPosition()).toBe(3);
    });

    it('gives no holes when failed and successful appends are submitted together', async () => {
      const { store } = await fresh();
      const refs = range(0, 6).map(() => newRef());
      const results = await Promise.allSettled(
        refs.map((ref, i) => store.append({ ...ref, events: i % 2 === 0 ? [force(), force()] : [num(1)] })),
      );
      expect(results.map((r) => r.status)).toEqual(
        range(0, 6).map((i) => (i % 2 === 0 ? 'fulfilled' : 'rejected')),
      );
      const log = await wholeLog(store);
      expect(positionsOf(log)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(new Set(log.map(keyOf))).toEqual(new Set([refs[0]!, refs[2]!, refs[4]!].map(keyOf)));
      for (const ref of [refs[1]!, refs[3]!, refs[5]!]) expect(await store.nextSequence(ref)).toBe(0);
    });
  });

  describe('checkpoints', () => {
    it('is 0 for an unknown name, round-trips, is overwritten and is kept per name', async () => {
      const { store, open } = await fresh();
      expect(await store.getCheckpoint('relay')).toBe(0);
      await store.saveCheckpoint('relay', 42);
      await store.saveCheckpoint('projector:balances', 7);
      expect(await store.getCheckpoint('relay')).toBe(42);
      await store.saveCheckpoint('relay', 43);
      expect(await store.getCheckpoint('relay')).toBe(43);
      expect(await store.getCheckpoint('projector:balances')).toBe(7);
      expect(await store.getCheckpoint('projector')).toBe(0);
      const other = await open();
      expect(await other.getCheckpoint('relay')).toBe(43);
      await store.saveCheckpoint('relay', 2 ** 40);
      expect(await other.getCheckpoint('relay')).toBe(2 ** 40);
    });
  });

  describe('close', () => {
    it('writes pending appends before it resolves', async () => {
      const { store, open } = await fresh();
      const refs = range(0, 5).map(() => newRef());
      const pending = refs.map((ref) => store.append({ ...ref, events: [force('a'), force('b')] }));
      const sameAggregate = range(0, 3).map(() => store.append({ ...refs[0]!, events: [force('more')] }));

      await Promise.all([store.close(), store.close()]);

      const other = await open();
      for (const ref of refs.slice(1)) expect(sequencesOf(await other.readAggregate(ref))).toEqual([0, 1]);
      expect(sequencesOf(await other.readAggregate(refs[0]!))).toEqual([0, 1, 2, 3, 4]);
      expect(await other.headPosition()).toBe(13);
      const appended = await Promise.all([...pending, ...sameAggregate]);
      expect(appended.map((a) => a.next)).toEqual([2, 2, 2, 2, 2, 3, 4, 5]);
    });

    it('makes every later call fail with a clear error, and can be called again', async () => {
      const { store } = await fresh();
      const ref = newRef();
      await store.append({ ...ref, events: [num(0)] });
      await store.close();
      await store.close();

      const calls: [string, (s: EventStore) => Promise<unknown>][] = [
        ['append', (s) => s.append({ ...ref, events: [force()] })],
        ['load', (s) => s.load(ref)],
        ['readAggregate', (s) => s.readAggregate(ref)],
        ['nextSequence', (s) => s.nextSequence(ref)],
        ['listAggregates', (s) => collect(s.listAggregates())],
        ['readLog', (s) => s.readLog(0, 10)],
        ['headPosition', (s) => s.headPosition()],
        ['getCheckpoint', (s) => s.getCheckpoint('relay')],
        ['saveCheckpoint', (s) => s.saveCheckpoint('relay', 1)],
      ];
      for (const [name, call] of calls) {
        const error = await rejectionOf(call(store));
        expect(error, name).toBeInstanceOf(StoreError);
        expect((error as Error).message, name).toMatch(/closed/);
      }
    });
  });
};
