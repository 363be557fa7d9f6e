import {
  ConcurrencyConflictError,
  BusinessRejection,
  NotFoundError,
  BusinessFailure,
  isConcurrencyConflict,
} from '../errors/index.js';
import { aggregateKey, formatAggregate } from '../protocol/cover.js';
import {
  CommandBook,
  type EventBook,
  type EventPage,
  type Origin,
  type Snapshot,
  type SynchronousProcessingResponse,
} from '../protocol/gen/evented/evented.js';
import type { Appended, EventStore, NewEvent, StoredEvent } from '../store/port.js';
import { createKeyedLock } from '../support/keyed-lock.js';
import { createAggregateCache, type CachedAggregate } from './aggregate-cache.js';
import type { BusinessLogic } from './business-logic.js';
import {
  encodeContextualCommand,
  encodeCover,
  encodePage,
  encodeResponse,
  encodeSnapshot,
  withEncoding,
} from './encoded.js';
import { eventBookSizeInBatch } from '../protocol/event-batch-encoder.js';
import {
  checkBookBytes,
  checkPayload,
  validateCommandBook,
  validateCover,
  validateEventBook,
  validateEventPages,
  type ValidCover,
} from './validate.js';
import { toPage } from '../store/page.js';
import { completeOrigin } from './origin.js';
import { decisionOf, emptyAcceptanceOf, refusalOf } from './decision.js';
import { inCommandStep, stampedOrigin, tracedCommandHandler } from '../tracing/command.js';
import type { RuntimeMetrics } from '../metrics/port.js';

/**
 * The command path (BusinessCoordinator): load the aggregate, run the domain's business logic, validate what
 * it returned, and append it atomically with optimistic concurrency. Record stores events without business
 * logic. Commands on one aggregate run one at a time in this process.
 *
 * Several command handlers may share a store. A decision rests on one consistent state of the aggregate (one
 * EventStore.load, or the cache entry built from one and this process's own appends), and stands only if that
 * state is still the store's: an append carries the state's `next` as its expected sequence, and a decision that
 * writes nothing (a rejection, an empty answer) made on a cached state is checked against the store's next. A
 * race with another process therefore ends in a reload and a new decision, `conflictRetries` times at most, then
 * ABORTED — never in a commit decided without an earlier event, nor in INTERNAL.
 */

export interface CommandHandlerOptions {
  store: EventStore;
  /** The business logic of each domain this handler serves. */
  businessLogic: ReadonlyMap<string, BusinessLogic>;
  /** How long business logic may take for one command, in milliseconds. */
  businessLogicTimeoutMs: number;
  /** How many times a command is decided again after losing a race, before ABORTED. */
  conflictRetries: number;
  /** The largest payload (typeUrl and value), book (encoded) and number of pages accepted. */
  maxPayloadBytes: number;
  maxBookBytes: number;
  maxPagesPerBook: number;
  /** Aggregates kept in memory, and their encoded bytes over all of them (0 turns the cache off). */
  cachedAggregates: number;
  cachedBytes: number;
  /**
   * Synchronous processing: given a stored book cut after its last synchronous page, what the synchronous
   * projectors and sagas made of it. Called after the append, outside the aggregate's lock (a saga's command
   * may target the same aggregate). Absent when none is configured.
   */
  synchronous?: (book: EventBook) => Promise<SynchronousProcessingResponse>;
  /** Told of conflicts and retries, when metrics are on (the outcome and time are measured around the handler). */
  metrics?: RuntimeMetrics | undefined;
  /**
   * The decision log (`commandLog: true`): every final decision of business logic is kept in the store — an
   * acceptance by its append (in the events' transaction), an empty acceptance and a refusal by logCommand, before
   * the caller is answered. Not logged: a rejection on a stale cached state (decided again), business logic
   * failures, conflicts past the retries, duplicates, Records. A decision that cannot be logged fails the call
   * with the store's error. Off: no store call more than without it.
   */
  commandLog?: boolean | undefined;
}

export interface CallOptions {
  /** The command's wire encoding when the caller has it (the gRPC service does), saving a re-encode. */
  encoded?: Uint8Array;
  /** Applies the command or record at most once (see AppendRequest.idempotencyKey). */
  idempotencyKey?: string;
  /**
   * Where the call comes from (correlation, causation, saga, trace context), stored with every event it appends;
   * what is empty is filled in (origin.ts: completeOrigin), and whatever business logic or a recorded book puts
   * in its pages' `origin` is replaced by it.
   */
  origin?: Origin;
}

export interface CommandHandler {
  handle(command: CommandBook, options?: CallOptions): Promise<SynchronousProcessingResponse>;
  record(book: EventBook, options?: CallOptions): Promise<SynchronousProcessingResponse>;
}

const emptyResponse = (book: EventBook): SynchronousProcessingResponse => ({
  books: [book],
  projections: [],
  commands: [],
});

/** The pages up to and including the last synchronous one (the original's rule); undefined when none is. */
export const synchronousPrefix = (book: EventBook): EventBook | undefined => {
  const last = book.pages.map((page) => page.synchronous).lastIndexOf(true);
  return last < 0
    ? undefined
    : { cover: book.cover, snapshot: undefined, pages: book.pages.slice(0, last + 1) };
};

const toNewEvent = (page: EventPage): NewEvent => ({
  num: page.num,
  force: page.force,
  createdAt: page.createdAt,
  event: page.Event,
  synchronous: page.synchronous,
});

/** A stored event as a cache entry keeps it: its sequence and its page, encoded. */
const cachedPage = (event: StoredEvent): CachedAggregate['pages'][number] => ({
  sequence: event.sequence,
  bytes: encodePage(toPage(event)),
});

const cachedSnapshot = (snapshot: Snapshot | undefined): CachedAggregate['snapshot'] =>
  snapshot && { sequence: snapshot.sequence, bytes: encodeSnapshot(snapshot) };

/** The cache entry after an append: old pages since the snapshot, plus the new ones, cut at a newer snapshot. */
const advance = (
  before: CachedAggregate,
  appended: Appended,
  added: CachedAggregate['pages'],
  snapshot: CachedAggregate['snapshot'],
): CachedAggregate => {
  const newest =
    snapshot !== undefined && snapshot.sequence >= (before.snapshot?.sequence ?? 0)
      ? snapshot
      : before.snapshot;
  const from = newest?.sequence ?? 0;
  return {
    cover: before.cover,
    snapshot: newest,
    pages: [...before.pages, ...added].filter((page) => page.sequence >= from),
    next: appended.next,
  };
};

export const createCommandHandler = (options: CommandHandlerOptions): CommandHandler => {
  const { store } = options;
  const limits = {
    maxPayloadBytes: options.maxPayloadBytes,
    maxBookBytes: options.maxBookBytes,
    maxPagesPerBook: options.maxPagesPerBook,
  };
  const locks = createKeyedLock();
  const cache = createAggregateCache({
    maxAggregates: options.cachedAggregates,
    maxBytes: options.cachedBytes,
    maxPagesPerAggregate: 10_000,
  });

  /**
   * The aggregate to decide on: the cached entry, or one consistent load of the store (EventStore.load), whose
   * `next` becomes the append's expected sequence. `cached` says which: a cached state may be one another
   * process has moved past since.
   */
  const loadAggregate = async (
    cover: ValidCover,
    key: string,
  ): Promise<{ state: CachedAggregate; cached: boolean }> => {
    const cached = cache.get(key);
    if (cached !== undefined) return { state: cached, cached: true };
    const loaded = await store.load(cover);
    return {
      state: {
        cover: encodeCover({ root: { value: cover.root }, domain: cover.domain }),
        snapshot: cachedSnapshot(loaded.snapshot),
        pages: loaded.events.map(cachedPage),
        next: loaded.next,
      },
      cached: false,
    };
  };

  /**
   * Whether a cached state is still the store's. A decision that writes something carries its own proof (the
   * append's expected sequence); one that writes nothing — a rejection, an empty answer — has only this.
   */
  const stillCurrent = async (cover: ValidCover, state: CachedAggregate): Promise<boolean> =>
    (await store.nextSequence(cover)) === state.next;

  const businessLogicFor = (domain: string): BusinessLogic => {
    const logic = options.businessLogic.get(domain);
    if (logic !== undefined) return logic;
    const known = [...options.businessLogic.keys()];
    throw new NotFoundError(
      `no business logic is configured for domain "${domain}"` +
        (known.length > 0 ? `; this command handler serves ${known.map((d) => `"${d}"`).join(', ')}` : ''),
      { hint: 'add the domain under `domains:` in evented.yaml' },
    );
  };

  /** Checks what business logic returned before anything is written. */
  const validateDecision = (decision: EventBook, cover: ValidCover, state: CachedAggregate): void => {
    const where = `business logic for "${cover.domain}"`;
    if (decision.cover !== undefined && (decision.cover.domain !== '' || decision.cover.root !== undefined)) {
      const returned = validateCover(decision.cover, 'the returned book’s cover');
      if (returned.domain !== cover.domain || Buffer.compare(returned.root, cover.root) !== 0) {
        throw new BusinessFailure(
          `${where} returned events for ${formatAggregate(returned.domain, returned.root)}, but the command was for ${formatAggregate(cover.domain, cover.root)}`,
        );
      }
    }
    try {
      validateEventPages(decision.pages, limits, 'returned pages');
      checkPayload(decision.snapshot?.state, 'returned snapshot.state', limits);
      checkBookBytes(eventBookSizeInBatch(decision), 'the returned book', limits);
    } catch (err) {
      throw new BusinessFailure(`${where} returned an invalid book: ${(err as Error).message}`);
    }
    let expected = state.next;
    decision.pages.forEach((page, index) => {
      if (page.force !== true && page.num !== expected) {
        throw new BusinessFailure(
          `${where} returned pages[${index}].num = ${page.num}, but the aggregate’s next sequence is ${expected}`,
          {
            hint: 'number new events from the last event’s sequence + 1, or set force to let evented number them',
          },
        );
      }
      expected += 1;
    });
    if (decision.snapshot !== undefined && decision.snapshot.sequence > expected) {
      throw new BusinessFailure(
        `${where} returned snapshot.sequence = ${decision.snapshot.sequence}, but the aggregate has only ${expected} events with the returned ones`,
        {
          hint: 'snapshot.sequence counts the events the state covers (the sequence of the first event not in it)',
        },
      );
    }
  };

  const decideAndAppend = async (
    command: CommandBook,
    cover: ValidCover,
    encodedCommand: Uint8Array,
    idempotencyKey: string | undefined,
    origin: Origin,
  ): Promise<SynchronousProcessingResponse> => {
    if (idempotencyKey !== undefined && (await store.isApplied(idempotencyKey))) {
      return emptyResponse({ cover: command.cover, snapshot: undefined, pages: [] });
    }
    const logic = businessLogicFor(cover.domain);
    const key = aggregateKey(cover.domain, cover.root);
    const attempts = options.conflictRetries + 1;
    for (let attempt = 1; ; attempt += 1) {
      if (attempt > 1) options.metrics?.retried(cover.domain);
      const { state, cached } = await inCommandStep('load', cover.domain, async (span) => {
        const loaded = await loadAggregate(cover, key);
        span?.setAttribute('evented.cached', loaded.cached);
        return loaded;
      });
      let decision: EventBook;
      try {
        decision = await logic.decide(
          encodeContextualCommand(state, encodedCommand),
          options.businessLogicTimeoutMs,
        );
      } catch (err) {
        // A rejection based on a cached state that another process has moved past would be wrong: make sure
        // (the retry loads from the store, so this happens at most once per command).
        if (err instanceof BusinessRejection && cached && !(await stillCurrent(cover, state))) {
          cache.delete(key);
          continue;
        }
        if (err instanceof BusinessRejection && options.commandLog) {
          await store.logCommand(refusalOf(cover, decisionOf(encodedCommand, state.next, origin), err));
        }
        throw err;
      }
      const logged = options.commandLog ? decisionOf(encodedCommand, state.next, origin) : undefined;
      try {
        validateDecision(decision, cover, state);
      } catch (err) {
        // The state handed over was one consistent view, so this is the business logic's own mistake; the entry
        // is dropped all the same, so that nothing wrong can outlive one command.
        cache.delete(key);
        throw err;
      }
      if (decision.pages.length === 0 && decision.snapshot === undefined) {
        // Nothing to append, so nothing to catch a stale state: like a rejection, checked against the store.
        if (cached && !(await stillCurrent(cover, state))) {
          cache.delete(key);
          continue;
        }
        if (logged) await store.logCommand(emptyAcceptanceOf(cover, logged));
        cache.set(key, state);
        return emptyResponse({ cover: command.cover, snapshot: undefined, pages: [] });
      }
      try {
        // The expected sequence is the decided-on state's own: if anything was appended since that state was
        // read (by this process or another), the append fails and the command is decided again.
        const appended = await inCommandStep('append', cover.domain, () =>
          store.append({
            ...cover,
            expectedNext: state.next,
            events: decision.pages.map(toNewEvent),
            snapshot: decision.snapshot,
            idempotencyKey,
            origin: stampedOrigin(origin),
            decision: logged,
          }),
        );
        if (appended.duplicate) {
          return emptyResponse({ cover: command.cover, snapshot: undefined, pages: [] });
        }
        // The new pages and the snapshot are encoded once: for the cache entry and for the response.
        const added = appended.events.map(cachedPage);
        const snapshot = cachedSnapshot(decision.snapshot);
        cache.set(key, advance(state, appended, added, snapshot));
        return withEncoding(
          {
            books: [
              { cover: command.cover, snapshot: decision.snapshot, pages: appended.events.map(toPage) },
            ],
            projections: [],
            commands: [],
          },
          encodeResponse(state.cover, snapshot?.bytes, added),
        );
      } catch (err) {
        cache.delete(key);
        if (!isConcurrencyConflict(err)) throw err;
        options.metrics?.conflicted(cover.domain);
        if (attempt >= attempts) {
          throw new ConcurrencyConflictError(
            `${formatAggregate(cover.domain, cover.root)} kept changing while the command was decided; gave up after ${attempts} attempts`,
            err.expectedNext,
            err.actualNext,
            {
              hint: 'retry the command; if this is frequent, route commands for one aggregate to one command handler',
            },
          );
        }
      }
    }
  };

  /** Adds what synchronous projectors and sagas make of the stored book to the response. */
  const processSynchronously = async (
    response: SynchronousProcessingResponse,
  ): Promise<SynchronousProcessingResponse> => {
    const stored = response.books[0];
    const prefix = stored && options.synchronous && synchronousPrefix(stored);
    if (!prefix || !options.synchronous) return response;
    const synchronous = options.synchronous;
    const produced = await inCommandStep('synchronous', prefix.cover?.domain ?? '', () =>
      synchronous(prefix),
    );
    return {
      books: [...response.books, ...produced.books],
      projections: [...response.projections, ...produced.projections],
      commands: [],
    };
  };

  return tracedCommandHandler({
    async handle(command, callOptions = {}) {
      const cover = validateCommandBook(command, limits);
      const encodedCommand = callOptions.encoded ?? CommandBook.encode(command).finish();
      checkBookBytes(encodedCommand.length, 'the command book', limits);
      const origin = completeOrigin(callOptions.origin, command.pages[0]?.command?.typeUrl ?? '');
      const response = await locks.run(aggregateKey(cover.domain, cover.root), () =>
        decideAndAppend(command, cover, encodedCommand, callOptions.idempotencyKey, origin),
      );
      return processSynchronously(response);
    },

    async record(book, callOptions = {}) {
      const cover = validateEventBook(book, limits);
      const key = aggregateKey(cover.domain, cover.root);
      const origin = completeOrigin(callOptions.origin, '');
      const response = await locks.run(key, async () => {
        const cached = cache.get(key);
        cache.delete(key);
        const appended = await inCommandStep('append', cover.domain, () =>
          store.append({
            ...cover,
            events: book.pages.map(toNewEvent),
            snapshot: book.snapshot,
            idempotencyKey: callOptions.idempotencyKey,
            origin: stampedOrigin(origin),
          }),
        );
        if (appended.duplicate) {
          if (cached !== undefined) cache.set(key, cached);
          return emptyResponse({ cover: book.cover, snapshot: undefined, pages: [] });
        }
        if (cached !== undefined && appended.events[0]?.sequence === cached.next) {
          cache.set(
            key,
            advance(cached, appended, appended.events.map(cachedPage), cachedSnapshot(book.snapshot)),
          );
        }
        return emptyResponse({
          cover: book.cover,
          snapshot: book.snapshot,
          pages: appended.events.map(toPage),
        });
      });
      return processSynchronously(response);
    },
  });
};
