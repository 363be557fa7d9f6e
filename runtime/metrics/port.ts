/**
 * What the runtime's services tell the metrics (see prometheus.ts): a narrow interface, so that the services know
 * nothing of Prometheus, and so that with metrics off (`noMetrics`) an instrumented call costs an empty function.
 *
 * Labels are bounded sets only: a domain of the configuration, an outcome, a subscriber's kind and name. Never an
 * aggregate root or a correlation id: each of their values would be a time series of its own.
 */

/**
 * How a command ended, as its caller saw it: `rejected` by business logic, `conflict-aborted` after losing every
 * race with another writer, `invalid` (refused before business logic ran), `not-found` (no business logic for
 * its domain), `unavailable` (business logic or the store could not be reached), `failed` (anything else,
 * business logic's mistakes included).
 */
export const COMMAND_OUTCOMES = [
  'ok',
  'rejected',
  'conflict-aborted',
  'invalid',
  'not-found',
  'unavailable',
  'failed',
] as const;
export type CommandOutcome = (typeof COMMAND_OUTCOMES)[number];

/** "projector" or "saga". */
export type SubscriberKind = 'projector' | 'saga';

export interface RuntimeMetrics {
  /** A command (or a Record) ended with `outcome` after `seconds`, all retries included. */
  commandHandled(domain: string, outcome: CommandOutcome, seconds: number): void;
  /** Business logic answered (or failed) one decision in `seconds`. */
  businessLogicCalled(domain: string, seconds: number): void;
  /** An append lost a race with another writer (optimistic concurrency). */
  conflicted(domain: string): void;
  /** A command is decided again (after a conflict, or a decision made on a state another process moved past). */
  retried(domain: string): void;
  /** One append of `events` events (more than 0) was committed. */
  appended(domain: string, events: number): void;
  /** Where a replay or rebuild is: events replayed so far, of `total`. */
  replayProgress(kind: SubscriberKind, subscriber: string, replayed: number, total: number): void;
}

const nothing = (): void => undefined;

/** Metrics off: every call does nothing. */
export const noMetrics: RuntimeMetrics = {
  commandHandled: nothing,
  businessLogicCalled: nothing,
  conflicted: nothing,
  retried: nothing,
  appended: nothing,
  replayProgress: nothing,
};
