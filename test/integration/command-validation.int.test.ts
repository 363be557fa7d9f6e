import { status } from '@grpc/grpc-js';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CommandBook, EventBook } from '../../runtime/protocol/gen/evented/evented.js';
import { formatAggregate } from '../../runtime/protocol/cover.js';
import { newRoot } from '../helpers/account.js';
import {
  acceptWith,
  commandBook,
  coverOf,
  eventBook,
  forced,
  numbered,
  payload,
  storedEvents,
} from '../helpers/books.js';
import { startScriptedBusinessLogic } from '../helpers/business-logic.js';
import { failure } from '../helpers/clients.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

/**
 * Bad input to BusinessCoordinator gets a precise status and a message naming the field, and nothing is
 * written: the aggregate keeps exactly its events, no other aggregate appears, business logic is never asked.
 */

const MAX_PAYLOAD = 64;
/** One byte over the limit, counting its typeUrl (8 bytes) and its value. */
const tooBig = payload('test/Big', new Uint8Array(MAX_PAYLOAD - 7));
const root = newRoot();
const account = coverOf('account', root);
const aggregate = formatAggregate('account', root);

let runtime: TestRuntime;
let logic: Awaited<ReturnType<typeof startScriptedBusinessLogic>>;
let before: { events: [number, string][]; roots: number };

beforeAll(async () => {
  logic = await startScriptedBusinessLogic(acceptWith(1));
  const ledger = await startScriptedBusinessLogic(acceptWith(1));
  runtime = await startTestRuntime({
    commandHandler: { maxPayloadBytes: MAX_PAYLOAD },
    domains: { account: { businessLogic: logic.address }, ledger: { businessLogic: ledger.address } },
  });
  // Given an account with two events.
  await runtime.commands.record(eventBook(account, [forced(), forced()]));
});

beforeEach(async () => {
  logic.calls.length = 0;
  before = {
    events: await storedEvents(runtime.queries, 'account', root),
    roots: (await runtime.queries.getAggregateRoots()).length,
  };
  expect(before.events.map(([sequence]) => sequence)).toEqual([0, 1]);
});

const expectNothingWritten = async (): Promise<void> => {
  expect(await storedEvents(runtime.queries, 'account', root)).toEqual(before.events);
  expect(await runtime.queries.getAggregateRoots()).toHaveLength(before.roots);
  expect(logic.calls).toHaveLength(0);
};

const withRoot = (value: Uint8Array | undefined) => ({ domain: 'account', root: value && { value } });

type Case<T> = { name: string; request: T; code: status; message: RegExp };

const badCommands: Case<CommandBook>[] = [
  {
    name: 'no cover',
    request: commandBook(undefined, payload()),
    code: status.INVALID_ARGUMENT,
    message: /^cover is missing/,
  },
  {
    name: 'no root',
    request: commandBook(withRoot(undefined), payload()),
    code: status.INVALID_ARGUMENT,
    message: /^cover\.root is missing/,
  },
  {
    name: 'a 15-byte root',
    request: commandBook(withRoot(root.subarray(0, 15)), payload()),
    code: status.INVALID_ARGUMENT,
    message: /^cover\.root must be 16 bytes \(a UUID\), got 15/,
  },
  {
    name: 'an empty domain',
    request: commandBook(coverOf('', root), payload()),
    code: status.INVALID_ARGUMENT,
    message: /^cover\.domain is empty/,
  },
  {
    name: 'an invalid domain name',
    request: commandBook(coverOf('bank account!', root), payload()),
    code: status.INVALID_ARGUMENT,
    message: /^cover\.domain "bank account!" is not a valid domain name/,
  },
  {
    name: 'no pages',
    request: commandBook(account),
    code: status.INVALID_ARGUMENT,
    message: /^pages is empty/,
  },
  {
    name: 'a page without a command',
    request: commandBook(account, payload(), undefined),
    code: status.INVALID_ARGUMENT,
    message: /^pages\[1\]\.command is missing/,
  },
  {
    name: 'a command over maxPayloadBytes',
    request: commandBook(account, tooBig),
    code: status.INVALID_ARGUMENT,
    message:
      /^pages\[0\]\.command is 65 bytes \(typeUrl 8 \+ value 57\), over the limit of 64 bytes \(commandHandler\.maxPayloadBytes\)/,
  },
  {
    name: 'a domain without business logic',
    request: commandBook(coverOf('shipping', root), payload()),
    code: status.NOT_FOUND,
    message:
      /no business logic is configured for domain "shipping"; this command handler serves "account", "ledger"/,
  },
];

const badRecords: Case<EventBook>[] = [
  {
    name: 'no cover',
    request: eventBook(undefined, [forced()]),
    code: status.INVALID_ARGUMENT,
    message: /^cover is missing/,
  },
  {
    name: 'a 15-byte root',
    request: eventBook(withRoot(root.subarray(1)), [forced()]),
    code: status.INVALID_ARGUMENT,
    message: /^cover\.root must be 16 bytes \(a UUID\), got 15/,
  },
  {
    name: 'an invalid domain name',
    request: eventBook(coverOf('-account', root), [forced()]),
    code: status.INVALID_ARGUMENT,
    message: /^cover\.domain "-account" is not a valid domain name/,
  },
  {
    name: 'no pages',
    request: eventBook(account, []),
    code: status.INVALID_ARGUMENT,
    message: /^pages is empty/,
  },
  {
    name: 'a page whose num is not next',
    request: eventBook(account, [numbered(5)]),
    code: status.FAILED_PRECONDITION,
    message: new RegExp(`^pages\\[0\\]\\.num is 5, but the next sequence of ${aggregate} is 2`),
  },
  {
    name: 'a good page followed by one whose num is not next (all or nothing)',
    request: eventBook(account, [forced(), numbered(7)]),
    code: status.FAILED_PRECONDITION,
    message: new RegExp(`^pages\\[1\\]\\.num is 7, but the next sequence of ${aggregate} is 3`),
  },
  {
    name: 'a page with neither num nor force',
    request: eventBook(account, [forced(), { ...forced(), force: undefined }]),
    code: status.INVALID_ARGUMENT,
    message: /^pages\[1\]\.sequence is not set: set num \(an explicit sequence\) or force/,
  },
  {
    name: 'an event over maxPayloadBytes',
    request: eventBook(account, [forced(tooBig)]),
    code: status.INVALID_ARGUMENT,
    message:
      /^pages\[0\]\.Event is 65 bytes \(typeUrl 8 \+ value 57\), over the limit of 64 bytes \(commandHandler\.maxPayloadBytes\)/,
  },
  {
    name: 'a snapshot beyond its events',
    request: { ...eventBook(account, [forced()]), snapshot: { sequence: 9, state: payload() } },
    code: status.INVALID_ARGUMENT,
    message: new RegExp(`^snapshot\\.sequence is 9, but ${aggregate} has only 3 events after this append`),
  },
];

describe('Handle refuses a malformed command and writes nothing', () => {
  it.each(badCommands)('$name', async ({ request, code, message }) => {
    await expect(runtime.commands.handle(request)).rejects.toMatchObject(failure(code, message));
    await expectNothingWritten();
  });
});

describe('Record refuses a malformed book and writes nothing', () => {
  it.each(badRecords)('$name', async ({ request, code, message }) => {
    await expect(runtime.commands.record(request)).rejects.toMatchObject(failure(code, message));
    await expectNothingWritten();
  });
});

describe('after all those refusals', () => {
  it('the aggregate still takes a good command at the next sequence', async () => {
    const response = await runtime.commands.handle(commandBook(account, payload()));
    expect(response.books[0]!.pages.map((page) => page.num)).toEqual([2]);
    expect(logic.calls).toHaveLength(1);
  });
});
