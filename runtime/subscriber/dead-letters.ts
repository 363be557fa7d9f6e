import type { Logger } from 'pino';
import { StoreError } from '../errors/index.js';
import { aggregateKey, formatAggregate } from '../protocol/cover.js';
import type { EventBook, EventPage } from '../protocol/gen/evented/evented.js';
import type { AggregateRef, DeadLetter, EventStore, StoredEvent } from '../store/port.js';
import { toPage } from '../store/page.js';

/**
 * A subscriber's sequenced dead-letter queue (as Axon's): an event the subscriber kept failing on is set aside
 * in the store as a letter, and from then on that aggregate is held back: while it has an open letter, its later
 * events are not delivered to this subscriber but parked as letters behind it ("waiting behind #N"), in sequence
 * order; other aggregates go on. Which aggregates are held back is read from the store when the subscriber
 * starts, and for a partition's aggregates again when this process takes the partition over, so it survives
 * restarts and moves with the partition, and every delivery path (bus, catch-up, hole filling, replay, synchronous
 * calls) goes through `admit`.
 *
 * A letter is written (durably) before `admit` or `setAside` returns, so before the subscriber's progress moves
 * past the event; writing one is idempotent, so an event delivered again after a crash makes no second letter.
 * What a person decides about letters (retry, skip) is in dead-letter-decisions.ts.
 */

export interface SubscriberDeadLetters {
  /** "projector:NAME" / "saga:NAME" */
  readonly subscriber: string;
  /** Reads which aggregates are held back; call before anything is delivered. */
  open(): Promise<void>;
  /**
   * Reads again which of the aggregates `owns` says are held back: for a partition this process takes over, whose
   * letters another process opened or closed meanwhile. Call before anything of theirs is delivered.
   */
  refresh(owns: (aggregate: AggregateRef) => boolean): Promise<void>;
  /**
   * The books without the events of held-back aggregates (from the first open letter's sequence on): those are
   * parked as letters behind it. Returns `books` itself when no aggregate is held back.
   */
  admit(books: readonly EventBook[]): Promise<EventBook[]>;
  /** Sets a one-event book aside: the subscriber kept failing on it. Its aggregate is held back from now on. */
  setAside(book: EventBook, failure: { reason: string; attempts: number }): Promise<void>;
  /** An aggregate's open letters, in sequence order, read from the store; its hold follows them (or ends). */
  openLetters(aggregate: AggregateRef): Promise<DeadLetter[]>;
  /** Every open letter of the subscriber, by aggregate, each aggregate's in sequence order. */
  openByAggregate(): Promise<DeadLetter[][]>;
  /** The stored event a letter names, as a one-page book. */
  bookOf(letter: DeadLetter): Promise<EventBook>;
}

interface Head {
  ref: AggregateRef;
  id: number;
  sequence: number;
}

const PAGE = 1000;

const refOf = (book: EventBook): AggregateRef => ({
  domain: book.cover?.domain ?? '',
  root: book.cover?.root?.value ?? new Uint8Array(),
});

const bySequence = (a: DeadLetter, b: DeadLetter): number => a.sequence - b.sequence;

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
      heads.set(key, {
        ref: { domain: ref.domain, root: ref.root },
        id: letter.id,
        sequence: letter.sequence,
      });
    }
  };

  const openLetters = async (ref: AggregateRef): Promise<DeadLetter[]> => {
    const letters = (await store.listDeadLetters({ subscriber, aggregate: ref, state: 'open' })).sort(
      bySequence,
    );
    const first = letters[0];
    if (first === undefined) heads.delete(keyOf(ref));
    else heads.set(keyOf(ref), { ref, id: first.id, sequence: first.sequence });
    return letters;
  };

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

  return {
    subscriber,

    async open() {
      heads.clear();
      for (const letters of await openByAggregate()) holdBack(letters[0]!, letters[0]!);
    },

    async refresh(owns) {
      const open = await openByAggregate();
      for (const [key, head] of heads) if (owns(head.ref)) heads.delete(key);
      for (const letters of open) if (owns(letters[0]!)) holdBack(letters[0]!, letters[0]!);
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
        at: Date.now(),
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

    openLetters,
    openByAggregate,

    async bookOf(letter) {
      const [event] = await storedEvents(letter, letter.sequence, letter.sequence + 1);
      return {
        cover: { domain: letter.domain, root: { value: letter.root } },
        snapshot: undefined,
        pages: [toPage(event!)],
      };
    },
  };
};
