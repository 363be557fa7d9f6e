import type { Logger } from 'pino';
import { NotFoundError, StateError, StoreError } from '../errors/index.js';
import { aggregateKey, formatAggregate } from '../protocol/cover.js';
import type { EventBook, EventPage } from '../protocol/gen/evented/evented.js';
import type { AggregateRef, DeadLetter, EventStore, StoredEvent } from '../store/port.js';

/**
 * A subscriber's sequenced dead-letter queue (as Axon's): an event the subscriber kept failing on is set aside
 * in the store as a letter, and from then on that aggregate is held back: while it has an open letter, its later
 * events are not delivered to this subscriber but parked as letters behind it ("waiting behind #N"), in sequence
 * order; other aggregates go on. Which aggregates are held back is read from the store when the subscriber
 * starts, so it survives restarts, and every delivery path (bus, catch-up, hole filling, replay, synchronous
 * calls) goes through `admit`.
 *
 * A letter is written (durably) before `admit` or `setAside` returns, so before the subscriber's progress moves
 * past the event; writing one is idempotent, so an event delivered again after a crash makes no second letter.
 *
 * What a person decides (evented dlq retry / skip) runs here too, with the subscriber's delivery lock held by the
 * caller, so it never interleaves with live delivery:
 * - retry delivers an aggregate's open letters again from the store, one call each, in sequence order; each
 *   success marks its letter retried; a failure records the attempt and stops that aggregate there. Once an
 *   aggregate has no open letter, its events flow again.
 * - skip closes a letter as skipped; when no earlier letter of its aggregate is open, the letters waiting behind
 *   it are retried in order at once (an earlier open letter still holds them back).
 */

export type Redelivery = (book: EventBook) => Promise<{ ok: true } | { ok: false; reason: string }>;

export type RetryScope = { letter: number } | { aggregate: AggregateRef } | { all: true };

export interface Decision {
  /** Who decided: the admin caller (user@host, pid, address). */
  by: string;
  /** Delivers one event to the subscriber once, without waiting for it when it is down. */
  redeliver: Redelivery;
}

/** What a coordinator offers a person (evented dlq): its letters retried or skipped, with its delivery lock held. */
export interface DeadLetterDecisions {
  retry(scope: RetryScope, by: string): Promise<DeadLetter[]>;
  skip(ids: readonly number[], by: string): Promise<DeadLetter[]>;
}

export interface SubscriberDeadLetters {
  /** Reads which aggregates are held back; call before anything is delivered. */
  open(): Promise<void>;
  /**
   * The books without the events of held-back aggregates (from the first open letter's sequence on): those are
   * parked as letters behind it. Returns `books` itself when no aggregate is held back.
   */
  admit(books: readonly EventBook[]): Promise<EventBook[]>;
  /** Sets a one-event book aside: the subscriber kept failing on it. Its aggregate is held back from now on. */
  setAside(book: EventBook, failure: { reason: string; attempts: number }): Promise<void>;
  /** Delivers open letters again (see above); returns every letter it touched, as they are now. */
  retry(scope: RetryScope, decision: Decision): Promise<DeadLetter[]>;
  /** Skips open letters, then releases what waited behind them (see above); returns every letter it touched. */
  skip(ids: readonly number[], decision: Decision): Promise<DeadLetter[]>;
}

interface Head {
  id: number;
  sequence: number;
}

const PAGE = 1000;

const toPage = (event: StoredEvent): EventPage => ({
  num: event.sequence,
  createdAt: event.createdAt,
  Event: event.event,
  synchronous: event.synchronous,
});

const refOf = (book: EventBook): AggregateRef => ({
  domain: book.cover?.domain ?? '',
  root: book.cover?.root?.value ?? new Uint8Array(),
});

const bySequence = (a: DeadLetter, b: DeadLetter): number => a.sequence - b.sequence;

/** "projector:accounts" → `projector "accounts"`, as messages name a subscriber. */
export const describeSubscriber = (subscriber: string): string => {
  const [kind, ...name] = subscriber.split(':');
  return `${kind} "${name.join(':')}"`;
};

export const createSubscriberDeadLetters = (options: {
  store: EventStore;
  /** "projector:NAME" / "saga:NAME" */
  subscriber: string;
  /** How logs name it: `projector "accounts" at 127.0.0.1:1738`. */
  label: string;
  logger: Logger;
}): SubscriberDeadLetters => {
  const { store, subscriber, label, logger } = options;
  /** Held-back aggregates: the open letter with the lowest sequence of each. */
  const heads = new Map<string, Head>();

  const keyOf = (ref: AggregateRef): string => aggregateKey(ref.domain, ref.root);

  /** The stored events `from`..`to` (exclusive) of an aggregate: a letter names an event the store holds. */
  const storedEvents = async (ref: AggregateRef, from: number, to: number): Promise<StoredEvent[]> => {
    const events = await store.readAggregate(ref, { from, to });
    if (events.length !== to - from) {
      throw new StoreError(
        `${formatAggregate(ref.domain, ref.root)}: ${subscriber} cannot set events ${from}..${to - 1} aside: the store has ${events.length} of them`,
      );
    }
    return events;
  };

  const holdBack = (ref: AggregateRef, letter: DeadLetter): void => {
    const key = keyOf(ref);
    const head = heads.get(key);
    if (letter.state === 'open' && (head === undefined || letter.sequence < head.sequence)) {
      heads.set(key, { id: letter.id, sequence: letter.sequence });
    }
  };

  /** The aggregate's open letters in sequence order, and its head set from them (or cleared). */
  const openLetters = async (ref: AggregateRef): Promise<DeadLetter[]> => {
    const letters = (await store.listDeadLetters({ subscriber, aggregate: ref, state: 'open' })).sort(
      bySequence,
    );
    const first = letters[0];
    if (first === undefined) heads.delete(keyOf(ref));
    else heads.set(keyOf(ref), { id: first.id, sequence: first.sequence });
    return letters;
  };

  const park = async (ref: AggregateRef, pages: readonly EventPage[], head: Head): Promise<void> => {
    // The head's own event is its letter already (it comes again after a crash): nothing to write.
    const waiting = pages.filter((page) => page.num !== head.sequence);
    if (waiting.length === 0) return;
    const first = waiting[0]!.num!;
    const last = waiting[waiting.length - 1]!.num!;
    const events = new Map(
      (await storedEvents(ref, first, last + 1)).map((event) => [event.sequence, event] as const),
    );
    for (const page of waiting) {
      await store.putDeadLetter({
        subscriber,
        ...ref,
        sequence: page.num!,
        position: events.get(page.num!)!.position,
        attempts: 0,
        lastError: `waiting behind #${head.id}`,
        at: Date.now(),
      });
    }
    logger.warn(
      { aggregate: formatAggregate(ref.domain, ref.root), sequences: waiting.map((page) => page.num) },
      `${label}: events parked behind dead letter #${head.id}`,
    );
  };

  const now = (): number => Date.now();

  const get = async (id: number): Promise<DeadLetter> => {
    const letter = await store.getDeadLetter(id);
    if (letter === undefined || letter.subscriber !== subscriber) {
      throw new NotFoundError(`${describeSubscriber(subscriber)} has no dead letter #${id}`);
    }
    return letter;
  };

  const mustBeOpen = (letter: DeadLetter): void => {
    if (letter.state === 'open') return;
    const when = letter.decidedAt === undefined ? '' : ` at ${new Date(letter.decidedAt).toISOString()}`;
    throw new StateError(
      `dead letter #${letter.id} was ${letter.state} already (by ${letter.decidedBy ?? 'someone'}${when})`,
    );
  };

  /**
   * Delivers `letters` (open, one aggregate's, in sequence order) again, one call each; stops at the first that
   * fails, recording the attempt, and names it as what the rest wait behind.
   */
  const redeliverInOrder = async (letters: readonly DeadLetter[], decision: Decision): Promise<number[]> => {
    const touched: number[] = [];
    for (const [index, letter] of letters.entries()) {
      const [event] = await storedEvents(letter, letter.sequence, letter.sequence + 1);
      const book: EventBook = {
        cover: { domain: letter.domain, root: { value: letter.root } },
        snapshot: undefined,
        pages: [toPage(event!)],
      };
      const outcome = await decision.redeliver(book);
      touched.push(letter.id);
      if (outcome.ok) {
        await store.closeDeadLetter(letter.id, { state: 'retried', at: now(), by: decision.by });
        continue;
      }
      await store.recordDeadLetterAttempt(letter.id, {
        attempts: letter.attempts + 1,
        lastError: outcome.reason,
        at: now(),
      });
      logger.warn(
        { letter: letter.id, reason: outcome.reason, by: decision.by },
        `${label}: dead letter #${letter.id} failed again; its aggregate stays held back`,
      );
      for (const behind of letters.slice(index + 1)) {
        if (behind.attempts === 0 && behind.lastError !== `waiting behind #${letter.id}`) {
          await store.recordDeadLetterAttempt(behind.id, {
            attempts: 0,
            lastError: `waiting behind #${letter.id}`,
            at: now(),
          });
        }
      }
      break;
    }
    return touched;
  };

  const current = async (ids: readonly number[]): Promise<DeadLetter[]> =>
    Promise.all(ids.map(async (id) => (await store.getDeadLetter(id))!));

  /** Every open letter of the subscriber, by aggregate, each aggregate's in sequence order. */
  const openByAggregate = async (): Promise<DeadLetter[][]> => {
    const groups = new Map<string, DeadLetter[]>();
    for (let afterId = 0; ;) {
      const page = await store.listDeadLetters({ subscriber, state: 'open', afterId, limit: PAGE });
      for (const letter of page) {
        const key = keyOf(letter);
        groups.set(key, [...(groups.get(key) ?? []), letter]);
      }
      if (page.length < PAGE) break;
      afterId = page[page.length - 1]!.id;
    }
    return [...groups.values()].map((letters) => letters.sort(bySequence));
  };

  return {
    async open() {
      heads.clear();
      for (const letters of await openByAggregate()) holdBack(letters[0]!, letters[0]!);
    },

    async admit(books) {
      if (heads.size === 0) return books as EventBook[];
      const admitted: EventBook[] = [];
      for (const book of books) {
        const ref = refOf(book);
        const head = heads.get(keyOf(ref));
        if (head === undefined) {
          admitted.push(book);
          continue;
        }
        const before = book.pages.filter((page) => (page.num ?? 0) < head.sequence);
        const held = book.pages.filter((page) => (page.num ?? 0) >= head.sequence);
        if (held.length > 0) await park(ref, held, head);
        if (before.length > 0) admitted.push({ ...book, pages: before });
      }
      return admitted;
    },

    async setAside(book, failure) {
      const ref = refOf(book);
      const page = book.pages[0]!;
      const [event] = await storedEvents(ref, page.num!, page.num! + 1);
      const letter = await store.putDeadLetter({
        subscriber,
        ...ref,
        sequence: page.num!,
        position: event!.position,
        attempts: failure.attempts,
        lastError: failure.reason,
        at: now(),
      });
      holdBack(ref, letter);
      logger.error(
        {
          letter: letter.id,
          reason: failure.reason,
          aggregate: formatAggregate(ref.domain, ref.root),
          sequence: page.num,
        },
        `${label}: event set aside as dead letter #${letter.id}; its aggregate's later events wait behind it`,
      );
    },

    async retry(scope, decision) {
      let groups: DeadLetter[][];
      if ('letter' in scope) {
        const letter = await get(scope.letter);
        mustBeOpen(letter);
        const letters = await openLetters(letter);
        const first = letters[0]!;
        if (first.id !== letter.id) {
          throw new StateError(
            `dead letter #${letter.id} waits behind #${first.id} (${formatAggregate(first.domain, first.root)} #${first.sequence}): retry or skip #${first.id} first`,
          );
        }
        groups = [letters];
      } else if ('aggregate' in scope) {
        const letters = await openLetters(scope.aggregate);
        if (letters.length === 0) {
          throw new NotFoundError(
            `${describeSubscriber(subscriber)} has no open dead letter for ${formatAggregate(scope.aggregate.domain, scope.aggregate.root)}`,
          );
        }
        groups = [letters];
      } else groups = await openByAggregate();
      const touched: number[] = [];
      for (const letters of groups) {
        touched.push(...(await redeliverInOrder(letters, decision)));
        await openLetters(letters[0]!);
      }
      return current(touched);
    },

    async skip(ids, decision) {
      const touched: number[] = [];
      for (const id of ids) {
        const letter = await get(id);
        mustBeOpen(letter);
        if (!(await store.closeDeadLetter(id, { state: 'skipped', at: now(), by: decision.by }))) {
          mustBeOpen((await store.getDeadLetter(id))!);
        }
        touched.push(id);
        logger.warn({ letter: id, by: decision.by }, `${label}: dead letter #${id} skipped`);
        const letters = await openLetters(letter);
        // Released only when nothing earlier of the aggregate is still open.
        if (letters.length > 0 && letters[0]!.sequence > letter.sequence) {
          touched.push(...(await redeliverInOrder(letters, decision)));
          await openLetters(letter);
        }
      }
      return current(touched);
    },
  };
};
