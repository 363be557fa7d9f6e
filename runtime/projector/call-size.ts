import type { EventBook } from '../protocol/gen/evented/evented.js';
import { eventBookSizeInBatch, eventPageSizeInBook } from '../protocol/event-batch-encoder.js';

/**
 * A user's gRPC server refuses a message larger than its receive limit, 4 MiB by default in every gRPC
 * implementation (and in the templates). Deliveries are cut below it, with room for the batch's own fields.
 */
export const MAX_CALL_BYTES = 4 * 1024 * 1024 - 64 * 1024;

/**
 * The books in calls of at most `maxBytes` encoded, in order. A book too large for one call is cut into books
 * of consecutive pages (same cover; a snapshot stays with the first); a single page larger than the limit
 * travels alone, and the projector's answer says what it thinks of it.
 */
export const cutBySize = (books: readonly EventBook[], maxBytes = MAX_CALL_BYTES): EventBook[][] => {
  const calls: EventBook[][] = [];
  let call: EventBook[] = [];
  let size = 0;
  const add = (book: EventBook, bookSize: number): void => {
    if (size + bookSize > maxBytes && call.length > 0) {
      calls.push(call);
      call = [];
      size = 0;
    }
    call.push(book);
    size += bookSize;
  };
  for (const book of books) {
    const bookSize = eventBookSizeInBatch(book);
    if (bookSize <= maxBytes) add(book, bookSize);
    else for (const part of cutBook(book, maxBytes)) add(part, eventBookSizeInBatch(part));
  }
  if (call.length > 0) calls.push(call);
  return calls;
};

const cutBook = (book: EventBook, maxBytes: number): EventBook[] => {
  const empty = eventBookSizeInBatch({ ...book, pages: [] });
  const parts: EventBook[] = [];
  let pages: EventBook['pages'] = [];
  let size = empty;
  for (const page of book.pages) {
    const pageSize = eventPageSizeInBook(page);
    if (size + pageSize > maxBytes && pages.length > 0) {
      parts.push({ ...book, snapshot: parts.length === 0 ? book.snapshot : undefined, pages });
      pages = [];
      size = empty;
    }
    pages.push(page);
    size += pageSize;
  }
  parts.push({ ...book, snapshot: parts.length === 0 ? book.snapshot : undefined, pages });
  return parts;
};
