import type { EventBatch } from '../protocol/gen/evented/evented.js';

/**
 * The event bus port: how stored events travel from the outbox relay to the projector and saga coordinators.
 * Adapters: `amqp` (RabbitMQ) and `memory` (in-process, for the embedded `evented up`). Both pass the same
 * contract suite (test/contract/event-bus.contract.ts).
 *
 * The bus carries EventBatch messages (proto/evented/evented.proto), routed by domain and partition (an
 * aggregate's partition: bus/partition.ts); each subscriber has one durable queue per partition. It is a transport, not the
 * truth: the store is. Coordinators dedupe by sequence and fetch gaps from the store, so a lost, duplicated or
 * reordered message never loses or repeats an event for a projector. Nor does the bus keep dead letters: the
 * store does, whatever the bus (store/port.ts, DeadLetterStore).
 */

export interface EventBus {
  /** "amqp" or "memory", for status lines. */
  readonly kind: string;
  /** Where it is (a URL without credentials, or "in-process"). */
  readonly location: string;

  /**
   * Publishes batches durably, in order. Resolves once every batch is safely with the broker (persistent
   * messages, publisher confirms). Rejects with UnavailableError when the broker cannot be reached or did not
   * confirm; the caller (the relay) then publishes the same batches again later.
   */
  publish(batches: readonly PublishedBatch[]): Promise<void>;

  /**
   * Consumes `subscriber`'s durable queue of `partition`, bound to `domains` (created on first use, so messages published
   * while the subscriber is away wait for it). Batches are handed to `handle` one at a time, in queue order.
   * `handle` resolving acknowledges the batch; rejecting puts it back on the queue to be delivered again after
   * `redeliveryDelayMs`. After a lost connection the adapter reconnects with backoff and resumes by itself.
   */
  subscribe(options: SubscribeOptions, handle: (delivery: Delivery) => Promise<void>): Promise<Subscription>;

  /** Stops consuming (in-flight handlers finish first) and closes connections. */
  close(): Promise<void>;
}

/** A batch to publish: the message plus its routing key. */
export interface PublishedBatch {
  domain: string;
  /** The partition of every aggregate in the batch (bus/partition.ts). Default 0. */
  partition?: number | undefined;
  batch: EventBatch;
}

export interface SubscribeOptions {
  /** The projector's or saga's name: names its queue. */
  subscriber: string;
  /** The domains it follows (routing keys). */
  domains: readonly string[];
  /**
   * Which of its partitions' queues: batches published to this partition of its domains. One consumer at a time
   * consumes a partition's queue (RabbitMQ: x-single-active-consumer). Default 0.
   */
  partition?: number | undefined;
  /** How many messages the broker may hand over ahead of the one being handled. Default 64. */
  prefetch?: number;
  /** Delay before a batch whose handler failed is delivered again. Default 1000 ms. */
  redeliveryDelayMs?: number;
  /**
   * Batches of one domain that are already waiting when the handler is free may be handed over as one
   * (merged in queue order, each aggregate's pages in sequence order; acknowledged or put back together), so
   * that a subscriber that fell behind catches up in few, large calls. An adapter may ignore it. Default false.
   */
  merge?: boolean;
}

export interface Delivery {
  domain: string;
  batch: EventBatch;
  /** True when the broker delivered this message before (a handler failed or a consumer died). */
  redelivered: boolean;
}

export interface Subscription {
  readonly subscriber: string;
  /** Stops consuming; a handler that is running finishes first; its batch is acknowledged or requeued. */
  close(): Promise<void>;
}
