import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { messageOf } from '../../errors/index.js';
import { pause } from '../../support/timing.js';
import type { Delivery, Subscription } from '../port.js';
import { keepChannel } from './channel.js';
import { mergeBatches } from '../batches.js';
import { decodeBatch } from './codec.js';
import type { AmqpConnection, ReconnectOptions } from './connection.js';
import { declareSubscriberQueue } from './topology.js';

/**
 * One subscription: a channel of its own that consumes the subscriber's queue with manual acks and a prefetch.
 * Deliveries are buffered and handed to the handler one at a time, in queue order; with `merge`, deliveries of
 * one domain that wait in the buffer behind the one being handled are handed over together, merged into one
 * batch (mergeBatches: per aggregate, pages stay in sequence order), and acknowledged together.
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
  partition: number;
  prefetch: number;
  redeliveryDelayMs: number;
  /** Hand over the deliveries of one domain waiting in the buffer as one merged batch (see nextGroup). */
  merge: boolean;
  reconnect: Required<ReconnectOptions>;
  /** How long subscribe() waits for the queue to be declared and consumed. */
  timeoutMs: number;
  logger: Logger;
}

/** Buffered deliveries merged into one handler call stay under this many bytes (of protobuf). */
const MERGE_BYTES = 1024 * 1024;

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

  /** Decodes a delivery; a poison message is rejected (dropped) and gives undefined. */
  const decode = ({ channel, message }: Held): Delivery | undefined => {
    try {
      return decodeBatch(message);
    } catch (err) {
      logger.error(
        { subscriber, queue, reason: messageOf(err) },
        'dropped a message that is not an EventBatch',
      );
      settle(() => channel.reject(message, false));
      return undefined;
    }
  };

  /** Hands the handler one batch: the group's batches merged (one domain, queue order); acks them all after. */
  const deliver = async (group: Held[]): Promise<void> => {
    const held: Held[] = [];
    const deliveries: Delivery[] = [];
    for (const one of group) {
      const delivery = decode(one);
      if (delivery === undefined) continue;
      held.push(one);
      deliveries.push(delivery);
    }
    const first = deliveries[0];
    if (first === undefined) return;
    const channel = held[0]!.channel;
    const delivery: Delivery =
      deliveries.length === 1
        ? first
        : {
            domain: first.domain,
            batch: mergeBatches(deliveries.map((d) => d.batch)),
            redelivered: deliveries.some((d) => d.redelivered),
          };
    try {
      await Promise.resolve().then(() => handle(delivery));
      for (const { message } of held) settle(() => channel.ack(message));
    } catch (err) {
      logger.warn(
        { subscriber, domain: delivery.domain, reason: messageOf(err), retryInMs: options.redeliveryDelayMs },
        'handler failed; the batch will be delivered again',
      );
      await pause(options.redeliveryDelayMs, stop.signal);
      await requeueAll(channel);
    }
  };

  const domainOf = (message: ConsumeMessage): unknown =>
    message.properties.headers?.domain ?? message.fields.routingKey;

  /**
   * The next delivery and those buffered right behind it from the same channel and domain, up to
   * MERGE_BYTES of messages: a consumer that fell behind catches up in few, large handler calls.
   */
  const nextGroup = (): Held[] | undefined => {
    const head = buffer.shift();
    if (head === undefined) return undefined;
    const group = [head];
    if (!options.merge) return group;
    let bytes = head.message.content.length;
    const domain = domainOf(head.message);
    for (;;) {
      const next = buffer[0];
      if (next === undefined || next.channel !== head.channel || domainOf(next.message) !== domain) break;
      if (bytes + next.message.content.length > MERGE_BYTES) break;
      bytes += next.message.content.length;
      group.push(buffer.shift()!);
    }
    return group;
  };

  const pump = (): void => {
    if (running !== undefined || stop.signal.aborted) return;
    running = (async () => {
      while (!stop.signal.aborted) {
        const group = nextGroup();
        if (group === undefined) return;
        await deliver(group);
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
      await declareSubscriberQueue(channel, options.exchange, queue, {
        domains: options.domains,
        partition: options.partition,
      });
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
