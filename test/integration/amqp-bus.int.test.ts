import amqp from 'amqplib';
import { randomBytes } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import { createAmqpEventBus, type AmqpEventBus } from '../../runtime/bus/amqp/index.js';
import { BATCH_CONTENT_TYPE } from '../../runtime/bus/amqp/codec.js';
import { ConfigError, UnavailableError } from '../../runtime/errors/index.js';
import { EventBatch } from '../../runtime/protocol/gen/evented/evented.js';
import type { Delivery } from '../../runtime/bus/port.js';
import { describeEventBusContract } from '../contract/event-bus.contract.js';
import { freePort } from '../helpers/ports.js';
import { describeWith } from '../helpers/services.js';

/** An exchange no other test uses: the shared broker is isolated per test by name. */
const uniqueExchange = (): string => `evented-test-${randomBytes(5).toString('hex')}`;

/** Removes a test's exchange and queues from the shared broker. */
const removeTopology = async (
  url: string,
  exchange: string,
  subscribers: readonly string[],
): Promise<void> => {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    for (const subscriber of subscribers) {
      // Its queue of each partition (topology.ts), and the one queue of versions before partitions.
      for (let partition = 0; partition < 16; partition += 1) {
        await channel.deleteQueue(`${exchange}.${subscriber}.${partition}`);
      }
      await channel.deleteQueue(`${exchange}.${subscriber}`);
    }
    await channel.deleteExchange(exchange);
  } finally {
    await connection.close();
  }
};

const batch = (n: number): EventBatch => ({
  books: [
    {
      cover: { domain: 'orders', root: { value: new Uint8Array(16).fill(n) } },
      snapshot: undefined,
      pages: [],
    },
  ],
  firstPosition: n,
  lastPosition: n + 2,
});

describeWith('rabbitmq', 'AMQP event bus', (url) => {
  describeEventBusContract('amqp', async () => {
    const exchange = uniqueExchange();
    const bus = createAmqpEventBus({ url, exchange });
    return { bus, cleanup: (subscribers) => removeTopology(url, exchange, subscribers) };
  });

  const buses: AmqpEventBus[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((bus) => bus.close()));
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  const open = (options: { exchange?: string; subscribers?: string[] } = {}) => {
    const exchange = options.exchange ?? uniqueExchange();
    const bus = createAmqpEventBus({ url, exchange });
    buses.push(bus);
    cleanups.push(() => removeTopology(url, exchange, options.subscribers ?? []));
    return { bus, exchange };
  };

  it('names where it is without the password', () => {
    const { bus } = open();
    expect(bus.kind).toBe('amqp');
    expect(bus.location).toBe(url.replace(/:[^:@/]*@/, '@'));
  });

  it('refuses a URL that is not amqp:// or amqps:// (ConfigError), without repeating it', () => {
    expect(() => createAmqpEventBus({ url: 'http://guest:secret@localhost' })).toThrow(ConfigError);
    expect(() => createAmqpEventBus({ url: 'not a url secret' })).toThrow(ConfigError);
    expect(() => createAmqpEventBus({ url: 'not a url secret' })).not.toThrow(/secret/);
  });

  it('publishes persistent protobuf messages with <domain>.<partition> as routing key and the positions as headers', async () => {
    const { bus, exchange } = open();
    await bus.ready();
    const connection = await amqp.connect(url);
    try {
      const channel = await connection.createChannel();
      const { queue } = await channel.assertQueue('', { exclusive: true });
      await channel.bindQueue(queue, exchange, 'orders.0');

      await bus.publish([{ domain: 'orders', batch: batch(7) }]);

      let message: amqp.GetMessage | false = false;
      for (let i = 0; i < 100 && message === false; i += 1) {
        message = await channel.get(queue, { noAck: true });
        if (message === false) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      if (message === false) throw new Error('no message arrived');
      expect(message.fields.routingKey).toBe('orders.0');
      expect(message.properties.contentType).toBe(BATCH_CONTENT_TYPE);
      expect(message.properties.deliveryMode).toBe(2);
      expect(message.properties.headers).toMatchObject({
        domain: 'orders',
        partition: 0,
        firstPosition: 7,
        lastPosition: 9,
      });
      expect(EventBatch.decode(new Uint8Array(message.content))).toEqual(batch(7));
    } finally {
      await connection.close();
    }
  });

  it('rejects publish and subscribe with UnavailableError naming the broker when nothing listens', async () => {
    const port = await freePort();
    const deadUrl = `amqp://guest:secret@127.0.0.1:${port}`;
    const bus = createAmqpEventBus({
      url: deadUrl,
      publishTimeoutMs: 300,
      reconnect: { initialDelayMs: 20 },
    });
    buses.push(bus);

    const published = bus.publish([{ domain: 'orders', batch: batch(1) }]);
    await expect(published).rejects.toBeInstanceOf(UnavailableError);
    await expect(published).rejects.toThrow(`amqp://guest@127.0.0.1:${port}`);
    await expect(published).rejects.not.toThrow('secret');
    await expect(
      bus.subscribe({ subscriber: 'p', domains: ['orders'] }, async () => undefined),
    ).rejects.toBeInstanceOf(UnavailableError);
  });

  it('subscribes again by itself when its queue is deleted under it', async () => {
    const exchange = uniqueExchange();
    const { bus } = open({ exchange, subscribers: ['projector:deleted'] });
    const got: Delivery[] = [];
    await bus.subscribe({ subscriber: 'projector:deleted', domains: ['orders'] }, async (delivery) => {
      got.push(delivery);
    });
    const connection = await amqp.connect(url);
    try {
      const channel = await connection.createChannel();
      await channel.deleteQueue(`${exchange}.projector:deleted.0`);
    } finally {
      await connection.close();
    }

    // The queue comes back when the subscription reopens; publish until a batch arrives through it.
    for (let n = 1; got.length === 0 && n < 200; n += 1) {
      await bus.publish([{ domain: 'orders', batch: batch(n) }]);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(got.length).toBeGreaterThan(0);
  });
});
