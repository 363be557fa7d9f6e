import { status as Status } from '@grpc/grpc-js';
import { isServiceError } from './unary.js';

/**
 * How a coordinator treats a failed call to a user's projector or saga:
 * - `unavailable`: it is down or cannot be reached; nothing is wrong with the event. Wait and try again, forever.
 * - `unimplemented`: the method does not exist (an optional one such as HandleBatch).
 * - `failed`: it was reached and did not handle this event: it answered with an error, ran past the call's
 *   deadline, or cancelled the call. After a few attempts the event is dead-lettered, so that an event the
 *   service can never finish in time does not hold its subscriber back for good.
 */
export type FailureKind = 'unavailable' | 'unimplemented' | 'failed';

/**
 * grpc-js says where a call that ran out of time was: "Waiting for LB pick" when no connection to the server was
 * ever made (it is down, or unreachable), otherwise the server it was sent to ("remote_addr=…").
 */
const neverReachedServer = (details: string): boolean => /waiting for LB pick/i.test(details);

export const classifyFailure = (err: unknown): FailureKind => {
  if (!isServiceError(err)) return 'failed';
  switch (err.code) {
    case Status.UNAVAILABLE:
      return 'unavailable';
    case Status.DEADLINE_EXCEEDED:
      return neverReachedServer(err.details) ? 'unavailable' : 'failed';
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
