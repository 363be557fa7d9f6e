import { StoreError } from '../errors/index.js';
import { aggregateKey, formatAggregate } from '../protocol/cover.js';
import type { EventBook, EventPage } from '../protocol/gen/evented/evented.js';
import type { EventStore, ProgressRecord, StoredEvent } from '../store/port.js';

/**
 * What makes delivery to a projector or saga idempotent and gap-free: per aggregate, the next sequence the
 * subscriber expects. Pages below it were handled already and are dropped; when a book starts beyond it, the
 * missing events are fetched from the store (the truth) and put in front. Progress is kept in memory and saved to
 * the store after each handled batch, together with the subscriber's checkpoint.
 */
export interface ProgressTracker {
  readonly subscriber: string;
  /** The books cut to what has not been handled, gaps filled, in order; books with nothing new are left out. */
  pending(books: readonly EventBook[]): Promise<EventBook[]>;
  /** The books cut to the pages already handled (what a replay delivers again); books with none are left out. */
  handled(books: readonly EventBook[]): Promise<EventBook[]>;
  /** Marks the books' pages as handled (in memory). */
  advance(books: readonly EventBook[]): void;
  /** Saves what advanced since the last save, and the checkpoint when it moved forward. */
  save(checkpoint?: number): Promise<void>;
  /** The last checkpoint saved (or loaded). */
  checkpoint(): number;
  /** Loads the checkpoint; call once before use. */
  open(): Promise<void>;
  /** Forgets everything (rebuild). */
  reset(): Promise<void>;
}

const toPage = (event: StoredEvent): EventPage => ({
  num: event.sequence,
  createdAt: event.createdAt,
  Event: event.event,
  synchronous: event.synchronous,
});

/** Aggregates whose progress stays in memory; older ones are read from the store again when they come back. */
const CACHED_AGGREGATES = 50_000;

export const createProgressTracker = (store: EventStore, subscriber: string): ProgressTracker => {
  const next = new Map<string, number>();
  /** Forgets the aggregates seen longest ago (all saved by then), so memory does not grow with the store. */
  const evict = (): void => {
    for (const key of next.keys()) {
      if (next.size <= CACHED_AGGREGATES) return;
      if (!dirty.has(key)) next.delete(key);
    }
  };
  const dirty = new Map<string, ProgressRecord>();
  let savedCheckpoint = 0;

  const load = async (books: readonly EventBook[]): Promise<void> => {
    const missing = new Map<string, { domain: string; root: Uint8Array }>();
    for (const book of books) {
      const { domain, root } = coverOf(book);
      const key = aggregateKey(domain, root);
      if (!next.has(key)) missing.set(key, { domain, root });
    }
    if (missing.size === 0) return;
    const refs = [...missing.values()];
    const loaded = await store.loadProgress(subscriber, refs);
    [...missing.keys()].forEach((key, index) => next.set(key, loaded[index] ?? 0));
  };

  const fillGap = async (book: EventBook, from: number, to: number): Promise<EventPage[]> => {
    const { domain, root } = coverOf(book);
    const missing = await store.readAggregate({ domain, root }, { from, to });
    if (missing.length !== to - from) {
      throw new StoreError(
        `${formatAggregate(domain, root)}: ${subscriber} expected events ${from}..${to - 1} in the store, found ${missing.length}`,
      );
    }
    return missing.map(toPage);
  };

  return {
    subscriber,
    async pending(books) {
      await load(books);
      const expected = new Map<string, number>();
      const result: EventBook[] = [];
      for (const book of books) {
        const { domain, root } = coverOf(book);
        const key = aggregateKey(domain, root);
        const from = expected.get(key) ?? next.get(key) ?? 0;
        const fresh = book.pages.filter((page) => (page.num ?? -1) >= from);
        if (fresh.length === 0) continue;
        const first = fresh[0]!.num!;
        const pages = first > from ? [...(await fillGap(book, from, first)), ...fresh] : fresh;
        expected.set(key, pages[pages.length - 1]!.num! + 1);
        result.push({ cover: book.cover, snapshot: undefined, pages });
      }
      return result;
    },
    async handled(books) {
      await load(books);
      const result: EventBook[] = [];
      for (const book of books) {
        const { domain, root } = coverOf(book);
        const from = next.get(aggregateKey(domain, root)) ?? 0;
        const seen = book.pages.filter((page) => (page.num ?? -1) < from);
        if (seen.length > 0) result.push({ cover: book.cover, snapshot: undefined, pages: seen });
      }
      return result;
    },
    advance(books) {
      for (const book of books) {
        const last = book.pages[book.pages.length - 1]?.num;
        if (last === undefined) continue;
        const { domain, root } = coverOf(book);
        const key = aggregateKey(domain, root);
        if ((next.get(key) ?? 0) > last) continue;
        next.set(key, last + 1);
        dirty.set(key, { domain, root, next: last + 1 });
      }
    },
    async save(checkpoint) {
      const moved = checkpoint !== undefined && checkpoint > savedCheckpoint;
      if (dirty.size === 0 && !moved) return;
      const records = [...dirty.values()];
      dirty.clear();
      await store.saveProgress(subscriber, records, moved ? checkpoint : undefined);
      if (moved) savedCheckpoint = checkpoint;
      evict();
    },
    checkpoint: () => savedCheckpoint,
    async open() {
      savedCheckpoint = await store.getCheckpoint(subscriber);
    },
    async reset() {
      await store.resetProgress(subscriber);
      next.clear();
      dirty.clear();
      savedCheckpoint = 0;
    },
  };
};

const coverOf = (book: EventBook): { domain: string; root: Uint8Array } => ({
  domain: book.cover?.domain ?? '',
  root: book.cover?.root?.value ?? new Uint8Array(),
});
