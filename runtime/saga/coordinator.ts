import type { Logger } from 'pino';
import type { EventBus } from '../bus/port.js';
import { isEventedError, messageOf, UnavailableError, ConcurrencyConflictError } from '../errors/index.js';
import { status as Status } from '@grpc/grpc-js';
import { classifyFailure, describeFailure } from '../grpc/failure.js';
import { isServiceError } from '../grpc/unary.js';
import { formatCover } from '../protocol/cover.js';
import type {
  EventBatch,
  EventBook,
  Origin,
  SynchronousProcessingResponse,
} from '../protocol/gen/evented/evented.js';
import { timeOrderedUuid, uuidFromBytes } from '../protocol/uuid.js';
import type { EventStore } from '../store/port.js';
import { createSubscriberActivity, type SubscriberStatus } from '../subscriber/activity.js';
import type { ReplayHooks, ReplayProgress, ReplayRequest } from '../subscriber/replay.js';
import { createPartitionedConsumer, type PartitionedConsumer } from '../subscriber/partitions.js';
import {
  createDeadLetterDecisions,
  type DeadLetterDecisions,
  type Redelivery,
} from '../subscriber/dead-letter-decisions.js';
import { createSubscriberDeadLetters } from '../subscriber/dead-letters.js';
import type { Deliver } from '../subscriber/deliver.js';
import {
  callUntilHandled,
  FIRST_UNAVAILABLE_WAIT_MS,
  Stopping,
  type RetryPolicy,
} from '../subscriber/retry.js';
import { startCall, type DeliveryLogPolicy } from '../subscriber/delivery-log.js';
import { backoff, sleep } from '../support/timing.js';
import type { SagaEndpoint } from './endpoint.js';
import { inDelivery } from '../tracing/events.js';
import type { CommandGateway } from './gateway.js';

/**
 * The saga coordinator: feeds a user's saga the events of the domains it follows (same consumption and
 * idempotency as projectors, subscriber/consumer.ts), one event at a time, and submits what the saga returns:
 * `books` are recorded on their domain, `commands` go through their domain's business logic. Each output carries
 * an idempotency key made of the saga, the input event and the output's index, so redelivering the input never
 * applies the output twice. An output its target refuses (a broken business rule) sets the input event aside in
 * the dead-letter queue with the reason, and the later events of its aggregate wait behind it
 * (subscriber/dead-letters.ts).
 */

export interface SagaCoordinatorOptions {
  saga: SagaEndpoint;
  domains: readonly string[];
  store: EventStore;
  bus: EventBus;
  gateway: CommandGateway;
  policy: RetryPolicy;
  /** Partitions of its stream, and calls in flight at once from this process (subscriber/partitions.ts). */
  partitions: number;
  concurrency: number;
  callTimeoutMs: number;
  logger: Logger;
  /** Whether and how long successful calls are logged (default: DEFAULT_DELIVERY_LOG). */
  deliveryLog?: DeliveryLogPolicy | undefined;
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
  /** Ready to deliver the partitions it is given (`partitions.hold`), each from the bus and the store. */
  start(): Promise<void>;
  /** The partitions of its stream delivered by this process. */
  readonly partitions: PartitionedConsumer;
  stop(): Promise<void>;
  caughtUp(): Promise<void>;
  /** Delivers a batch outside the bus (the coordinator service's Handle). */
  handleBatch(batch: EventBatch): Promise<void>;
  /**
   * Replays the store's log into the saga (only when asked for explicitly). Its output keeps its idempotency
   * keys, so what it issued before is not applied again.
   */
  replay(request: ReplayRequest, hooks: ReplayHooks): Promise<ReplayProgress>;
  /** Runs the saga inside a command call and returns what its output produced. */
  handleSync(book: EventBook): Promise<SynchronousProcessingResponse>;
  /** Its dead letters delivered again or skipped, by a person (evented dlq). */
  readonly deadLetters: DeadLetterDecisions;
  status(): SagaStatus;
}

/**
 * Errors of a saga's output worth trying again: the target is down, did not answer in time, or raced with
 * another writer. (The output carries its idempotency key, so a second submission is never applied twice.)
 */
const transient = (err: unknown): boolean =>
  err instanceof UnavailableError ||
  err instanceof ConcurrencyConflictError ||
  (!isEventedError(err) &&
    (classifyFailure(err) === 'unavailable' ||
      (isServiceError(err) &&
        [Status.ABORTED, Status.DEADLINE_EXCEEDED, Status.CANCELLED].includes(err.code))));

const emptyResponse = (): SynchronousProcessingResponse => ({ books: [], projections: [], commands: [] });

/** One input event, its output applied: or why not, and how often the saga was called for it. */
type Reaction =
  | { ok: true; result: SynchronousProcessingResponse }
  | { ok: false; result: SynchronousProcessingResponse; reason: string; error: string; attempts: number };

export const createSagaCoordinator = (options: SagaCoordinatorOptions): SagaCoordinator => {
  const { saga, bus, gateway, logger } = options;
  const subscriber = `saga:${saga.name}`;
  const label = `saga "${saga.name}" at ${saga.address}`;
  const activity = createSubscriberActivity({ subscriber, label, policy: options.policy, logger });
  const letters = createSubscriberDeadLetters({ store: options.store, subscriber, label, logger });
  let issued = 0;

  /**
   * Submits one output; while its target is down, tries again when `patient` (live delivery), or gives up at
   * once (a person retrying a dead letter waits for the answer). Returns why it failed, if it did.
   */
  const submit = async (
    submitOnce: () => Promise<SynchronousProcessingResponse>,
    patient: boolean,
  ): Promise<SynchronousProcessingResponse | { failed: string }> => {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await submitOnce();
      } catch (err) {
        if (!transient(err)) return { failed: `was refused: ${messageOf(err)}` };
        if (!patient) return { failed: `could not be submitted: ${messageOf(err)}` };
        // Stopping while the target is down is no refusal: the input stays unhandled and comes again.
        if (activity.stopping()) throw new Stopping(`saga "${saga.name}"`);
        logger.warn({ reason: messageOf(err) }, `saga "${saga.name}": output target unavailable; retrying`);
        await sleep(backoff(attempt, FIRST_UNAVAILABLE_WAIT_MS, options.policy.maxBackoffMs));
      }
    }
  };

  /**
   * The saga's answer to one event: called until it answers when `patient`, once otherwise. `replay`: the saga
   * was given it before (its output's idempotency keys make that harmless).
   */
  const ask = async (
    event: EventBook,
    patient: boolean,
    replay: boolean,
  ): Promise<{ ok: true; response: SynchronousProcessingResponse } | Extract<Reaction, { ok: false }>> => {
    if (patient) {
      let response: SynchronousProcessingResponse = emptyResponse();
      const outcome = await callUntilHandled(async () => {
        response = await saga.react(event, { timeoutMs: options.callTimeoutMs, replay });
      }, activity.retry);
      return outcome.ok ? { ok: true, response } : { ...outcome, result: emptyResponse() };
    }
    try {
      return { ok: true, response: await saga.react(event, { timeoutMs: options.callTimeoutMs, replay }) };
    } catch (err) {
      const error = describeFailure(err);
      return { ok: false, result: emptyResponse(), reason: error, error, attempts: 1 };
    }
  };

  /** One event in, the saga's output out and applied. */
  const react = async (event: EventBook, patient: boolean, replay = false): Promise<Reaction> => {
    const asked = await ask(event, patient, replay);
    if (!asked.ok) return asked;
    const { response } = asked;
    activity.countDelivered(1);
    const result = emptyResponse();
    const page = event.pages[0]!;
    const key = `${subscriber}:${formatCover(event.cover)}:${page.num}`;
    const origin = originOfOutput(event, saga.name);
    const tasks: {
      describe: string;
      run: (idempotencyKey: string) => Promise<SynchronousProcessingResponse>;
    }[] = [
      ...response.books.map((book) => ({
        describe: `record on ${formatCover(book.cover)}`,
        run: (k: string) => gateway.record(book, { idempotencyKey: k, origin }),
      })),
      ...response.commands.map((command) => ({
        describe: `command to ${formatCover(command.cover)}`,
        run: (k: string) => gateway.handle(command, { idempotencyKey: k, origin }),
      })),
    ];
    const failures: string[] = [];
    for (const [index, task] of tasks.entries()) {
      const submitted = await submit(() => task.run(`${key}:${index}`), patient);
      if ('failed' in submitted) {
        failures.push(`output ${index} (${task.describe}) ${submitted.failed}`);
        continue;
      }
      issued += 1;
      result.books.push(...submitted.books);
      result.projections.push(...submitted.projections);
    }
    result.projections.push(...response.projections);
    if (failures.length === 0) return { ok: true, result };
    const error = `saga "${saga.name}" ${failures.join('; ')}`;
    return { ok: false, result, reason: error, error, attempts: 1 };
  };

  /**
   * One event delivered: parked when its aggregate is held back by a dead letter, set aside when the saga keeps
   * failing on it or its output is refused. Returns what its output produced, for synchronous callers.
   */
  const reactTo = async (event: EventBook, replay = false): Promise<Reaction | undefined> => {
    const [admitted] = await letters.admit([event]);
    if (admitted === undefined) return undefined;
    const reaction = await react(admitted, true, replay);
    if (!reaction.ok) {
      activity.setAside(reaction.reason);
      await letters.setAside(admitted, { reason: reaction.error, attempts: reaction.attempts });
    }
    return reaction;
  };

  /**
   * Sagas see one event at a time, so that the idempotency key of each output is stable however batches are cut;
   * the consumer hears of each one handled (delivered, set aside, or parked behind a dead letter).
   */
  const deliver: Deliver = async (books, { replay, handled }) => {
    for (const book of books) {
      for (const page of book.pages) {
        const event = { ...book, pages: [page] };
        // The call, for the delivery log: the saga's answer and its output applied.
        const clock = startCall();
        const reaction = await inDelivery(subscriber, [event], () => reactTo(event, replay));
        handled([event], reaction?.ok ? clock() : undefined);
      }
    }
  };

  /** A dead letter again: the saga asked once and its output submitted once, no waiting on what is down. */
  const redeliver: Redelivery = async (book) => {
    const reaction = await react(book, false);
    return reaction.ok ? { ok: true } : { ok: false, reason: reaction.error };
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
    name: saga.name,
    start: async () => {
      await letters.open();
      await activity.start(consumer);
    },
    stop: () => activity.stop(consumer),
    caughtUp: () => consumer.caughtUp(),
    partitions: consumer,
    handleBatch: (batch) => consumer.handleBatch(batch),
    replay: (request, hooks) => consumer.replay(request, hooks),
    handleSync: (book) =>
      consumer.withTracker(coverOf(book), async (tracker) => {
        const result: SynchronousProcessingResponse = { books: [], projections: [], commands: [] };
        const [pending] = await tracker.pending([book]);
        for (const page of pending?.pages ?? []) {
          const produced = (await reactTo({ ...book, pages: [page] }))?.result ?? emptyResponse();
          result.books.push(...produced.books);
          result.projections.push(...produced.projections);
        }
        if (pending) {
          tracker.advance([pending]);
          await tracker.save();
        }
        return result;
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
      name: saga.name,
      address: saga.address,
      domains: options.domains,
      issued,
      ...activity.status(consumer),
    }),
  };
};

/**
 * The origin of what a saga issues for an event: the event's correlation (a new one for an event stored without),
 * the event itself as the causation ("DOMAIN/ROOT/SEQUENCE", the last of the book the saga was called with), and
 * the saga. The command handler adds a command id per output.
 */
export const originOfOutput = (event: EventBook, sagaName: string): Origin => {
  const last = event.pages.at(-1);
  const root = uuidFromBytes(event.cover?.root?.value ?? new Uint8Array(16));
  return {
    correlationId: last?.origin?.correlationId || timeOrderedUuid(),
    commandId: '',
    commandType: '',
    causationId: `${event.cover?.domain ?? ''}/${root}/${last?.num ?? 0}`,
    saga: sagaName,
    traceparent: '',
  };
};

const coverOf = (book: EventBook): { domain: string; root: Uint8Array } => ({
  domain: book.cover?.domain ?? '',
  root: book.cover?.root?.value ?? new Uint8Array(),
});
