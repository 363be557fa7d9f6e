import type { Logger } from 'pino';
import type { EventBus } from '../bus/port.js';
import type { EventBatch, EventBook, Projection } from '../protocol/gen/evented/evented.js';
import type { EventStore, SubscriberProgress } from '../store/port.js';
import { createConsumer } from '../subscriber/consumer.js';
import { callUntilHandled, type RetryPolicy } from '../subscriber/retry.js';
import type { ProjectorEndpoint } from './endpoint.js';

/**
 * The projector coordinator: feeds one user projector every event of the domains it follows, at least once and
 * in order per aggregate, skipping what it has already applied and fetching gaps from the store (see
 * subscriber/consumer.ts). A projector that is down is waited for; an event it keeps failing on goes to the
 * dead-letter queue and the rest goes on.
 */

export interface ProjectorCoordinatorOptions {
  projector: ProjectorEndpoint;
  domains: readonly string[];
  store: EventStore & SubscriberProgress;
  bus: EventBus;
  policy: RetryPolicy;
  /** Deadline of one call to the projector. */
  callTimeoutMs: number;
  logger: Logger;
}

export interface ProjectorStatus {
  name: string;
  address: string;
  domains: readonly string[];
  state: 'stopped' | 'catching-up' | 'live' | 'waiting-for-projector';
  /** The global position up to which events have been handled. */
  checkpoint: number;
  /** Events handed to the projector since start. */
  delivered: number;
  deadLettered: number;
  lastError: string | undefined;
}

export interface ProjectorCoordinator {
  readonly name: string;
  /** Catches up from the store, then follows the bus. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Delivers a batch (from the bus, a catch-up or a replay). */
  handleBatch(batch: EventBatch, options?: { replay?: boolean }): Promise<void>;
  /** Synchronous projection of a book inside a command call: returns what the projector answers. */
  handleSync(book: EventBook): Promise<Projection>;
  status(): ProjectorStatus;
}

export const createProjectorCoordinator = (options: ProjectorCoordinatorOptions): ProjectorCoordinator => {
  const { projector, bus, logger } = options;
  const subscriber = `projector:${projector.name}`;
  let state: ProjectorStatus['state'] = 'stopped';
  let delivered = 0;
  let deadLettered = 0;
  let lastError: string | undefined;
  let batchCalls = true;
  let stopping = false;

  const retryOptions = {
    policy: options.policy,
    subscriber: `projector "${projector.name}" at ${projector.address}`,
    logger,
    stopping: () => stopping,
    onUnavailable: (down: boolean, reason: string) => {
      if (down) {
        state = 'waiting-for-projector';
        lastError = reason;
      } else state = consumer.live ? 'live' : 'catching-up';
    },
  };

  const deadLetter = async (book: EventBook, reason: string): Promise<void> => {
    deadLettered += book.pages.length;
    lastError = reason;
    logger.error({ reason, domain: book.cover?.domain, sequence: book.pages[0]?.num }, 'event dead-lettered');
    await bus.deadLetter({ subscriber, domain: book.cover?.domain ?? '', book, reason, at: Date.now() });
  };

  /** A book in one call; when it keeps failing, page by page, so that only the failing event is set aside. */
  const deliverBook = async (book: EventBook, replay: boolean): Promise<void> => {
    const call = { timeoutMs: options.callTimeoutMs, replay };
    const outcome = await callUntilHandled(() => projector.handle(book, call), retryOptions);
    if (outcome.ok) delivered += book.pages.length;
    else if (book.pages.length > 1) {
      for (const page of book.pages) await deliverBook({ ...book, pages: [page] }, replay);
    } else await deadLetter(book, outcome.reason);
  };

  /** One call for the whole batch when the projector has HandleBatch; otherwise (or when it fails) book by book. */
  const deliver = async (books: EventBook[], { replay }: { replay: boolean }): Promise<void> => {
    if (batchCalls && books.length > 1) {
      const batch = { books, firstPosition: 0, lastPosition: 0 };
      const outcome = await callUntilHandled(
        () => projector.handleBatch(batch, { timeoutMs: options.callTimeoutMs, replay }),
        { ...retryOptions, policy: { ...options.policy, maxAttempts: 1 } },
      );
      if (outcome.ok) {
        delivered += books.reduce((n, book) => n + book.pages.length, 0);
        return;
      }
      if (outcome.kind === 'unimplemented') {
        batchCalls = false;
        logger.info(`projector "${projector.name}" has no HandleBatch; calling Handle for each book`);
      }
    }
    for (const book of books) await deliverBook(book, replay);
  };

  const consumer = createConsumer({
    subscriber,
    domains: options.domains,
    store: options.store,
    bus,
    deliver,
    logger,
  });

  return {
    name: projector.name,
    async start() {
      stopping = false;
      state = 'catching-up';
      await consumer.start();
      state = 'live';
    },
    async stop() {
      stopping = true;
      await consumer.stop();
      state = 'stopped';
    },
    handleBatch: (batch, handleOptions) => consumer.handleBatch(batch, handleOptions),
    handleSync: (book) =>
      consumer.exclusive(async () => {
        const [pending] = await consumer.tracker.pending([book]);
        const projection = await projector.handleSync(pending ?? { ...book, pages: [] }, {
          timeoutMs: options.callTimeoutMs,
        });
        if (pending) {
          delivered += pending.pages.length;
          consumer.tracker.advance([pending]);
          await consumer.tracker.save();
        }
        return projection;
      }),
    status: () => ({
      name: projector.name,
      address: projector.address,
      domains: options.domains,
      state,
      checkpoint: consumer.tracker.checkpoint(),
      delivered,
      deadLettered,
      lastError,
    }),
  };
};
