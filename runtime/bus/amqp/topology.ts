import type { Channel } from 'amqplib';

/**
 * The RabbitMQ topology, declared by whoever needs it (idempotent, so every (re)connection declares again):
 *
 * - one durable topic exchange (default "evented"); a batch's routing key is `<domain>.<partition>`;
 * - one durable queue per subscriber and partition, `<exchange>.<subscriber>.<partition>`, declared with
 *   `x-single-active-consumer` (a safety net: the partition's claim already keeps it to one process, and should
 *   two ever consume, RabbitMQ still hands messages to one of them at a time), bound to the exchange once per
 *   domain it follows as `<domain>.<partition>` (bindings are only ever added: following fewer domains later
 *   leaves the old bindings in place).
 *
 * Earlier versions had one queue per subscriber, `<exchange>.<subscriber>`, bound to `<domain>`. Nothing publishes
 * to those routing keys any more, so such a queue only keeps what was in it at the upgrade, which nothing needs:
 * the store is the truth, and each partition catches up from the store (from the subscriber's last checkpoint)
 * with per-aggregate progress skipping what was handled. An operator may delete it (`rabbitmqctl delete_queue`),
 * as the `<exchange>.<subscriber>.dead-letter` queues of older versions still: dead letters are in the store.
 */

export const subscriberQueue = (exchange: string, subscriber: string, partition: number): string =>
  `${exchange}.${subscriber}.${partition}`;

export const routingKey = (domain: string, partition: number): string => `${domain}.${partition}`;

export const declareExchange = async (channel: Channel, exchange: string): Promise<void> => {
  await channel.assertExchange(exchange, 'topic', { durable: true });
};

export const declareSubscriberQueue = async (
  channel: Channel,
  exchange: string,
  queue: string,
  binding: { domains: readonly string[]; partition: number },
): Promise<void> => {
  await declareExchange(channel, exchange);
  await channel.assertQueue(queue, { durable: true, arguments: { 'x-single-active-consumer': true } });
  for (const domain of new Set(binding.domains)) {
    await channel.bindQueue(queue, exchange, routingKey(domain, binding.partition));
  }
};
