import { aggregateKey } from '../protocol/cover.js';
import type { EventBatch, EventBook, EventPage } from '../protocol/gen/evented/evented.js';
import type { PublishedBatch } from './port.js';
import type { StoredEvent } from '../store/port.js';

/**
 * Turns a stretch of the global log into bus messages: one batch per domain, one book per aggregate (its
 * events in sequence order). Position order across aggregates does not matter to a consumer; sequence order
 * within an aggregate does, and is kept.
 */
export const toPage = (event: StoredEvent): EventPage => ({
  num: event.sequence,
  createdAt: event.createdAt,
  Event: event.event,
  synchronous: event.synchronous,
});

export const toBatches = (events: readonly StoredEvent[]): PublishedBatch[] => {
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
