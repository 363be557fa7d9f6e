import type { Logger } from 'pino';
import type { EventBus } from '../bus/port.js';
import { partitionOf } from '../bus/partition.js';
import { StateError, UnavailableError } from '../errors/index.js';
import type { EventBatch, EventBook } from '../protocol/gen/evented/evented.js';
import type { EventStore } from '../store/port.js';
import { createKeyedLock } from '../support/keyed-lock.js';
import { createConsumer, type Consumer } from './consumer.js';
import type { Deliver } from './deliver.js';
import { createProgressTracker, type ProgressTracker } from './progress.js';
import type { CallTiming, DeliveryLogPolicy } from './delivery-log.js';
import { replayLog, type ReplayHooks, type ReplayProgress, type ReplayRequest } from './replay.js';
import { createSlots } from './slots.js';
import { PAUSE_TIMINGS, type PauseTimings } from './pause-gate.js';
import { replayUnderPause } from './pause.js';
import { partId } from '../support/process-id.js';

/**
 * A subscriber's partitions in this process: one consumer (consumer.ts) per partition it holds, each with its own
 * queue and checkpoint, started by hold() and stopped by drop(). Which partitions a process holds is decided by
 * the claims (claims.ts); with the in-process bus, one process holds them all.
 *
 * Calls to the user's service: at most `concurrency` at once across the partitions held here (default 1, one call
 * at a time per subscriber per process, as before partitions), each partition's in order. A partition whose claim
 * this process can no longer vouch for (`stillHeld` false: not renewed in time) makes no new call.
 *
 * Replay and rebuild first pause the subscriber's live delivery in every process sharing the store (pause.ts; the
 * partitions held here pass their own gates), then run through one tracker of the whole subscriber while every
 * partition held here waits (each with its progress saved first, and read again from the store after), so that
 * live delivery resumes exactly where the replay left each aggregate.
 */

export interface PartitionedConsumerOptions {
  subscriber: string;
  domains: readonly string[];
  store: EventStore;
  /** Absent in a process that only replays (an admin without the subscriber's role): it holds no partition. */
  bus: EventBus | undefined;
  deliver: Deliver;
  /** How many partitions the subscriber's stream is split into. */
  partitions: number;
  /** Calls in flight at once to the user's service from this process. */
  concurrency: number;
  logger: Logger;
  /** How often a replay's pause is read, and how long reports and pauses last (defaults: PAUSE_TIMINGS). */
  pauseTimings?: PauseTimings | undefined;
  /**
   * Called before a partition is delivered here, with a test of whether an aggregate is in it: what the
   * subscriber keeps in memory about those aggregates (dead letters) must be read again from the store.
   */
  beforeHold?: (owns: (aggregate: { domain: string; root: Uint8Array }) => boolean) => Promise<void>;
  /** Whether and how long successful calls are logged (default: DEFAULT_DELIVERY_LOG). */
  deliveryLog?: DeliveryLogPolicy | undefined;
}

export interface PartitionedConsumer {
  readonly subscriber: string;
  readonly partitions: number;
  /** Starts delivering `partition` (its queue, and a catch-up from the store). `stillHeld`: see above. */
  hold(partition: number, stillHeld?: () => boolean): Promise<void>;
  /** Stops delivering `partition`: the call in flight finishes (or its batch goes back to the queue) first. */
  drop(partition: number): Promise<void>;
  /** The partitions delivered here, in order. */
  held(): number[];
  /** Ready to be given partitions (hold): they come from the claims, or all at once from the caller. */
  start(): Promise<void>;
  /** Drops every partition. */
  stop(): Promise<void>;
  /** Resolves once every partition held now has caught up with the store. */
  caughtUp(): Promise<void>;
  /** Some partition is held, and every one held is caught up and following the bus. */
  readonly live: boolean;
  /** A replay in another process holds the live delivery of a partition held here (pause-gate.ts). */
  readonly paused: boolean;
  readonly replaying: boolean;
  /** Every event up to here is handled in every partition held here (0 while none is held). */
  checkpoint(): number;
  /** Events handled past their partition's checkpoint, over the partitions held here. */
  pastCheckpoint(): number;
  /** Replays the store's log to the subscriber (replay.ts) while the partitions held here wait. */
  replay(request: ReplayRequest, hooks: ReplayHooks): Promise<ReplayProgress>;
  /**
   * Delivers a batch outside the bus (the coordinator service's Handle): each book through its partition's
   * consumer when that is held here, else with a tracker of its own.
   */
  handleBatch(batch: EventBatch): Promise<void>;
  /** Runs `task` while no partition held here delivers. */
  exclusive<T>(task: () => Promise<T>): Promise<T>;
  /**
   * Runs `task` with the progress of the aggregate's partition: that partition's own tracker with its lock held
   * when it is held here, else a tracker of its own (for a synchronous call inside a command).
   */
  withTracker<T>(
    aggregate: { domain: string; root: Uint8Array },
    task: (tracker: ProgressTracker) => Promise<T>,
  ): Promise<T>;
}

/** How often a replay's progress is saved while it moves (as the consumer's). */
const SAVE_EVERY_MS = 100;

export const createPartitionedConsumer = (options: PartitionedConsumerOptions): PartitionedConsumer => {
  const { subscriber, store, logger } = options;
  const consumers = new Map<number, Consumer>();
  /** hold, drop and replay one at a time: a partition never starts or stops in the middle of a replay. */
  const membership = createKeyedLock();
  const changing = <T>(task: () => Promise<T>): Promise<T> => membership.run('', task);
  const slots = createSlots(options.concurrency);
  /** Partitions being dropped: they make no new call. */
  const dropping = new Set<number>();
  let replaying = false;
  /** Who holds a replay's pause taken here. */
  const holder = partId();

  const deliverFor =
    (partition: number, stillHeld: () => boolean): Deliver =>
    (books, deliverOptions) =>
      slots.run(async () => {
        if (dropping.has(partition) || !stillHeld()) {
          throw new UnavailableError(
            `partition ${partition} of ${subscriber} is no longer held by this process; its new holder delivers it`,
          );
        }
        await options.deliver(books, deliverOptions);
      });

  /**
   * Runs `task` with every consumer's lock held (`lock`: exclusive or pausedFor), asked for all at once, so
   * that each partition stops after its call in flight, not after the calls of those asked before it. One such
   * task at a time (`whole`), so that two of them never wait for each other's locks.
   */
  const whole = createKeyedLock();
  const lockAll = <T>(
    list: readonly Consumer[],
    lock: (consumer: Consumer, inner: () => Promise<void>) => Promise<void>,
    task: () => Promise<T>,
  ): Promise<T> =>
    whole.run('', async () => {
      let finish!: () => void;
      const finished = new Promise<void>((resolve) => (finish = resolve));
      const held = list.map(
        (consumer) =>
          new Promise<void>((acquired, failed) => {
            lock(consumer, async () => {
              acquired();
              await finished;
            }).catch(failed);
          }),
      );
      try {
        await Promise.all(held);
        return await task();
      } finally {
        finish();
      }
    });

  /** The store's log replayed through one tracker of the whole subscriber (its progress read from the store). */
  const replayWholeSubscriber = async (
    request: ReplayRequest,
    hooks: ReplayHooks,
  ): Promise<ReplayProgress> => {
    const tracker = createProgressTracker(store, subscriber, subscriber, options.deliveryLog);
    await tracker.open();
    let timer: NodeJS.Timeout | undefined;
    const saveSoon = (): void => {
      timer ??= setTimeout(() => {
        timer = undefined;
        tracker.save().catch((err: unknown) => logger.warn({ err, subscriber }, 'could not save progress'));
      }, SAVE_EVERY_MS);
    };
    try {
      return await replayLog({ store, tracker, deliver: options.deliver, saveSoon }, request, hooks);
    } finally {
      clearTimeout(timer);
      await tracker.save();
    }
  };

  const inOrder = (): Consumer[] => [...consumers].sort(([a], [b]) => a - b).map(([, consumer]) => consumer);

  return {
    subscriber,
    partitions: options.partitions,
    hold: (partition, stillHeld = () => true) =>
      changing(async () => {
        if (consumers.has(partition)) return;
        await options.beforeHold?.(
          (aggregate) => partitionOf(aggregate.domain, aggregate.root, options.partitions) === partition,
        );
        const consumer = createConsumer({
          subscriber,
          domains: options.domains,
          partition: { index: partition, count: options.partitions },
          store,
          bus: options.bus,
          deliver: deliverFor(partition, stillHeld),
          logger,
          pauseTimings: options.pauseTimings,
          deliveryLog: options.deliveryLog,
        });
        await consumer.start();
        consumers.set(partition, consumer);
        logger.info({ subscriber, partition }, 'delivering partition');
      }),
    drop: (partition) => {
      // From now on the partition makes no new call (its calls waiting for a slot give up: their batches go back
      // to the queue), so that it stops after the call in flight, not after every call queued before it.
      dropping.add(partition);
      return changing(async () => {
        const consumer = consumers.get(partition);
        consumers.delete(partition);
        await consumer?.stop();
        if (consumer) logger.info({ subscriber, partition }, 'stopped delivering partition');
      }).finally(() => dropping.delete(partition));
    },
    held: () => [...consumers.keys()].sort((a, b) => a - b),
    start: async () => undefined,
    stop: () =>
      changing(async () => {
        const all = [...consumers.values()];
        consumers.clear();
        await Promise.all(all.map((consumer) => consumer.stop()));
      }),
    async caughtUp() {
      await Promise.all([...consumers.values()].map((consumer) => consumer.caughtUp()));
    },
    get live() {
      return consumers.size > 0 && [...consumers.values()].every((consumer) => consumer.live);
    },
    get paused() {
      return [...consumers.values()].some((consumer) => consumer.gate.pause !== undefined);
    },
    get replaying() {
      return replaying;
    },
    checkpoint: () =>
      consumers.size === 0 ? 0 : Math.min(...[...consumers.values()].map((c) => c.tracker.checkpoint())),
    pastCheckpoint: () => [...consumers.values()].reduce((sum, c) => sum + c.tracker.pastCheckpoint(), 0),
    replay: (request, hooks) => {
      if (replaying) {
        return Promise.reject(
          new StateError(`${subscriber} is being replayed by this process: wait for that replay to end`),
        );
      }
      replaying = true;
      return changing(async () => {
        try {
          // Live delivery paused in every process (each partition's gate here too), then the replay through one
          // tracker of the whole subscriber while every partition held here waits.
          return await replayUnderPause({
            store,
            subscriber,
            holder,
            rebuild: request.rebuild,
            timings: options.pauseTimings ?? PAUSE_TIMINGS,
            logger,
            signal: hooks.signal,
            poke: () => {
              for (const consumer of consumers.values()) consumer.gate.poke();
            },
            replay: (signal) =>
              lockAll(
                inOrder(),
                (consumer, inner) => consumer.pausedFor(inner),
                () => replayWholeSubscriber(request, { ...hooks, signal }),
              ),
          });
        } finally {
          replaying = false;
        }
      });
    },
    exclusive: (task) => lockAll(inOrder(), (consumer, inner) => consumer.exclusive(inner), task),
    async handleBatch(batch) {
      const byPartition = new Map<number, EventBook[]>();
      for (const book of batch.books) {
        const partition = partitionOf(
          book.cover?.domain ?? '',
          book.cover?.root?.value ?? new Uint8Array(),
          options.partitions,
        );
        byPartition.set(partition, [...(byPartition.get(partition) ?? []), book]);
      }
      for (const [partition, books] of byPartition) {
        const consumer = consumers.get(partition);
        if (consumer !== undefined) {
          await consumer.handleBatch({ books, firstPosition: 0, lastPosition: 0 });
          continue;
        }
        const tracker = createProgressTracker(store, subscriber, subscriber, options.deliveryLog);
        await tracker.open();
        const pending = await tracker.pending(
          books.filter((book) => options.domains.includes(book.cover?.domain ?? '')),
        );
        const handled = (done: readonly EventBook[], call?: CallTiming): void => tracker.advance(done, call);
        if (pending.length > 0) await slots.run(() => options.deliver(pending, { replay: false, handled }));
        tracker.advance(pending);
        await tracker.save();
      }
    },
    async withTracker(aggregate, task) {
      const consumer = consumers.get(partitionOf(aggregate.domain, aggregate.root, options.partitions));
      if (consumer !== undefined) return consumer.exclusive(() => task(consumer.tracker));
      const tracker = createProgressTracker(store, subscriber, subscriber, options.deliveryLog);
      await tracker.open();
      return task(tracker);
    },
  };
};
