import { aggregateKey } from '../protocol/cover.js';
import type { EventBatch, EventBook } from '../protocol/gen/evented/evented.js';
import type { PublishedBatch } from './port.js';
import type { StoredEvent } from '../store/port.js';
import { eventBookSizeInBatch, eventPageSizeInBook } from '../protocol/event-batch-encoder.js';
import { packBySize } from '../protocol/cut-by-size.js';
import { toPage } from '../store/page.js';
import { partitionOf } from './partition.js';

/** An EventBatch's own fields (two positions) at most. */
const BATCH_FIELDS_BYTES = 32;

/**
 * What an event adds to a batch at most: its page, and a book of its own (an aggregate's later events share
 * one, so this overestimates a little), with room for the book's length prefix to grow.
 */
const sizeInBatch = (event: StoredEvent): number =>
  eventPageSizeInBook(toPage(event)) +
  eventBookSizeInBatch({
    cover: { domain: event.domain, root: { value: event.root } },
    snapshot: undefined,
    pages: [],
  }) +
  4;

/**
 * Turns a stretch of the global log into bus messages: one batch per domain and partition (partition.ts), one
 * book per aggregate (its events in sequence order). Position order across aggregates does not matter to a
 * consumer; sequence order within an aggregate does, and is kept (an aggregate is in one partition).
 *
 * Every batch of a stretch carries the stretch's positions (its first and last event, whatever their domain and
 * partition): "every event of this domain and partition from firstPosition to lastPosition is in this batch"
 * (what consumers checkpoint by, and how they tell a missing message from a stretch with nothing for them).
 *
 * With `maxBytes`, the stretch is first cut, in log order, into parts whose messages stay below it: a broker
 * refuses a message over its limit (RabbitMQ: 128 MiB), and a relay round refused whole would be published again
 * and again. The parts follow each other in the log, so the statement above holds for each part. A single event
 * larger than `maxBytes` travels alone.
 */
export const toBatches = (
  events: readonly StoredEvent[],
  maxBytes = Number.POSITIVE_INFINITY,
  partitions = 1,
): PublishedBatch[] =>
  Number.isFinite(maxBytes)
    ? packBySize(events, sizeInBatch, maxBytes - BATCH_FIELDS_BYTES).flatMap((part) =>
        batchesOf(part, partitions),
      )
    : batchesOf(events, partitions);

const batchesOf = (events: readonly StoredEvent[], partitions: number): PublishedBatch[] => {
  const first = events[0]?.position ?? 0;
  const last = events[events.length - 1]?.position ?? 0;
  const byTarget = new Map<string, { domain: string; partition: number; books: Map<string, EventBook> }>();
  for (const event of events) {
    const partition = partitionOf(event.domain, event.root, partitions);
    const target = `${partition}/${event.domain}`;
    let group = byTarget.get(target);
    if (group === undefined) {
      group = { domain: event.domain, partition, books: new Map() };
      byTarget.set(target, group);
    }
    const key = aggregateKey(event.domain, event.root);
    let book = group.books.get(key);
    if (book === undefined) {
      book = { cover: { domain: event.domain, root: { value: event.root } }, snapshot: undefined, pages: [] };
      group.books.set(key, book);
    }
    book.pages.push(toPage(event));
  }
  return [...byTarget.values()].map(({ domain, partition, books }) => ({
    domain,
    partition,
    batch: { books: [...books.values()], firstPosition: first, lastPosition: last },
  }));
};

/**
 * Several batches of one domain as one, in the order given (queue order, which is log order): an aggregate's
 * pages that follow on from its previous book are appended to it, so each aggregate comes as few books as
 * possible with its pages in sequence order. The positions span them all.
 */
export const mergeBatches = (batches: readonly EventBatch[]): EventBatch => {
  if (batches.length === 1) return batches[0]!;
  const books: EventBook[] = [];
  const latest = new Map<string, EventBook>();
  let firstPosition = Number.POSITIVE_INFINITY;
  let lastPosition = 0;
  for (const batch of batches) {
    firstPosition = Math.min(firstPosition, batch.firstPosition);
    lastPosition = Math.max(lastPosition, batch.lastPosition);
    for (const book of batch.books) {
      const key = aggregateKey(book.cover?.domain ?? '', book.cover?.root?.value ?? new Uint8Array());
      const previous = latest.get(key);
      const before = previous?.pages[previous.pages.length - 1]?.num;
      const first = book.pages[0]?.num;
      if (previous && before !== undefined && first !== undefined && first > before && !book.snapshot) {
        previous.pages.push(...book.pages);
      } else {
        const copy = { ...book, pages: [...book.pages] };
        books.push(copy);
        latest.set(key, copy);
      }
    }
  }
  return { books, firstPosition: Number.isFinite(firstPosition) ? firstPosition : 0, lastPosition };
};
