import { describe, expect, it } from 'vitest';
import { ConcurrencyConflictError, SequenceError, ValidationError } from '../../runtime/errors/index.js';
import {
  expectUnchanged,
  force,
  hex,
  newRef,
  num,
  payload,
  plain,
  range,
  rejectionOf,
  sequencesOf,
  snapshotAt,
  stateOf,
  tagsOf,
  type Given,
} from './store-fixtures.js';

/** Appending: a book is written whole or not at all, numbered by the sequence rules, guarded by expectedNext. */
export const appendContract = (fresh: () => Promise<Given>): void => {
  describe('append is atomic and follows the sequence rules', () => {
    it('writes nothing of a book whose third page has a wrong num, and names that page', async () => {
      const { store } = await fresh();
      const ref = newRef();
      await store.append({ ...ref, events: [num(0), num(1)] });
      const before = await stateOf(store, ref);

      const error = await rejectionOf(store.append({ ...ref, events: [num(2), num(3), num(7), num(5)] }));

      expect(error).toBeInstanceOf(SequenceError);
      expect((error as Error).message).toMatch(/pages\[2\]/);
      await expectUnchanged(store, ref, before);
      expect(before.next).toBe(2);
      expect(before.head).toBe(2);
    });

    it('writes nothing for a new aggregate whose first page does not start at 0', async () => {
      const { store } = await fresh();
      const ref = newRef();
      const error = await rejectionOf(store.append({ ...ref, events: [num(1)] }));
      expect(error).toBeInstanceOf(SequenceError);
      expect((error as Error).message).toMatch(/pages\[0\]/);
      await expectUnchanged(store, ref, { events: [], next: 0, head: 0, log: [] });
    });

    it('rejects a page with neither num nor force (ValidationError) and writes nothing', async () => {
      const { store } = await fresh();
      const ref = newRef();
      const error = await rejectionOf(
        store.append({ ...ref, events: [num(0), { event: payload('bare'), synchronous: false }] }),
      );
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toMatch(/pages\[1\]/);
      await expectUnchanged(store, ref, { events: [], next: 0, head: 0, log: [] });
    });

    it('rejects a root that is not 16 bytes (ValidationError)', async () => {
      const { store } = await fresh();
      const error = await rejectionOf(
        store.append({ domain: 'orders', root: new Uint8Array(15), events: [force()] }),
      );
      expect(error).toBeInstanceOf(ValidationError);
      expect(await store.headPosition()).toBe(0);
    });

    it('gives a forced page the next sequence: 0 for a new aggregate, then on from there', async () => {
      const { store } = await fresh();
      const ref = newRef();
      const first = await store.append({ ...ref, events: [force('a')] });
      expect(sequencesOf(first.events)).toEqual([0]);
      expect(first.next).toBe(1);
      const second = await store.append({ ...ref, events: [force('b'), force('c')] });
      expect(sequencesOf(second.events)).toEqual([1, 2]);
      expect(second.next).toBe(3);
      expect(sequencesOf(await store.readAggregate(ref))).toEqual([0, 1, 2]);
      expect(tagsOf(await store.readAggregate(ref))).toEqual(['a', 'b', 'c']);
    });

    it('numbers "num 0, force, force" as 0, 1, 2', async () => {
      const { store } = await fresh();
      const ref = newRef();
      const appended = await store.append({ ...ref, events: [num(0, 'x'), force('y'), force('z')] });
      expect(sequencesOf(appended.events)).toEqual([0, 1, 2]);
      const stored = await store.readAggregate(ref);
      expect(sequencesOf(stored)).toEqual([0, 1, 2]);
      expect(tagsOf(stored)).toEqual(['x', 'y', 'z']);
    });

    it('requires a num after a forced page to be the next one too', async () => {
      const { store } = await fresh();
      const ref = newRef();
      const error = await rejectionOf(store.append({ ...ref, events: [num(0), force(), num(1)] }));
      expect(error).toBeInstanceOf(SequenceError);
      expect((error as Error).message).toMatch(/pages\[2\]/);
      expect(await store.nextSequence(ref)).toBe(0);

      const appended = await store.append({ ...ref, events: [num(0), force(), num(2)] });
      expect(sequencesOf(appended.events)).toEqual([0, 1, 2]);
    });

    it('returns what it stored: sequences, increasing positions and the new next', async () => {
      const { store } = await fresh();
      const ref = newRef();
      const appended = await store.append({ ...ref, events: [num(0), num(1), num(2)] });
      expect(appended.next).toBe(3);
      expect(plain(appended.events)).toEqual(plain(await store.readAggregate(ref)));
      expect(appended.events.map((e) => [e.domain, hex(e.root)])).toEqual(
        range(0, 3).map(() => [ref.domain, hex(ref.root)]),
      );
    });

    it('lets one instance see what another instance appended as soon as the append resolves', async () => {
      const { store, open } = await fresh();
      const other = await open();
      const ref = newRef();
      await store.append({ ...ref, events: [num(0), num(1)] });
      expect(await other.nextSequence(ref)).toBe(2);
      expect(sequencesOf(await other.readAggregate(ref))).toEqual([0, 1]);
      await other.append({ ...ref, expectedNext: 2, events: [num(2)] });
      expect(sequencesOf(await store.readAggregate(ref))).toEqual([0, 1, 2]);
    });
  });

  describe('optimistic concurrency', () => {
    it('rejects a stale expectedNext with ConcurrencyConflictError and writes nothing', async () => {
      const { store } = await fresh();
      const ref = newRef();
      await store.append({ ...ref, events: [num(0), num(1), num(2)] });
      const before = await stateOf(store, ref);

      const error = await rejectionOf(
        store.append({ ...ref, expectedNext: 1, events: [force()], snapshot: snapshotAt(1) }),
      );

      expect(error).toBeInstanceOf(ConcurrencyConflictError);
      expect(error).toMatchObject({ expectedNext: 1, actualNext: 3 });
      await expectUnchanged(store, ref, before);
      expect((await store.load(ref)).snapshot).toBeUndefined();
    });

    it('rejects an expectedNext ahead of the aggregate too', async () => {
      const { store } = await fresh();
      const ref = newRef();
      const error = await rejectionOf(store.append({ ...ref, expectedNext: 4, events: [force()] }));
      expect(error).toMatchObject({ expectedNext: 4, actualNext: 0 });
      expect(error).toBeInstanceOf(ConcurrencyConflictError);
      expect(await store.nextSequence(ref)).toBe(0);
    });

    it('appends at the expected next when it is current', async () => {
      const { store } = await fresh();
      const ref = newRef();
      await store.append({ ...ref, expectedNext: 0, events: [num(0)] });
      const appended = await store.append({ ...ref, expectedNext: 1, events: [force(), num(2)] });
      expect(sequencesOf(appended.events)).toEqual([1, 2]);
    });

    it('appends at whatever is next when expectedNext is undefined', async () => {
      const { store, open } = await fresh();
      const other = await open();
      const ref = newRef();
      await other.append({ ...ref, events: [force(), force()] });
      const appended = await store.append({ ...ref, expectedNext: undefined, events: [force('mine')] });
      expect(sequencesOf(appended.events)).toEqual([2]);
      expect(appended.next).toBe(3);
    });

    it('lets exactly one of two appends with the same expectedNext win', async () => {
      const { store, open } = await fresh();
      const other = await open();
      const ref = newRef();
      const results = await Promise.allSettled([
        store.append({ ...ref, expectedNext: 0, events: [num(0, 'first')] }),
        other.append({ ...ref, expectedNext: 0, events: [num(0, 'second')] }),
        store.append({ ...ref, expectedNext: 0, events: [force('third')] }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const result of results.filter((r) => r.status === 'rejected'))
        expect(result.reason).toBeInstanceOf(ConcurrencyConflictError);
      expect(sequencesOf(await store.readAggregate(ref))).toEqual([0]);
      expect(await store.headPosition()).toBe(1);
    });
  });

  describe('snapshots', () => {
    it('stores a snapshot with the append; load returns it and exactly the events at or after it', async () => {
      const { store } = await fresh();
      const ref = newRef();
      await store.append({ ...ref, events: [num(0), num(1), num(2)], snapshot: snapshotAt(2) });
      await store.append({ ...ref, events: [num(3), num(4)] });

      const loaded = await store.load(ref);

      expect(plain(loaded.snapshot)).toEqual(snapshotAt(2));
      expect(sequencesOf(loaded.events)).toEqual([2, 3, 4]);
      expect(tagsOf(loaded.events)).toEqual(['e2', 'e3', 'e4']);
      expect(loaded.next).toBe(5);
    });

    it('replaces the snapshot with a newer one, never with an older one', async () => {
      const { store } = await fresh();
      const ref = newRef();
      await store.append({ ...ref, events: [num(0), num(1), num(2), num(3)], snapshot: snapshotAt(2) });
      await store.append({ ...ref, events: [num(4)], snapshot: snapshotAt(5) });
      expect(plain((await store.load(ref)).snapshot)).toEqual(snapshotAt(5));

      await store.append({ ...ref, events: [num(5)], snapshot: snapshotAt(3, 'stale') });

      const loaded = await store.load(ref);
      expect(plain(loaded.snapshot)).toEqual(snapshotAt(5));
      expect(sequencesOf(loaded.events)).toEqual([5]);
      expect(loaded.next).toBe(6);
    });

    it('rejects a snapshot beyond the new next (ValidationError) and writes nothing', async () => {
      const { store } = await fresh();
      const ref = newRef();
      await store.append({ ...ref, events: [num(0)], snapshot: snapshotAt(1) });
      const before = await stateOf(store, ref);

      const error = await rejectionOf(
        store.append({ ...ref, events: [num(1), num(2)], snapshot: snapshotAt(4) }),
      );

      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toMatch(/snapshot/);
      await expectUnchanged(store, ref, before);
      expect(plain((await store.load(ref)).snapshot)).toEqual(snapshotAt(1));
    });

    it('accepts a snapshot that covers exactly the events after the append', async () => {
      const { store } = await fresh();
      const ref = newRef();
      await store.append({ ...ref, events: [num(0), num(1)], snapshot: snapshotAt(2) });
      const loaded = await store.load(ref);
      expect(loaded.snapshot?.sequence).toBe(2);
      expect(loaded.events).toEqual([]);
      expect(loaded.next).toBe(2);
    });

    it('round-trips the state bytes exactly, and a snapshot without state', async () => {
      const { store } = await fresh();
      const ref = newRef();
      const bytes = Uint8Array.from([0, 255, 1, 128, 0, 0, 7, 10, 13]);
      await store.append({
        ...ref,
        events: [num(0)],
        snapshot: { sequence: 1, state: { typeUrl: 'type.googleapis.com/x.State', value: bytes } },
      });
      const { snapshot } = await store.load(ref);
      expect(snapshot?.state?.typeUrl).toBe('type.googleapis.com/x.State');
      expect(hex(snapshot?.state?.value)).toBe(hex(bytes));

      const bare = newRef();
      await store.append({ ...bare, events: [num(0)], snapshot: { sequence: 0, state: undefined } });
      expect(plain((await store.load(bare)).snapshot)).toEqual({ sequence: 0, state: undefined });
    });

    it('stores an append with only a snapshot and no events', async () => {
      const { store } = await fresh();
      const ref = newRef();
      await store.append({ ...ref, events: [num(0), num(1), num(2)] });
      const head = await store.headPosition();

      const appended = await store.append({ ...ref, expectedNext: 3, events: [], snapshot: snapshotAt(3) });

      expect(appended).toEqual({ events: [], next: 3 });
      const loaded = await store.load(ref);
      expect(plain(loaded.snapshot)).toEqual(snapshotAt(3));
      expect(loaded.events).toEqual([]);
      expect(await store.headPosition()).toBe(head);
    });

    it('loads an unknown aggregate as nothing', async () => {
      const { store } = await fresh();
      expect(await store.load(newRef())).toEqual({ snapshot: undefined, events: [], next: 0 });
    });

    it('keeps snapshots per aggregate', async () => {
      const { store } = await fresh();
      const a = newRef('orders');
      const b = { domain: 'billing', root: a.root };
      await store.append({ ...a, events: [num(0)], snapshot: snapshotAt(1, 'orders') });
      await store.append({ ...b, events: [num(0), num(1)] });
      expect((await store.load(b)).snapshot).toBeUndefined();
      expect(sequencesOf((await store.load(b)).events)).toEqual([0, 1]);
      expect(plain((await store.load(a)).snapshot)).toEqual(snapshotAt(1, 'orders'));
    });
  });
};
