import type { Channel } from 'amqplib';

/**
 * The RabbitMQ topology, declared by whoever needs it (idempotent, so every (re)connection declares again):
 *
 * - one durable topic exchange (default "evented"); a batch's routing key is its domain;
 * - one durable queue per subscriber, `<exchange>.<subscriber>`, bound to the exchange once per domain it
 *   follows (bindings are only ever added: following fewer domains later leaves the old bindings in place).
 *
 * Dead letters are kept in the event store. Earlier versions kept them in `<exchange>.<subscriber>.dead-letter`
 * queues, which nothing reads any more: an operator may delete them.
 */

export const subscriberQueue = (exchange: string, subscriber: string): string => `${exchange}.${subscriber}`;

export const declareExchange = async (channel: Channel, exchange: string): Promise<void> => {
  await channel.assertExchange(exchange, 'topic', { durable: true });
};

export const declareSubscriberQueue = async (
  channel: Channel,
  exchange: string,
  queue: string,
  domains: readonly string[],
): Promise<void> => {
  await declareExchange(channel, exchange);
  await channel.assertQueue(queue, { durable: true });
  for (const domain of new Set(domains)) await channel.bindQueue(queue, exchange, domain);
};
