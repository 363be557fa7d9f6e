import { StoreError } from '../errors/index.js';
import { aggregateKey, formatAggregate } from '../protocol/cover.js';
import type { EventBook, EventPage } from '../protocol/gen/evented/evented.js';
import type { AppliedCall, EventStore, ProgressRecord } from '../store/port.js';
import { toPage } from '../store/page.js';
import {
  appliedCall,
  DEFAULT_DELIVERY_LOG,
  pruneWhenDue,
  type CallTiming,
  type DeliveryLogPolicy,
} from './delivery-log.js';

/**
 * What makes delivery to a projector or saga idempotent and gap-free: per aggregate, the next sequence the
 * subscriber expects. Pages below it were handled already and are dropped; when a book starts beyond it, the
 * missing events are fetched from the store (the truth) and put in front. Beside it, the checkpoint: every event
 * up to that global position has been handled.
 *
 * Both are kept in memory as the work goes on and written to the store by save(), one save at a time. What is
 * saved is always true of what was handled (a page is advanced only once its call succeeded; the checkpoint moves
 * only when every event up to it was handled), so a crash before a save only means handing over again what was
 * handled since the last one; the per-aggregate progress, saved as each call succeeds, keeps that to the calls
 * of the last save interval even when the checkpoint waits for a whole batch.
 */
export interface ProgressTracker {
  readonly subscriber: string;
  /**
   * The books cut to what has not been handled, gaps filled (before a book's first page and inside it), in
   * order; books with nothing new are left out.
   */
  pending(books: readonly EventBook[]): Promise<EventBook[]>;
  /** The books cut to the pages already handled (what a replay delivers again); books with none are left out. */
  handled(books: readonly EventBook[]): Promise<EventBook[]>;
  /**
   * Marks the books' pages as handled (in memory, until the next save). With `call`, a successful call applied
   * them: the pages not handled before go to the delivery log, saved with the progress (see delivery-log.ts).
   */
  advance(books: readonly EventBook[], call?: CallTiming): void;
  /** Every event up to `position` has been handled (in memory, until the next save). */
  reach(position: number): void;
  /** Saves what advanced since the last save, and the checkpoint when it moved (`checkpoint` is reach()ed first). */
  save(checkpoint?: number): Promise<void>;
  /** Every event up to this position has been handled (saved, or to be saved by the next save). */
  checkpoint(): number;
  /**
   * Events handled past the checkpoint since it last moved: the work in progress (a batch whose checkpoint moves
   * only when all of it is handled) that was already handed over. Replays of handled events do not count.
   */
  pastCheckpoint(): number;
  /**
   * Loads the checkpoint; call before use. Again after someone else moved this subscriber's progress in the store
   * (a replay through another tracker): it also forgets what it knew of each aggregate (call with nothing unsaved).
   */
  open(): Promise<void>;
  /**
   * Saves what advanced, then forgets what memory holds and takes the checkpoint from the store again: another
   * process (a replay) moved the progress in the store.
   */
  reload(): Promise<void>;
  /** Forgets everything, in the store too (rebuild). */
  reset(): Promise<void>;
}

/** Aggregates whose progress stays in memory; older ones are read from the store again when they come back. */
const CACHED_AGGREGATES = 50_000;

/**
 * `checkpointName`: where its checkpoint is kept (a partition's own: see partitions.ts); by default the
 * subscriber's. A partition without a checkpoint yet starts from the subscriber's (every event up to it was
 * handled, in every partition: what a project upgraded from one queue per subscriber, or a replay, left).
 * `log`: whether and how long the calls that applied events are kept in the delivery log.
 */
export const createProgressTracker = (
  store: EventStore,
  subscriber: string,
  checkpointName = subscriber,
  log: DeliveryLogPolicy = DEFAULT_DELIVERY_LOG,
): ProgressTracker => {
  const next = new Map<string, number>();
  /** Progress advanced since the last save, by aggregate. */
  const dirty = new Map<string, ProgressRecord>();
  /** Aggregates whose progress a save is writing. */
  const writing = new Set<string>();
  /**
   * Forgets the aggregates seen longest ago whose progress is in the store, so memory does not grow with the
   * store. Runs when a batch is done (reach()), never between pending() and advance(): forgetting an aggregate
   * there would lose what the batch is doing with it.
   */
  const evict = (): void => {
    for (const key of next.keys()) {
      if (next.size <= CACHED_AGGREGATES) return;
      if (!dirty.has(key) && !writing.has(key)) next.delete(key);
    }
  };
  let handledUpTo = 0;
  let savedCheckpoint = 0;
  let past = 0;
  /** Saves and resets run one after another, so that none overtakes another and a reset waits for a save. */
  let queue: Promise<void> = Promise.resolve();
  const serially = (task: () => Promise<void>): Promise<void> => {
    const run = queue.then(task, task);
    queue = run.catch(() => undefined);
    return run;
  };

  /**
   * The next sequence expected for each aggregate of the books, read from memory or the store. Taken as one
   * snapshot: a save running meanwhile may evict aggregates from memory.
   */
  const progressOf = async (books: readonly EventBook[]): Promise<Map<string, number>> => {
    const known = new Map<string, number>();
    const missing = new Map<string, { domain: string; root: Uint8Array }>();
    for (const book of books) {
      const { domain, root } = coverOf(book);
      const key = aggregateKey(domain, root);
      const value = next.get(key);
      if (value !== undefined) known.set(key, value);
      else missing.set(key, { domain, root });
    }
    if (missing.size === 0) return known;
    const loaded = await store.loadProgress(subscriber, [...missing.values()]);
    [...missing.keys()].forEach((key, index) => {
      // Advanced while the store was read? Then memory knows better.
      const value = Math.max(loaded[index] ?? 0, next.get(key) ?? 0);
      next.set(key, value);
      known.set(key, value);
    });
    return known;
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

  const write = async (): Promise<void> => {
    const records = [...dirty.values()];
    const checkpoint = handledUpTo > savedCheckpoint ? handledUpTo : undefined;
    if (records.length === 0 && checkpoint === undefined) return;
    const keys = [...dirty.keys()];
    dirty.clear();
    for (const key of keys) writing.add(key);
    try {
      await store.saveProgress(subscriber, records, checkpoint, checkpointName);
    } catch (err) {
      // Not saved: kept for the next save, unless an aggregate advanced further meanwhile (its calls are kept).
      records.forEach((record, index) => {
        const later = dirty.get(keys[index]!);
        dirty.set(
          keys[index]!,
          later === undefined ? record : { ...later, applied: joinCalls(record.applied, later.applied) },
        );
      });
      throw err;
    } finally {
      for (const key of keys) writing.delete(key);
    }
    if (checkpoint !== undefined) savedCheckpoint = Math.max(savedCheckpoint, checkpoint);
    // Not worth failing a save for: tried again when next due.
    await pruneWhenDue(store, log).catch(() => undefined);
  };

  const reach = (position: number): void => {
    evict();
    if (position <= handledUpTo) return;
    handledUpTo = position;
    past = 0;
  };

  /**
   * The saved checkpoint: its own (a partition's), else the subscriber's (a partition without one yet starts where
   * the subscriber was before it had partitions; per-aggregate progress skips what was handled).
   */
  const readCheckpoint = async (): Promise<number> => {
    const own = await store.getCheckpoint(checkpointName);
    return own === 0 && checkpointName !== subscriber ? store.getCheckpoint(subscriber) : own;
  };

  return {
    subscriber,
    async pending(books) {
      const expected = await progressOf(books);
      const result: EventBook[] = [];
      for (const book of books) {
        const { domain, root } = coverOf(book);
        const key = aggregateKey(domain, root);
        const from = expected.get(key) ?? 0;
        const fresh = book.pages.filter((page) => (page.num ?? -1) >= from);
        if (fresh.length === 0) continue;
        // Every hole filled, before the first page and between two (a batch merged from messages some of
        // which went to another process has holes inside a book); a page that comes twice, once.
        const pages: EventPage[] = [];
        let want = from;
        for (const page of fresh) {
          const num = page.num!;
          if (num < want) continue;
          if (num > want) pages.push(...(await fillGap(book, want, num)));
          pages.push(page);
          want = num + 1;
        }
        expected.set(key, want);
        result.push({ cover: book.cover, snapshot: undefined, pages });
      }
      return result;
    },
    async handled(books) {
      const known = await progressOf(books);
      const result: EventBook[] = [];
      for (const book of books) {
        const { domain, root } = coverOf(book);
        const from = known.get(aggregateKey(domain, root)) ?? 0;
        const seen = book.pages.filter((page) => (page.num ?? -1) < from);
        if (seen.length > 0) result.push({ cover: book.cover, snapshot: undefined, pages: seen });
      }
      return result;
    },
    advance(books, call) {
      for (const book of books) {
        const last = book.pages[book.pages.length - 1]?.num;
        if (last === undefined) continue;
        const { domain, root } = coverOf(book);
        const key = aggregateKey(domain, root);
        const before = next.get(key) ?? 0;
        // A call's pages are logged even when handled before (a replay applies them again: that is news too).
        const applied =
          call !== undefined && log.retentionMs > 0
            ? joinCalls(dirty.get(key)?.applied, [appliedCall(book.pages[0]?.num ?? last, last + 1, call)])
            : dirty.get(key)?.applied;
        if (before > last) {
          if (applied !== undefined) dirty.set(key, { domain, root, next: before, applied });
          continue;
        }
        past += book.pages.filter((page) => (page.num ?? -1) >= before).length;
        next.set(key, last + 1);
        dirty.set(key, { domain, root, next: last + 1, applied });
      }
    },
    reach,
    save(checkpoint) {
      if (checkpoint !== undefined) reach(checkpoint);
      return serially(write);
    },
    checkpoint: () => handledUpTo,
    pastCheckpoint: () => past,
    async open() {
      next.clear();
      savedCheckpoint = await readCheckpoint();
      handledUpTo = savedCheckpoint;
      past = 0;
    },
    reload: () =>
      serially(async () => {
        await write();
        next.clear();
        savedCheckpoint = await readCheckpoint();
        handledUpTo = savedCheckpoint;
        past = 0;
      }),
    reset: () =>
      serially(async () => {
        await store.resetProgress(subscriber);
        next.clear();
        dirty.clear();
        savedCheckpoint = 0;
        handledUpTo = 0;
        past = 0;
      }),
  };
};

const coverOf = (book: EventBook): { domain: string; root: Uint8Array } => ({
  domain: book.cover?.domain ?? '',
  root: book.cover?.root?.value ?? new Uint8Array(),
});

const joinCalls = (
  first: readonly AppliedCall[] | undefined,
  second: readonly AppliedCall[] | undefined,
): readonly AppliedCall[] | undefined =>
  first === undefined ? second : second === undefined ? first : [...first, ...second];
