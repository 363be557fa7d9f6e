import type { Logger } from 'pino';
import { classifyFailure, describeFailure, type FailureKind } from '../grpc/failure.js';
import { backoff, sleep } from '../support/timing.js';

/**
 * Calling a user's projector or saga until it works. A subscriber that is down (UNAVAILABLE, never reached) is
 * waited for, with backoff, for as long as it takes: nothing is wrong with the event. A subscriber that answers
 * with an error, or does not answer within the call's deadline, is tried `maxAttempts` times; then the caller
 * sets the event aside (dead letter) and goes on (grpc/failure.ts tells the cases apart).
 */
export interface RetryPolicy {
  /** Attempts for an event the subscriber keeps failing on, before it is dead-lettered. */
  maxAttempts: number;
  /** First delay between failed attempts; doubles each time. */
  retryDelayMs: number;
  /** Longest wait between attempts to reach a subscriber that is down. */
  maxBackoffMs: number;
}

/**
 * The first wait before a subscriber (or a saga's output target) that is down is tried again; it doubles up to
 * `maxBackoffMs`. The gRPC channels to them reconnect on the same schedule (grpc/redialing-client.ts).
 */
export const FIRST_UNAVAILABLE_WAIT_MS = 100;

export type Outcome =
  | { ok: true }
  | {
      ok: false;
      /** The last error, with how many attempts were made. */
      reason: string;
      kind: FailureKind;
      /** The last error alone, and the attempts made. */
      error: string;
      attempts: number;
    };

/** Thrown when the coordinator stops while waiting for its subscriber: the batch goes back to the queue. */
export class Stopping extends Error {
  constructor(subscriber: string) {
    super(`${subscriber} is stopping`);
    this.name = 'Stopping';
  }
}

export const callUntilHandled = async (
  call: () => Promise<unknown>,
  options: {
    policy: RetryPolicy;
    subscriber: string;
    logger: Logger;
    stopping: () => boolean;
    /** Told when the subscriber is down and when it is back. */
    onUnavailable?: (down: boolean, reason: string) => void;
    /** Told of each failed attempt (an error or a timeout, not the subscriber being down): metrics count them. */
    onFailed?: () => void;
  },
): Promise<Outcome> => {
  let failures = 0;
  let unavailable = 0;
  for (;;) {
    try {
      await call();
      if (unavailable > 0) options.onUnavailable?.(false, '');
      return { ok: true };
    } catch (err) {
      const kind = classifyFailure(err);
      const reason = describeFailure(err);
      if (kind === 'unavailable') {
        if (unavailable === 0)
          options.logger.warn({ reason }, `${options.subscriber} is unavailable; waiting for it`);
        options.onUnavailable?.(true, reason);
        if (options.stopping()) throw new Stopping(options.subscriber);
        await sleep(backoff(unavailable++, FIRST_UNAVAILABLE_WAIT_MS, options.policy.maxBackoffMs));
        continue;
      }
      failures += 1;
      // An optional method it does not have (HandleBatch) is not its failure: the caller falls back.
      if (kind !== 'unimplemented') options.onFailed?.();
      if (failures >= options.policy.maxAttempts) {
        return {
          ok: false,
          kind,
          reason: `${reason} (after ${failures} attempt${failures > 1 ? 's' : ''})`,
          error: reason,
          attempts: failures,
        };
      }
      options.logger.warn({ reason, attempt: failures }, `${options.subscriber} failed; trying again`);
      if (options.stopping()) throw new Stopping(options.subscriber);
      await sleep(options.policy.retryDelayMs * 2 ** (failures - 1));
    }
  }
};
