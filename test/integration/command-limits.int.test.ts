import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { EventPage } from '../../runtime/protocol/gen/evented/evented.js';
import { newRoot } from '../helpers/account.js';
import {
  acceptWith,
  commandBook,
  coverOf,
  eventBook,
  forced,
  nextSequenceOf,
  numbered,
  payload,
  range,
} from '../helpers/books.js';
import { startScriptedBusinessLogic } from '../helpers/business-logic.js';
import { failure, failureContaining } from '../helpers/clients.js';
import { startTestRuntime } from '../helpers/runtime.js';

/**
 * The limits a user can rely on, with the defaults (see commandHandler in runtime/config/schema.ts): a payload
 * of at most 1 MiB counting its typeUrl, a book of at most 16 MiB and 10,000 pages, the same for what business
 * logic returns. Beyond them: a precise status naming the field and the limit, and nothing stored.
 */

const MiB = 1024 * 1024;
/** What business logic answers next; `acceptWith(1)` unless a test says otherwise. */
let answer: Parameters<typeof startScriptedBusinessLogic>[0] = acceptWith(1);
const logic = await startScriptedBusinessLogic((context) => answer(context));
const { commands, queries } = await startTestRuntime({
  domains: { account: { businessLogic: logic.address } },
});

const storedCount = async (root: Uint8Array): Promise<number> =>
  (await queries.getEvents({ domain: 'account', root: { value: root } })).reduce(
    (n, book) => n + book.pages.length,
    0,
  );

describe('payloads are bounded whole: typeUrl and value', () => {
  const hugeTypeUrl = `type.googleapis.com/${'x'.repeat(60 * MiB)}`;

  it('refuses a recorded event with a 60 MiB typeUrl, naming the field and the limit; nothing is stored', async () => {
    const root = newRoot();
    await expect(
      commands.record(eventBook(coverOf('account', root), [forced(payload(hugeTypeUrl, 'v'))]), 60_000),
    ).rejects.toMatchObject(
      failureContaining(
        status.INVALID_ARGUMENT,
        `pages[0].Event is ${hugeTypeUrl.length + 1} bytes (typeUrl ${hugeTypeUrl.length} + value 1), over the limit of ${MiB} bytes (commandHandler.maxPayloadBytes)`,
      ),
    );
    expect(await storedCount(root)).toBe(0);
  });

  it('refuses a command with a 60 MiB typeUrl before business logic sees it', async () => {
    const calls = logic.calls.length;
    await expect(
      commands.handle(commandBook(coverOf('account', newRoot()), payload(hugeTypeUrl, 'v')), 60_000),
    ).rejects.toMatchObject(
      failureContaining(status.INVALID_ARGUMENT, 'pages[0].command is 62914581 bytes (typeUrl 62914580'),
    );
    expect(logic.calls.length).toBe(calls);
  });

  it('refuses business logic’s event with a 2 MiB typeUrl (INTERNAL: its bug); nothing is stored', async () => {
    const root = newRoot();
    answer = acceptWith(1, payload('x'.repeat(2 * MiB), ''));
    try {
      await expect(commands.handle(commandBook(coverOf('account', root), payload()))).rejects.toMatchObject(
        failureContaining(
          status.INTERNAL,
          `returned pages[0].Event is ${2 * MiB} bytes (typeUrl ${2 * MiB} + value 0), over the limit`,
        ),
      );
    } finally {
      answer = acceptWith(1);
    }
    expect(await storedCount(root)).toBe(0);
  });
});

describe('books are bounded whole: bytes and pages', () => {
  /** 20 events of 900 KiB: each under the 1 MiB payload limit, 18 MiB together. */
  const heavyPages = (): EventPage[] =>
    range(0, 20).map(() => forced(payload('test/Heavy', new Uint8Array(900 * 1024))));

  it('refuses a recorded book whose events are each under the payload limit but over 16 MiB together', async () => {
    const root = newRoot();
    await expect(commands.record(eventBook(coverOf('account', root), heavyPages()))).rejects.toMatchObject(
      failure(
        status.INVALID_ARGUMENT,
        /^the book is \d+ bytes encoded, over the limit of 16777216 bytes \(commandHandler\.maxBookBytes\)/,
      ),
    );
    expect(await storedCount(root)).toBe(0);
  });

  it('refuses such a book from business logic', async () => {
    const root = newRoot();
    answer = (context) =>
      eventBook(
        context.command?.cover,
        heavyPages().map((p, i) => ({ ...p, force: undefined, num: nextSequenceOf(context) + i })),
      );
    try {
      await expect(commands.handle(commandBook(coverOf('account', root), payload()))).rejects.toMatchObject(
        failureContaining(status.INTERNAL, `the returned book is `),
      );
    } finally {
      answer = acceptWith(1);
    }
    expect(await storedCount(root)).toBe(0);
  });

  it('stops reading an answer over 64 MiB, as business logic’s failure (INTERNAL), not its refusal', async () => {
    const root = newRoot();
    answer = acceptWith(1, payload('test/Huge', new Uint8Array(65 * MiB)));
    try {
      await expect(
        commands.handle(commandBook(coverOf('account', root), payload()), 60_000),
      ).rejects.toMatchObject(failureContaining(status.INTERNAL, `answered more than ${64 * MiB} bytes`));
    } finally {
      answer = acceptWith(1);
    }
    expect(await storedCount(root)).toBe(0);
  });

  it('refuses a book of 10,001 pages, recorded or returned; 10,000 are taken', async () => {
    const root = newRoot();
    const pages = (n: number) => range(0, n).map((num) => numbered(num, payload('t', '')));
    await expect(commands.record(eventBook(coverOf('account', root), pages(10_001)))).rejects.toMatchObject(
      failureContaining(
        status.INVALID_ARGUMENT,
        'pages has 10001 pages, over the limit of 10000 (commandHandler.maxPagesPerBook)',
      ),
    );
    expect(await storedCount(root)).toBe(0);

    answer = () => eventBook(coverOf('account', root), pages(10_001));
    try {
      await expect(commands.handle(commandBook(coverOf('account', root), payload()))).rejects.toMatchObject(
        failureContaining(status.INTERNAL, 'returned pages has 10001 pages, over the limit of 10000'),
      );
      expect(await storedCount(root)).toBe(0);
      answer = () => eventBook(coverOf('account', root), pages(10_000));
      await commands.handle(commandBook(coverOf('account', root), payload()));
    } finally {
      answer = acceptWith(1);
    }
    expect(await storedCount(root)).toBe(10_000);
  });

  it('refuses a command book of 10,001 commands', async () => {
    const commandsBook = commandBook(coverOf('account', newRoot()), ...range(0, 10_001).map(() => payload()));
    await expect(commands.handle(commandsBook)).rejects.toMatchObject(
      failureContaining(status.INVALID_ARGUMENT, 'pages has 10001 pages, over the limit of 10000'),
    );
  });
});
