import type {
  CommandBook,
  ContextualCommand,
  Cover,
  EventBook,
  EventPage,
} from '../../runtime/protocol/gen/evented/evented.js';
import type { Any } from '../../runtime/protocol/gen/google/protobuf/any.js';
import type { QueryClient } from './clients.js';

/**
 * Builders for raw wire messages (books, pages, opaque payloads), for tests that do not care about the sample
 * domain: Record calls, scripted business logic answers, malformed requests.
 */

export const coverOf = (domain: string, root: Uint8Array): Cover => ({ domain, root: { value: root } });

/** An opaque payload: the runtime never decodes it, so any bytes will do. */
export const payload = (typeUrl = 'test/Opaque', value: Uint8Array | string = 'x'): Any => ({
  typeUrl,
  value: typeof value === 'string' ? new TextEncoder().encode(value) : value,
});

/** A page that asks for the next sequence. */
export const forced = (event: Any = payload()): EventPage => ({
  force: true,
  createdAt: undefined,
  Event: event,
  synchronous: false,
});

/** A page with an explicit sequence. */
export const numbered = (num: number, event: Any = payload()): EventPage => ({
  num,
  createdAt: undefined,
  Event: event,
  synchronous: false,
});

export const eventBook = (cover: Cover | undefined, pages: EventPage[]): EventBook => ({
  cover,
  snapshot: undefined,
  pages,
});

/** A command book with opaque commands (one page per payload). */
export const commandBook = (cover: Cover | undefined, ...commands: (Any | undefined)[]): CommandBook => ({
  cover,
  pages: commands.map((c, index) => ({ sequence: index, synchronous: false, command: c })),
});

/** The sequence the next event of the aggregate gets, as business logic sees it in a ContextualCommand. */
export const nextSequenceOf = (context: ContextualCommand): number => {
  const pages = context.events?.pages ?? [];
  const last = pages[pages.length - 1];
  return last?.num !== undefined ? last.num + 1 : (context.events?.snapshot?.sequence ?? 0);
};

/** What a scripted business logic answers to accept a command: `count` new events, numbered from next. */
export const acceptWith =
  (count = 1, event: Any = payload('test/Decided')) =>
  (context: ContextualCommand): EventBook => {
    const next = nextSequenceOf(context);
    return eventBook(
      context.command?.cover,
      Array.from({ length: count }, (_, index) => numbered(next + index, event)),
    );
  };

/** The stored events of an aggregate as [sequence, typeUrl] pairs, read through the query handler. */
export const storedEvents = async (
  queries: QueryClient,
  domain: string,
  root: Uint8Array,
): Promise<[number, string][]> => {
  const books = await queries.getEvents({ domain, root: { value: root } });
  return books.flatMap((book) =>
    book.pages.map((page): [number, string] => [page.num!, page.Event!.typeUrl]),
  );
};

/** n consecutive integers from `from`. */
export const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
