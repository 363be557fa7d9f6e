import { aggregateKey } from '../protocol/cover.js';
import type { EventBook, EventPage } from '../protocol/gen/evented/evented.js';
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
