import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterEach, expect, it } from 'vitest';
import { createAmqpEventBus, type AmqpEventBus } from '../../runtime/bus/amqp/index.js';
import type { Delivery } from '../../runtime/bus/port.js';
import { UnavailableError } from '../../runtime/errors/index.js';
import { startLocalRabbitNode } from '../../runtime/infra/rabbitmq/local-node.js';
import type { EventBatch } from '../../runtime/protocol/gen/evented/evented.js';
import { occupiedPort } from '../helpers/ports.js';
import { describeWithLocalRabbit } from '../helpers/rabbitmq-node.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The AMQP bus against a broker that goes away: a private RabbitMQ node that these tests stop, start and
 * disconnect (never the shared broker). What must hold: publish fails fast and clearly while the broker is
 * down, subscriptions come back by themselves, and nothing that publish() confirmed is lost.
 */

const PUBLISH_TIMEOUT_MS = 1000;

const batch = (n: number): EventBatch => ({
  books: [
    {
      cover: { domain: 'orders', root: { value: new Uint8Array(16).fill(n % 256) } },
      snapshot: undefined,
      pages: [],
    },
  ],
  firstPosition: n,
  lastPosition: n,
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const until = async (what: string, condition: () => boolean, timeoutMs = 60_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
};

describeWithLocalRabbit('AMQP event bus when the broker goes away', (node) => {
  const buses: AmqpEventBus[] = [];
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((bus) => bus.close()));
    if (!node().running) await node().start();
  }, 120_000);

  /** What the bus logged, as parsed pino lines. */
  const logs: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });

  const open = (): AmqpEventBus => {
    const bus = createAmqpEventBus({
      logger,
      url: node().url,
      exchange: `evented-test-${randomBytes(4).toString('hex')}`,
      publishTimeoutMs: PUBLISH_TIMEOUT_MS,
      heartbeatSeconds: 2,
      reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
    });
    buses.push(bus);
    return bus;
  };

  it('rejects publish while the broker is down, resumes after it is back, and delivers every confirmed batch', async () => {
    const bus = open();
    const received = new Set<number>();
    await bus.subscribe(
      { subscriber: 'projector:steady', domains: ['orders'], redeliveryDelayMs: 50 },
      async (d) => {
        received.add(d.batch.firstPosition);
      },
    );

    // Given a publisher that keeps publishing, and notes what was confirmed and what failed (and how fast)
    const confirmed: number[] = [];
    const failures: { error: unknown; ms: number }[] = [];
    let next = 1;
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        const n = next++;
        const started = Date.now();
        try {
          await bus.publish([{ domain: 'orders', batch: batch(n) }]);
          confirmed.push(n);
        } catch (error) {
          failures.push({ error, ms: Date.now() - started });
        }
        await sleep(10);
      }
    })();
    await until('20 batches went through', () => confirmed.length >= 20 && received.size >= 20);

    // When the broker stops
    await node().stop();
    const failedBefore = failures.length;
    await until('a publish failed', () => failures.length >= failedBefore + 3, 20_000);

    // Then publish rejects with UnavailableError naming the broker (without the password), within its timeout
    const { error } = failures[failures.length - 1]!;
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toContain(`amqp://guest@127.0.0.1:${node().port}`);
    expect(Math.max(...failures.map((f) => f.ms))).toBeLessThan(PUBLISH_TIMEOUT_MS + 2000);

    // When it is back, publishing and the subscription resume by themselves
    await node().start();
    const resumedFrom = next;
    await until('a batch published after the restart arrived', () =>
      [...received].some((n) => n >= resumedFrom),
    );
    publishing = false;
    await publisher;

    // And every batch whose publish resolved was delivered
    await until('every confirmed batch arrived', () => confirmed.every((n) => received.has(n)));
    expect(confirmed.length).toBeGreaterThan(20);

    // And the outage was logged: the loss as a warning, the reconnection as info
    expect(logs).toContainEqual(
      expect.objectContaining({ level: 40, msg: 'lost the RabbitMQ connection; reconnecting' }),
    );
    expect(logs).toContainEqual(expect.objectContaining({ level: 30, msg: 'reconnected to RabbitMQ' }));
  }, 180_000);

  it('keeps persistent messages of a durable queue across a broker restart', async () => {
    const bus = open();
    const subscription = await bus.subscribe(
      { subscriber: 'projector:away', domains: ['orders'] },
      async () => {
        throw new Error('not meant to get anything yet');
      },
    );
    await subscription.close();
    for (let n = 1; n <= 20; n += 1) await bus.publish([{ domain: 'orders', batch: batch(n) }]);

    await node().restart();

    const got: Delivery[] = [];
    // subscribe() waits for the broker only up to its timeout: wait for the reconnection first.
    await bus.ready(30_000);
    await bus.subscribe({ subscriber: 'projector:away', domains: ['orders'] }, async (delivery) => {
      got.push(delivery);
    });
    await until('20 batches arrived', () => got.length >= 20);
    expect(got.map((d) => d.batch.firstPosition)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  }, 180_000);

  it('redelivers the batch whose handler was running when the connection was closed, then goes on in order', async () => {
    const bus = open();
    const got: Delivery[] = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    await bus.subscribe({ subscriber: 'projector:cut', domains: ['orders'] }, async (delivery) => {
      got.push(delivery);
      if (got.length === 1) await released;
    });
    await bus.publish([1, 2, 3].map((n) => ({ domain: 'orders', batch: batch(n) })));
    await until('the first batch is being handled', () => got.length === 1);

    // An operator closes every connection while the handler runs
    await node().rabbitmqctl(['close_all_connections', 'test: cut the connection']);
    await sleep(200);
    release();

    // The first batch comes again (its ack was lost with the connection), then the others, in order
    await until('all three arrived after the reconnection', () => got.length >= 4);
    const positions = got.map((d) => d.batch.firstPosition);
    expect(positions.slice(0, 2)).toEqual([1, 1]);
    expect(got[1]!.redelivered).toBe(true);
    expect(positions.slice(2, 4)).toEqual([2, 3]);

    await bus.publish([{ domain: 'orders', batch: batch(4) }]);
    await until('a batch published after the reconnection arrived', () =>
      got.some((d) => d.batch.firstPosition === 4),
    );
  }, 120_000);

  it('fails with UnavailableError that says what was tried and where the log is when a node cannot start', async () => {
    const port = await occupiedPort();
    const dataDir = tempDir('evented-rabbit-');

    const error = await startLocalRabbitNode({ dataDir, port }).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toContain(`RABBITMQ_NODE_PORT=${port}`);
    expect((error as Error).message).toMatch(/could_not_start_listener|eaddrinuse/);
    expect((error as UnavailableError).hint).toContain(`${dataDir}/log/`);
  }, 120_000);
});
