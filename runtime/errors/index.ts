/**
 * The one error taxonomy of the runtime. Every error a user can cause or fix is one of these classes,
 * with a stable `code` that tests and scripts match on. `toGrpcStatus` (to-grpc-status.ts) is the only
 * place that turns them into gRPC status codes; the CLI maps them to exit codes in one place too.
 */

export type ErrorCode =
  | 'EVENTED_INVALID_ARGUMENT'
  | 'EVENTED_SEQUENCE'
  | 'EVENTED_CONCURRENCY_CONFLICT'
  | 'EVENTED_NOT_FOUND'
  | 'EVENTED_STATE'
  | 'EVENTED_UNAVAILABLE'
  | 'EVENTED_BUSINESS_REJECTION'
  | 'EVENTED_BUSINESS_FAILURE'
  | 'EVENTED_SUBSCRIBER_FAILURE'
  | 'EVENTED_CONFIG'
  | 'EVENTED_STORE'
  | 'EVENTED_UNAUTHENTICATED';

export interface ErrorOptions {
  /** The next thing to try, shown after the message. */
  hint?: string;
  cause?: unknown;
}

export abstract class EventedError extends Error {
  abstract readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

/** A request or a value is malformed: a missing field, a wrong size, a payload too large. Nothing was written. */
export class ValidationError extends EventedError {
  readonly code = 'EVENTED_INVALID_ARGUMENT';
}

/** An event's sequence is not the aggregate's next one (for example a Record of pages already stored). */
export class SequenceError extends EventedError {
  readonly code = 'EVENTED_SEQUENCE';
}

/** Another writer appended to the aggregate first. Retried by the command handler; surfaces as ABORTED. */
export class ConcurrencyConflictError extends EventedError {
  readonly code = 'EVENTED_CONCURRENCY_CONFLICT';
  constructor(
    message: string,
    readonly expectedNext: number,
    readonly actualNext: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Something named in a request does not exist (an unknown domain, projector, …). */
export class NotFoundError extends EventedError {
  readonly code = 'EVENTED_NOT_FOUND';
}

/**
 * What a request names exists but is not in a state that allows it: a dead letter that was decided already, or
 * one that waits behind an earlier letter of its aggregate.
 */
export class StateError extends EventedError {
  readonly code = 'EVENTED_STATE';
}

/** A dependency (business logic, broker, database) cannot be reached or did not answer in time. */
export class UnavailableError extends EventedError {
  readonly code = 'EVENTED_UNAVAILABLE';
}

/**
 * Business logic refused a command with a gRPC status of its own (FAILED_PRECONDITION for a broken rule,
 * INVALID_ARGUMENT, …). The status and its message reach the caller unchanged.
 */
export class BusinessRejection extends EventedError {
  readonly code = 'EVENTED_BUSINESS_REJECTION';
  constructor(
    message: string,
    readonly grpcCode: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Business logic failed in a way that is its bug, not the caller's: INTERNAL, UNKNOWN, a malformed answer. */
export class BusinessFailure extends EventedError {
  readonly code = 'EVENTED_BUSINESS_FAILURE';
}

/** A projector or saga answered an admin request (a rebuild's Reset) with an error of its own. */
export class SubscriberFailure extends EventedError {
  readonly code = 'EVENTED_SUBSCRIBER_FAILURE';
}

/** The configuration is invalid or cannot be read. */
export class ConfigError extends EventedError {
  readonly code = 'EVENTED_CONFIG';
}

/** The event store failed in a way that is not the caller's fault (disk full, database gone). */
export class StoreError extends EventedError {
  readonly code = 'EVENTED_STORE';
}

/** A call to a service that requires the runtime's token came without it, or with another one. */
export class UnauthenticatedError extends EventedError {
  readonly code = 'EVENTED_UNAUTHENTICATED';
}

export const isEventedError = (err: unknown): err is EventedError => err instanceof EventedError;

export const isConcurrencyConflict = (err: unknown): err is ConcurrencyConflictError =>
  err instanceof ConcurrencyConflictError;

/** The message of any thrown value, without its stack. */
export const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
