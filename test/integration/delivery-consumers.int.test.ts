import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { Runtime, UserConfig } from '../../runtime/index.js';
import { uuidFromBytes } from '../../runtime/protocol/uuid.js';
import { createSqliteEventStore } from '../../runtime/store/sqlite/index.js';
import { command, deposit, deposited, events, eventsOf, newRoot, open, opened } from '../helpers/account.js';
import { adminCalls, type QueryClient } from '../helpers/clients.js';
import { startSampleBusinessLogic } from '../helpers/business-logic.js';
import {
  accountsFromStore,
  deleteAmqpTopology,
  isContiguousFromZero,
  sequencesByAccount,
  startDeposits,
  startRecordingProjector,
  startSampleProjectorOn,
  startTransfersSaga,
  storedAccountBooks,
} from '../helpers/delivery.js';
import { eventually } from '../helpers/eventually.js';
import { freePort } from '../helpers/ports.js';
import { readAccounts } from '../helpers/read-model.js';
import { startTestRuntime, storePath, type TestRuntime } from '../helpers/runtime.js';
import { describeWith } from '../helpers/services.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Delivery as the user's projectors and sagas live it, over RabbitMQ: a projector that is down for a while
 * catches up when it is back; an event a projector keeps failing on is set aside as a dead letter in the store
 * (with the reason), the later events of its aggregate wait behind it and other aggregates' events still arrive; every projector sees each aggregate's events in order; and
 * an input event delivered to a saga again does not apply the saga's output twice, nor is an output lost when the
 * runtime stops while the output's target is down.
 */

describeWith('rabbitmq', 'delivery to projectors and sagas that fail', (amqpUrl) => {
  const used: { exchange: string; subscribers: string[] }[] = [];
  const runtimes: Runtime[] = [];
  afterAll(async () => {
    // Runtimes first: a consumer whose queue is deleted under it declares the queue again.
    await Promise.all(runtimes.map((runtime) => runtime.close(100)));
    for (const { exchange, subscribers } of used) await deleteAmqpTopology(amqpUrl, exchange, subscribers);
  });
  const startRuntime = async (...args: Parameters<typeof startTestRuntime>): Promise<TestRuntime> => {
    const started = await startTestRuntime(...args);
    runtimes.push(started.runtime);
    return started;
  };
  const typesOf = async (queries: QueryClient, root: Uint8Array): Promise<string[]> =>
    eventsOf(await queries.getEvents({ domain: 'account', root: { value: root } })).map((e) => e.type);
  const transfer = (to: Uint8Array, amount: number) =>
    ({ type: 'TransferMoney', toAccount: uuidFromBytes(to), amount }) as const;

  /** The shared broker, on an exchange (and queues) of the test's own, deleted after the file. */
  const bus = (...subscribers: string[]): { kind: 'amqp'; url: string; exchange: string } => {
    const exchange = `evented-test-${randomUUID()}`;
    used.push({ exchange, subscribers });
    return { kind: 'amqp', url: amqpUrl, exchange };
  };

  it('a projector that was down catches up when it is back; commands go on meanwhile', async () => {
    const dir = tempDir();
    const readModel = join(dir, 'accounts.json');
    const port = await freePort();
    const [logic, first] = await Promise.all([
      startSampleBusinessLogic(),
      startSampleProjectorOn(readModel, port),
    ]);
    const { commands, queries } = await startRuntime({
      bus: bus('projector:accounts'),
      domains: { account: { businessLogic: logic.address } },
      projectors: { accounts: { address: first.address, domains: ['account'] } },
      delivery: { maxBackoffMs: 1000 },
    });
    const accounts = Array.from({ length: 6 }, () => newRoot());
    await Promise.all(
      accounts.map((root, i) => commands.handle(command(root, open(`owner ${i}`), deposit(10)))),
    );
    await eventually(async () => expect(readAccounts(readModel)).toEqual(await accountsFromStore(queries)));

    // When the projector goes down and commands keep coming
    await first.process.stop('SIGKILL');
    const load = startDeposits({ accounts, client: () => commands, workers: 4 });
    await eventually(() => expect(load.acknowledged.length).toBeGreaterThanOrEqual(60), 60_000);
    await load.stop();
    expect(load.failures).toEqual([]);
    const whileDown = readAccounts(readModel);

    // Then, once it is back (same address, same read model file), it catches up with everything it missed
    await startSampleProjectorOn(readModel, port);
    const expected = await accountsFromStore(queries);
    expect(whileDown).not.toEqual(expected);
    await eventually(() => expect(readAccounts(readModel)).toEqual(expected), 90_000, 250);
  }, 180_000);

  it('sets an event the projector keeps failing on aside in the store, with the reason; its aggregate waits, the rest goes on', async () => {
    const reason = 'the projector cannot take a deposit of 13';
    const projector = await startRecordingProjector({
      refuse: (_account, _page, event) =>
        event?.type === 'MoneyDeposited' && event.amount === 13 ? reason : undefined,
    });
    const logic = await startSampleBusinessLogic();
    const { commands, queries, runtime } = await startRuntime({
      bus: bus('projector:recording'),
      domains: { account: { businessLogic: logic.address } },
      projectors: { recording: { address: projector.address, domains: ['account'] } },
      delivery: { maxAttempts: 3, retryDelayMs: 20 },
    });
    const letters = adminCalls(runtime.admin.address);
    const [ada, bob] = [newRoot(), newRoot()];

    // Given events before, at and after the one the projector refuses, in one book and in later commands
    await commands.handle(command(ada, open('ada'), deposit(10), deposit(13), deposit(20)));
    await commands.handle(command(bob, open('bob'), deposit(5)));
    await commands.handle(command(ada, deposit(30)));

    // Then the refused event is a dead letter in the store, with why, and ada's later events wait behind it
    const stored = await eventually(async () => {
      const found = await letters.deadLetters({ subscriber: 'recording' });
      expect(found.map((letter) => letter.sequence)).toEqual([2, 3, 4]);
      return found;
    }, 60_000);
    const [failed, ...waiting] = stored;
    expect(uuidFromBytes(failed!.cover!.root!.value)).toBe(uuidFromBytes(ada));
    expect(failed).toMatchObject({ subscriber: 'recording', kind: 'projector', state: 'open', attempts: 3 });
    expect(failed!.lastError).toContain(reason);
    for (const letter of waiting) {
      expect(letter).toMatchObject({
        attempts: 0,
        state: 'open',
        lastError: `waiting behind #${failed!.id}`,
      });
    }
    expect(projector.refused).toBeGreaterThanOrEqual(3);

    // and every event of the other aggregate reached the projector once, in order; none of ada's after #1
    await eventually(() =>
      expect(projector.sequences()).toEqual({
        [uuidFromBytes(ada)]: [0, 1],
        [uuidFromBytes(bob)]: [0, 1],
      }),
    );
    expect(projector.duplicates()).toEqual([]);

    // and later events of other aggregates still flow, until one of them is refused in its turn
    await commands.handle(command(bob, deposit(7), deposit(13), deposit(8)));
    await eventually(() => expect(projector.sequences()[uuidFromBytes(bob)]).toEqual([0, 1, 2]));
    await eventually(async () =>
      expect((await letters.deadLetters({ subscriber: 'recording' })).map((l) => l.sequence)).toEqual([
        2, 3, 4, 3, 4,
      ]),
    );
    expect(sequencesByAccount(await storedAccountBooks(queries))).toEqual({
      [uuidFromBytes(ada)]: [0, 1, 2, 3, 4],
      [uuidFromBytes(bob)]: [0, 1, 2, 3, 4],
    });
  }, 120_000);

  it('hands each aggregate’s events to the projector in order, without a gap, under interleaved commands', async () => {
    const [logic, projector] = await Promise.all([startSampleBusinessLogic(), startRecordingProjector()]);
    const { commands, queries } = await startRuntime({
      bus: bus('projector:recording'),
      domains: { account: { businessLogic: logic.address } },
      projectors: { recording: { address: projector.address, domains: ['account'] } },
    });
    const accounts = Array.from({ length: 30 }, () => newRoot());
    await Promise.all(accounts.map((root, i) => commands.handle(command(root, open(`owner ${i}`)))));

    const load = startDeposits({ accounts, client: () => commands, workers: 16 });
    await eventually(() => expect(load.acknowledged.length).toBeGreaterThanOrEqual(500), 60_000);
    await load.stop();
    expect(load.failures).toEqual([]);

    const stored = sequencesByAccount(await storedAccountBooks(queries));
    await eventually(() => expect(projector.sequences()).toEqual(stored), 60_000, 250);
    for (const sequences of Object.values(projector.sequences())) {
      expect(isContiguousFromZero(sequences)).toBe(true);
    }
    expect(projector.duplicates()).toEqual([]);
  }, 120_000);

  it('does not apply a saga’s output twice when its input event is delivered again', async () => {
    const [logic, saga] = await Promise.all([startSampleBusinessLogic(), startTransfersSaga()]);
    const config: Partial<UserConfig> = {
      bus: bus('saga:transfers'),
      domains: { account: { businessLogic: logic.address } },
      sagas: { transfers: { address: saga.address, domains: ['account'] } },
      delivery: { maxBackoffMs: 200 },
    };
    const first = await startRuntime(config);
    const [ada, bob, carol] = [newRoot(), newRoot(), newRoot()];
    await first.commands.handle(command(ada, open('ada'), deposit(100)));
    await first.commands.handle(command(bob, open('bob')));
    await first.commands.handle(command(carol, open('carol')));

    // Given one command that moves money out twice (one stored book, two events: to bob, then to carol),
    // and a saga that handles the first event and is unavailable for the second,
    saga.unavailableFor = uuidFromBytes(carol);
    await first.commands.handle(command(ada, transfer(bob, 30), transfer(carol, 20)));
    await eventually(async () =>
      expect(await typesOf(first.queries, bob)).toEqual(['AccountOpened', 'TransferReceived']),
    );

    // when the runtime stops before that batch is done, its record of what the saga handled is lost (as after a
    // crash before it was saved: the first event is then given again), and it starts again with the saga back,
    await first.runtime.close();
    const store = createSqliteEventStore({ path: storePath(first.projectDir) });
    await store.resetProgress('saga:transfers');
    await store.close();
    saga.unavailableFor = undefined;
    const second = await startRuntime(config, { projectDir: first.projectDir });

    // then the saga is given the first event again (delivery is at least once)…
    await eventually(
      async () => expect(await typesOf(second.queries, carol)).toEqual(['AccountOpened', 'TransferReceived']),
      60_000,
    );
    expect(saga.reacted.filter((input) => input === `${uuidFromBytes(ada)}#2`)).toHaveLength(2);

    // …but its output was applied once: bob was credited once, carol once, and every balance adds up.
    expect(await typesOf(second.queries, bob)).toEqual(['AccountOpened', 'TransferReceived']);
    const accounts = await accountsFromStore(second.queries);
    expect(accounts[uuidFromBytes(ada)]).toMatchObject({ balance: 50, sequence: 3 });
    expect(accounts[uuidFromBytes(bob)]).toMatchObject({ balance: 30, sequence: 1 });
    expect(accounts[uuidFromBytes(carol)]).toMatchObject({ balance: 20, sequence: 1 });
  }, 120_000);

  it('applies a saga’s output after a restart when its target was down at shutdown (not set aside)', async () => {
    const saga = await startTransfersSaga();
    const logicPort = await freePort(); // the account business logic: not running yet
    const sagaBus = bus('saga:transfers');
    const config: Partial<UserConfig> = {
      bus: sagaBus,
      domains: { account: { businessLogic: `127.0.0.1:${logicPort}` } },
      sagas: { transfers: { address: saga.address, domains: ['account'] } },
      commandHandler: { businessLogicTimeoutMs: 1000 },
      delivery: { maxBackoffMs: 200 },
    };
    const first = await startRuntime(config);
    const [ada, bob] = [newRoot(), newRoot()];

    // Given a transfer out of ada (recorded as it is: no business logic needed for that), to which the saga
    // answers with a command for bob, whose business logic is down
    await first.commands.record(events(bob, opened('bob')));
    await first.commands.record(
      events(ada, opened('ada'), deposited(100, 100), {
        type: 'MoneyTransferredOut',
        toAccount: uuidFromBytes(bob),
        amount: 30,
        balance: 70,
      }),
    );
    await eventually(() => expect(saga.reacted).toContain(`${uuidFromBytes(ada)}#2`));

    // when the runtime stops while the saga's command waits for that business logic, and starts again with it up
    await first.runtime.close();
    await startSampleBusinessLogic({ port: logicPort });
    const second = await startRuntime(config, { projectDir: first.projectDir });

    // then the command is applied: bob is credited (once), and nothing was set aside as refused
    await eventually(
      async () => expect(await typesOf(second.queries, bob)).toEqual(['AccountOpened', 'TransferReceived']),
      60_000,
    );
    expect(await adminCalls(second.runtime.admin.address).deadLetters()).toEqual([]);
  }, 120_000);
});
