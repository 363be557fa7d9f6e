import { setImmediate } from 'node:timers/promises';
import { toBatches } from '../bus/batches.js';
import { aggregateKey } from '../protocol/cover.js';
import type { EventBook } from '../protocol/gen/evented/evented.js';
import type { EventStore, StoredEvent } from '../store/port.js';
import type { Deliver } from './deliver.js';
import type { ProgressTracker } from './progress.js';
import type { CallTiming } from './delivery-log.js';

/**
 * Replay: the store's global log (never the bus) delivered again to one subscriber, from a position, with
 * progress. The consumer runs it with its lock held, so live delivery waits meanwhile (the bus keeps the new
 * events) and resumes afterwards through the same progress records: no gap, and no duplicate beyond the replayed
 * range.
 *
 * Only events the subscriber was given before are marked as a replay (`evented-replay: true`, which a projector
 * may use to hold back side effects); events it was never given — those it was behind on, those committed while
 * the replay runs — go as live delivery would send them, unmarked, and are recorded, so a replay also catches a
 * subscriber up. Within an aggregate the marked events come first (they are the older ones), in sequence order.
 * The replay ends at the end of the log as a page read finds it; what is committed after that is live
 * delivery's, so a replay ends even while commands keep coming.
 *
 * A rebuild first has the subscriber reset (its hook), and only once that worked forgets its progress, so that a
 * failed reset leaves everything as it was. What it was given before is still marked as a replay.
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
  /**
   * A rebuild's first step (a projector's Reset): when it fails, the rebuild stops with its error and nothing is
   * forgotten.
   */
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
  let givenBefore: GivenBefore = (books) => tracker.handled(books);
  if (request.rebuild) {
    await hooks.beforeRebuild?.();
    givenBefore = await rememberGiven(store, tracker, domains);
    await tracker.reset();
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

  const handled = (books: readonly EventBook[], call?: CallTiming): void => {
    tracker.advance(books, call);
    options.saveSoon();
  };
  // Per batch: what the subscriber was given before, marked; then the rest, as live delivery would send it.
  // Each part is in sequence order per aggregate and the first part holds each aggregate's older events.
  const deliverPage = async (events: readonly StoredEvent[]): Promise<number> => {
    const mine = events.filter((event) => domains.has(event.domain));
    for (const { batch } of toBatches(mine)) {
      const again = await givenBefore(batch.books, mine);
      if (again.length > 0) await options.deliver(again, { replay: true, handled });
      tracker.advance(again);
      const fresh = await tracker.pending(batch.books);
      if (fresh.length > 0) await options.deliver(fresh, { replay: false, handled });
      tracker.advance(fresh);
    }
    return mine.length;
  };
  // One page ahead: the next page is read while the subscriber handles this one (a SQLite read blocks this
  // thread, so it runs once this page's first call is on its way), so reading and handling overlap. A page
  // shorter than asked for is the end of the log as it was read: the last one.
  let reported = performance.now();
  let events = await store.readLog(progress.position, PAGE_EVENTS);
  while (events.length > 0 && !hooks.signal?.aborted) {
    const last = events[events.length - 1]!.position;
    const delivering = deliverPage(events);
    delivering.catch(() => undefined); // awaited below; until then a failure must not count as unhandled
    await setImmediate();
    const next =
      hooks.signal?.aborted || events.length < PAGE_EVENTS ? [] : await store.readLog(last, PAGE_EVENTS);
    progress.events += await delivering;
    progress.position = last;
    // Events committed since the count are replayed too.
    progress.total = Math.max(progress.total, progress.events);
    // Saved with the rest of the progress, at most every 100 ms (saveSoon), not after each page: on a log whose
    // pages hold thousands of aggregates, most of a page's progress rows are written again by the next page.
    if (movesCheckpoint) tracker.reach(progress.position);
    options.saveSoon();
    if (performance.now() - reported >= PROGRESS_EVERY_MS) {
      report();
      reported = performance.now();
    }
    events = next;
  }
  await tracker.save();
  if (hooks.signal?.aborted) return progress;
  progress.done = true;
  progress.total = progress.events;
  report();
  return progress;
};

/** The pages of `books` the subscriber had been given before the replay (`events` are the stored ones). */
type GivenBefore = (books: readonly EventBook[], events: readonly StoredEvent[]) => Promise<EventBook[]>;

/**
 * What a subscriber had been given, remembered before a rebuild forgets it: every event up to its checkpoint,
 * and beyond it, per aggregate, the events its progress says were handled (a batch in progress, synchronous
 * projections, a replay of part of the log). Only aggregates with such events beyond the checkpoint are kept.
 */
const rememberGiven = async (
  store: EventStore,
  tracker: ProgressTracker,
  domains: ReadonlySet<string>,
): Promise<GivenBefore> => {
  const checkpoint = tracker.checkpoint();
  const beyond = new Map<string, number>();
  for (let after = checkpoint; ;) {
    const events = await store.readLog(after, PAGE_EVENTS);
    if (events.length === 0) break;
    after = events[events.length - 1]!.position;
    const mine = events.filter((event) => domains.has(event.domain));
    for (const { batch } of toBatches(mine)) {
      for (const book of await tracker.handled(batch.books)) beyond.set(keyOf(book), nextAfter(book));
    }
    if (events.length < PAGE_EVENTS) break;
  }
  return async (books, events) => {
    // Per aggregate, the sequence after its last event up to the checkpoint in this page.
    const upToCheckpoint = new Map<string, number>();
    for (const event of events) {
      if (event.position > checkpoint) continue;
      const key = aggregateKey(event.domain, event.root);
      upToCheckpoint.set(key, Math.max(upToCheckpoint.get(key) ?? 0, event.sequence + 1));
    }
    return books.flatMap((book) => {
      const key = keyOf(book);
      const below = Math.max(upToCheckpoint.get(key) ?? 0, beyond.get(key) ?? 0);
      const pages = book.pages.filter((page) => (page.num ?? -1) < below);
      return pages.length > 0 ? [{ ...book, snapshot: undefined, pages }] : [];
    });
  };
};

const keyOf = (book: EventBook): string =>
  aggregateKey(book.cover?.domain ?? '', book.cover?.root?.value ?? new Uint8Array());

const nextAfter = (book: EventBook): number => (book.pages[book.pages.length - 1]?.num ?? -1) + 1;
