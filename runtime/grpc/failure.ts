import { status as Status } from '@grpc/grpc-js';
import { isServiceError } from './unary.js';

/**
 * How a coordinator treats a failed call to a user's projector or saga:
 * - `unavailable`: it is down or did not answer; nothing is wrong with the event. Wait and try again, forever.
 * - `unimplemented`: the method does not exist (an optional one such as HandleBatch).
 * - `failed`: it answered with an error for this event; after a few attempts the event is dead-lettered.
 */
export type FailureKind = 'unavailable' | 'unimplemented' | 'failed';

export const classifyFailure = (err: unknown): FailureKind => {
  if (!isServiceError(err)) return 'failed';
  switch (err.code) {
    case Status.UNAVAILABLE:
    case Status.DEADLINE_EXCEEDED:
    case Status.CANCELLED:
      return 'unavailable';
    case Status.UNIMPLEMENTED:
      return 'unimplemented';
    default:
      return 'failed';
  }
};

export const describeFailure = (err: unknown): string =>
  isServiceError(err)
    ? `${Status[err.code]}: ${err.details}`
    : err instanceof Error
      ? err.message
      : String(err);
