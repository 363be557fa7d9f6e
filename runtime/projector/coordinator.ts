import type { Logger } from 'pino';
import type { EventBus } from '../bus/port.js';
import { SubscriberFailure, UnavailableError } from '../errors/index.js';
import { classifyFailure, describeFailure } from '../grpc/failure.js';
import type { EventBatch, EventBook, Projection } from '../protocol/gen/evented/evented.js';
import type { EventStore } from '../store/port.js';
import { createSubscriberActivity, type SubscriberStatus } from '../subscriber/activity.js';
import { createPartitionedConsumer, type PartitionedConsumer } from '../subscriber/partitions.js';
import {
  createDeadLetterDecisions,
  type DeadLetterDecisions,
  type Redelivery,
} from '../subscriber/dead-letter-decisions.js';
import { createSubscriberDeadLetters } from '../subscriber/dead-letters.js';
import type { Deliver, DeliverOptions } from '../subscriber/deliver.js';
import { startCall, type DeliveryLogPolicy } from '../subscriber/delivery-log.js';
import type { ReplayHooks, ReplayProgress, ReplayRequest } from '../subscriber/replay.js';
import { callUntilHandled, type RetryPolicy } from '../subscriber/retry.js';
import { cutBySize } from './call-size.js';
import { inDelivery } from '../tracing/events.js';
import type { ProjectorEndpoint } from './endpoint.js';

/**
 * The projector coordinator: feeds one user projector every event of the domains it follows, at least once and
 * in order per aggregate, skipping what it has already applied and fetching gaps from the store (see
 * subscriber/consumer.ts). A projector that is down is waited for; an event it keeps failing on goes to the
 * dead-letter queue in the store, the later events of its aggregate wait behind it, and the rest goes on
 * (subscriber/dead-letters.ts).
 */

export interface ProjectorCoordinatorOptions {
  projector: ProjectorEndpoint;
  domains: readonly string[];
  store: EventStore;
  /** Absent: the coordinator only replays (see consumer.ts); it is never started. */
  bus: EventBus | undefined;
  policy: RetryPolicy;
  /** Partitions of its stream, and calls in flight at once from this process (subscriber/partitions.ts). */
  partitions: number;
  concurrency: number;
  /** Deadline of one call to the projector. */
  callTimeoutMs: number;
  logger: Logger;
  /** Whether and how long successful calls are logged (default: DEFAULT_DELIVERY_LOG). */
  deliveryLog?: DeliveryLogPolicy | undefined;
}

export interface ProjectorStatus extends SubscriberStatus {
  name: string;
  address: string;
  domains: readonly string[];
}

export interface ProjectorCoordinator {
  readonly name: string;
  /** Ready to deliver the partitions it is given (`partitions.hold`), each from the bus and the store. */
  start(): Promise<void>;
  /** The partitions of its stream delivered by this process. */
  readonly partitions: PartitionedConsumer;
  stop(): Promise<void>;
  /** Resolves when the catch-up begun by start() is done. */
  caughtUp(): Promise<void>;
  /** Delivers a batch outside the bus (the coordinator service's Handle). */
  handleBatch(batch: EventBatch): Promise<void>;
  /**
   * Replays the store's log into the projector (calls marked `evented-replay: true`); a rebuild asks the
   * projector to Reset first. Live delivery resumes afterwards without a gap or a duplicate.
   */
  replay(request: ReplayRequest, hooks: ReplayHooks): Promise<ReplayProgress>;
  /** Synchronous projection of a book inside a command call: returns what the projector answers. */
  handleSync(book: EventBook): Promise<Projection>;
  /** Its dead letters delivered again or skipped, by a person (evented dlq). */
  readonly deadLetters: DeadLetterDecisions;
  status(): ProjectorStatus;
}

export const createProjectorCoordinator = (options: ProjectorCoordinatorOptions): ProjectorCoordinator => {
  const { projector, bus, logger, policy, callTimeoutMs } = options;
  const subscriber = `projector:${projector.name}`;
  const label = `projector "${projector.name}" at ${projector.address}`;
  const activity = createSubscriberActivity({ subscriber, label, policy, logger });
  const letters = createSubscriberDeadLetters({ store: options.store, subscriber, label, logger });
  let batchCalls = true;

  /**
   * A book in one call; when it keeps failing, page by page, so that only the failing event is set aside (and
   * the pages after it, of the same aggregate, wait behind it: `admit` parks them). The book is handled once its
   * pages are delivered, set aside or parked: the letters are in the store by then.
   */
  const deliverBook = async (whole: EventBook, delivery: DeliverOptions): Promise<void> => {
    const [book] = await letters.admit([whole]);
    if (book !== undefined) {
      const call = { timeoutMs: callTimeoutMs, replay: delivery.replay };
      let clock = startCall();
      const outcome = await inDelivery(subscriber, [book], () =>
        callUntilHandled(() => {
          clock = startCall();
          return projector.handle(book, call);
        }, activity.retry),
      );
      if (outcome.ok) {
        activity.countDelivered(book.pages.length);
        delivery.handled([book], clock());
      } else if (book.pages.length > 1) {
        for (const page of book.pages) await deliverBook({ ...book, pages: [page] }, delivery);
      } else {
        activity.setAside(outcome.reason);
        await letters.setAside(book, { reason: outcome.error, attempts: outcome.attempts });
      }
    }
    delivery.handled([whole]);
  };

  /**
   * Calls below the projector's message limit (see call-size.ts), each one HandleBatch when the projector has
   * it; otherwise (or when it fails) book by book. The consumer hears of each call that succeeded. Events of
   * aggregates held back by a dead letter are parked (as letters) instead, and handled with the batch.
   */
  const deliver: Deliver = async (books, delivery) => {
    for (const call of cutBySize(await letters.admit(books))) await deliverCall(call, delivery);
    delivery.handled(books);
  };

  /** A dead letter again: one call, no waiting when the projector is down (a person is waiting instead). */
  const redeliver: Redelivery = async (book) => {
    try {
      await projector.handle(book, { timeoutMs: callTimeoutMs });
      activity.countDelivered(book.pages.length);
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: describeFailure(err) };
    }
  };

  const deliverCall = async (books: EventBook[], delivery: DeliverOptions): Promise<void> => {
    if (batchCalls && books.length > 1) {
      const batch = { books, firstPosition: 0, lastPosition: 0 };
      let clock = startCall();
      const outcome = await inDelivery(subscriber, books, () =>
        callUntilHandled(
          () => {
            clock = startCall();
            return projector.handleBatch(batch, { timeoutMs: callTimeoutMs, replay: delivery.replay });
          },
          { ...activity.retry, policy: { ...policy, maxAttempts: 1 } },
        ),
      );
      if (outcome.ok) {
        activity.countDelivered(books.reduce((n, book) => n + book.pages.length, 0));
        delivery.handled(books, clock());
        return;
      }
      if (outcome.kind === 'unimplemented') {
        batchCalls = false;
        logger.info(`projector "${projector.name}" has no HandleBatch; calling Handle for each book`);
      }
    }
    for (const book of books) await deliverBook(book, delivery);
  };

  /** A rebuild's first step: the projector forgets its read model, or the rebuild stops here. */
  const reset = async (): Promise<void> => {
    let implemented: boolean;
    try {
      implemented = await projector.reset({ timeoutMs: callTimeoutMs, replay: true });
    } catch (err) {
      // Nothing was forgotten yet: the projector's position and progress are as they were.
      const what = `projector "${projector.name}" at ${projector.address}`;
      const reason = describeFailure(err);
      if (classifyFailure(err) === 'unavailable') {
        throw new UnavailableError(
          `${what} did not answer its Reset (${reason}); nothing was forgotten: start it, then rebuild again`,
        );
      }
      throw new SubscriberFailure(
        `${what} failed its Reset (${reason}); nothing was forgotten: fix it, then rebuild again`,
      );
    }
    if (!implemented) {
      logger.warn(
        `projector "${projector.name}" has no Reset: it must recognise the rebuild itself (evented-replay: true)`,
      );
    }
  };

  const consumer = createPartitionedConsumer({
    subscriber,
    domains: options.domains,
    store: options.store,
    bus,
    deliver,
    partitions: options.partitions,
    concurrency: options.concurrency,
    logger,
    beforeHold: (owns) => letters.refresh(owns),
    deliveryLog: options.deliveryLog,
  });

  return {
    name: projector.name,
    start: async () => {
      await letters.open();
      await activity.start(consumer);
    },
    stop: () => activity.stop(consumer),
    caughtUp: () => consumer.caughtUp(),
    partitions: consumer,
    handleBatch: (batch) => consumer.handleBatch(batch),
    replay: (request, hooks) =>
      consumer.replay(request, {
        ...hooks,
        beforeRebuild: async () => {
          await reset();
          await hooks.beforeRebuild?.();
        },
      }),
    handleSync: (book) =>
      consumer.withTracker(coverOf(book), async (tracker) => {
        const [pending] = await tracker.pending([book]);
        const [admitted] = pending ? await letters.admit([pending]) : [];
        const projection = await projector.handleSync(admitted ?? { ...book, pages: [] }, {
          timeoutMs: callTimeoutMs,
        });
        if (pending) {
          activity.countDelivered(admitted?.pages.length ?? 0);
          tracker.advance([pending]);
          await tracker.save();
        }
        return projection;
      }),
    deadLetters: createDeadLetterDecisions({
      store: options.store,
      letters,
      exclusive: consumer.exclusive,
      redeliver,
      label,
      logger,
      deliveryLog: options.deliveryLog,
    }),
    status: () => ({
      name: projector.name,
      address: projector.address,
      domains: options.domains,
      ...activity.status(consumer),
    }),
  };
};

const coverOf = (book: EventBook): { domain: string; root: Uint8Array } => ({
  domain: book.cover?.domain ?? '',
  root: book.cover?.root?.value ?? new Uint8Array(),
});
