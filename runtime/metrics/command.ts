import {
  BusinessRejection,
  ConcurrencyConflictError,
  NotFoundError,
  SequenceError,
  UnavailableError,
  ValidationError,
} from '../errors/index.js';
import type { BusinessLogic } from '../command/business-logic.js';
import type { CommandHandler } from '../command/handler.js';
import type { SynchronousProcessingResponse } from '../protocol/gen/evented/evented.js';
import type { CommandOutcome, RuntimeMetrics } from './port.js';

/**
 * The command path as the metrics see it, from outside: each command's outcome and time, and what it appended,
 * around the handler; business logic's time around each domain's client. The handler itself tells only what
 * happens inside (conflicts, retries).
 */

/** What this process's command handler did since it started (`evented status`, the live view of `evented up`). */
export interface CommandCounts {
  commandsHandled: number;
  eventsAppended: number;
}

export const outcomeOf = (err: unknown): CommandOutcome => {
  if (err instanceof BusinessRejection) return 'rejected';
  if (err instanceof ConcurrencyConflictError) return 'conflict-aborted';
  if (err instanceof ValidationError || err instanceof SequenceError) return 'invalid';
  if (err instanceof NotFoundError) return 'not-found';
  if (err instanceof UnavailableError) return 'unavailable';
  return 'failed';
};

/** The events the stored book of a response holds (the first book; the others are synchronous sagas' output). */
const appendedIn = (response: SynchronousProcessingResponse): number => response.books[0]?.pages.length ?? 0;

/**
 * The handler, counting into `counts` (always: two additions per command), and, with metrics on, timing each
 * command and telling its outcome.
 */
export const measuredCommandHandler = (
  handler: CommandHandler,
  counts: CommandCounts,
  metrics: RuntimeMetrics | undefined,
): CommandHandler => {
  const counted = (response: SynchronousProcessingResponse): SynchronousProcessingResponse => {
    counts.commandsHandled += 1;
    counts.eventsAppended += appendedIn(response);
    return response;
  };
  /** A refused or failed command is handled too (as the metrics count it). */
  const countedFailure = (err: unknown): never => {
    counts.commandsHandled += 1;
    throw err;
  };
  if (metrics === undefined) {
    return {
      handle: (command, options) => handler.handle(command, options).then(counted, countedFailure),
      record: (book, options) => handler.record(book, options).then(counted, countedFailure),
    };
  }
  const measured = async (
    domain: string,
    call: () => Promise<SynchronousProcessingResponse>,
  ): Promise<SynchronousProcessingResponse> => {
    const started = performance.now();
    try {
      const response = counted(await call());
      const events = appendedIn(response);
      if (events > 0) metrics.appended(domain, events);
      metrics.commandHandled(domain, 'ok', (performance.now() - started) / 1000);
      return response;
    } catch (err) {
      metrics.commandHandled(domain, outcomeOf(err), (performance.now() - started) / 1000);
      return countedFailure(err);
    }
  };
  return {
    handle: (command, options) =>
      measured(command.cover?.domain ?? '', () => handler.handle(command, options)),
    record: (book, options) => measured(book.cover?.domain ?? '', () => handler.record(book, options)),
  };
};

/** A domain's business logic, timing each decision. */
export const measuredBusinessLogic = (logic: BusinessLogic, metrics: RuntimeMetrics): BusinessLogic => ({
  domain: logic.domain,
  address: logic.address,
  async decide(command, timeoutMs) {
    const started = performance.now();
    try {
      return await logic.decide(command, timeoutMs);
    } finally {
      metrics.businessLogicCalled(logic.domain, (performance.now() - started) / 1000);
    }
  },
  close: () => logic.close(),
});
