import { aggregateKey } from '../protocol/cover.js';
import type { EventBatch, EventBook } from '../protocol/gen/evented/evented.js';
import type { PublishedBatch } from './port.js';
import type { StoredEvent } from '../store/port.js';
import { eventBookSizeInBatch, eventPageSizeInBook } from '../protocol/event-batch-encoder.js';
import { packBySize } from '../protocol/cut-by-size.js';
import { toPage } from '../store/page.js';

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
 * Turns a stretch of the global log into bus messages: one batch per domain, one book per aggregate (its
 * events in sequence order). Position order across aggregates does not matter to a consumer; sequence order
 * within an aggregate does, and is kept.
 *
 * With `maxBytes`, the stretch is first cut, in log order, into parts whose messages stay below it: a broker
 * refuses a message over its limit (RabbitMQ: 128 MiB), and a relay round refused whole would be published again
 * and again. The parts follow each other in the log, so each batch's positions still mean "every event of this
 * domain up to lastPosition is in this batch or an earlier one" (what consumers checkpoint by). A single event
 * larger than `maxBytes` travels alone.
 */
export const toBatches = (
  events: readonly StoredEvent[],
  maxBytes = Number.POSITIVE_INFINITY,
): PublishedBatch[] =>
  Number.isFinite(maxBytes)
    ? packBySize(events, sizeInBatch, maxBytes - BATCH_FIELDS_BYTES).flatMap(batchesOf)
    : batchesOf(events);

const batchesOf = (events: readonly StoredEvent[]): PublishedBatch[] => {
  const byDomain = new Map<string, { books: Map<string, EventBook>; first: number; last: number }>();
  for (const event of events) {
    let domain = byDomain.get(event.domain);
    if (domain === undefined) {
      domain = { books: new Map(), first: event.position, last: event.position };
      byDomain.set(event.domain, domain);
    }
    domain.last = event.position;
    const key = aggregateKey(event.domain, event.root);
    let book = domain.books.get(key);
    if (book === undefined) {
      book = { cover: { domain: event.domain, root: { value: event.root } }, snapshot: undefined, pages: [] };
      domain.books.set(key, book);
    }
    book.pages.push(toPage(event));
  }
  return [...byDomain].map(([domain, { books, first, last }]) => ({
    domain,
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
