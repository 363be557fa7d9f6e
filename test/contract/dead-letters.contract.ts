import { describe, expect, it } from 'vitest';
import type { AggregateRef, DeadLetter, NewDeadLetter } from '../../runtime/store/port.js';
import { newRef, type Given } from './store-fixtures.js';

/**
 * Dead letters (runtime/store/port.ts, DeadLetterStore): one letter per subscriber and event, written
 * idempotently (a redelivered event makes no second letter), durable and visible to every instance, listed by
 * subscriber, state and aggregate, and closed by a decision that is recorded once.
 */

const T0 = Date.parse('2026-11-29T08:00:00Z');

const letter = (ref: AggregateRef, sequence: number, fields: Partial<NewDeadLetter> = {}): NewDeadLetter => ({
  subscriber: 'projector:accounts',
  ...ref,
  sequence,
  position: 100 + sequence,
  attempts: 5,
  lastError: `INTERNAL: cannot take event ${sequence}`,
  at: T0 + sequence,
  ...fields,
});

/** A letter's fields a test compares (roots as plain arrays, whatever byte type the driver hands back). */
const plainLetter = (stored: DeadLetter): Record<string, unknown> => ({ ...stored, root: [...stored.root] });

export const deadLettersContract = (fresh: () => Promise<Given>): void => {
  describe('dead letters', () => {
    it('are none at first', async () => {
      const { store } = await fresh();
      expect(await store.listDeadLetters({})).toEqual([]);
      expect(await store.getDeadLetter(1)).toBeUndefined();
      expect(await store.countOpenDeadLetters()).toEqual(new Map());
    });

    it('keeps a letter with everything it was given, open, with an id; another instance reads it', async () => {
      const { store, open } = await fresh();
      const other = await open();
      const a = newRef();

      const put = await store.putDeadLetter(letter(a, 2));

      const expected = {
        id: put.id,
        subscriber: 'projector:accounts',
        domain: a.domain,
        root: [...a.root],
        sequence: 2,
        position: 102,
        attempts: 5,
        lastError: 'INTERNAL: cannot take event 2',
        state: 'open',
        createdAt: T0 + 2,
        updatedAt: T0 + 2,
        decidedAt: undefined,
        decidedBy: undefined,
      };
      expect(plainLetter(put)).toEqual(expected);
      expect(plainLetter((await other.getDeadLetter(put.id))!)).toEqual(expected);
      expect((await other.listDeadLetters({})).map(plainLetter)).toEqual([expected]);
    });

    it('writes one letter per subscriber and event, however often it is put (a redelivered event)', async () => {
      const { store, open } = await fresh();
      const other = await open();
      const a = newRef();
      const first = await store.putDeadLetter(letter(a, 2));

      // The same event again, from another instance too, and at the same moment: the open letter is kept as it was.
      const again = await Promise.all([
        other.putDeadLetter(letter(a, 2, { attempts: 0, lastError: 'waiting behind #1', at: T0 + 99 })),
        store.putDeadLetter(letter(a, 2, { attempts: 9, at: T0 + 98 })),
      ]);
      expect(again.map(plainLetter)).toEqual([plainLetter(first), plainLetter(first)]);

      // Another subscriber's letter for the same event is its own.
      const saga = await store.putDeadLetter(letter(a, 2, { subscriber: 'saga:transfers' }));
      expect(saga.id).not.toBe(first.id);
      expect((await store.listDeadLetters({})).map((l) => [l.id, l.subscriber])).toEqual([
        [first.id, 'projector:accounts'],
        [saga.id, 'saga:transfers'],
      ]);
    });

    it('puts the letters of racing writers, each event once, with distinct ids', async () => {
      const { store, open } = await fresh();
      const others = await Promise.all([open(), open()]);
      const a = newRef();
      const puts = await Promise.all(
        [store, ...others].flatMap((instance) =>
          [0, 1, 2, 3].map((sequence) => instance.putDeadLetter(letter(a, sequence))),
        ),
      );
      const listed = await store.listDeadLetters({});
      expect(listed.map((l) => l.sequence).sort()).toEqual([0, 1, 2, 3]);
      expect(new Set(listed.map((l) => l.id)).size).toBe(4);
      for (const put of puts) expect(listed.map((l) => l.id)).toContain(put.id);
    });

    it('lists by subscriber, state and aggregate, in id order, with paging', async () => {
      const { store } = await fresh();
      const [a, b] = [newRef(), newRef('billing')];
      const a2 = await store.putDeadLetter(letter(a, 2));
      const b0 = await store.putDeadLetter(letter(b, 0));
      const a3 = await store.putDeadLetter(
        letter(a, 3, { attempts: 0, lastError: `waiting behind #${a2.id}` }),
      );
      const s0 = await store.putDeadLetter(letter(b, 0, { subscriber: 'saga:transfers' }));
      await store.closeDeadLetter(b0.id, { state: 'skipped', at: T0 + 50, by: 'ada@host pid 1' });

      const ids = async (filter: Parameters<typeof store.listDeadLetters>[0]): Promise<number[]> =>
        (await store.listDeadLetters(filter)).map((l) => l.id);
      expect(a2.id).toBeLessThan(b0.id);
      expect(b0.id).toBeLessThan(a3.id);
      expect(await ids({})).toEqual([a2.id, b0.id, a3.id, s0.id]);
      expect(await ids({ subscriber: 'projector:accounts' })).toEqual([a2.id, b0.id, a3.id]);
      expect(await ids({ subscriber: 'projector:accounts', state: 'open' })).toEqual([a2.id, a3.id]);
      expect(await ids({ state: 'skipped' })).toEqual([b0.id]);
      expect(await ids({ aggregate: a })).toEqual([a2.id, a3.id]);
      expect(await ids({ aggregate: b, subscriber: 'saga:transfers' })).toEqual([s0.id]);
      expect(await ids({ aggregate: newRef() })).toEqual([]);
      expect(await ids({ limit: 2 })).toEqual([a2.id, b0.id]);
      expect(await ids({ afterId: b0.id, limit: 1 })).toEqual([a3.id]);
      expect(await store.countOpenDeadLetters()).toEqual(
        new Map([
          ['projector:accounts', 2],
          ['saga:transfers', 1],
        ]),
      );
    });

    it('records a failed attempt of an open letter', async () => {
      const { store } = await fresh();
      const put = await store.putDeadLetter(letter(newRef(), 1));
      await store.recordDeadLetterAttempt(put.id, {
        attempts: 6,
        lastError: 'DEADLINE_EXCEEDED',
        at: T0 + 60,
      });
      expect(await store.getDeadLetter(put.id)).toMatchObject({
        state: 'open',
        attempts: 6,
        lastError: 'DEADLINE_EXCEEDED',
        createdAt: T0 + 1,
        updatedAt: T0 + 60,
      });
    });

    it('closes an open letter once, recording who decided and when; a second decision changes nothing', async () => {
      const { store, open } = await fresh();
      const other = await open();
      const put = await store.putDeadLetter(letter(newRef(), 1));

      const decisions = await Promise.all([
        store.closeDeadLetter(put.id, { state: 'skipped', at: T0 + 70, by: 'ada@host pid 7' }),
        other.closeDeadLetter(put.id, { state: 'retried', at: T0 + 71, by: 'bob@host pid 8' }),
      ]);

      expect(decisions.filter(Boolean)).toHaveLength(1);
      const closed = (await other.getDeadLetter(put.id))!;
      const [state, at, by] = decisions[0]
        ? ['skipped', T0 + 70, 'ada@host pid 7']
        : ['retried', T0 + 71, 'bob@host pid 8'];
      expect(closed).toMatchObject({ state, decidedAt: at, decidedBy: by, updatedAt: at });
      expect(await store.closeDeadLetter(put.id, { state: 'retried', at: T0 + 80, by: 'cy' })).toBe(false);
      await store.recordDeadLetterAttempt(put.id, { attempts: 99, lastError: 'late', at: T0 + 90 });
      expect(await store.getDeadLetter(put.id)).toEqual(closed);
      expect(await store.countOpenDeadLetters()).toEqual(new Map());
    });

    it('opens a closed letter again when its event is set aside once more (after a replay), same id', async () => {
      const { store } = await fresh();
      const a = newRef();
      const put = await store.putDeadLetter(letter(a, 4));
      await store.closeDeadLetter(put.id, { state: 'retried', at: T0 + 10, by: 'ada' });

      const reopened = await store.putDeadLetter(
        letter(a, 4, { attempts: 3, lastError: 'again', at: T0 + 20 }),
      );

      expect(reopened).toMatchObject({
        id: put.id,
        state: 'open',
        attempts: 3,
        lastError: 'again',
        createdAt: T0 + 4,
        updatedAt: T0 + 20,
        decidedAt: undefined,
        decidedBy: undefined,
      });
      expect(await store.listDeadLetters({})).toHaveLength(1);
    });

    it('keeps letters across a reopen of the store', async () => {
      const { store, open } = await fresh();
      const put = await store.putDeadLetter(letter(newRef(), 0));
      await store.close();
      const reopened = await open();
      expect((await reopened.getDeadLetter(put.id))?.lastError).toBe(put.lastError);
      const next = await reopened.putDeadLetter(letter(newRef(), 0));
      expect(next.id).toBeGreaterThan(put.id);
    });
  });
};
