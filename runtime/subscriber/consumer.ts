import type { Logger } from 'pino';
import { toBatches } from '../bus/batches.js';
import type { EventBus, Subscription } from '../bus/port.js';
import type { EventBatch, EventBook } from '../protocol/gen/evented/evented.js';
import type { EventStore } from '../store/port.js';
import { createKeyedLock } from '../support/keyed-lock.js';
import { backoff, pause } from '../support/timing.js';
import { createProgressTracker, type ProgressTracker } from './progress.js';

/**
 * What the projector and saga coordinators share: consume a subscriber's events exactly as DESIGN.md promises.
 * On start, subscribe to the bus first (so that the durable queue exists and nothing published from now on can be
 * missed), then catch up from the store's global log from the subscriber's checkpoint. Every batch, from either
 * source, is cut to what the subscriber has not handled (gaps filled from the store), handed to `deliver` in
 * order, and the progress saved. Batches are handled one at a time.
 *
 * The checkpoint means "every event up to here has been handled". While catching up, only the catch-up moves it;
 * afterwards each bus batch does (the relay publishes in log order and the queue keeps it).
 */

export interface ConsumerOptions {
  /** "projector:NAME" or "saga:NAME": names the queue, the checkpoint and the progress records. */
  subscriber: string;
  domains: readonly string[];
  store: EventStore;
  bus: EventBus;
  /** Hands new events to the user's service; resolves when they are handled (or set aside). */
  deliver(books: EventBook[], options: { replay: boolean }): Promise<void>;
  logger: Logger;
}

export interface Consumer {
  readonly tracker: ProgressTracker;
  /** Subscribes to the bus; the catch-up from the store then runs in the background (see `caughtUp`). */
  start(): Promise<void>;
  /** Resolves when the catch-up that start() began has finished. */
  caughtUp(): Promise<void>;
  stop(): Promise<void>;
  /** True once caught up with the store and following the bus. */
  readonly live: boolean;
  /** Handles a batch; `checkpoint`, when given, is saved as handled-up-to afterwards. */
  handleBatch(batch: EventBatch, options?: { replay?: boolean; checkpoint?: number }): Promise<void>;
  /** Runs `task` with the consumer's lock held (no batch is handled meanwhile). */
  exclusive<T>(task: () => Promise<T>): Promise<T>;
}

const CATCH_UP_EVENTS = 2000;

export const createConsumer = (options: ConsumerOptions): Consumer => {
  const { store, bus, subscriber } = options;
  const tracker = createProgressTracker(store, subscriber);
  const lock = createKeyedLock();
  const domains = new Set(options.domains);
  let subscription: Subscription | undefined;
  let stopping = false;
  let caughtUp = false;
  let catchingUp: Promise<void> = Promise.resolve();

  const exclusive = <T>(task: () => Promise<T>): Promise<T> => lock.run('', task);

  const handleBatch = (
    batch: EventBatch,
    handleOptions: { replay?: boolean; checkpoint?: number } = {},
  ): Promise<void> =>
    exclusive(async () => {
      const books = await tracker.pending(
        batch.books.filter((book) => domains.has(book.cover?.domain ?? '')),
      );
      if (books.length > 0) await options.deliver(books, { replay: handleOptions.replay === true });
      tracker.advance(books);
      await tracker.save(handleOptions.checkpoint);
    });

  const catchUp = async (): Promise<void> => {
    let after = tracker.checkpoint();
    while (!stopping) {
      const events = await store.readLog(after, CATCH_UP_EVENTS);
      if (events.length === 0) return;
      const last = events[events.length - 1]!.position;
      const mine = events.filter((event) => domains.has(event.domain));
      for (const { batch } of toBatches(mine)) await handleBatch(batch);
      await exclusive(() => tracker.save(last));
      after = last;
      if (events.length < CATCH_UP_EVENTS) return;
    }
  };

  return {
    tracker,
    get live() {
      return caughtUp && subscription !== undefined;
    },
    async start() {
      stopping = false;
      caughtUp = false;
      await tracker.open();
      subscription = await bus.subscribe({ subscriber, domains: options.domains }, ({ batch }) =>
        handleBatch(batch, { checkpoint: caughtUp ? batch.lastPosition : undefined }),
      );
      catchingUp = (async () => {
        for (let attempt = 0; !stopping; attempt += 1) {
          try {
            await catchUp();
            if (stopping) return;
            caughtUp = true;
            options.logger.info(
              { subscriber, checkpoint: tracker.checkpoint() },
              'caught up; following the bus',
            );
            return;
          } catch (err) {
            if (stopping) return;
            options.logger.error({ err, subscriber }, 'catch-up from the store failed; trying again');
            await pause(backoff(attempt, 200, 5000));
          }
        }
      })();
    },
    caughtUp: () => catchingUp,
    async stop() {
      stopping = true;
      await catchingUp;
      await subscription?.close();
      subscription = undefined;
      await exclusive(async () => undefined);
    },
    handleBatch,
    exclusive,
  };
};
