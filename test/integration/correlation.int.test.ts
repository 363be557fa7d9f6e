import { credentials, status } from '@grpc/grpc-js';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AdminClient,
  type EventBook,
  type LoggedEvent,
  type Origin,
} from '../../runtime/protocol/gen/evented/evented.js';
import { isUuidText, uuidFromBytes } from '../../runtime/protocol/uuid.js';
import { decodeEvent } from '../../templates/typescript/src/codec.js';
import type { AccountCommand } from '../../templates/typescript/src/domain.js';
import { command, deposit, deposited, events, newRoot, open, opened } from '../helpers/account.js';
import { forced, payload } from '../helpers/books.js';
import { startSampleBusinessLogic, startScriptedBusinessLogic } from '../helpers/business-logic.js';
import { adminCalls, failure } from '../helpers/clients.js';
import { startRecordingProjector, startTransfersSaga } from '../helpers/delivery.js';
import { eventually } from '../helpers/eventually.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

/**
 * Correlation and causation through real gRPC (the runtime in this process, SQLite, the in-process bus): the
 * caller's `evented-correlation-id` (or a new UUID) is stored with the command's events with a command id and
 * type, returned by the command and query handlers and found by Admin Tail; a saga reacting to an event issues
 * commands whose events keep the correlation and name the event and the saga — through the command handler in
 * its process, and over gRPC to another runtime's.
 */

const CORRELATION = 'evented-correlation-id';

let runtime: TestRuntime;
let logicAddress: string;
/** The origin of each event the projector was given, by "account#sequence". */
const projected = new Map<string, Origin | undefined>();

/** What business logic returned as origin (it must be replaced): a domain whose logic forges one. */
const forgedOrigin: Origin = {
  correlationId: 'forged',
  commandId: 'forged',
  commandType: 'forged',
  causationId: 'forged',
  saga: 'forged',
  traceparent: '',
};

beforeAll(async () => {
  const [logic, saga, forger, projector] = await Promise.all([
    startSampleBusinessLogic(),
    startTransfersSaga(),
    startScriptedBusinessLogic(() => ({
      cover: undefined,
      snapshot: undefined,
      pages: [{ ...forced(payload()), origin: forgedOrigin }],
    })),
    startRecordingProjector({
      handleBatch: true,
      refuse: (account, page) => {
        projected.set(`${account}#${page.num}`, page.origin);
        return undefined;
      },
    }),
  ]);
  logicAddress = logic.address;
  runtime = await startTestRuntime({
    domains: { account: { businessLogic: logic.address }, forger: { businessLogic: forger.address } },
    sagas: { transfers: { address: saga.address, domains: ['account'] } },
    projectors: { recording: { address: projector.address, domains: ['account'] } },
  });
});

const originsOf = (books: readonly EventBook[]): (Origin | undefined)[] =>
  books.flatMap((book) => book.pages.map((page) => page.origin));

const storedBooks = (on: TestRuntime, root: Uint8Array): Promise<EventBook[]> =>
  on.queries.getEvents({ domain: 'account', root: { value: root } });

/** The stored events of an account that are `type`, with their origins. */
const storedOfType = async (on: TestRuntime, root: Uint8Array, type: string) =>
  (await storedBooks(on, root))
    .flatMap((book) => book.pages)
    .filter((page) => decodeEvent(page.Event!)?.type === type);

const transfer = (to: Uint8Array, amount: number): AccountCommand => ({
  type: 'TransferMoney',
  toAccount: uuidFromBytes(to),
  amount,
});

describe('a command through gRPC', () => {
  it('stores the caller’s correlation id with its events, with a command id and the command’s type', async () => {
    const root = newRoot();
    const book = command(root, open('ada'), deposit(10));

    const response = await runtime.commands.handle(book, 10_000, undefined, { [CORRELATION]: 'order-42' });

    const [origin] = originsOf(response.books);
    expect(origin).toMatchObject({
      correlationId: 'order-42',
      commandType: book.pages[0]!.command!.typeUrl,
      causationId: '',
      saga: '',
    });
    expect(isUuidText(origin!.commandId)).toBe(true);
    // Every event of the command has it, and the query handler returns it.
    expect(originsOf(response.books)).toEqual([origin, origin]);
    expect(originsOf(await storedBooks(runtime, root))).toEqual([origin, origin]);
    // Admin Tail finds exactly those events by the correlation.
    const tailed = await adminCalls(runtime.runtime.admin.address).tail({ correlation: 'order-42' });
    expect(tailed.map((event) => uuidFromBytes(event.cover!.root!.value))).toEqual([
      uuidFromBytes(root),
      uuidFromBytes(root),
    ]);
  });

  it('gets a new UUID as correlation id without the metadata, and a new command id per call', async () => {
    const root = newRoot();
    const first = originsOf((await runtime.commands.handle(command(root, open('ada')))).books)[0]!;
    const second = originsOf((await runtime.commands.handle(command(root, deposit(1)))).books)[0]!;

    expect(isUuidText(first.correlationId)).toBe(true);
    expect(isUuidText(second.correlationId)).toBe(true);
    expect(second.correlationId).not.toBe(first.correlationId);
    expect(second.commandId).not.toBe(first.commandId);
  });

  it('is refused with INVALID_ARGUMENT for a correlation id that is too long or empty, and stores nothing', async () => {
    const root = newRoot();
    const send = (value: string) =>
      runtime.commands.handle(command(root, open('ada')), 10_000, undefined, { [CORRELATION]: value });

    await expect(send('x'.repeat(129))).rejects.toMatchObject(
      failure(
        status.INVALID_ARGUMENT,
        'metadata evented-correlation-id is 129 characters long: expected 1 to 128 printable ASCII characters (space to ~), such as a UUID',
      ),
    );
    await expect(send('')).rejects.toMatchObject(
      failure(status.INVALID_ARGUMENT, /is empty: expected 1 to 128/),
    );
    expect((await storedBooks(runtime, root)).flatMap((book) => book.pages)).toEqual([]);
  });

  it('replaces whatever origin business logic put on its pages', async () => {
    const response = await runtime.commands.handle(
      {
        cover: { domain: 'forger', root: { value: newRoot() } },
        pages: [{ sequence: 0, synchronous: false, command: payload('test/Forge') }],
      },
      10_000,
      undefined,
      { [CORRELATION]: 'honest' },
    );
    expect(originsOf(response.books)).toEqual([
      expect.objectContaining({
        correlationId: 'honest',
        commandType: 'test/Forge',
        saga: '',
        causationId: '',
      }),
    ]);
  });

  it('Record stores the correlation id with an empty command type, whatever the recorded pages said', async () => {
    const root = newRoot();
    const book = events(root, opened('ada'));
    book.pages[0]!.origin = forgedOrigin;

    const response = await runtime.commands.record(book, 10_000, undefined, { [CORRELATION]: 'recorded-1' });

    const [origin] = originsOf(response.books);
    expect(origin).toMatchObject({ correlationId: 'recorded-1', commandType: '', causationId: '', saga: '' });
    expect(isUuidText(origin!.commandId)).toBe(true);
    expect(originsOf(await storedBooks(runtime, root))).toEqual([origin]);
  });
});

describe('delivery', () => {
  it('gives projectors each event with its origin (through the bus, in batches)', async () => {
    const root = newRoot();
    const response = await runtime.commands.handle(
      command(root, open('ada'), deposit(3)),
      10_000,
      undefined,
      {
        [CORRELATION]: 'projected',
      },
    );
    const [origin] = originsOf(response.books);
    await eventually(() =>
      expect([0, 1].map((sequence) => projected.get(`${uuidFromBytes(root)}#${sequence}`))).toEqual([
        origin,
        origin,
      ]),
    );
    expect(origin!.correlationId).toBe('projected');
  });
});

describe('a saga’s commands', () => {
  it('keep the correlation of the event they react to, and name that event and the saga', async () => {
    const [ada, bob] = [newRoot(), newRoot()];
    await runtime.commands.handle(command(ada, open('ada'), deposit(100)));
    await runtime.commands.handle(command(bob, open('bob')));

    const response = await runtime.commands.handle(command(ada, transfer(bob, 30)), 10_000, undefined, {
      [CORRELATION]: 'transfer-7',
    });

    const out = response.books[0]!.pages[0]!;
    const [received] = await eventually(async () => {
      const found = await storedOfType(runtime, bob, 'TransferReceived');
      expect(found).toHaveLength(1);
      return found;
    });
    expect(received!.origin).toMatchObject({
      correlationId: 'transfer-7',
      causationId: `account/${uuidFromBytes(ada)}/${out.num}`,
      saga: 'transfers',
      commandType: expect.stringMatching(/ReceiveTransfer$/),
    });
    expect(received!.origin!.commandId).not.toBe(out.origin!.commandId);
    // Tail by the correlation: the command's event and the saga's, nothing else.
    const tailed = await adminCalls(runtime.runtime.admin.address).tail({ correlation: 'transfer-7' });
    expect(tailed.map((event) => `${uuidFromBytes(event.cover!.root!.value)}#${event.page!.num}`)).toEqual([
      `${uuidFromBytes(ada)}#${out.num}`,
      `${uuidFromBytes(bob)}#${received!.num}`,
    ]);
  });

  it('of a recorded event, sent over gRPC to another runtime’s command handler, carry the same origin (metadata)', async () => {
    const saga = await startTransfersSaga();
    const other = await startTestRuntime({ domains: { account: { businessLogic: logicAddress } } });
    const { commands } = await startTestRuntime({
      sagas: { transfers: { address: saga.address, domains: ['account'] } },
      otherCommandHandlers: [{ domain: 'account', address: other.runtime.commandHandler.address }],
    });
    const [ada, bob] = [newRoot(), newRoot()];
    await other.commands.record(events(bob, opened('bob')));

    await commands.record(
      events(ada, opened('ada'), deposited(100, 100), {
        type: 'MoneyTransferredOut',
        toAccount: uuidFromBytes(bob),
        amount: 1,
        balance: 99,
      }),
      10_000,
      undefined,
      { [CORRELATION]: 'across' },
    );

    const [received] = await eventually(async () => {
      const found = await storedOfType(other, bob, 'TransferReceived');
      expect(found).toHaveLength(1);
      return found;
    });
    expect(received!.origin).toMatchObject({
      correlationId: 'across',
      causationId: `account/${uuidFromBytes(ada)}/2`,
      saga: 'transfers',
      commandType: expect.stringMatching(/ReceiveTransfer$/),
    });
    expect(isUuidText(received!.origin!.commandId)).toBe(true);
  });
});

describe('Admin Tail by correlation', () => {
  it('when following, sends the new events of that correlation only', async () => {
    const client = new AdminClient(runtime.runtime.admin.address, credentials.createInsecure());
    const stream = client.tail({
      after: 0,
      domain: '',
      follow: true,
      last: 0,
      correlation: 'followed',
      before: 0,
      type: '',
    });
    const received: LoggedEvent[] = [];
    stream.on('data', (event: LoggedEvent) => received.push(event));
    stream.on('error', () => undefined);
    try {
      const [ada, bob] = [newRoot(), newRoot()];
      // Stored before the tail looked, and after: both are sent; the other correlation's never.
      await runtime.commands.handle(command(ada, open('ada')), 10_000, undefined, {
        [CORRELATION]: 'followed',
      });
      await runtime.commands.handle(command(bob, open('bob')), 10_000, undefined, { [CORRELATION]: 'other' });
      await runtime.commands.handle(command(ada, deposit(1)), 10_000, undefined, {
        [CORRELATION]: 'followed',
      });
      await runtime.commands.handle(command(bob, deposit(1)));

      await eventually(() =>
        expect(
          received.map((event) => `${uuidFromBytes(event.cover!.root!.value)}#${event.page!.num}`),
        ).toEqual([`${uuidFromBytes(ada)}#0`, `${uuidFromBytes(ada)}#1`]),
      );
      expect(received.every((event) => event.page!.origin!.correlationId === 'followed')).toBe(true);
    } finally {
      stream.cancel();
      client.close();
    }
  });
});
