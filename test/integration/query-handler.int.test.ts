import { status } from '@grpc/grpc-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatAggregate, formatCover } from '../../runtime/protocol/cover.js';
import type { EventBook, Query } from '../../runtime/protocol/gen/evented/evented.js';
import { newRoot, sequencesOf } from '../helpers/account.js';
import { coverOf, eventBook, forced, payload, range } from '../helpers/books.js';
import { failure } from '../helpers/clients.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

/**
 * EventQuery: an aggregate's events within bounds (lower inclusive, upper exclusive, 0 = unset), split into
 * books of about queryHandler.bookBytes; many queries on one Synchronize stream; and every aggregate's root.
 */

const BOOK_BYTES = 1000;
let runtime: TestRuntime;

beforeAll(async () => {
  runtime = await startTestRuntime({ queryHandler: { bookBytes: BOOK_BYTES } });
});

/** An aggregate with `count` events whose payloads say their sequence ("event 0", "event 1", …). */
const givenAnAggregate = async (count: number, domain = 'account', padTo = 0): Promise<Uint8Array> => {
  const root = newRoot();
  const pages = range(0, count).map((n) => forced(payload('test/Numbered', `event ${n}`.padEnd(padTo, '.'))));
  await runtime.commands.record(eventBook(coverOf(domain, root), pages));
  return root;
};

const query = (root: Uint8Array, bounds: Partial<Query> = {}, domain = 'account'): Partial<Query> => ({
  domain,
  root: { value: root },
  ...bounds,
});

/** Each book as "domain:uuid [sequences]", to compare a stream of books at a glance. */
const summary = (books: EventBook[]): string[] =>
  books.map((book) => `${formatCover(book.cover)} [${sequencesOf([book]).join(',')}]`);

describe('GetEvents', () => {
  let ten: Uint8Array;
  beforeAll(async () => {
    ten = await givenAnAggregate(10);
  });

  it.each([
    { bounds: {}, expected: range(0, 10) },
    { bounds: { lowerBound: 3 }, expected: range(3, 7) },
    { bounds: { lowerBound: 3, upperBound: 7 }, expected: [3, 4, 5, 6] },
    { bounds: { upperBound: 4 }, expected: [0, 1, 2, 3] },
    { bounds: { lowerBound: 0, upperBound: 1 }, expected: [0] },
    { bounds: { lowerBound: 9, upperBound: 100 }, expected: [9] },
    { bounds: { lowerBound: 10 }, expected: [] },
  ])('bounds $bounds select sequences $expected', async ({ bounds, expected }) => {
    const books = await runtime.queries.getEvents(query(ten, bounds));
    expect(sequencesOf(books)).toEqual(expected);
    const payloads = books.flatMap((book) =>
      book.pages.map((page) => Buffer.from(page.Event!.value).toString()),
    );
    expect(payloads).toEqual(expected.map((n) => `event ${n}`));
  });

  it.each([
    { lowerBound: 5, upperBound: 5 },
    { lowerBound: 7, upperBound: 3 },
  ])('upperBound <= lowerBound ($lowerBound, $upperBound) is INVALID_ARGUMENT', async (bounds) => {
    await expect(runtime.queries.getEvents(query(ten, bounds))).rejects.toMatchObject(
      failure(
        status.INVALID_ARGUMENT,
        new RegExp(
          `^upperBound \\(${bounds.upperBound}\\) must be greater than lowerBound \\(${bounds.lowerBound}\\)`,
        ),
      ),
    );
  });

  it('an unknown aggregate gives one book with no pages, for that aggregate', async () => {
    const root = newRoot();
    const books = await runtime.queries.getEvents(query(root, {}, 'ledger'));
    expect(summary(books)).toEqual([`${formatAggregate('ledger', root)} []`]);
  });

  it(`a large aggregate comes as several books of about ${BOOK_BYTES} bytes, all pages in order`, async () => {
    const root = await givenAnAggregate(60, 'account', 100);

    const books = await runtime.queries.getEvents(query(root));

    expect(books.length).toBeGreaterThanOrEqual(6);
    for (const book of books) {
      expect(formatCover(book.cover)).toBe(formatAggregate('account', root));
      expect(book.pages.length).toBeGreaterThan(0);
      expect(book.pages.reduce((bytes, page) => bytes + page.Event!.value.length, 0)).toBeLessThanOrEqual(
        BOOK_BYTES,
      );
    }
    expect(sequencesOf(books)).toEqual(range(0, 60));
    const within = await runtime.queries.getEvents(query(root, { lowerBound: 10, upperBound: 50 }));
    expect(sequencesOf(within)).toEqual(range(10, 40));
  });

  it.each([
    {
      name: 'a 15-byte root',
      q: { domain: 'account', root: { value: newRoot().subarray(1) } },
      message: /^query\.root must be 16 bytes \(a UUID\), got 15/,
    },
    { name: 'no root', q: { domain: 'account' }, message: /^query\.root is missing/ },
    {
      name: 'an invalid domain',
      q: { domain: 'no such/domain', root: { value: newRoot() } },
      message: /^query\.domain "no such\/domain" is not a valid domain name/,
    },
  ])('$name is INVALID_ARGUMENT', async ({ q, message }) => {
    await expect(runtime.queries.getEvents(q)).rejects.toMatchObject(
      failure(status.INVALID_ARGUMENT, message),
    );
  });
});

describe('Synchronize', () => {
  it('answers several queries on one stream, in order', async () => {
    const a = await givenAnAggregate(3);
    const b = await givenAnAggregate(2, 'ledger');
    const unknown = newRoot();

    const books = await runtime.queries.synchronize([
      query(a),
      query(b, {}, 'ledger'),
      query(unknown),
      query(a, { lowerBound: 1 }),
    ]);

    expect(summary(books)).toEqual([
      `${formatAggregate('account', a)} [0,1,2]`,
      `${formatAggregate('ledger', b)} [0,1]`,
      `${formatAggregate('account', unknown)} []`,
      `${formatAggregate('account', a)} [1,2]`,
    ]);
  });

  it('ends with INVALID_ARGUMENT naming the index of an invalid query, after answering those before it', async () => {
    const a = await givenAnAggregate(2);
    const b = await givenAnAggregate(2);

    const { items, error } = await runtime.queries.synchronizeSettled([
      query(a),
      query(newRoot(), { upperBound: 2, lowerBound: 4 }),
      query(b),
    ]);

    expect(error).toMatchObject(
      failure(status.INVALID_ARGUMENT, /^query 1: upperBound \(2\) must be greater/),
    );
    expect(summary(items)).toEqual([`${formatAggregate('account', a)} [0,1]`]);
  });
});

describe('GetAggregateRoots', () => {
  it('lists every aggregate of every domain exactly once (more than one page of the store’s listing)', async () => {
    const fresh = await startTestRuntime();
    const written: string[] = [];
    const write = async (domain: string, count: number, eventsEach: number): Promise<void> => {
      for (const batch of range(0, Math.ceil(count / 100))) {
        const roots = range(0, Math.min(100, count - batch * 100)).map(() => newRoot());
        await Promise.all(
          roots.map((root) =>
            fresh.commands.record(
              eventBook(
                coverOf(domain, root),
                range(0, eventsEach).map(() => forced()),
              ),
            ),
          ),
        );
        written.push(...roots.map((root) => formatAggregate(domain, root)));
      }
    };
    await write('account', 500, 1);
    await write('ledger', 600, 1);
    await write('shipping', 5, 3);

    const listed = (await fresh.queries.getAggregateRoots()).map((a) =>
      formatAggregate(a.domain, a.root!.value),
    );

    expect(listed).toHaveLength(1105);
    expect([...listed].sort()).toEqual([...written].sort());
  });
});
