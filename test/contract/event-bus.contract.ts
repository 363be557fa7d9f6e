import { afterEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../runtime/errors/index.js';
import type { EventBatch, EventBook } from '../../runtime/protocol/gen/evented/evented.js';
import type { Delivery, EventBus, Subscription } from '../../runtime/bus/port.js';

/**
 * The event bus contract: what the relay and the coordinators rely on, run against every adapter (in-process
 * and RabbitMQ). Each test gets a fresh, isolated bus; the adapter's cleanup removes what the test left behind
 * (queues and exchange on a shared broker) after the bus is closed.
 *
 *   describeEventBusContract('memory', async () => ({ bus: createMemoryEventBus() }));
 */

export interface EventBusFixture {
  bus: EventBus;
  /** Runs after the test, once the bus is closed, with the subscriber names the test used. */
  cleanup?(subscribers: readonly string[]): Promise<void>;
}

// ---- builders ---------------------------------------------------------------------------------------------

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const rootOf = (n: number): Uint8Array => Uint8Array.from({ length: 16 }, (_, i) => (i === 15 ? n : i));

const book = (domain: string, root: number, sequences: number[]): EventBook => ({
  cover: { domain, root: { value: rootOf(root) } },
  snapshot: undefined,
  pages: sequences.map((num) => ({
    num,
    createdAt: { seconds: 1_700_000_000 + num, nanos: 123_000 },
    Event: {
      typeUrl: `type.googleapis.com/test.Event${num}`,
      value: bytes(`payload ${domain} ${root} ${num}`),
    },
    synchronous: num % 2 === 1,
  })),
});

/** Batch number `n` of a domain: one book, positions n*10 … n*10+1. */
const batchNo = (domain: string, n: number): EventBatch => ({
  books: [book(domain, n % 200, [2 * n, 2 * n + 1])],
  firstPosition: n * 10,
  lastPosition: n * 10 + 1,
});

/** The batch numbers of deliveries (see batchNo). */
const numbers = (deliveries: readonly Delivery[]): number[] =>
  deliveries.map((d) => d.batch.firstPosition / 10);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `condition` holds, checking every 10 ms; fails with `what` after `timeoutMs`. */
const until = async (what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
};

/** A handler that records what it gets, one at a time, and can be told to fail or to hold. */
const recorder = () => {
  const deliveries: Delivery[] = [];
  let active = 0;
  let maxActive = 0;
  return {
    deliveries,
    get maxActive() {
      return maxActive;
    },
    handler:
      (behaviour: (delivery: Delivery, index: number) => Promise<void> | void = () => undefined) =>
      async (delivery: Delivery): Promise<void> => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        try {
          deliveries.push(delivery);
          await behaviour(delivery, deliveries.length - 1);
        } finally {
          active -= 1;
        }
      },
    received: (count: number, timeoutMs?: number) =>
      until(
        `${count} deliveries arrived (have ${deliveries.length})`,
        () => deliveries.length >= count,
        timeoutMs,
      ),
  };
};

const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
};

// ---- the contract -----------------------------------------------------------------------------------------

export const describeEventBusContract = (name: string, fresh: () => Promise<EventBusFixture>): void => {
  describe(`event bus contract: ${name}`, () => {
    const teardown: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const step of teardown.splice(0)) await step();
    });

    /** A fresh bus, closed and cleaned up after the test. */
    const given = async () => {
      const fixture = await fresh();
      const used = new Set<string>();
      teardown.push(async () => {
        await fixture.bus.close();
        await fixture.cleanup?.([...used]);
      });
      return {
        bus: fixture.bus,
        subscribe: (
          subscriber: string,
          domains: string[],
          handler: (delivery: Delivery) => Promise<void>,
          redeliveryDelayMs = 50,
        ): Promise<Subscription> => {
          used.add(subscriber);
          return fixture.bus.subscribe({ subscriber, domains, redeliveryDelayMs }, handler);
        },
        noteSubscriber: (subscriber: string) => used.add(subscriber),
      };
    };

    it('delivers a published batch intact to the subscriber of its domain', async () => {
      const { bus, subscribe } = await given();
      const got = recorder();
      await subscribe('projector:intact', ['orders'], got.handler());
      const batch: EventBatch = {
        books: [
          book('orders', 1, [0, 1, 2]),
          {
            ...book('orders', 2, [7]),
            snapshot: { sequence: 6, state: { typeUrl: 'test/State', value: bytes('s') } },
          },
        ],
        firstPosition: 2 ** 40 + 1,
        lastPosition: 2 ** 40 + 4,
      };

      await bus.publish([{ domain: 'orders', batch }]);

      await got.received(1);
      expect(got.deliveries[0]).toEqual({ domain: 'orders', batch, redelivered: false });
    });

    it('routes by domain: a subscriber of one domain gets nothing of another', async () => {
      const { bus, subscribe } = await given();
      const orders = recorder();
      const stock = recorder();
      await subscribe('projector:orders-only', ['orders'], orders.handler());
      await subscribe('projector:stock-only', ['stock'], stock.handler());

      await bus.publish([{ domain: 'stock', batch: batchNo('stock', 1) }]);
      await bus.publish([{ domain: 'orders', batch: batchNo('orders', 2) }]);

      await orders.received(1);
      await stock.received(1);
      // The stock batch was published first: had it been routed to orders, it would have arrived first.
      expect(orders.deliveries.map((d) => [d.domain, numbers([d])[0]])).toEqual([['orders', 2]]);
      expect(stock.deliveries.map((d) => [d.domain, numbers([d])[0]])).toEqual([['stock', 1]]);
    });

    it('routes by partition: each partition of a subscriber has its own queue, which keeps its batches while away', async () => {
      const { bus, noteSubscriber } = await given();
      noteSubscriber('projector:parts');
      const zero = recorder();
      const three = recorder();
      const subscribeTo = (partition: number, handler: (delivery: Delivery) => Promise<void>) =>
        bus.subscribe(
          { subscriber: 'projector:parts', domains: ['orders'], partition, redeliveryDelayMs: 50 },
          handler,
        );
      const first = await subscribeTo(0, zero.handler());
      const away = await subscribeTo(3, three.handler());
      await away.close();

      // Published while partition 3 has no consumer: its queue keeps them.
      await bus.publish([
        { domain: 'orders', partition: 3, batch: batchNo('orders', 1) },
        { domain: 'orders', partition: 0, batch: batchNo('orders', 2) },
        { domain: 'orders', partition: 3, batch: batchNo('orders', 3) },
      ]);
      await zero.received(1);
      await subscribeTo(3, three.handler());
      await three.received(2);
      await sleep(100);
      expect(numbers(zero.deliveries)).toEqual([2]);
      expect(numbers(three.deliveries)).toEqual([1, 3]);
      await first.close();
    });

    it('refuses a partition out of range', async () => {
      const { bus } = await given();
      await expect(
        bus.publish([{ domain: 'orders', partition: -1, batch: batchNo('orders', 1) }]),
      ).rejects.toBeInstanceOf(ValidationError);
      await expect(
        bus.subscribe(
          { subscriber: 'projector:bad', domains: ['orders'], partition: 1.5 },
          async () => undefined,
        ),
      ).rejects.toBeInstanceOf(ValidationError);
    });

    it('gives every subscriber its own copy of every batch', async () => {
      const { bus, subscribe } = await given();
      const first = recorder();
      const second = recorder();
      await subscribe('projector:first', ['orders'], first.handler());
      await subscribe('saga:second', ['orders'], second.handler());

      await bus.publish([1, 2, 3].map((n) => ({ domain: 'orders', batch: batchNo('orders', n) })));

      await first.received(3);
      await second.received(3);
      expect(numbers(first.deliveries)).toEqual([1, 2, 3]);
      expect(numbers(second.deliveries)).toEqual([1, 2, 3]);
    });

    it('keeps the order of many batches across domains, handling one at a time', async () => {
      const { bus, subscribe } = await given();
      const got = recorder();
      await subscribe(
        'projector:ordered',
        ['orders', 'stock'],
        got.handler(() => sleep(Math.random() < 0.1 ? 2 : 0)),
      );
      const domainOf = (n: number): string => (n % 3 === 0 ? 'stock' : 'orders');

      for (let call = 0; call < 10; call += 1) {
        const ns = Array.from({ length: 20 }, (_, i) => call * 20 + i + 1);
        await bus.publish(ns.map((n) => ({ domain: domainOf(n), batch: batchNo(domainOf(n), n) })));
      }

      await got.received(200);
      expect(numbers(got.deliveries)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      expect(got.deliveries.map((d) => d.domain)).toEqual(
        got.deliveries.map((d) => domainOf(numbers([d])[0]!)),
      );
      expect(got.maxActive).toBe(1);
    });

    it('keeps what is published while a subscriber is closed, and delivers it when it subscribes again', async () => {
      const { bus, subscribe } = await given();
      const before = recorder();
      const subscription = await subscribe('projector:returning', ['orders'], before.handler());
      await bus.publish([{ domain: 'orders', batch: batchNo('orders', 1) }]);
      await before.received(1);
      await subscription.close();

      await bus.publish([2, 3, 4].map((n) => ({ domain: 'orders', batch: batchNo('orders', n) })));
      await sleep(50);
      expect(before.deliveries).toHaveLength(1);

      const after = recorder();
      await subscribe('projector:returning', ['orders'], after.handler());
      await after.received(3);
      await bus.publish([{ domain: 'orders', batch: batchNo('orders', 5) }]);
      await after.received(4);
      expect(numbers(after.deliveries)).toEqual([2, 3, 4, 5]);
    });

    it('delivers a batch whose handler failed again, with later batches waiting behind it', async () => {
      const { bus, subscribe } = await given();
      let failures = 0;
      const got = recorder();
      await subscribe(
        'projector:flaky',
        ['orders'],
        got.handler((delivery) => {
          if (numbers([delivery])[0] === 2 && failures < 2) {
            failures += 1;
            throw new Error('projection database is down');
          }
        }),
      );

      await bus.publish([1, 2, 3, 4, 5].map((n) => ({ domain: 'orders', batch: batchNo('orders', n) })));

      await got.received(7);
      expect(numbers(got.deliveries)).toEqual([1, 2, 2, 2, 3, 4, 5]);
      expect(got.deliveries.map((d) => d.redelivered).slice(0, 4)).toEqual([false, false, true, true]);
      expect(got.deliveries[3]!.batch).toEqual(batchNo('orders', 2));
      expect(got.maxActive).toBe(1);
      await sleep(100);
      expect(got.deliveries).toHaveLength(7);
    });

    it('close() of a subscription waits for the running handler, and its batch is acknowledged', async () => {
      const { bus, subscribe } = await given();
      const release = gate();
      const started = gate();
      let finished = false;
      const got = recorder();
      const subscription = await subscribe(
        'projector:slow',
        ['orders'],
        got.handler(async () => {
          started.open();
          await release.opened;
          await sleep(20);
          finished = true;
        }),
      );
      await bus.publish([{ domain: 'orders', batch: batchNo('orders', 1) }]);
      await started.opened;

      let closed = false;
      const closing = subscription.close().then(() => (closed = true));
      await sleep(100);
      expect(closed).toBe(false);
      release.open();
      await closing;
      expect(finished).toBe(true);

      const later = recorder();
      await subscribe('projector:slow', ['orders'], later.handler());
      await bus.publish([{ domain: 'orders', batch: batchNo('orders', 2) }]);
      await later.received(1);
      await sleep(50);
      expect(numbers(later.deliveries)).toEqual([2]);
    });

    it('close() of the bus waits for running handlers', async () => {
      const { bus, subscribe } = await given();
      const release = gate();
      const started = gate();
      let finished = false;
      await subscribe('projector:closing', ['orders'], async () => {
        started.open();
        await release.opened;
        finished = true;
      });
      await bus.publish([{ domain: 'orders', batch: batchNo('orders', 1) }]);
      await started.opened;

      const closing = bus.close();
      setTimeout(release.open, 50);
      await closing;
      expect(finished).toBe(true);
    });

    it('refuses a subscription without domains, or with a wildcard domain (ValidationError)', async () => {
      const { subscribe } = await given();
      await expect(subscribe('projector:none', [], async () => undefined)).rejects.toBeInstanceOf(
        ValidationError,
      );
      await expect(subscribe('projector:all', ['#'], async () => undefined)).rejects.toBeInstanceOf(
        ValidationError,
      );
      await expect(subscribe('', ['orders'], async () => undefined)).rejects.toBeInstanceOf(ValidationError);
    });
  });
};
