import { randomUUID } from 'node:crypto';
import amqp, { type Channel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';

/**
 * The bare RabbitMQ baselines for `bench/delivery.ts`, with amqplib and nothing of evented: a durable queue of
 * its own (deleted afterwards), persistent messages published on a confirm channel, consumed on another
 * connection with manual acks and a prefetch.
 */

export interface AmqpBaselineOptions {
  url: string;
  /** Bytes per message. */
  messageBytes: number;
  prefetch: number;
}

const nowMs = (): number => performance.timeOrigin + performance.now();

const withQueue = async <T>(
  options: AmqpBaselineOptions,
  run: (publish: ConfirmChannel, consume: Channel, queue: string) => Promise<T>,
): Promise<T> => {
  const queue = `evented-bench-baseline-${randomUUID()}`;
  const publisher = await amqp.connect(options.url, { noDelay: true });
  const consumer = await amqp.connect(options.url, { noDelay: true });
  try {
    const publish = await publisher.createConfirmChannel();
    const consume = await consumer.createChannel();
    await publish.assertQueue(queue, { durable: true });
    await consume.prefetch(options.prefetch);
    try {
      return await run(publish, consume, queue);
    } finally {
      await publish.deleteQueue(queue).catch(() => undefined);
    }
  } finally {
    await consumer.close().catch(() => undefined);
    await publisher.close().catch(() => undefined);
  }
};

/** Publishes one persistent message; resolves on its confirm. Waits for 'drain' when the socket is full. */
const publishConfirmed = async (channel: ConfirmChannel, queue: string, body: Buffer): Promise<void> => {
  let full = false;
  const confirmed = new Promise<void>((resolve, reject) => {
    full = !channel.sendToQueue(queue, body, { persistent: true }, (err: unknown) =>
      err ? reject(new Error(String(err))) : resolve(),
    );
  });
  if (full) await new Promise((resolve) => channel.once('drain', resolve));
  return confirmed;
};

/**
 * `count` messages published with confirms (at most `inFlight` unconfirmed at a time) while a consumer on its
 * own connection takes them with manual acks: the rate from the first publish to the last message consumed.
 */
export const amqpDrain = (
  options: AmqpBaselineOptions & { count: number; inFlight: number },
): Promise<{ eventsPerSecond: number; seconds: number }> =>
  withQueue(options, async (publish, consume, queue) => {
    const body = Buffer.alloc(options.messageBytes, 0x2a);
    let consumed = 0;
    let done!: () => void;
    const allConsumed = new Promise<void>((resolve) => (done = resolve));
    await consume.consume(
      queue,
      (message: ConsumeMessage | null) => {
        if (message === null) return;
        consume.ack(message);
        consumed += 1;
        if (consumed === options.count) done();
      },
      { noAck: false },
    );
    const started = performance.now();
    let sent = 0;
    const window = async (): Promise<void> => {
      while (sent < options.count) {
        sent += 1;
        await publishConfirmed(publish, queue, body);
      }
    };
    await Promise.all(Array.from({ length: options.inFlight }, window));
    await allConsumed;
    const seconds = (performance.now() - started) / 1000;
    return { eventsPerSecond: options.count / seconds, seconds };
  });

/**
 * Messages published with confirms at a steady `rate` per second for `warmupS + durationS`; each carries its
 * publish time, and the consumer notes the time it receives it (same process, same clock). Latencies in ms of
 * the messages published after the warm-up.
 */
export const amqpLatency = (
  options: AmqpBaselineOptions & { rate: number; warmupS: number; durationS: number; signal?: AbortSignal },
): Promise<Float64Array> =>
  withQueue(options, async (publish, consume, queue) => {
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
        const at = nowMs();
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
      body.writeDoubleBE(nowMs(), 0);
      body.writeUInt32BE(index, 8);
      confirms.push(publishConfirmed(publish, queue, body));
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
