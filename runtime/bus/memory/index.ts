import { UnavailableError, ValidationError } from '../../errors/index.js';
import { encodeEventBatch } from '../../protocol/event-batch-encoder.js';
import { EventBatch } from '../../protocol/gen/evented/evented.js';
import { pause } from '../../support/timing.js';
import type { Delivery, EventBus, PublishedBatch, SubscribeOptions, Subscription } from '../port.js';
import { checkPublish, checkSubscribe, DEFAULT_REDELIVERY_DELAY_MS } from '../validate.js';

/**
 * The in-process event bus, for the embedded `evented up`: what RabbitMQ does, inside one process. A subscriber has
 * one queue per partition, as on RabbitMQ, holding the batches published to that partition of its domains; each
 * queue is created by its first subscribe() and from then on keeps every batch of its domains, also while the
 * subscriber is closed. Batches are handed over one at a time, in queue order; a failed one goes back to the
 * head of the queue and is delivered again after the delay. Messages are kept encoded, as on the wire, so a
 * handler gets its own copy and sees exactly what a RabbitMQ subscriber would.
 */

interface Message {
  domain: string;
  bytes: Uint8Array;
  redelivered: boolean;
}

interface Queue {
  partition: number;
  domains: Set<string>;
  messages: Message[];
  /** The open subscription, if any: it is woken when a message arrives. */
  consumer: { wake(): void } | undefined;
}

type Handler = (delivery: Delivery) => Promise<void>;

export const createMemoryEventBus = (): EventBus => {
  const queues = new Map<string, Queue>();
  const open = new Set<Subscription>();
  let closed = false;

  const ensureOpen = (): void => {
    if (closed) throw new UnavailableError('the in-process event bus is closed');
  };

  const consume = (subscriber: string, queue: Queue, delayMs: number, handle: Handler): Subscription => {
    const stop = new AbortController();
    let running: Promise<void> | undefined;

    const drain = async (): Promise<void> => {
      while (!stop.signal.aborted) {
        const message = queue.messages.shift();
        if (message === undefined) return;
        const delivery = {
          domain: message.domain,
          batch: EventBatch.decode(message.bytes),
          redelivered: message.redelivered,
        };
        try {
          await Promise.resolve().then(() => handle(delivery));
        } catch {
          await pause(delayMs, stop.signal);
          queue.messages.unshift({ ...message, redelivered: true });
        }
      }
    };
    const wake = (): void => {
      if (running !== undefined || stop.signal.aborted) return;
      running = drain().finally(() => {
        running = undefined;
        if (queue.messages.length > 0) wake();
      });
    };

    const consumer = { wake };
    queue.consumer = consumer;
    wake();
    const subscription: Subscription = {
      subscriber,
      async close() {
        stop.abort();
        await running;
        if (queue.consumer === consumer) queue.consumer = undefined;
        open.delete(subscription);
      },
    };
    open.add(subscription);
    return subscription;
  };

  return {
    kind: 'memory',
    location: 'in-process',

    async publish(batches: readonly PublishedBatch[]) {
      ensureOpen();
      checkPublish(batches);
      for (const { domain, partition = 0, batch } of batches) {
        const bytes = plainBytes(encodeEventBatch(batch));
        for (const queue of queues.values()) {
          if (queue.partition !== partition || !queue.domains.has(domain)) continue;
          queue.messages.push({ domain, bytes, redelivered: false });
          queue.consumer?.wake();
        }
      }
    },

    async subscribe(options: SubscribeOptions, handle: Handler) {
      ensureOpen();
      checkSubscribe(options);
      const partition = options.partition ?? 0;
      const name = `${options.subscriber}.${partition}`;
      let queue = queues.get(name);
      if (queue === undefined) {
        queue = { partition, domains: new Set(), messages: [], consumer: undefined };
        queues.set(name, queue);
      }
      if (queue.consumer !== undefined) {
        throw new ValidationError(
          `partition ${partition} of subscriber "${options.subscriber}" is already subscribed in this process`,
        );
      }
      // Like queue bindings, the domains followed only grow.
      for (const domain of options.domains) queue.domains.add(domain);
      return consume(
        options.subscriber,
        queue,
        options.redeliveryDelayMs ?? DEFAULT_REDELIVERY_DELAY_MS,
        handle,
      );
    },

    async close() {
      closed = true;
      await Promise.all([...open].map((subscription) => subscription.close()));
    },
  };
};

/** The same bytes as a plain Uint8Array, so that what is decoded from them holds Uint8Arrays, not Buffers. */
const plainBytes = (buffer: Buffer): Uint8Array =>
  new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
