import { randomUUID } from 'node:crypto';
import amqp, { type Channel, type ConfirmChannel, type ConsumeMessage, type Options } from 'amqplib';
import { wallClockMs } from './wall-clock.js';

/**
 * The bare RabbitMQ baselines for `bench/delivery.ts`, with amqplib and nothing of evented: a durable queue of
 * its own (deleted afterwards), persistent messages published on a confirm channel, consumed on another
 * connection with manual acks and a prefetch.
 */

export interface AmqpBaselineOptions {
  url: string;
  prefetch: number;
}

/** Where messages are published: a queue through the default exchange, or a topic exchange bound to it. */
interface Target {
  exchange: string;
  routingKey: string;
}

const withQueue = async <T>(
  options: AmqpBaselineOptions & { topicRoutingKey?: string },
  run: (publish: ConfirmChannel, consume: Channel, queue: string, target: Target) => Promise<T>,
): Promise<T> => {
  const queue = `evented-bench-baseline-${randomUUID()}`;
  const publisher = await amqp.connect(options.url, { noDelay: true });
  const consumer = await amqp.connect(options.url, { noDelay: true });
  try {
    const publish = await publisher.createConfirmChannel();
    const consume = await consumer.createChannel();
    await publish.assertQueue(queue, { durable: true });
    let target: Target = { exchange: '', routingKey: queue };
    if (options.topicRoutingKey !== undefined) {
      // evented's topology: a durable topic exchange, the subscriber's durable queue bound to it by domain.
      target = { exchange: queue, routingKey: options.topicRoutingKey };
      await publish.assertExchange(target.exchange, 'topic', { durable: true });
      await publish.bindQueue(queue, target.exchange, target.routingKey);
    }
    await consume.prefetch(options.prefetch);
    try {
      return await run(publish, consume, queue, target);
    } finally {
      await publish.deleteQueue(queue).catch(() => undefined);
      if (target.exchange !== '') await publish.deleteExchange(target.exchange).catch(() => undefined);
    }
  } finally {
    await consumer.close().catch(() => undefined);
    await publisher.close().catch(() => undefined);
  }
};

/** Publishes one message; resolves on its confirm. Waits for 'drain' when the socket is full. */
const publishConfirmed = async (
  channel: ConfirmChannel,
  target: Target,
  body: Buffer,
  properties: Options.Publish = { persistent: true },
): Promise<void> => {
  let full = false;
  const confirmed = new Promise<void>((resolve, reject) => {
    full = !channel.publish(target.exchange, target.routingKey, body, properties, (err: unknown) =>
      err ? reject(new Error(String(err))) : resolve(),
    );
  });
  if (full) await new Promise((resolve) => channel.once('drain', resolve));
  return confirmed;
};

/**
 * Publishes `bodies` with confirms (at most `inFlight` unconfirmed at a time, in order) while a consumer on its
 * own connection takes them with manual acks: the seconds from the first publish to the last message consumed.
 */
const drainThrough = async (
  publish: ConfirmChannel,
  consume: Channel,
  queue: string,
  target: Target,
  messages: readonly { content: Buffer; properties?: Options.Publish }[],
  inFlight: number,
): Promise<number> => {
  let consumed = 0;
  let done!: () => void;
  const allConsumed = new Promise<void>((resolve) => (done = resolve));
  const { consumerTag } = await consume.consume(
    queue,
    (message: ConsumeMessage | null) => {
      if (message === null) return;
      consume.ack(message);
      consumed += 1;
      if (consumed === messages.length) done();
    },
    { noAck: false },
  );
  const started = performance.now();
  let next = 0;
  const window = async (): Promise<void> => {
    while (next < messages.length) {
      const message = messages[next++]!;
      await publishConfirmed(publish, target, message.content, message.properties);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, messages.length) }, window));
  await allConsumed;
  const seconds = (performance.now() - started) / 1000;
  await consume.cancel(consumerTag);
  return seconds;
};

/**
 * One message per event: `count` persistent messages of `messageBytes` each, published with confirms (at most
 * `inFlight` unconfirmed) and consumed with manual acks: RabbitMQ's rate for messages, not for evented's batches.
 */
export const amqpDrain = (
  options: AmqpBaselineOptions & { count: number; inFlight: number; messageBytes: number },
): Promise<{ eventsPerSecond: number; seconds: number }> =>
  withQueue(options, async (publish, consume, queue, target) => {
    const content = Buffer.alloc(options.messageBytes, 0x2a);
    const messages = Array.from({ length: options.count }, () => ({ content }));
    const seconds = await drainThrough(publish, consume, queue, target, messages, options.inFlight);
    return { eventsPerSecond: options.count / seconds, seconds };
  });

/**
 * The fair limit of a drain: the very messages evented's relay publishes for the same events (the same
 * EventBatch bodies and properties, so the same bytes per message), moved by bare amqplib through evented's
 * topology (a durable topic exchange, a durable queue bound to it by domain) with evented's flow control: at
 * most `inFlight` messages unconfirmed (the relay's publish-ahead), consumed with manual acks and the same
 * prefetch. Nothing is decoded: this is what RabbitMQ alone can move of that backlog.
 */
export const amqpDrainBatches = (
  options: AmqpBaselineOptions & {
    messages: readonly { content: Buffer; properties: Options.Publish }[];
    routingKey: string;
    events: number;
    inFlight: number;
    /** The backlog is moved again until this much time is measured, so that a small one is not all noise. */
    minSeconds: number;
  },
): Promise<{ eventsPerSecond: number; seconds: number; passes: number }> =>
  withQueue({ ...options, topicRoutingKey: options.routingKey }, async (publish, consume, queue, target) => {
    let seconds = 0;
    let passes = 0;
    while (passes === 0 || seconds < options.minSeconds) {
      seconds += await drainThrough(publish, consume, queue, target, options.messages, options.inFlight);
      passes += 1;
    }
    return { eventsPerSecond: (options.events * passes) / seconds, seconds, passes };
  });

/**
 * Messages published with confirms at a steady `rate` per second for `warmupS + durationS`; each carries its
 * publish time, and the consumer notes the time it receives it (same process, same clock). Latencies in ms of
 * the messages published after the warm-up.
 */
export const amqpLatency = (
  options: AmqpBaselineOptions & {
    rate: number;
    warmupS: number;
    durationS: number;
    messageBytes: number;
    signal?: AbortSignal;
  },
): Promise<Float64Array> =>
  withQueue(options, async (publish, consume, queue, target) => {
    const total = Math.round(options.rate * (options.warmupS + options.durationS));
    const measureFrom = Math.round(options.rate * options.warmupS);
    const latencies: number[] = [];
    let consumed = 0;
    let done!: () => void;
    const allConsumed = new Promise<void>((resolve) => (done = resolve));
    await consume.consume(
      queue,
      (message: ConsumeMessage | null) => {
        if (message === null) return;
        const at = wallClockMs();
        const index = message.content.readUInt32BE(8);
        if (index >= measureFrom) latencies.push(at - message.content.readDoubleBE(0));
        consume.ack(message);
        consumed += 1;
        if (consumed === total) done();
      },
      { noAck: false },
    );
    const confirms: Promise<void>[] = [];
    await steadily(options.rate, total, options.signal, (index) => {
      const body = Buffer.alloc(options.messageBytes, 0x2a);
      body.writeDoubleBE(wallClockMs(), 0);
      body.writeUInt32BE(index, 8);
      confirms.push(publishConfirmed(publish, target, body));
    });
    await Promise.all(confirms);
    await allConsumed;
    return Float64Array.from(latencies);
  });

/**
 * Calls `send(index)` `total` times at `rate` per second, open loop: every 2 ms it sends what the schedule says
 * is due, so a slow moment is caught up rather than dropped.
 */
export const steadily = async (
  rate: number,
  total: number,
  signal: AbortSignal | undefined,
  send: (index: number) => void,
): Promise<void> => {
  const started = performance.now();
  let sent = 0;
  while (sent < total && signal?.aborted !== true) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    while (sent < due) send(sent++);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
};
