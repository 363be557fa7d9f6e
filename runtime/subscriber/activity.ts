import type { Logger } from 'pino';
import type { EventBus } from '../bus/port.js';
import { formatCover } from '../protocol/cover.js';
import type { EventBook } from '../protocol/gen/evented/evented.js';
import type { Consumer } from './consumer.js';
import type { RetryPolicy } from './retry.js';

/**
 * The bookkeeping a projector or saga coordinator shares: whether it is running, catching up, live or waiting for
 * its user service; what it delivered and set aside; and how it dead-letters an event.
 */

export type SubscriberState = 'stopped' | 'catching-up' | 'live' | 'waiting' | 'replaying';

export interface SubscriberStatus {
  /** `waiting`: the user's service is down or not answering; evented waits for it (see lastError). */
  state: SubscriberState;
  /** Every event up to this global position has been handled. */
  checkpoint: number;
  /** Events handed to the user's service since start. */
  delivered: number;
  /** Events set aside in the dead-letter queue since start. */
  deadLettered: number;
  lastError: string | undefined;
}

export interface SubscriberActivity {
  /** Options for callUntilHandled(). */
  readonly retry: {
    policy: RetryPolicy;
    subscriber: string;
    logger: Logger;
    stopping: () => boolean;
    onUnavailable: (down: boolean, reason: string) => void;
  };
  stopping(): boolean;
  countDelivered(events: number): void;
  deadLetter(book: EventBook, reason: string): Promise<void>;
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
  bus: EventBus;
  logger: Logger;
}): SubscriberActivity => {
  const { subscriber, bus, logger } = options;
  let stopping = true;
  let waiting = false;
  let delivered = 0;
  let deadLettered = 0;
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
    },
    stopping: () => stopping,
    countDelivered: (events) => {
      delivered += events;
    },
    async deadLetter(book, reason) {
      deadLettered += book.pages.length;
      lastError = reason;
      logger.error(
        { reason, aggregate: formatCover(book.cover), sequence: book.pages[0]?.num },
        `${options.label}: event dead-lettered`,
      );
      await bus.deadLetter({ subscriber, domain: book.cover?.domain ?? '', book, reason, at: Date.now() });
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
        : waiting
          ? 'waiting'
          : consumer.replaying
            ? 'replaying'
            : consumer.live
              ? 'live'
              : 'catching-up',
      checkpoint: consumer.tracker.checkpoint(),
      delivered,
      deadLettered,
      lastError: unreachable ?? lastError,
    }),
  };
};
