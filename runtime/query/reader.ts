import { ValidationError } from '../errors/index.js';
import type { AggregateRoot, EventBook, EventPage, Query } from '../protocol/gen/evented/evented.js';
import type { EventStore, StoredEvent } from '../store/port.js';
import { validateCover } from '../protocol/validate.js';
import { toPage } from '../store/page.js';

/**
 * Reading the store for EventQuery: an aggregate's events within the query's bounds, cut into books of about
 * `bookBytes` each (a huge aggregate never becomes one huge message), and the list of every aggregate.
 */

const PAGE_OVERHEAD_BYTES = 48;

const pageBytes = (event: StoredEvent): number =>
  PAGE_OVERHEAD_BYTES +
  (event.event === undefined ? 0 : event.event.value.length + event.event.typeUrl.length);

export const queryRange = (query: Query): { from: number; to: number | undefined } => {
  const from = query.lowerBound;
  const to = query.upperBound === 0 ? undefined : query.upperBound;
  if (to !== undefined && to <= from) {
    throw new ValidationError(
      `upperBound (${to}) must be greater than lowerBound (${from}); bounds select lowerBound <= sequence < upperBound, 0 meaning unset`,
    );
  }
  return { from, to };
};

export async function* booksForQuery(
  store: EventStore,
  query: Query,
  bookBytes: number,
): AsyncIterable<EventBook> {
  const cover = validateCover({ domain: query.domain, root: query.root }, 'query');
  const events = await store.readAggregate(cover, queryRange(query));
  const bookCover = { domain: cover.domain, root: { value: cover.root } };
  let pages: EventPage[] = [];
  let size = 0;
  for (const event of events) {
    const bytes = pageBytes(event);
    if (pages.length > 0 && size + bytes > bookBytes) {
      yield { cover: bookCover, snapshot: undefined, pages };
      pages = [];
      size = 0;
    }
    pages.push(toPage(event));
    size += bytes;
  }
  if (pages.length > 0 || events.length === 0) yield { cover: bookCover, snapshot: undefined, pages };
}

export async function* aggregateRoots(store: EventStore): AsyncIterable<AggregateRoot> {
  for await (const aggregate of store.listAggregates()) {
    yield { domain: aggregate.domain, root: { value: aggregate.root } };
  }
}
