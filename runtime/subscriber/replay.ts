import { setImmediate } from 'node:timers/promises';
import { toBatches } from '../bus/batches.js';
import { aggregateKey } from '../protocol/cover.js';
import type { EventBook } from '../protocol/gen/evented/evented.js';
import type { EventStore, StoredEvent } from '../store/port.js';
import type { Deliver } from './deliver.js';
import type { ProgressTracker } from './progress.js';

/**
 * Replay: the store's global log (never the bus) delivered again to one subscriber, from a position, with
 * progress. The consumer runs it with its lock held, so live delivery waits meanwhile (the bus keeps the new
 * events) and resumes afterwards through the same progress records: no gap, and no duplicate beyond the replayed
 * range.
 *
 * Events the subscriber had already handled are delivered again, marked as a replay; events it had not are
 * delivered as usual and recorded, so a replay also catches a subscriber up. A rebuild first forgets the
 * subscriber's progress, so everything is new to it.
 */

export interface ReplayRequest {
  /** Replays events with a position greater than this. */
  after: number;
  /** The domains replayed: the subscriber's, or some of them. */
  domains: readonly string[];
  /** Forget the subscriber's progress first (a rebuild). */
  rebuild: boolean;
}

export interface ReplayProgress {
  events: number;
  total: number;
  aggregates: number;
  /** The global position reached. */
  position: number;
  eventsPerSecond: number;
  etaMs: number;
  /** Caught up with the store: live delivery takes over. */
  done: boolean;
}

export interface ReplayHooks {
  onProgress(progress: ReplayProgress): void;
  /** Stops the replay between two pages (progress so far is kept). */
  signal?: AbortSignal | undefined;
  /** Runs after the progress is forgotten and before anything is replayed (a projector's Reset). */
  beforeRebuild?: (() => Promise<void>) | undefined;
}

const PAGE_EVENTS = 10_000;
const PROGRESS_EVERY_MS = 250;

export const replayLog = async (
  options: {
    store: EventStore;
    tracker: ProgressTracker;
    deliver: Deliver;
    /** Saves progress soon (the consumer's save interval). */
    saveSoon(): void;
  },
  request: ReplayRequest,
  hooks: ReplayHooks,
): Promise<ReplayProgress> => {
  const { store, tracker } = options;
  const domains = new Set(request.domains);
  if (request.rebuild) {
    await tracker.reset();
    await hooks.beforeRebuild?.();
  }
  const { events: total, aggregates } = await store.countLog(request.after, request.domains);
  // The checkpoint ("everything up to here is handled") may follow the replay only when the replay starts at
  // or before it; otherwise the events in between are still the live consumer's to deliver.
  const movesCheckpoint = tracker.checkpoint() >= request.after;
  const started = performance.now();
  const progress: ReplayProgress = {
    events: 0,
    total,
    aggregates,
    position: request.after,
    eventsPerSecond: 0,
    etaMs: 0,
    done: false,
  };
  const report = (): void => {
    const seconds = (performance.now() - started) / 1000;
    progress.eventsPerSecond = seconds > 0 ? progress.events / seconds : 0;
    const left = Math.max(progress.total - progress.events, 0);
    progress.etaMs = progress.eventsPerSecond > 0 ? Math.round((left / progress.eventsPerSecond) * 1000) : 0;
    hooks.onProgress({ ...progress });
  };
  report();

  // One page ahead: the next page is read while the subscriber handles this one (a SQLite read blocks this
  // thread, so it runs once this page's first call is on its way), so reading and handling overlap.
  const handled = (books: readonly EventBook[]): void => {
    tracker.advance(books);
    options.saveSoon();
  };
  const deliverPage = async (events: readonly StoredEvent[]): Promise<number> => {
    const mine = events.filter((event) => domains.has(event.domain));
    for (const { batch } of toBatches(mine)) {
      const again = await tracker.handled(batch.books);
      const fresh = await tracker.pending(batch.books);
      const books = mergeByAggregate(again, fresh);
      if (books.length > 0) await options.deliver(books, { replay: true, handled });
      tracker.advance(fresh);
    }
    return mine.length;
  };
  let reported = performance.now();
  let events = await store.readLog(progress.position, PAGE_EVENTS);
  while (events.length > 0 && !hooks.signal?.aborted) {
    const last = events[events.length - 1]!.position;
    const delivering = deliverPage(events);
    delivering.catch(() => undefined); // awaited below; until then a failure must not count as unhandled
    await setImmediate();
    const next = hooks.signal?.aborted ? [] : await store.readLog(last, PAGE_EVENTS);
    progress.events += await delivering;
    progress.position = last;
    // Events committed since the count are replayed too.
    progress.total = Math.max(progress.total, progress.events);
    await tracker.save(movesCheckpoint ? progress.position : undefined);
    if (performance.now() - reported >= PROGRESS_EVERY_MS) {
      report();
      reported = performance.now();
    }
    events = next;
  }
  if (hooks.signal?.aborted) return progress;
  progress.done = true;
  report();
  return progress;
};

/** One book per aggregate, the pages handled before first: a replay delivers an aggregate's pages in order. */
const mergeByAggregate = (first: readonly EventBook[], then: readonly EventBook[]): EventBook[] => {
  const books = new Map<string, EventBook>();
  for (const book of [...first, ...then]) {
    const key = aggregateKey(book.cover?.domain ?? '', book.cover?.root?.value ?? new Uint8Array());
    const existing = books.get(key);
    if (existing) existing.pages.push(...book.pages);
    else books.set(key, { ...book, pages: [...book.pages] });
  }
  return [...books.values()];
};
