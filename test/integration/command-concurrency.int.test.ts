import { status } from '@grpc/grpc-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { command, deposit, eventsOf, newRoot, open } from '../helpers/account.js';
import { range, storedEvents } from '../helpers/books.js';
import { startForwardingBusinessLogic, startSampleBusinessLogic } from '../helpers/business-logic.js';
import { commandClient, failure, type QueryClient } from '../helpers/clients.js';
import { startInterloper } from '../helpers/interloper.js';
import { startTestRuntime } from '../helpers/runtime.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Many writers on one aggregate: every command's event lands exactly once, sequences have no gaps and the
 * balance is the sum of the deposits — with one command handler, and with two command handlers on one store
 * (where the loser of a race re-loads and decides again). A command that keeps losing gets ABORTED.
 */

const CLIENTS = 8;
const DEPOSITS_PER_CLIENT = 25;

let sample: { address: string; calls: unknown[] };

beforeAll(async () => {
  const logic = await startSampleBusinessLogic();
  sample = await startForwardingBusinessLogic(logic.address);
});

/** Client c's i-th deposit: every amount is distinct, so each can be traced to exactly one stored event. */
const amountOf = (client: number, index: number): number => client * 1000 + index + 1;

/** CLIENTS clients, each on its own connection to one of `addresses`, each sending its deposits one by one. */
const depositConcurrently = async (addresses: string[], root: Uint8Array): Promise<number[]> => {
  const sent: number[] = [];
  await Promise.all(
    range(0, CLIENTS).map(async (c) => {
      const client = commandClient(addresses[c % addresses.length]!);
      for (const i of range(0, DEPOSITS_PER_CLIENT)) {
        await client.handle(command(root, deposit(amountOf(c, i))));
        sent.push(amountOf(c, i));
      }
    }),
  );
  return sent;
};

const expectEveryDepositExactlyOnce = async (
  queries: QueryClient,
  root: Uint8Array,
  sent: number[],
): Promise<void> => {
  const stored = eventsOf(await queries.getEvents({ domain: 'account', root: { value: root } }));
  expect(stored.map((e) => e.sequence)).toEqual(range(0, sent.length + 1));
  expect(stored[0]!.type).toBe('AccountOpened');
  const deposits = stored.slice(1).map((e) => (e.type === 'MoneyDeposited' ? e : undefined));
  expect(deposits.map((e) => e?.amount).sort((a, b) => a! - b!)).toEqual([...sent].sort((a, b) => a - b));
  // Each decision saw every event before it: no lost update.
  let balance = 0;
  for (const event of deposits) {
    balance += event!.amount;
    expect(event!.balance).toBe(balance);
  }
  expect(balance).toBe(sent.reduce((sum, amount) => sum + amount, 0));
};

describe('concurrent commands on one aggregate', () => {
  it(`one command handler, ${CLIENTS} clients × ${DEPOSITS_PER_CLIENT} deposits: every deposit exactly once`, async () => {
    const { runtime, commands, queries } = await startTestRuntime({
      domains: { account: { businessLogic: sample.address } },
    });
    const root = newRoot();
    await commands.handle(command(root, open()));

    const sent = await depositConcurrently([runtime.commandHandler.address], root);

    expect(sent).toHaveLength(CLIENTS * DEPOSITS_PER_CLIENT);
    await expectEveryDepositExactlyOnce(queries, root, sent);
  });

  it('two command handlers on one SQLite file: every deposit exactly once, races retried', async () => {
    const projectDir = tempDir();
    const config = {
      commandHandler: { conflictRetries: 100 },
      domains: { account: { businessLogic: sample.address } },
    };
    const first = await startTestRuntime(config, { projectDir });
    const second = await startTestRuntime(config, { projectDir });
    const root = newRoot();
    await first.commands.handle(command(root, open()));
    sample.calls.length = 0;

    const sent = await depositConcurrently(
      [first.runtime.commandHandler.address, second.runtime.commandHandler.address],
      root,
    );

    await expectEveryDepositExactlyOnce(first.queries, root, sent);
    await expectEveryDepositExactlyOnce(second.queries, root, sent);
    // Some commands lost a race and were decided again (more business logic calls than commands).
    expect(sample.calls.length).toBeGreaterThan(sent.length);
  });
});

describe('a command whose aggregate keeps changing under it', () => {
  it(`is ABORTED after conflictRetries + 1 attempts, and its own events are not written`, async () => {
    // Business logic that, every time it is asked, lets another writer (another runtime on the store) append first.
    const { projectDir, root, logic } = await startInterloper();
    const { commands, queries } = await startTestRuntime(
      { commandHandler: { conflictRetries: 3 }, domains: { account: { businessLogic: logic.address } } },
      { projectDir },
    );

    await expect(commands.handle(command(root, deposit(10)))).rejects.toMatchObject(
      failure(status.ABORTED, /kept changing while the command was decided; gave up after 4 attempts/),
    );

    expect(logic.calls).toHaveLength(4);
    expect(await storedEvents(queries, 'account', root)).toEqual(
      range(0, 4).map((sequence) => [sequence, 'test/Interloper']),
    );
  });
});
