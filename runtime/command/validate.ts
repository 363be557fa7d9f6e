import { ValidationError } from '../errors/index.js';
import { validateCover, type ValidCover } from '../protocol/validate.js';

export { validateCover, type ValidCover };
import type { CommandBook, EventBook, EventPage } from '../protocol/gen/evented/evented.js';
import type { Any } from '../protocol/gen/google/protobuf/any.js';
import { eventBookSizeInBatch } from '../protocol/event-batch-encoder.js';

/**
 * Request validation at the edge of the command handler. Every message names the field that is wrong, so a
 * caller in any language can fix it without reading our source. Nothing has been written when these throw.
 */

export interface PayloadLimits {
  /** The largest command, event or snapshot payload accepted (typeUrl and value together), in bytes. */
  maxPayloadBytes: number;
  /** The largest book accepted, encoded, in bytes. */
  maxBookBytes: number;
  /** The most pages one book may have. */
  maxPagesPerBook: number;
}

/**
 * A payload is all of its Any: the typeUrl as much as the value (a 60 MiB typeUrl is as heavy as a 60 MiB value,
 * and is stored, cached and delivered the same way).
 */
export const checkPayload = (payload: Any | undefined, field: string, limits: PayloadLimits): void => {
  if (payload === undefined) return;
  // A string's UTF-8 encoding is at most three bytes per UTF-16 unit: most payloads pass without counting.
  if (payload.typeUrl.length * 3 + payload.value.length <= limits.maxPayloadBytes) return;
  const typeUrlBytes = Buffer.byteLength(payload.typeUrl, 'utf8');
  const size = typeUrlBytes + payload.value.length;
  if (size > limits.maxPayloadBytes) {
    throw new ValidationError(
      `${field} is ${size} bytes (typeUrl ${typeUrlBytes} + value ${payload.value.length}), over the limit of ${limits.maxPayloadBytes} bytes (commandHandler.maxPayloadBytes)`,
      { hint: 'raise commandHandler.maxPayloadBytes, or store large data elsewhere and reference it' },
    );
  }
};

const checkPageCount = (count: number, field: string, limits: PayloadLimits): void => {
  if (count > limits.maxPagesPerBook) {
    throw new ValidationError(
      `${field} has ${count} pages, over the limit of ${limits.maxPagesPerBook} (commandHandler.maxPagesPerBook)`,
      { hint: 'split it into several books' },
    );
  }
};

/** A whole book, encoded: its pages may each be under maxPayloadBytes and still add up to too much. */
export const checkBookBytes = (size: number, what: string, limits: PayloadLimits): void => {
  if (size > limits.maxBookBytes) {
    throw new ValidationError(
      `${what} is ${size} bytes encoded, over the limit of ${limits.maxBookBytes} bytes (commandHandler.maxBookBytes)`,
      { hint: 'split it into several books, or raise commandHandler.maxBookBytes' },
    );
  }
};

/** Checks a command book's cover and pages; its encoded size is checked by the caller (checkBookBytes). */
export const validateCommandBook = (book: CommandBook, limits: PayloadLimits): ValidCover => {
  const cover = validateCover(book.cover);
  if (book.pages.length === 0)
    throw new ValidationError('pages is empty: a command book needs at least one command');
  checkPageCount(book.pages.length, 'pages', limits);
  book.pages.forEach((page, index) => {
    if (page.command === undefined) throw new ValidationError(`pages[${index}].command is missing`);
    checkPayload(page.command, `pages[${index}].command`, limits);
  });
  return cover;
};

/** Pages to append (a Record, or what business logic returned): count, sequence, payloads. */
export const validateEventPages = (pages: EventPage[], limits: PayloadLimits, field = 'pages'): void => {
  checkPageCount(pages.length, field, limits);
  pages.forEach((page, index) => {
    if (page.num === undefined && page.force !== true) {
      throw new ValidationError(
        `${field}[${index}].sequence is not set: set num (an explicit sequence) or force`,
      );
    }
    checkPayload(page.Event, `${field}[${index}].Event`, limits);
  });
};

export const validateEventBook = (book: EventBook, limits: PayloadLimits): ValidCover => {
  const cover = validateCover(book.cover);
  if (book.pages.length === 0)
    throw new ValidationError('pages is empty: an event book needs at least one event');
  validateEventPages(book.pages, limits);
  checkPayload(book.snapshot?.state, 'snapshot.state', limits);
  checkBookBytes(eventBookSizeInBatch(book), 'the book', limits);
  return cover;
};
