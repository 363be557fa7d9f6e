import { ValidationError } from '../errors/index.js';
import { uuidFromBytes } from '../protocol/uuid.js';
import type { LoggedEvent, TailRequest } from '../protocol/gen/evented/evented.js';
import type { Timestamp } from '../protocol/gen/google/protobuf/timestamp.js';
import type { EventStore, StoredEvent } from '../store/port.js';
import { createWakeup } from '../support/timing.js';
import { toPage } from '../store/page.js';

/**
 * `evented tail events`: the stored events from a position (or a time, or the last N, or the last N before a
 * position: the console's paging back), filtered by domain, aggregate, correlation, type and time, then, when following, each new event as it is committed. Commits through this
 * runtime wake it at once; commits by other processes are found by polling. A correlation's stored events are
 * looked up by the store's index (EventStore.readCorrelation), not found by reading the whole log.
 */

const PAGE_EVENTS = 1000;
/** A correlation with more stored events than this is read from the log instead. */
const CORRELATION_EVENTS = 10_000;

export interface TailOptions {
  /** How often to look for events committed by other processes while following. */
  pollMs: number;
  /** Ends a followed tail (the client went away, or the runtime stops). */
  signal: AbortSignal;
}

/** A stored event as tail and dlq show send it: its position, its aggregate and its page. */
export const toLogged = (event: StoredEvent): LoggedEvent => ({
  position: event.position,
  cover: { domain: event.domain, root: { value: event.root } },
  page: toPage(event),
});

const isBefore = (a: Timestamp, b: Timestamp): boolean =>
  a.seconds < b.seconds || (a.seconds === b.seconds && a.nanos < b.nanos);

const matcher = (request: TailRequest): ((event: StoredEvent) => boolean) => {
  const root = request.root?.value;
  if (root !== undefined && root.length !== 16) {
    throw new ValidationError(`root must be a UUID (16 bytes), got ${root.length} bytes`);
  }
  if (root !== undefined && !request.domain) {
    throw new ValidationError('a root names an aggregate only together with its domain: give the domain too');
  }
  if (request.follow && (request.before > 0 || request.until !== undefined)) {
    throw new ValidationError('before and until bound a tail of stored events: leave them out to follow');
  }
  const rootText = root && uuidFromBytes(root);
  const since = request.after === 0 ? request.since : undefined;
  const { before, until } = request;
  return (event) =>
    (!request.correlation || event.origin?.correlationId === request.correlation) &&
    (!request.domain || event.domain === request.domain) &&
    (rootText === undefined || uuidFromBytes(event.root) === rootText) &&
    (since === undefined || !isBefore(event.createdAt, since)) &&
    (until === undefined || isBefore(event.createdAt, until)) &&
    (before === 0 || event.position < before) &&
    (!request.type || isOfType(event.event?.typeUrl ?? '', request.type));
};

/** Whether a payload's type URL names `type`: its full name, or the last part of it ("Deposited"). */
export const isOfType = (typeUrl: string, type: string): boolean => {
  const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  return name === type || name.endsWith(`.${type}`);
};

/** Whether the request keeps only some events of the log (a walk back is then needed to find the last N). */
const isFiltered = (request: TailRequest): boolean =>
  Boolean(request.domain || request.type) || request.since !== undefined || request.until !== undefined;

/** Where to start: `after`, or far enough back for the last `last` events (positions are dense per store). */
const startingPosition = async (store: EventStore, request: TailRequest): Promise<number> => {
  if (request.after > 0 || request.last === 0) return request.after;
  const head = await store.headPosition();
  // Positions are dense: the last N before `before` start N below it.
  const end = request.before > 0 ? Math.min(request.before - 1, head) : head;
  if (!isFiltered(request)) return Math.max(end - request.last, 0);
  // Filtered: walk back page by page until `last` matching events lie ahead.
  const matches = matcher(request);
  let from = end;
  let found = 0;
  while (from > 0 && found < request.last) {
    const start = Math.max(from - PAGE_EVENTS * 10, 0);
    const events = await store.readLog(start, from - start);
    const matching = events.filter(matches);
    if (found + matching.length >= request.last) {
      return matching[matching.length - (request.last - found) - 1]?.position ?? start;
    }
    found += matching.length;
    from = start;
  }
  return 0;
};

/** Every stored event after `after` up to `head` that matches, read from the log page by page. */
const scanLog = async (
  store: EventStore,
  after: number,
  head: number,
  matches: (event: StoredEvent) => boolean,
): Promise<StoredEvent[]> => {
  const found: StoredEvent[] = [];
  while (after < head) {
    const events = await store.readLog(after, PAGE_EVENTS);
    if (events.length === 0) break;
    found.push(...events.filter((event) => event.position <= head && matches(event)));
    after = events[events.length - 1]!.position;
  }
  return found;
};

/**
 * A correlation's stored events that match the request, up to the head position read first (a follower goes on
 * from there), the last `last` of them unless the request starts somewhere.
 */
const storedOfCorrelation = async (
  store: EventStore,
  request: TailRequest,
  matches: (event: StoredEvent) => boolean,
): Promise<{ events: StoredEvent[]; head: number }> => {
  const head = await store.headPosition();
  const indexed = await store.readCorrelation(request.correlation, CORRELATION_EVENTS);
  const events =
    indexed.length < CORRELATION_EVENTS
      ? indexed.filter((event) => event.position > request.after && event.position <= head && matches(event))
      : await scanLog(store, request.after, head, matches);
  const fromStart = request.after > 0 || request.last === 0;
  return { events: fromStart ? events : events.slice(-request.last), head };
};

export async function* tailLog(
  store: EventStore,
  request: TailRequest,
  options: TailOptions,
): AsyncGenerator<LoggedEvent> {
  const matches = matcher(request);
  let after: number;
  if (request.correlation) {
    const stored = await storedOfCorrelation(store, request, matches);
    for (const event of stored.events) yield toLogged(event);
    if (!request.follow) return;
    after = stored.head;
  } else after = await startingPosition(store, request);
  const wakeup = createWakeup();
  const stopFollowing = store.onAppended(() => wakeup.notify());
  const onAbort = (): void => wakeup.notify();
  options.signal.addEventListener('abort', onAbort, { once: true });
  try {
    while (!options.signal.aborted) {
      const events = await store.readLog(after, PAGE_EVENTS);
      for (const event of events) if (matches(event)) yield toLogged(event);
      if (events.length > 0) after = events[events.length - 1]!.position;
      // Bounded by a position: nothing past it can match.
      if (request.before > 0 && after >= request.before - 1) return;
      if (events.length === PAGE_EVENTS) continue;
      if (!request.follow) return;
      await wakeup.wait(options.pollMs);
    }
  } finally {
    stopFollowing();
    options.signal.removeEventListener('abort', onAbort);
  }
}
