import type { EventBook } from './gen/evented/evented.js';
import { eventBookSizeInBatch, eventPageSizeInBook } from './event-batch-encoder.js';

/**
 * Cutting a sequence of messages into groups below a size, in order: what keeps each projector call below the
 * projector's receive limit (projector/call-size.ts) and each bus message below the broker's (bus/batches.ts).
 */

/**
 * `items` in consecutive groups whose sizes add up to at most `maxBytes`, in order. An item larger than
 * `maxBytes` travels alone: it cannot be cut, and whoever receives it decides its fate.
 */
export const packBySize = <T>(items: readonly T[], sizeOf: (item: T) => number, maxBytes: number): T[][] => {
  const groups: T[][] = [];
  let group: T[] = [];
  let size = 0;
  for (const item of items) {
    const itemSize = sizeOf(item);
    if (size + itemSize > maxBytes && group.length > 0) {
      groups.push(group);
      group = [];
      size = 0;
    }
    group.push(item);
    size += itemSize;
  }
  if (group.length > 0) groups.push(group);
  return groups;
};

/**
 * The books in groups of at most `maxBytes` encoded (in an EventBatch), in order. A book too large for one group
 * is cut into books of consecutive pages (same cover; a snapshot stays with the first).
 */
export const cutBooksBySize = (books: readonly EventBook[], maxBytes: number): EventBook[][] =>
  packBySize(
    books.flatMap((book) => (eventBookSizeInBatch(book) <= maxBytes ? [book] : cutBook(book, maxBytes))),
    eventBookSizeInBatch,
    maxBytes,
  );

const cutBook = (book: EventBook, maxBytes: number): EventBook[] => {
  const empty = eventBookSizeInBatch({ ...book, pages: [] });
  return packBySize(book.pages, eventPageSizeInBook, maxBytes - empty).map((pages, index) => ({
    ...book,
    snapshot: index === 0 ? book.snapshot : undefined,
    pages,
  }));
};
