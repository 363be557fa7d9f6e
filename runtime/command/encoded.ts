import {
  Cover,
  EventPage,
  Snapshot,
  type SynchronousProcessingResponse,
} from '../protocol/gen/evented/evented.js';
import { encodeFields, type Field } from '../protocol/wire.js';
import type { CachedAggregate } from './aggregate-cache.js';

/**
 * ContextualCommands spliced from encoded parts: every command on an aggregate sends its snapshot and the events
 * after it to business logic again, so each is encoded once (when it is stored or loaded, and then kept in the
 * aggregate cache) and the parts are concatenated for each command, instead of encoding everything every time.
 * The bytes are exactly what the generated encoder produces for the same values (fields in the same order).
 */

/** Field numbers in proto/evented/evented.proto. */
const EVENT_BOOK_COVER = 1;
const EVENT_BOOK_SNAPSHOT = 2;
const EVENT_BOOK_PAGES = 3;
const CONTEXTUAL_COMMAND_EVENTS = 1;
const CONTEXTUAL_COMMAND_COMMAND = 2;
const RESPONSE_BOOKS = 1;

export const encodeCover = (cover: Cover): Uint8Array => Cover.encode(cover).finish();
export const encodePage = (page: EventPage): Uint8Array => EventPage.encode(page).finish();
export const encodeSnapshot = (snapshot: Snapshot): Uint8Array => Snapshot.encode(snapshot).finish();

/** evented.EventBook { cover, snapshot, pages }. */
const encodeEventBook = (
  cover: Uint8Array,
  snapshot: Uint8Array | undefined,
  pages: readonly { bytes: Uint8Array }[],
): Buffer => {
  const book: Field[] = [[EVENT_BOOK_COVER, cover]];
  if (snapshot !== undefined) book.push([EVENT_BOOK_SNAPSHOT, snapshot]);
  for (const page of pages) book.push([EVENT_BOOK_PAGES, page.bytes]);
  return encodeFields(book);
};

/** evented.ContextualCommand { events: EventBook { cover, snapshot, pages }, command: an encoded CommandBook }. */
export const encodeContextualCommand = (aggregate: CachedAggregate, commandBook: Uint8Array): Buffer =>
  encodeFields([
    [CONTEXTUAL_COMMAND_EVENTS, encodeEventBook(aggregate.cover, aggregate.snapshot?.bytes, aggregate.pages)],
    [CONTEXTUAL_COMMAND_COMMAND, commandBook],
  ]);

/** evented.SynchronousProcessingResponse { books: [EventBook { cover, snapshot, pages }] }, nothing else. */
export const encodeResponse = (
  cover: Uint8Array,
  snapshot: Uint8Array | undefined,
  pages: readonly { bytes: Uint8Array }[],
): Buffer => encodeFields([[RESPONSE_BOOKS, encodeEventBook(cover, snapshot, pages)]]);

/**
 * Responses the command handler made from parts it had encoded anyway (the cover, the new pages, the
 * snapshot), with their encoding, which the gRPC service sends instead of encoding them again. Such a response
 * is frozen, so that it cannot change after its encoding was made.
 */
const responseEncodings = new WeakMap<SynchronousProcessingResponse, Buffer>();

export const withEncoding = (
  response: SynchronousProcessingResponse,
  bytes: Buffer,
): SynchronousProcessingResponse => {
  for (const book of response.books) Object.freeze(Object.freeze(book).pages);
  [response.books, response.projections, response.commands].forEach((list) => Object.freeze(list));
  responseEncodings.set(Object.freeze(response), bytes);
  return response;
};

export const encodingOf = (response: SynchronousProcessingResponse): Buffer | undefined =>
  responseEncodings.get(response);
