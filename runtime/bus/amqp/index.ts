import type { ConfirmChannel } from 'amqplib';
import { pino, type Logger } from 'pino';
import { UnavailableError } from '../../errors/index.js';
import type { EventBus, Subscription } from '../port.js';
import { checkPublish, checkSubscribe, DEFAULT_PREFETCH, DEFAULT_REDELIVERY_DELAY_MS } from '../validate.js';
import { keepChannel } from './channel.js';
import { encodeBatch } from './codec.js';
import { connectAmqp, type ReconnectOptions } from './connection.js';
import { startConsumer } from './consumer.js';
import { createPublisher } from './publisher.js';
import { declareExchange, routingKey, subscriberQueue } from './topology.js';

/**
 * The event bus on RabbitMQ (topology in topology.ts, message format in codec.ts). It connects at once and
 * keeps connected by itself: after a lost connection it reconnects with backoff, declares its topology again and
 * resumes every open subscription. While it is disconnected, publish() waits for the connection up to
 * `publishTimeoutMs` and then rejects with UnavailableError. A URL that is not amqp:// or amqps:// throws
 * ConfigError at once.
 *
 * Two subscriptions with the same subscriber name and partition (in one process or several) share its queue with a
 * single active consumer: RabbitMQ hands its messages to one of them until that one stops.
 */

export interface AmqpEventBusOptions {
  /** amqp://user:password@host:port/vhost */
  url: string;
  /** The topic exchange; also the prefix of every queue name. Default "evented". */
  exchange?: string;
  /** The prefetch of subscriptions that do not ask for one. Default DEFAULT_PREFETCH. */
  prefetch?: number;
  /** AMQP heartbeat: a dead broker is noticed after about two of these. Default 5. */
  heartbeatSeconds?: number;
  /** How long publish() waits for the broker, including its confirms. Default 5000 ms. */
  publishTimeoutMs?: number;
  /** How long subscribe() waits for the broker. Default: publishTimeoutMs. */
  requestTimeoutMs?: number;
  /** Backoff between reconnection attempts. Default 100 ms doubling to 5000 ms. */
  reconnect?: ReconnectOptions;
  /** Reconnections are logged at warn and info. Default: silent. */
  logger?: Logger;
}

export interface AmqpEventBus extends EventBus {
  /** Resolves once connected (for a reachability check at startup); rejects with UnavailableError after `timeoutMs`. */
  ready(timeoutMs?: number): Promise<void>;
}

export const createAmqpEventBus = (options: AmqpEventBusOptions): AmqpEventBus => {
  const exchange = options.exchange ?? 'evented';
  const publishTimeoutMs = options.publishTimeoutMs ?? 5000;
  const requestTimeoutMs = options.requestTimeoutMs ?? publishTimeoutMs;
  const reconnect = { initialDelayMs: 100, maxDelayMs: 5000, ...options.reconnect };
  const logger = (options.logger ?? pino({ level: 'silent' })).child({ component: 'event-bus' });

  const connection = connectAmqp({
    url: options.url,
    heartbeatSeconds: options.heartbeatSeconds ?? 5,
    reconnect,
    logger,
  });
  const confirmChannel = keepChannel<ConfirmChannel>(connection, {
    purpose: 'publishing',
    confirm: true,
    reconnect,
    logger,
    setup: (channel) => declareExchange(channel, exchange),
  });
  const publisher = createPublisher(confirmChannel, connection.location);
  const subscriptions = new Set<Subscription>();
  let closed = false;

  const ensureOpen = (): void => {
    if (closed) throw new UnavailableError(`the event bus to ${connection.location} is closed`);
  };

  return {
    kind: 'amqp',
    location: connection.location,

    async ready(timeoutMs = requestTimeoutMs) {
      await confirmChannel.open(timeoutMs);
    },

    async publish(batches) {
      ensureOpen();
      checkPublish(batches);
      await publisher.send(
        batches.map((published) => ({
          exchange,
          routingKey: routingKey(published.domain, published.partition ?? 0),
          message: encodeBatch(published),
        })),
        publishTimeoutMs,
      );
    },

    async subscribe(subscribeOptions, handle) {
      ensureOpen();
      checkSubscribe(subscribeOptions);
      const { subscriber } = subscribeOptions;
      const partition = subscribeOptions.partition ?? 0;
      const subscription = await startConsumer(
        connection,
        {
          exchange,
          queue: subscriberQueue(exchange, subscriber, partition),
          subscriber,
          domains: subscribeOptions.domains,
          partition,
          prefetch: subscribeOptions.prefetch ?? options.prefetch ?? DEFAULT_PREFETCH,
          redeliveryDelayMs: subscribeOptions.redeliveryDelayMs ?? DEFAULT_REDELIVERY_DELAY_MS,
          merge: subscribeOptions.merge ?? false,
          reconnect,
          timeoutMs: requestTimeoutMs,
          logger,
        },
        handle,
      );
      if (closed) {
        await subscription.close();
        ensureOpen();
      }
      subscriptions.add(subscription);
      return {
        subscriber,
        async close() {
          subscriptions.delete(subscription);
          await subscription.close();
        },
      };
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...subscriptions].map((subscription) => subscription.close()));
      subscriptions.clear();
      await confirmChannel.close();
      await connection.close();
    },
  };
};
