import type { Logger } from 'pino';
import type { EventBus } from '../bus/port.js';
import { isEventedError, messageOf, UnavailableError, ConcurrencyConflictError } from '../errors/index.js';
import { status as Status } from '@grpc/grpc-js';
import { classifyFailure } from '../grpc/failure.js';
import { isServiceError } from '../grpc/unary.js';
import { formatCover } from '../protocol/cover.js';
import type {
  EventBatch,
  EventBook,
  SynchronousProcessingResponse,
} from '../protocol/gen/evented/evented.js';
import type { EventStore } from '../store/port.js';
import { createSubscriberActivity, type SubscriberStatus } from '../subscriber/activity.js';
import type { ReplayHooks, ReplayProgress, ReplayRequest } from '../subscriber/replay.js';
import { createConsumer } from '../subscriber/consumer.js';
import type { Deliver } from '../subscriber/deliver.js';
import {
  callUntilHandled,
  FIRST_UNAVAILABLE_WAIT_MS,
  Stopping,
  type RetryPolicy,
} from '../subscriber/retry.js';
import { backoff, sleep } from '../support/timing.js';
import type { SagaEndpoint } from './endpoint.js';
import type { CommandGateway } from './gateway.js';

/**
 * The saga coordinator: feeds a user's saga the events of the domains it follows (same consumption and
 * idempotency as projectors, subscriber/consumer.ts), one event at a time, and submits what the saga returns:
 * `books` are recorded on their domain, `commands` go through their domain's business logic. Each output carries
 * an idempotency key made of the saga, the input event and the output's index, so redelivering the input never
 * applies the output twice. An output its target refuses (a broken business rule) sets the input event aside in
 * the dead-letter queue with the reason.
 */

export interface SagaCoordinatorOptions {
  saga: SagaEndpoint;
  domains: readonly string[];
  store: EventStore;
  bus: EventBus;
  gateway: CommandGateway;
  policy: RetryPolicy;
  callTimeoutMs: number;
  logger: Logger;
}

export interface SagaStatus extends SubscriberStatus {
  name: string;
  address: string;
  domains: readonly string[];
  /** Books and commands the saga issued that were applied. */
  issued: number;
}

export interface SagaCoordinator {
  readonly name: string;
  /** Follows the bus, and catches up from the store in the background. */
  start(): Promise<void>;
  stop(): Promise<void>;
  caughtUp(): Promise<void>;
  handleBatch(batch: EventBatch): Promise<void>;
  /**
   * Replays the store's log into the saga (only when asked for explicitly). Its output keeps its idempotency
   * keys, so what it issued before is not applied again.
   */
  replay(request: ReplayRequest, hooks: ReplayHooks): Promise<ReplayProgress>;
  /** Runs the saga inside a command call and returns what its output produced. */
  handleSync(book: EventBook): Promise<SynchronousProcessingResponse>;
  status(): SagaStatus;
}

/** Errors of a saga's output worth trying again: the target is down, or raced with another writer. */
const transient = (err: unknown): boolean =>
  err instanceof UnavailableError ||
  err instanceof ConcurrencyConflictError ||
  (!isEventedError(err) &&
    (classifyFailure(err) === 'unavailable' || (isServiceError(err) && err.code === Status.ABORTED)));

export const createSagaCoordinator = (options: SagaCoordinatorOptions): SagaCoordinator => {
  const { saga, bus, gateway, logger } = options;
  const subscriber = `saga:${saga.name}`;
  const activity = createSubscriberActivity({
    subscriber,
    label: `saga "${saga.name}" at ${saga.address}`,
    policy: options.policy,
    bus,
    logger,
  });
  let issued = 0;

  /** Submits one output, retrying while its target is down; returns the refusal, if any. */
  const submit = async (
    submitOnce: () => Promise<SynchronousProcessingResponse>,
  ): Promise<SynchronousProcessingResponse | string> => {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await submitOnce();
      } catch (err) {
        if (!transient(err)) return messageOf(err);
        // Stopping while the target is down is no refusal: the input stays unhandled and comes again.
        if (activity.stopping()) throw new Stopping(`saga "${saga.name}"`);
        logger.warn({ reason: messageOf(err) }, `saga "${saga.name}": output target unavailable; retrying`);
        await sleep(backoff(attempt, FIRST_UNAVAILABLE_WAIT_MS, options.policy.maxBackoffMs));
      }
    }
  };

  /**
   * One event in, the saga's output out and applied. Returns the combined result for synchronous callers.
   * `replay`: the saga was given it before (its output's idempotency keys make that harmless).
   */
  const reactTo = async (event: EventBook, replay = false): Promise<SynchronousProcessingResponse> => {
    const result: SynchronousProcessingResponse = { books: [], projections: [], commands: [] };
    let response: SynchronousProcessingResponse | undefined;
    const outcome = await callUntilHandled(async () => {
      response = await saga.react(event, { timeoutMs: options.callTimeoutMs, replay });
    }, activity.retry);
    if (!outcome.ok || response === undefined) {
      await activity.deadLetter(event, outcome.ok ? 'no answer' : outcome.reason);
      return result;
    }
    activity.countDelivered(1);
    const page = event.pages[0]!;
    const key = `${subscriber}:${formatCover(event.cover)}:${page.num}`;
    const tasks: {
      describe: string;
      run: (idempotencyKey: string) => Promise<SynchronousProcessingResponse>;
    }[] = [
      ...response.books.map((book) => ({
        describe: `record on ${formatCover(book.cover)}`,
        run: (k: string) => gateway.record(book, { idempotencyKey: k }),
      })),
      ...response.commands.map((command) => ({
        describe: `command to ${formatCover(command.cover)}`,
        run: (k: string) => gateway.handle(command, { idempotencyKey: k }),
      })),
    ];
    for (const [index, task] of tasks.entries()) {
      const submitted = await submit(() => task.run(`${key}:${index}`));
      if (typeof submitted === 'string') {
        await activity.deadLetter(
          event,
          `saga "${saga.name}" output ${index} (${task.describe}) was refused: ${submitted}`,
        );
        continue;
      }
      issued += 1;
      result.books.push(...submitted.books);
      result.projections.push(...submitted.projections);
    }
    result.projections.push(...response.projections);
    return result;
  };

  /**
   * Sagas see one event at a time, so that the idempotency key of each output is stable however batches are cut;
   * the consumer hears of each one handled.
   */
  const deliver: Deliver = async (books, { replay, handled }) => {
    for (const book of books) {
      for (const page of book.pages) {
        const event = { ...book, pages: [page] };
        await reactTo(event, replay);
        handled([event]);
      }
    }
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
    name: saga.name,
    start: () => activity.start(consumer),
    stop: () => activity.stop(consumer),
    caughtUp: () => consumer.caughtUp(),
    handleBatch: (batch) => consumer.handleBatch(batch),
    replay: (request, hooks) => consumer.replay(request, hooks),
    handleSync: (book) =>
      consumer.exclusive(async () => {
        const result: SynchronousProcessingResponse = { books: [], projections: [], commands: [] };
        const [pending] = await consumer.tracker.pending([book]);
        for (const page of pending?.pages ?? []) {
          const produced = await reactTo({ ...book, pages: [page] });
          result.books.push(...produced.books);
          result.projections.push(...produced.projections);
        }
        if (pending) {
          consumer.tracker.advance([pending]);
          await consumer.tracker.save();
        }
        return result;
      }),
    status: () => ({
      name: saga.name,
      address: saga.address,
      domains: options.domains,
      issued,
      ...activity.status(consumer),
    }),
  };
};
