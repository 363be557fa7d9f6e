import { ValidationError } from '../errors/index.js';
import { validateCover, type ValidCover } from '../protocol/validate.js';

export { validateCover, type ValidCover };
import type { CommandBook, EventBook, EventPage } from '../protocol/gen/evented/evented.js';
import type { Any } from '../protocol/gen/google/protobuf/any.js';

/**
 * Request validation at the edge of the command handler. Every message names the field that is wrong, so a
 * caller in any language can fix it without reading our source. Nothing has been written when these throw.
 */

export interface PayloadLimits {
  /** The largest command, event or snapshot payload accepted, in bytes. */
  maxPayloadBytes: number;
}

export const checkPayload = (payload: Any | undefined, field: string, limits: PayloadLimits): void => {
  if (payload !== undefined && payload.value.length > limits.maxPayloadBytes) {
    throw new ValidationError(
      `${field} is ${payload.value.length} bytes, over the limit of ${limits.maxPayloadBytes} bytes`,
      { hint: 'raise commandHandler.maxPayloadBytes, or store large data elsewhere and reference it' },
    );
  }
};

export const validateCommandBook = (book: CommandBook, limits: PayloadLimits): ValidCover => {
  const cover = validateCover(book.cover);
  if (book.pages.length === 0)
    throw new ValidationError('pages is empty: a command book needs at least one command');
  book.pages.forEach((page, index) => {
    if (page.command === undefined) throw new ValidationError(`pages[${index}].command is missing`);
    checkPayload(page.command, `pages[${index}].command`, limits);
  });
  return cover;
};

export const validateEventPages = (pages: EventPage[], limits: PayloadLimits, field = 'pages'): void => {
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
  return cover;
};
