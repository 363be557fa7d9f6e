import type { ConfirmChannel } from 'amqplib';
import { messageOf, UnavailableError } from '../../errors/index.js';
import type { KeptChannel } from './channel.js';
import type { Encoded } from './codec.js';

/**
 * Publishing with publisher confirms: every message is sent on the confirm channel, and the call resolves only
 * when the broker has confirmed every one of them (for a persistent message to a durable queue, RabbitMQ
 * confirms once it is written to disk). Anything else — no channel within the timeout, a nack, the channel or
 * connection lost before the confirm arrived, no confirm within the timeout — rejects with UnavailableError.
 * The caller publishes again: a message may then arrive twice, but a resolved publish is never lost.
 */

export interface Outgoing {
  /** An exchange ('' is the default exchange, which routes to the queue named by the routing key). */
  exchange: string;
  routingKey: string;
  message: Encoded;
}

export interface Publisher {
  send(messages: readonly Outgoing[], timeoutMs: number): Promise<void>;
}

const confirmOf = (channel: ConfirmChannel, { exchange, routingKey, message }: Outgoing) => {
  let sent = true;
  const confirmed = new Promise<void>((resolve, reject) => {
    sent = channel.publish(exchange, routingKey, message.content, message.options, (err: unknown) =>
      err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(),
    );
  });
  // Handled by the caller's Promise.all; this keeps an early failure from being reported as unhandled.
  confirmed.catch(() => undefined);
  return { confirmed, sent };
};

/** Resolves when the channel can take more, or has closed (the pending confirms then fail). */
const drained = (channel: ConfirmChannel): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      channel.off('drain', done);
      channel.off('close', done);
      resolve();
    };
    channel.on('drain', done);
    channel.on('close', done);
  });

const withDeadline = <T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), Math.max(0, ms));
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
};

export const createPublisher = (channel: KeptChannel<ConfirmChannel>, location: string): Publisher => {
  /**
   * Sends take turns to write their messages, and wait for their confirms outside their turn: sends made one
   * after the other reach the broker in that order, also while earlier ones still wait for their confirms. When
   * a send gives up before writing all its messages, the sends already made behind it fail without writing, so
   * that nothing is written after a message that was not; sends made afterwards go out as usual.
   */
  let turn: Promise<void> = Promise.resolve();
  let made = 0;
  let failThrough = 0;
  return {
    async send(messages, timeoutMs) {
      if (messages.length === 0) return;
      const deadline = Date.now() + timeoutMs;
      const confirmChannel = await channel.open(timeoutMs);
      const number = ++made;
      let abandoned = false;
      let done!: () => void;
      const previous = turn;
      turn = new Promise<void>((resolve) => (done = resolve));
      const sendAll = async (): Promise<void> => {
        const confirms: Promise<void>[] = [];
        let written = 0;
        try {
          await previous;
          if (number <= failThrough) {
            throw new Error('an earlier publish gave up before writing all its messages');
          }
          for (const outgoing of messages) {
            if (abandoned) return;
            const { confirmed, sent } = confirmOf(confirmChannel, outgoing);
            confirms.push(confirmed);
            written += 1;
            if (!sent) await drained(confirmChannel);
          }
        } finally {
          if (written < messages.length && number > failThrough) failThrough = made;
          done();
        }
        await Promise.all(confirms);
      };
      try {
        await withDeadline(sendAll(), deadline - Date.now(), () => {
          abandoned = true;
          return new Error(`no publisher confirm within ${timeoutMs} ms`);
        });
      } catch (err) {
        throw new UnavailableError(
          `RabbitMQ at ${location} did not confirm ${messages.length === 1 ? 'the message' : `all ${messages.length} messages`}: ${messageOf(err)}`,
          { hint: 'publish again; consumers skip what they already have', cause: err },
        );
      }
    },
  };
};
