import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { messageOf } from '../../errors/index.js';
import { pause } from '../../support/timing.js';
import type { Delivery, Subscription } from '../port.js';
import { keepChannel } from './channel.js';
import { decodeBatch } from './codec.js';
import type { AmqpConnection, ReconnectOptions } from './connection.js';
import { declareSubscriberQueue } from './topology.js';

/**
 * One subscription: a channel of its own that consumes the subscriber's queue with manual acks and a prefetch.
 * Deliveries are buffered and handed to the handler one at a time, in queue order.
 *
 * - handler resolves → ack;
 * - handler rejects → wait `redeliveryDelayMs`, then stop consuming, put back everything this channel holds
 *   (the failed batch and the ones prefetched behind it) with one nack, and consume again: RabbitMQ returns
 *   requeued messages to their places, so the failed batch comes again first (redelivered) and order is kept;
 * - channel or connection lost → the broker requeues whatever was unacknowledged; the buffer of that channel is
 *   dropped, and the channel is reopened and consumes again by itself (channel.ts). A handler that was running
 *   finishes, but its ack is lost with the channel, so its batch comes again: at least once, never lost.
 */

export interface ConsumerOptions {
  exchange: string;
  queue: string;
  subscriber: string;
  domains: readonly string[];
  prefetch: number;
  redeliveryDelayMs: number;
  reconnect: Required<ReconnectOptions>;
  /** How long subscribe() waits for the queue to be declared and consumed. */
  timeoutMs: number;
  logger: Logger;
}

interface Held {
  channel: Channel;
  message: ConsumeMessage;
}

export const startConsumer = async (
  connection: AmqpConnection,
  options: ConsumerOptions,
  handle: (delivery: Delivery) => Promise<void>,
): Promise<Subscription> => {
  const { subscriber, queue, logger } = options;
  const stop = new AbortController();
  const buffer: Held[] = [];
  /** The consumer tag on each live channel; absent while not consuming. */
  const tags = new Map<Channel, string>();
  let running: Promise<void> | undefined;

  const consume = async (channel: Channel): Promise<void> => {
    const { consumerTag } = await channel.consume(queue, (message) => receive(channel, message), {
      noAck: false,
    });
    tags.set(channel, consumerTag);
  };

  const receive = (channel: Channel, message: ConsumeMessage | null): void => {
    if (message === null) {
      // The broker cancelled the consumer (the queue was deleted): reopening the channel declares it again.
      logger.warn({ subscriber, queue }, 'RabbitMQ cancelled the consumer; subscribing again');
      tags.delete(channel);
      void channel.close().catch(() => undefined);
      return;
    }
    buffer.push({ channel, message });
    pump();
  };

  /** Quietly: on a closed channel there is nothing to settle (the broker has requeued the message). */
  const settle = (action: () => void): void => {
    try {
      action();
    } catch (err) {
      logger.debug({ subscriber, reason: messageOf(err) }, 'could not settle a delivery; it will come again');
    }
  };

  /** Puts back everything `channel` holds, in place, and consumes again (unless closing). */
  const requeueAll = async (channel: Channel): Promise<void> => {
    try {
      const tag = tags.get(channel);
      if (tag !== undefined) {
        tags.delete(channel);
        await channel.cancel(tag); // deliveries already on the way arrive before cancel-ok
      }
      dropBuffered(channel);
      channel.nackAll(true);
      if (!stop.signal.aborted) await consume(channel);
    } catch (err) {
      // The channel went away meanwhile: the broker requeued everything, and the channel is being reopened.
      logger.debug({ subscriber, reason: messageOf(err) }, 'channel lost while requeueing');
    }
  };

  const deliver = async ({ channel, message }: Held): Promise<void> => {
    let delivery: Delivery;
    try {
      delivery = decodeBatch(message);
    } catch (err) {
      logger.error(
        { subscriber, queue, reason: messageOf(err) },
        'dropped a message that is not an EventBatch',
      );
      settle(() => channel.reject(message, false));
      return;
    }
    try {
      await Promise.resolve().then(() => handle(delivery));
      settle(() => channel.ack(message));
    } catch (err) {
      logger.warn(
        { subscriber, domain: delivery.domain, reason: messageOf(err), retryInMs: options.redeliveryDelayMs },
        'handler failed; the batch will be delivered again',
      );
      await pause(options.redeliveryDelayMs, stop.signal);
      await requeueAll(channel);
    }
  };

  const pump = (): void => {
    if (running !== undefined || stop.signal.aborted) return;
    running = (async () => {
      while (!stop.signal.aborted) {
        const held = buffer.shift();
        if (held === undefined) return;
        await deliver(held);
      }
    })().finally(() => {
      running = undefined;
      if (buffer.length > 0) pump();
    });
  };

  const dropBuffered = (channel: Channel): void => {
    for (let i = buffer.length - 1; i >= 0; i -= 1) if (buffer[i]!.channel === channel) buffer.splice(i, 1);
  };

  const kept = keepChannel<Channel>(connection, {
    purpose: `subscriber ${subscriber}`,
    confirm: false,
    reconnect: options.reconnect,
    logger,
    async setup(channel) {
      channel.once('close', () => {
        tags.delete(channel);
        dropBuffered(channel);
      });
      await declareSubscriberQueue(channel, options.exchange, queue, options.domains);
      await channel.prefetch(options.prefetch);
      await consume(channel);
    },
  });

  try {
    await kept.open(options.timeoutMs);
  } catch (err) {
    stop.abort();
    await kept.close();
    throw err;
  }

  return {
    subscriber,
    async close() {
      if (stop.signal.aborted) return;
      stop.abort();
      const channel = kept.current;
      const tag = channel === undefined ? undefined : tags.get(channel);
      if (channel !== undefined && tag !== undefined) {
        tags.delete(channel);
        await channel.cancel(tag).catch(() => undefined);
      }
      await running;
      buffer.length = 0;
      await kept.close();
    },
  };
};
