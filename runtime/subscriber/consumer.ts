import type { Logger } from 'pino';
import { StateError } from '../errors/index.js';
import { toBatches } from '../bus/batches.js';
import { partitionOf } from '../bus/partition.js';
import type { EventBus, Subscription } from '../bus/port.js';
import type { EventBatch, EventBook } from '../protocol/gen/evented/evented.js';
import type { EventStore, StoredEvent } from '../store/port.js';
import { createKeyedLock } from '../support/keyed-lock.js';
import { partId } from '../support/process-id.js';
import { backoff, pause } from '../support/timing.js';
import type { Deliver } from './deliver.js';
import { createPauseGate, PAUSE_TIMINGS, type PauseGate, type PauseTimings } from './pause-gate.js';
import { replayUnderPause } from './pause.js';
import { createProgressTracker, type ProgressTracker } from './progress.js';
import type { CallTiming, DeliveryLogPolicy } from './delivery-log.js';
import { replayLog, type ReplayHooks, type ReplayProgress, type ReplayRequest } from './replay.js';

/**
 * What the projector and saga coordinators share: consume a subscriber's events exactly as DESIGN.md promises.
 * On start, subscribe to the bus first (so that the durable queue exists and nothing published from now on can be
 * missed), then catch up from the store's global log from the subscriber's checkpoint. Every batch, from either
 * source, is cut to what the subscriber has not handled (gaps filled from the store), handed to `deliver` in
 * order, and the progress saved. Batches are handled one at a time.
 *
 * The checkpoint means "every event up to here has been handled". While catching up, only the catch-up moves it;
 * afterwards each bus batch does (the relay publishes in log order and the queue keeps it). It moves when a whole
 * batch is done; per-aggregate progress moves as each call to the user's service succeeds (`handled`), and both
 * are saved at most every SAVE_EVERY_MS, so that a crash hands over again only the calls in flight and those of
 * the last interval, not the whole batch.
 *
 * Every delivery of live events goes through the pause gate (pause-gate.ts), so that a replay or a rebuild in any
 * process sharing the store pauses it; a replay run here takes the pause for every process (pause.ts) before it
 * delivers anything.
 */

export interface ConsumerOptions {
  /** "projector:NAME" or "saga:NAME": names the queue, the checkpoint and the progress records. */
  subscriber: string;
  domains: readonly string[];
  /**
   * The partition this consumer delivers (see partitions.ts): only its aggregates, from its queue, with a
   * checkpoint of its own. Default: the one partition of an unpartitioned subscriber.
   */
  partition?: Partition | undefined;
  store: EventStore;
  /** Absent for a consumer that only replays (an admin process without the subscriber's role): it never starts. */
  bus: EventBus | undefined;
  /**
   * Hands new events to the user's service, in order, calling `handled` for each part as soon as it is handled;
   * resolves when all of them are handled (or set aside).
   */
  deliver: Deliver;
  logger: Logger;
  /** How often the pause is read, and how long reports and pauses last (defaults: PAUSE_TIMINGS). */
  pauseTimings?: PauseTimings | undefined;
  /** Whether and how long successful calls are logged (default: DEFAULT_DELIVERY_LOG). */
  deliveryLog?: DeliveryLogPolicy | undefined;
}

/** One of a subscriber's partitions: `index` of `count`. */
export interface Partition {
  index: number;
  count: number;
}

/** Where a partition's checkpoint is kept: `<subscriber>/<count>.<index>` (count 1: the subscriber's own). */
export const checkpointNameOf = (subscriber: string, partition: Partition): string =>
  partition.count <= 1 ? subscriber : `${subscriber}/${partition.count}.${partition.index}`;

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
  /** Replays the store's log (see replay.ts); live delivery waits meanwhile and resumes after. */
  replay(request: ReplayRequest, hooks: ReplayHooks): Promise<ReplayProgress>;
  /** True while a replay runs in this process. */
  readonly replaying: boolean;
  /** What every delivery of live events passes (partitioned consumers pass it too). */
  readonly gate: PauseGate;
  /** Runs `task` with the consumer's lock held (no batch is handled meanwhile). */
  exclusive<T>(task: () => Promise<T>): Promise<T>;
  /**
   * Runs `task` with the lock held and progress saved first, then reads progress again from the store: for a
   * replay that moves this subscriber's progress through another tracker (see partitions.ts).
   */
  pausedFor<T>(task: () => Promise<T>): Promise<T>;
}

const CATCH_UP_EVENTS = 2000;

/** How often progress is saved while it moves (see saveSoon). */
const SAVE_EVERY_MS = 100;
/** How long the subscriber's position may stand still behind the store's head before the store is asked. */
const STALL_CHECK_MS = 1000;

export const createConsumer = (options: ConsumerOptions): Consumer => {
  const { store, bus, subscriber } = options;
  const partition = options.partition ?? { index: 0, count: 1 };
  const tracker = createProgressTracker(
    store,
    subscriber,
    checkpointNameOf(subscriber, partition),
    options.deliveryLog,
  );
  const lock = createKeyedLock();
  const domains = new Set(options.domains);
  /** Its domains and partition: what it delivers of a book, or of the log. */
  const isMine = (domain: string, root: Uint8Array): boolean =>
    domains.has(domain) && partitionOf(domain, root, partition.count) === partition.index;
  let subscription: Subscription | undefined;
  let stopping = false;
  let caughtUp = false;
  let catchingUp: Promise<void> = Promise.resolve();
  let replaying = false;

  const exclusive = <T>(task: () => Promise<T>): Promise<T> => lock.run('', task);
  const timings = options.pauseTimings;

  /**
   * Progress is saved at most every SAVE_EVERY_MS while it moves, not after each call or batch (each save is a
   * synchronous, durable write). What is saved is always true (see progress.ts); a crash before the save only
   * means that those events come again (at least once). Saves do not wait for the batch in progress.
   */
  let saveTimer: NodeJS.Timeout | undefined;
  const saveSoon = (): void => {
    saveTimer ??= setTimeout(() => {
      saveTimer = undefined;
      tracker
        .save()
        .catch((err: unknown) =>
          options.logger.warn(
            { err, subscriber },
            'could not save progress; after a restart, events since the saved progress come again',
          ),
        );
    }, SAVE_EVERY_MS);
  };
  const saveNow = (): Promise<void> => {
    clearTimeout(saveTimer);
    saveTimer = undefined;
    return tracker.save();
  };

  const gate = createPauseGate({
    store,
    subscriber,
    id: partId(),
    logger: options.logger,
    timings,
    quiesce: saveNow,
    resume: () => exclusive(() => tracker.reload()),
  });

  /** Every event up to here has been handled (saved, or about to be). */
  const handledUpTo = (): number => tracker.checkpoint();

  /** Delivers what the subscriber has not handled of these books; call with the lock held. */
  const deliverPending = async (books: readonly EventBook[], replay: boolean): Promise<void> => {
    const pending = await tracker.pending(
      books.filter((book) => isMine(book.cover?.domain ?? '', book.cover?.root?.value ?? new Uint8Array())),
    );
    if (pending.length > 0) await options.deliver(pending, { replay, handled });
    tracker.advance(pending);
  };
  const handled = (books: readonly EventBook[], call?: CallTiming): void => {
    tracker.advance(books, call);
    saveSoon();
  };

  /**
   * The subscriber's events in the store's global log after `after` and up to `upTo`, a page at a time, with the
   * position each page reached: what the catch-up and the hole filling both read.
   */
  async function* logPages(
    after: number,
    upTo = Number.POSITIVE_INFINITY,
  ): AsyncGenerator<{ mine: StoredEvent[]; last: number }> {
    while (after < upTo && !stopping) {
      const limit = Math.min(CATCH_UP_EVENTS, upTo - after);
      const events = await store.readLog(after, limit);
      if (events.length === 0) return;
      after = events[events.length - 1]!.position;
      yield { mine: events.filter((e) => isMine(e.domain, e.root) && e.position <= upTo), last: after };
      if (events.length < limit) return;
    }
  }

  /**
   * Events of the subscriber's domains after what it handled and up to `upTo` that the bus did not bring (a lost
   * message; a queue declared again on a broker that lost its data): taken from the store, the truth. Call with
   * the lock held.
   */
  const fillFromLog = async (upTo: number): Promise<void> => {
    for await (const { mine } of logPages(handledUpTo(), upTo)) {
      for (const { batch } of toBatches(mine)) await deliverPending(batch.books, false);
    }
  };

  const handleBatch = (
    batch: EventBatch,
    handleOptions: { replay?: boolean; checkpoint?: number; deferSave?: boolean } = {},
  ): Promise<void> =>
    gate.pass(() =>
      exclusive(async () => {
        // From the bus, once caught up: the batch must follow what was handled; a hole before it is filled first.
        if (handleOptions.checkpoint !== undefined && batch.firstPosition > handledUpTo() + 1) {
          await fillFromLog(batch.firstPosition - 1);
        }
        await deliverPending(batch.books, handleOptions.replay === true);
        if (handleOptions.checkpoint !== undefined) tracker.reach(handleOptions.checkpoint);
        if (handleOptions.deferSave === true) saveSoon();
        else await saveNow();
      }),
    );

  /**
   * The last line of defence: when the store has events beyond what was handled and nothing moved for a while
   * (the messages were lost and no later one came to show the hole), take them from the store.
   */
  let watchdog: NodeJS.Timeout | undefined;
  let watched = -1;
  let filling = false;
  const watchForStall = (): void => {
    watchdog = setInterval(() => {
      if (filling || !caughtUp || replaying || stopping || gate.closed) return;
      const handled = handledUpTo();
      const stalled = handled === watched;
      watched = handled;
      if (!stalled) return;
      filling = true;
      void (async () => {
        const head = await store.headPosition();
        if (head <= handled) return;
        await gate.pass(() =>
          exclusive(async () => {
            await fillFromLog(head);
            if (stopping) return;
            tracker.reach(head);
            saveSoon();
          }),
        );
      })()
        .catch((err: unknown) =>
          options.logger.warn(
            { err, subscriber },
            'could not take missing events from the store; trying again',
          ),
        )
        .finally(() => (filling = false));
    }, STALL_CHECK_MS);
    watchdog.unref();
  };

  const catchUp = async (): Promise<void> => {
    for await (const { mine, last } of logPages(tracker.checkpoint())) {
      for (const { batch } of toBatches(mine)) {
        await gate.pass(() => exclusive(() => deliverPending(batch.books, false)));
      }
      // With the lock held: reach() may forget aggregates from memory, never in the middle of a batch.
      await exclusive(async () => tracker.reach(last));
      await saveNow();
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
      if (!bus) throw new Error(`${subscriber}: a consumer without a bus only replays`);
      await tracker.open();
      // Before anything is delivered: a replay running elsewhere pauses this process from its first batch.
      await gate.start();
      const subscribeTo = { subscriber, domains: options.domains, partition: partition.index, merge: true };
      subscription = await bus.subscribe(subscribeTo, ({ batch }) =>
        handleBatch(batch, { checkpoint: caughtUp ? batch.lastPosition : undefined, deferSave: true }),
      );
      watchForStall();
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
      clearInterval(watchdog);
      // Deliveries waiting at the gate give up (a bus batch goes back to its queue).
      await gate.stop();
      await catchingUp;
      await subscription?.close();
      subscription = undefined;
      await exclusive(saveNow);
    },
    handleBatch,
    exclusive,
    pausedFor: (task) =>
      exclusive(async () => {
        await saveNow();
        try {
          return await task();
        } finally {
          await tracker.open();
        }
      }),
    get replaying() {
      return replaying;
    },
    gate,
    async replay(request, hooks) {
      if (replaying) {
        throw new StateError(`${subscriber} is being replayed by this process: wait for that replay to end`);
      }
      replaying = true;
      try {
        // Live delivery paused in every process; the replay from the progress in the store (others moved it).
        return await replayUnderPause({
          store,
          subscriber,
          holder: gate.id,
          rebuild: request.rebuild === true,
          timings: timings ?? PAUSE_TIMINGS,
          logger: options.logger,
          signal: hooks.signal,
          poke: () => gate.poke(),
          replay: (signal) =>
            exclusive(async () => {
              await tracker.reload();
              return replayLog({ store, tracker, deliver: options.deliver, saveSoon }, request, {
                ...hooks,
                signal,
              });
            }),
        });
      } finally {
        replaying = false;
      }
    },
  };
};
