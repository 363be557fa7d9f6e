import { describe, expect, it } from 'vitest';
import { ConcurrencyConflictError, ValidationError } from '../../runtime/errors/index.js';
import type {
  AggregateRef,
  CommandDecision,
  LoggedCommand,
  NewLoggedCommand,
} from '../../runtime/store/port.js';
import { newRef, num, plain, rejectionOf, sequencesOf, textOf, utf8, type Given } from './store-fixtures.js';

/**
 * The decision log (runtime/store/port.ts, CommandLog and AppendRequest.decision): an accepted command is logged
 * by its append, in the events' transaction, so that it is logged exactly when its events are stored; the other
 * decisions by logCommand. Read back in id order (ids increasing, never given twice) by any instance, filtered by
 * aggregate, time and id, the first or the last N, and counted.
 */

const T0 = Date.parse('2026-12-03T09:00:00Z');

let made = 0;
/** A decision of a command whose bytes (opaque to the store) say which one it is. */
const decided = (tag: string, decidedOn: number, at = T0 + (made += 1)): CommandDecision => ({
  command: utf8(`command ${tag}`),
  commandType: `type.googleapis.com/test.${tag}`,
  decidedOn,
  at,
  correlationId: `correlation ${tag}`,
  commandId: `command-id ${tag}`,
});

const refused = (ref: AggregateRef, tag: string, decidedOn: number, at?: number): NewLoggedCommand => ({
  ...ref,
  ...decided(tag, decidedOn, at),
  outcome: 'refused',
  errorCode: 9,
  errorMessage: `refused ${tag}`,
});

/** Which commands were logged, by their tag, in the order read. */
const tags = (logged: readonly LoggedCommand[]): string[] =>
  logged.map((entry) => textOf(entry.command).replace('command ', ''));

const isIncreasing = (ids: readonly number[]): boolean => ids.every((id, i) => i === 0 || id > ids[i - 1]!);

export const commandLogContract = (fresh: () => Promise<Given>): void => {
  describe('decision log', () => {
    it('logs an accepted command with its append, for every instance, exactly as given', async () => {
      const { store, open } = await fresh();
      const other = await open();
      const ref = newRef();
      await store.append({ ...ref, events: [num(0)] });
      const decision = decided('Deposit', 1, T0);

      const appended = await store.append({ ...ref, expectedNext: 1, events: [num(1), num(2)], decision });

      const [logged, ...more] = await other.readCommandLog({});
      expect(more).toEqual([]);
      expect(plain(logged)).toEqual(
        plain({ id: logged!.id, ...ref, ...decision, outcome: 'accepted', eventCount: 2 }),
      );
      // Its events are the append's: from decidedOn, eventCount of them.
      expect(sequencesOf(appended.events)).toEqual([1, 2]);
      expect(await other.countCommandLog({})).toBe(1);
    });

    it('logs nothing for an append that writes nothing: a conflict, a duplicate idempotency key', async () => {
      const { store } = await fresh();
      const ref = newRef();
      await store.append({ ...ref, events: [num(0)], idempotencyKey: 'k', decision: decided('first', 0) });

      const conflict = await rejectionOf(
        store.append({ ...ref, expectedNext: 0, events: [num(0)], decision: decided('stale', 0) }),
      );
      const duplicate = await store.append({
        ...ref,
        expectedNext: 1,
        events: [num(1)],
        idempotencyKey: 'k',
        decision: decided('again', 1),
      });

      expect(conflict).toBeInstanceOf(ConcurrencyConflictError);
      expect(duplicate.duplicate).toBe(true);
      expect(tags(await store.readCommandLog({}))).toEqual(['first']);
    });

    it('logs each append of one group commit alone: the one that conflicts adds nothing', async () => {
      const { store } = await fresh();
      const [a, b] = [newRef(), newRef()];
      await store.append({ ...a, events: [num(0)] });

      const outcomes = await Promise.allSettled([
        store.append({ ...a, expectedNext: 1, events: [num(1)], decision: decided('a1', 1) }),
        store.append({ ...b, expectedNext: 0, events: [num(0), num(1), num(2)], decision: decided('b0', 0) }),
        store.append({ ...a, expectedNext: 1, events: [num(1)], decision: decided('a1-stale', 1) }),
      ]);

      expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
      const logged = await store.readCommandLog({});
      expect(tags(logged)).toEqual(['a1', 'b0']);
      expect(logged.map((entry) => entry.outcome === 'accepted' && entry.eventCount)).toEqual([1, 3]);
    });

    it('logs refusals and acceptances without events by logCommand, with their outcome', async () => {
      const { store, open } = await fresh();
      const ref = newRef();
      await store.logCommand(refused(ref, 'Withdraw', 0));
      const empty = decided('Noop', 0);
      await store.logCommand({ ...ref, ...empty, outcome: 'accepted', eventCount: 0 });

      const logged = await (await open()).readCommandLog({});
      expect(plain(logged)).toEqual(
        plain([
          { id: logged[0]!.id, ...refused(ref, 'Withdraw', 0, logged[0]!.at) },
          { id: logged[1]!.id, ...ref, ...empty, outcome: 'accepted', eventCount: 0 },
        ]),
      );
    });

    it('gives increasing ids, never the same one twice, whichever instance logs', async () => {
      const { store, open } = await fresh();
      const other = await open();
      const ref = newRef();
      for (let i = 0; i < 3; i += 1) {
        await store.logCommand(refused(ref, `s${i}`, i));
        await other.append({ ...ref, expectedNext: i, events: [num(i)], decision: decided(`o${i}`, i) });
        // A failed append between them: whatever number it might have taken is not given to the next.
        await rejectionOf(
          store.append({ ...ref, expectedNext: 0, events: [num(0)], decision: decided('x', 0) }),
        );
      }
      const ids = (await store.readCommandLog({})).map((entry) => entry.id);
      expect(ids).toHaveLength(6);
      expect(isIncreasing(ids)).toBe(true);
      const reopened = await open();
      await reopened.logCommand(refused(ref, 'last', 3));
      const [newest] = await reopened.readCommandLog({ last: 1 });
      expect(newest!.id).toBeGreaterThan(ids.at(-1)!);
      expect(tags(await other.readCommandLog({}))).toEqual(['s0', 'o0', 's1', 'o1', 's2', 'o2', 'last']);
    });

    it('filters by domain, aggregate, time and id, takes the first or the last N, and counts', async () => {
      const { store } = await fresh();
      const [a, b, c] = [newRef('orders'), newRef('orders'), newRef('billing')];
      const logAt = async (ref: AggregateRef, tag: string, at: number): Promise<void> =>
        store.logCommand(refused(ref, tag, 0, at));
      await logAt(a, 'a1', T0 + 1);
      await logAt(b, 'b1', T0 + 2);
      await logAt(c, 'c1', T0 + 3);
      await logAt(a, 'a2', T0 + 4);
      await logAt(b, 'b2', T0 + 5);
      const all = await store.readCommandLog({});
      const idOf = (tag: string): number => all[tags(all).indexOf(tag)]!.id;

      expect(tags(await store.readCommandLog({ domain: 'orders' }))).toEqual(['a1', 'b1', 'a2', 'b2']);
      expect(tags(await store.readCommandLog({ domain: 'orders', root: a.root }))).toEqual(['a1', 'a2']);
      expect(tags(await store.readCommandLog({ since: T0 + 3 }))).toEqual(['c1', 'a2', 'b2']);
      expect(tags(await store.readCommandLog({ afterId: idOf('b1') }))).toEqual(['c1', 'a2', 'b2']);
      expect(tags(await store.readCommandLog({ limit: 2 }))).toEqual(['a1', 'b1']);
      expect(tags(await store.readCommandLog({ last: 2 }))).toEqual(['a2', 'b2']);
      expect(tags(await store.readCommandLog({ domain: 'orders', last: 3 }))).toEqual(['b1', 'a2', 'b2']);
      expect(tags(await store.readCommandLog({ last: 3, limit: 1 }))).toEqual(['c1']);
      expect(tags(await store.readCommandLog({ afterId: idOf('a1'), limit: 2 }))).toEqual(['b1', 'c1']);
      expect(tags(await store.readCommandLog({ domain: 'shipping' }))).toEqual([]);

      expect(await store.countCommandLog({})).toBe(5);
      expect(await store.countCommandLog({ domain: 'orders', limit: 1, last: 1 })).toBe(4);
      expect(await store.countCommandLog({ domain: 'orders', root: b.root, since: T0 + 3 })).toBe(1);
      expect(await store.countCommandLog({ afterId: idOf('a2') })).toBe(1);
    });

    it('pages through a long log with afterId and limit, every decision once, in order', async () => {
      const { store } = await fresh();
      const ref = newRef();
      for (let i = 0; i < 25; i += 1) await store.logCommand(refused(ref, `r${i}`, 0));
      const seen: LoggedCommand[] = [];
      for (;;) {
        const page = await store.readCommandLog({ afterId: seen.at(-1)?.id ?? 0, limit: 10 });
        seen.push(...page);
        if (page.length < 10) break;
      }
      expect(tags(seen)).toEqual(Array.from({ length: 25 }, (_, i) => `r${i}`));
    });

    it('refuses a root that is not 16 bytes, or one without its domain (ValidationError)', async () => {
      const { store } = await fresh();
      const short = await rejectionOf(store.readCommandLog({ domain: 'orders', root: new Uint8Array(3) }));
      const alone = await rejectionOf(store.countCommandLog({ root: newRef().root }));
      expect(short).toBeInstanceOf(ValidationError);
      expect(alone).toBeInstanceOf(ValidationError);
      expect((alone as Error).message).toMatch(/domain/);
    });
  });
};
