import { describe, expect, it } from 'vitest';
import { uuidFromBytes } from '../../runtime/protocol/uuid.js';
import { createSqliteEventStore } from '../../runtime/store/sqlite/index.js';
import { command, deposit, eventsOf, newRoot, open } from '../helpers/account.js';
import { startSampleBusinessLogic } from '../helpers/business-logic.js';
import { adminCalls } from '../helpers/clients.js';
import { startRecordingProjector, startTransfersSaga } from '../helpers/delivery.js';
import { eventually } from '../helpers/eventually.js';
import { startTestRuntime, storePath } from '../helpers/runtime.js';

/**
 * Dead letters inside the runtime (in-process bus, SQLite, real gRPC services in the test process): what
 * reaches the dead-letter queue — an event the projector never finishes within callTimeoutMs — and what does
 * not — a projector that is down; the hold on an aggregate through a replay, a rebuild and a catch-up that meets
 * its letters again; and a saga whose output is refused, retried once its target can take it.
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('dead letters in the runtime', () => {
  it('sets aside an event the projector never finishes within callTimeoutMs, after maxAttempts', async () => {
    const projector = await startRecordingProjector({
      stall: (_account, _page, event) => event?.type === 'MoneyDeposited' && event.amount === 13,
    });
    const logic = await startSampleBusinessLogic();
    const { commands, runtime } = await startTestRuntime({
      domains: { account: { businessLogic: logic.address } },
      projectors: { recording: { address: projector.address, domains: ['account'] } },
      delivery: { maxAttempts: 3, retryDelayMs: 20, callTimeoutMs: 300 },
    });
    const admin = adminCalls(runtime.admin.address);
    const [ada, bob] = [newRoot(), newRoot()];

    await commands.handle(command(ada, open('ada'), deposit(13), deposit(20)));
    await commands.handle(command(bob, open('bob'), deposit(5)));

    // The call that never ends is cut by its deadline each time, and after maxAttempts the event is a letter
    const letters = await eventually(async () => {
      const found = await admin.deadLetters();
      expect(found.map((letter) => letter.sequence)).toEqual([1, 2]);
      return found;
    }, 30_000);
    expect(letters[0]).toMatchObject({ attempts: 3, state: 'open' });
    expect(letters[0]!.lastError).toMatch(/^DEADLINE_EXCEEDED: .*remote_addr=/);
    expect(letters[1]!.lastError).toBe(`waiting behind #${letters[0]!.id}`);
    expect(projector.stalled).toBeGreaterThanOrEqual(3);
    await eventually(() =>
      expect(projector.sequences()).toEqual({ [uuidFromBytes(ada)]: [0], [uuidFromBytes(bob)]: [0, 1] }),
    );
  });

  it('waits for a projector that is down, however long: nothing is set aside, all arrives once it is back', async () => {
    const projector = await startRecordingProjector();
    const logic = await startSampleBusinessLogic();
    const { commands, runtime } = await startTestRuntime({
      domains: { account: { businessLogic: logic.address } },
      projectors: { recording: { address: projector.address, domains: ['account'] } },
      delivery: { maxAttempts: 2, retryDelayMs: 10, maxBackoffMs: 100, callTimeoutMs: 300 },
    });
    const admin = adminCalls(runtime.admin.address);
    const ada = newRoot();
    projector.stop();

    await commands.handle(command(ada, open('ada'), deposit(1), deposit(2)));
    // Many times maxAttempts × (callTimeoutMs + retryDelayMs): a failing event would have been set aside by now.
    await eventually(() =>
      expect(runtime.deliveryStatus().projectors[0]).toMatchObject({ state: 'waiting' }),
    );
    await sleep(3000);
    expect(await admin.deadLetters()).toEqual([]);

    await projector.restart();
    await eventually(
      () => expect(projector.sequences()).toEqual({ [uuidFromBytes(ada)]: [0, 1, 2] }),
      30_000,
    );
    expect(await admin.deadLetters()).toEqual([]);
  });

  it('keeps an aggregate held back through a replay and a rebuild; a retry then delivers its letters once', async () => {
    let broken = true;
    const projector = await startRecordingProjector({
      refuse: (_account, _page, event) =>
        broken && event?.type === 'MoneyDeposited' && event.amount === 13 ? 'no 13' : undefined,
    });
    const logic = await startSampleBusinessLogic();
    const { commands, runtime } = await startTestRuntime({
      domains: { account: { businessLogic: logic.address } },
      projectors: { recording: { address: projector.address, domains: ['account'] } },
      delivery: { maxAttempts: 2, retryDelayMs: 10 },
    });
    const admin = adminCalls(runtime.admin.address);
    const [ada, bob] = [newRoot(), newRoot()];
    const [adaId, bobId] = [uuidFromBytes(ada), uuidFromBytes(bob)];
    await commands.handle(command(ada, open('ada'), deposit(13), deposit(20)));
    await commands.handle(command(bob, open('bob')));
    await eventually(async () => expect((await admin.deadLetters()).map((l) => l.sequence)).toEqual([1, 2]));
    await eventually(() => expect(projector.sequences()).toEqual({ [adaId]: [0], [bobId]: [0] }));

    // A replay from the start delivers what was delivered before, and nothing of ada from the letter on
    const replayed = await admin.replay({ subscriber: 'recording' });
    expect(replayed.at(-1)).toMatchObject({ done: true });
    expect(projector.sequences()).toEqual({ [adaId]: [0, 0], [bobId]: [0, 0] });
    // … and so does a rebuild, which forgets the projector's progress first
    await admin.replay({ subscriber: 'recording', rebuild: true });
    expect(projector.sequences()).toEqual({ [adaId]: [0, 0, 0], [bobId]: [0, 0, 0] });
    // The letters are as they were: no second letter for an event the replays met again
    const letters = await admin.deadLetters();
    expect(letters.map((l) => [l.sequence, l.state, l.attempts])).toEqual([
      [1, 'open', 2],
      [2, 'open', 0],
    ]);

    broken = false;
    const retried = await admin.retry({ subscriber: 'recording' });
    expect(retried.map((l) => [l.sequence, l.state])).toEqual([
      [1, 'retried'],
      [2, 'retried'],
    ]);
    expect(projector.sequences()[adaId]).toEqual([0, 0, 0, 1, 2]);
  });

  it('writes no second letter when a crash lost the progress: the catch-up meets the letters again', async () => {
    const projector = await startRecordingProjector({
      refuse: (_account, _page, event) =>
        event?.type === 'MoneyDeposited' && event.amount === 13 ? 'no 13' : undefined,
    });
    const logic = await startSampleBusinessLogic();
    const config = {
      domains: { account: { businessLogic: logic.address } },
      projectors: { recording: { address: projector.address, domains: ['account'] } },
      delivery: { maxAttempts: 2, retryDelayMs: 10 },
    };
    const first = await startTestRuntime(config);
    const ada = newRoot();
    await first.commands.handle(command(ada, open('ada'), deposit(13), deposit(20), deposit(30)));
    const before = await eventually(async () => {
      const found = await adminCalls(first.runtime.admin.address).deadLetters();
      expect(found.map((l) => l.sequence)).toEqual([1, 2, 3]);
      return found;
    });
    await first.runtime.close();

    // As if the runtime had died after writing the letters and before saving the projector's progress
    const store = createSqliteEventStore({ path: storePath(first.projectDir) });
    await store.resetProgress('projector:recording');
    await store.close();
    const second = await startTestRuntime(config, { projectDir: first.projectDir });
    await second.runtime.caughtUp();

    // The catch-up delivers ada #0 again (at least once) and nothing from the letter on; the letters are as they were
    expect(projector.sequences()).toEqual({ [uuidFromBytes(ada)]: [0, 0] });
    expect(await adminCalls(second.runtime.admin.address).deadLetters()).toEqual(before);
  });

  it('sets aside an event whose saga output is refused; a retry applies the output once, then what waited', async () => {
    const [logic, saga] = await Promise.all([startSampleBusinessLogic(), startTransfersSaga()]);
    const { commands, runtime, queries } = await startTestRuntime({
      domains: { account: { businessLogic: logic.address } },
      sagas: { transfers: { address: saga.address, domains: ['account'] } },
      delivery: { maxAttempts: 2, retryDelayMs: 10 },
    });
    const admin = adminCalls(runtime.admin.address);
    const [ada, carol] = [newRoot(), newRoot()];
    const transfer = (amount: number) =>
      ({ type: 'TransferMoney', toAccount: uuidFromBytes(carol), amount }) as const;

    // Given transfers to an account that is not open yet: the business logic refuses the saga's command
    await commands.handle(command(ada, open('ada'), deposit(100), transfer(30)));
    await commands.handle(command(ada, transfer(20)));
    const letters = await eventually(async () => {
      const found = await admin.deadLetters({ subscriber: 'transfers' });
      expect(found.map((l) => l.sequence)).toEqual([2, 3]);
      return found;
    });
    expect(letters[0]!.lastError).toMatch(
      /output 0 \(command to account:[0-9a-f-]+\) was refused: .*not open/,
    );
    expect(letters[1]!.lastError).toBe(`waiting behind #${letters[0]!.id}`);
    expect(saga.reacted).toEqual([`${uuidFromBytes(ada)}#2`]);

    // When the account is opened and the letters retried, both transfers arrive, once each, in order
    await commands.handle(command(carol, open('carol')));
    const retried = await admin.retry({ ids: [letters[0]!.id] });
    expect(retried.map((l) => l.state)).toEqual(['retried', 'retried']);
    const received = eventsOf(await queries.getEvents({ domain: 'account', root: { value: carol } }));
    expect(received.map((e) => [e.sequence, e.type, 'amount' in e ? e.amount : undefined])).toEqual([
      [0, 'AccountOpened', undefined],
      [1, 'TransferReceived', 30],
      [2, 'TransferReceived', 20],
    ]);
    expect(await admin.retry({ ids: [letters[0]!.id] }).catch((err: Error) => err.message)).toMatch(
      /was retried already/,
    );
  });
});
