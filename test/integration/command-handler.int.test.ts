import { status } from '@grpc/grpc-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatAggregate, formatCover } from '../../runtime/protocol/cover.js';
import type { ContextualCommand } from '../../runtime/protocol/gen/evented/evented.js';
import {
  command,
  deposit,
  deposited,
  events,
  eventsOf,
  newRoot,
  open,
  opened,
  sequencesOf,
  withdraw,
} from '../helpers/account.js';
import {
  acceptWith,
  commandBook,
  coverOf,
  eventBook,
  forced,
  numbered,
  payload,
  range,
  storedEvents,
} from '../helpers/books.js';
import {
  startForwardingBusinessLogic,
  startSampleBusinessLogic,
  startScriptedBusinessLogic,
} from '../helpers/business-logic.js';
import { failure } from '../helpers/clients.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

/**
 * BusinessCoordinator with the sample account business logic: Handle decides and stores, Record stores as
 * given, and the two interleave on one aggregate without gaps (a Handle sees what was recorded before it).
 */

let observed: { address: string; calls: ContextualCommand[] };
let runtime: TestRuntime;

beforeAll(async () => {
  const sample = await startSampleBusinessLogic();
  observed = await startForwardingBusinessLogic(sample.address);
  runtime = await startTestRuntime({ domains: { account: { businessLogic: observed.address } } });
});

/** How many times business logic was asked to decide a command for this account. */
const decisionsFor = (root: Uint8Array): number =>
  observed.calls.filter((call) => Buffer.from(call.command!.cover!.root!.value).equals(root)).length;

const history = async (on: TestRuntime, root: Uint8Array) =>
  eventsOf(await on.queries.getEvents({ domain: 'account', root: { value: root } }));

describe('Handle', () => {
  it('stores the events of an accepted command and answers with them, numbered', async () => {
    const root = newRoot();
    await runtime.commands.handle(command(root, open('ada')));

    const response = await runtime.commands.handle(command(root, deposit(100), withdraw(30)));

    expect(response.books).toHaveLength(1);
    expect(formatCover(response.books[0]!.cover)).toBe(formatAggregate('account', root));
    expect(eventsOf(response.books)).toEqual([
      { sequence: 1, type: 'MoneyDeposited', amount: 100, balance: 100 },
      { sequence: 2, type: 'MoneyWithdrawn', amount: 30, balance: 70 },
    ]);
    expect((await history(runtime, root)).map((e) => e.type)).toEqual([
      'AccountOpened',
      'MoneyDeposited',
      'MoneyWithdrawn',
    ]);
  });

  it('passes a refusal of the business logic through and stores nothing', async () => {
    const root = newRoot();
    await runtime.commands.handle(command(root, open('ada'), deposit(100)));

    await expect(runtime.commands.handle(command(root, withdraw(500)))).rejects.toMatchObject(
      failure(status.FAILED_PRECONDITION, 'insufficient funds: the balance is 100, the withdrawal is 500'),
    );
    expect(
      sequencesOf(await runtime.queries.getEvents({ domain: 'account', root: { value: root } })),
    ).toEqual([0, 1]);
  });
});

describe('Record', () => {
  it('appends pages with num and with force; forced pages get the next sequences, returned with num', async () => {
    const root = newRoot();
    const cover = coverOf('account', root);

    const first = await runtime.commands.record(
      eventBook(cover, [
        numbered(0, payload('test/A')),
        forced(payload('test/B')),
        forced(payload('test/C')),
      ]),
    );
    const second = await runtime.commands.record(
      eventBook(cover, [forced(payload('test/D')), numbered(4, payload('test/E'))]),
    );

    expect(formatCover(first.books[0]!.cover)).toBe(formatAggregate('account', root));
    expect(first.books[0]!.pages.map((page) => [page.num, page.force])).toEqual([
      [0, undefined],
      [1, undefined],
      [2, undefined],
    ]);
    expect(sequencesOf(second.books)).toEqual([3, 4]);
    expect(await storedEvents(runtime.queries, 'account', root)).toEqual(
      ['A', 'B', 'C', 'D', 'E'].map((name, sequence) => [sequence, `test/${name}`]),
    );
  });
});

describe('Record and Handle on one aggregate', () => {
  it('interleave without gaps, and a Handle sees the events recorded before it', async () => {
    const root = newRoot();
    await runtime.commands.handle(command(root, open()));
    await runtime.commands.record(events(root, deposited(50, 50)));
    // The withdrawal needs the recorded deposit: refused if the command handler decided on a stale state.
    await runtime.commands.handle(command(root, withdraw(50)));
    await runtime.commands.record(events(root, deposited(20, 20), deposited(5, 25)));
    await runtime.commands.handle(command(root, withdraw(25)));

    expect(await history(runtime, root)).toEqual([
      { sequence: 0, type: 'AccountOpened', owner: 'ada' },
      { sequence: 1, type: 'MoneyDeposited', amount: 50, balance: 50 },
      { sequence: 2, type: 'MoneyWithdrawn', amount: 50, balance: 0 },
      { sequence: 3, type: 'MoneyDeposited', amount: 20, balance: 20 },
      { sequence: 4, type: 'MoneyDeposited', amount: 5, balance: 25 },
      { sequence: 5, type: 'MoneyWithdrawn', amount: 25, balance: 0 },
    ]);
    // Each command was decided once: Record brought the handler's cached state up to date, no retry needed.
    expect(decisionsFor(root)).toBe(3);
  });

  it('a Handle on an account that only Record has written to decides on the recorded events', async () => {
    const root = newRoot();
    await runtime.commands.record(events(root, opened('grace'), deposited(70, 70)));

    const response = await runtime.commands.handle(command(root, withdraw(70)));

    expect(eventsOf(response.books)).toEqual([
      { sequence: 2, type: 'MoneyWithdrawn', amount: 70, balance: 0 },
    ]);
  });

  it('a Record through another command handler on the same store is seen by the next Handle here', async () => {
    const other = await startTestRuntime({}, { projectDir: runtime.projectDir });
    const root = newRoot();
    await runtime.commands.handle(command(root, open()));
    await other.commands.record(events(root, deposited(40, 40)));

    // This handler's cached state (balance 0) is stale: it must not refuse on it.
    const response = await runtime.commands.handle(command(root, withdraw(40)));

    expect(eventsOf(response.books)).toEqual([
      { sequence: 2, type: 'MoneyWithdrawn', amount: 40, balance: 0 },
    ]);
    expect(sequencesOf(await other.queries.getEvents({ domain: 'account', root: { value: root } }))).toEqual(
      range(0, 3),
    );
  });

  it('an answer with no events, given on a cached state another handler has moved past, is decided again', async () => {
    // Business logic that keeps a flag set: it adds test/Set unless the last event already is one.
    const logic = await startScriptedBusinessLogic((context) =>
      context.events?.pages.at(-1)?.Event?.typeUrl === 'test/Set'
        ? eventBook(context.command?.cover, [])
        : acceptWith(1, payload('test/Set'))(context),
    );
    const here = await startTestRuntime({ domains: { flag: { businessLogic: logic.address } } });
    const other = await startTestRuntime({}, { projectDir: here.projectDir });
    const cover = coverOf('flag', newRoot());
    await here.commands.handle(commandBook(cover, payload('test/Ensure')));
    await other.commands.record(eventBook(cover, [forced(payload('test/Unset'))]));

    // This handler's cached state ends with test/Set: deciding "nothing to do" on it would leave the flag unset.
    const response = await here.commands.handle(commandBook(cover, payload('test/Ensure')));

    expect(response.books[0]!.pages.map((page) => [page.num, page.Event?.typeUrl])).toEqual([
      [2, 'test/Set'],
    ]);
    expect(await storedEvents(here.queries, 'flag', cover.root!.value)).toEqual([
      [0, 'test/Set'],
      [1, 'test/Unset'],
      [2, 'test/Set'],
    ]);
  });
});
