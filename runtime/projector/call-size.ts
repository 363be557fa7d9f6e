import type { EventBook } from '../protocol/gen/evented/evented.js';
import { cutBooksBySize } from '../protocol/cut-by-size.js';

/**
 * A user's gRPC server refuses a message larger than its receive limit, 4 MiB by default in every gRPC
 * implementation (and in the templates). Deliveries are cut below it, with room for the batch's own fields.
 */
export const MAX_CALL_BYTES = 4 * 1024 * 1024 - 64 * 1024;

/**
 * The books in calls of at most `maxBytes` encoded, in order (see protocol/cut-by-size.ts): a book too large for
 * one call is cut into books of consecutive pages; a single page larger than the limit travels alone, and the
 * projector's answer says what it thinks of it.
 */
export const cutBySize = (books: readonly EventBook[], maxBytes = MAX_CALL_BYTES): EventBook[][] =>
  cutBooksBySize(books, maxBytes);
