import type { Logger } from 'pino';
import type { PartitionedConsumer } from './partitions.js';
import type { RetryPolicy } from './retry.js';

/**
 * The bookkeeping a projector or saga coordinator shares: whether it is running, catching up, live or waiting for
 * its user service; what it delivered, and its last error. (What it set aside is in the store: dead-letters.ts.)
 */

/**
 * `paused`: a replay in another process holds this process's live delivery (subscriber/pause-gate.ts);
 * `standby`: running, but holding no partition in this process (other processes deliver them).
 */
export type SubscriberState =
  'stopped' | 'catching-up' | 'live' | 'waiting' | 'replaying' | 'paused' | 'standby';

type Consumer = PartitionedConsumer;

export interface SubscriberStatus {
  /** `waiting`: the user's service is down or not answering; evented waits for it (see lastError). */
  state: SubscriberState;
  /** Every event up to this global position has been handled. */
  checkpoint: number;
  /** Events after the checkpoint already handled: the batch in progress, partly done (see progress.ts). */
  deliveredPastCheckpoint: number;
  /** Events handed to the user's service since start. */
  delivered: number;
  /** Calls to it that failed since start (errors and timeouts; not while it is down). */
  failed: number;
  lastError: string | undefined;
  /** How many partitions its stream is split into, and those this process delivers. */
  partitionCount: number;
  held: number[];
}

export interface SubscriberActivity {
  /** Options for callUntilHandled(). */
  readonly retry: {
    policy: RetryPolicy;
    subscriber: string;
    logger: Logger;
    stopping: () => boolean;
    onUnavailable: (down: boolean, reason: string) => void;
    onFailed: () => void;
  };
  stopping(): boolean;
  countDelivered(events: number): void;
  /** Notes why an event was set aside (shown as the last error). */
  setAside(reason: string): void;
  start(consumer: Consumer): Promise<void>;
  stop(consumer: Consumer): Promise<void>;
  status(consumer: Consumer): SubscriberStatus;
}

export const createSubscriberActivity = (options: {
  /** "projector:NAME" / "saga:NAME" */
  subscriber: string;
  /** How logs name it: `projector "accounts" at 127.0.0.1:1738`. */
  label: string;
  policy: RetryPolicy;
  logger: Logger;
}): SubscriberActivity => {
  const { logger } = options;
  let stopping = true;
  let waiting = false;
  let delivered = 0;
  let failed = 0;
  let lastError: string | undefined;
  /** Why the user's service cannot be reached, only while it cannot: shown before lastError, gone once it is back. */
  let unreachable: string | undefined;

  return {
    retry: {
      policy: options.policy,
      subscriber: options.label,
      logger,
      stopping: () => stopping,
      onUnavailable: (down, reason) => {
        waiting = down;
        unreachable = down ? reason : undefined;
      },
      onFailed: () => {
        failed += 1;
      },
    },
    stopping: () => stopping,
    countDelivered: (events) => {
      delivered += events;
    },
    setAside(reason) {
      lastError = reason;
    },
    async start(consumer) {
      stopping = false;
      await consumer.start();
    },
    async stop(consumer) {
      stopping = true;
      await consumer.stop();
    },
    status: (consumer) => ({
      state: stopping
        ? 'stopped'
        : consumer.held().length === 0 && !consumer.replaying
          ? 'standby'
          : waiting
            ? 'waiting'
            : consumer.replaying
              ? 'replaying'
              : consumer.paused
                ? 'paused'
                : consumer.live
                  ? 'live'
                  : 'catching-up',
      checkpoint: consumer.checkpoint(),
      deliveredPastCheckpoint: consumer.pastCheckpoint(),
      delivered,
      failed,
      lastError: unreachable ?? lastError,
      partitionCount: consumer.partitions,
      held: consumer.held(),
    }),
  };
};
