import { SequenceError, ValidationError } from '../errors/index.js';
import { formatAggregate } from '../protocol/cover.js';
import type { EventBook } from '../protocol/gen/evented/evented.js';
import { validateCover } from '../protocol/validate.js';
import type { EventStore } from '../store/port.js';
import { toPage } from '../store/page.js';

/**
 * The coordinators' public Handle and HandleSync take an EventBook from anyone who can reach the port. The store
 * is the truth, so such a book is only a notice: "these events of this aggregate are stored". It is checked
 * against the store and replaced by what the store holds — the store's bytes, never the caller's — so that a
 * forged or stale book can neither reach a projector or saga nor move a subscriber's progress past the store.
 * A book naming events the store does not hold is refused, and nothing is delivered.
 */

export interface NoticeLimits {
  /** The most pages a book may name (commandHandler.maxPagesPerBook). */
  maxPagesPerBook: number;
}

/** Checks the notice's shape: a valid cover, 1..max pages, each numbered, consecutive. Returns its range. */
const namedRange = (book: EventBook, limits: NoticeLimits): { from: number; to: number } => {
  validateCover(book.cover);
  const { pages } = book;
  if (pages.length === 0) {
    throw new ValidationError('pages is empty: name at least one stored event (its sequence in num)');
  }
  if (pages.length > limits.maxPagesPerBook) {
    throw new ValidationError(
      `the book has ${pages.length} pages, over the limit of ${limits.maxPagesPerBook} (commandHandler.maxPagesPerBook)`,
    );
  }
  pages.forEach((page, index) => {
    if (page.num === undefined) {
      throw new ValidationError(
        `pages[${index}].num is not set: a coordinator takes events already stored, named by their sequence`,
      );
    }
    if (index > 0 && page.num !== pages[index - 1]!.num! + 1) {
      throw new ValidationError(
        `pages[${index}].num is ${page.num} after ${pages[index - 1]!.num}: a book's events are consecutive`,
      );
    }
  });
  const from = pages[0]!.num!;
  return { from, to: from + pages.length };
};

/**
 * The stored events a notice names, as a book the coordinators can deliver (its cover, and the pages as the
 * store holds them). Throws ValidationError (INVALID_ARGUMENT) for a malformed notice, SequenceError (FAILED_PRECONDITION)
 * naming the aggregate and the first sequence the store does not hold.
 */
export const storedBookOf = async (
  store: EventStore,
  book: EventBook,
  limits: NoticeLimits,
): Promise<EventBook> => {
  const { from, to } = namedRange(book, limits);
  const cover = validateCover(book.cover);
  const stored = await store.readAggregate(cover, { from, to });
  if (stored.length !== to - from) {
    const next = await store.nextSequence(cover);
    const holds = next === 0 ? 'none' : next === 1 ? 'only #0' : `#0..#${next - 1}`;
    throw new SequenceError(
      `${formatAggregate(cover.domain, cover.root)} has no event #${Math.max(next, from)} in the store ` +
        `(it holds ${holds}): a coordinator delivers only stored events`,
      { hint: 'send a book to a coordinator only after the command handler stored it' },
    );
  }
  return {
    cover: { domain: cover.domain, root: { value: cover.root } },
    snapshot: undefined,
    pages: stored.map(toPage),
  };
};
