import { createServer } from 'node:net';
import { expect, it } from 'vitest';
import { uuidFromBytes } from '../../runtime/protocol/uuid.js';
import { command, deposit, deposited, events, eventsOf, newRoot, open, opened } from '../helpers/account.js';
import { startSampleBusinessLogic } from '../helpers/business-logic.js';
import { startRecordingProjector, startTransfersSaga } from '../helpers/delivery.js';
import { eventually } from '../helpers/eventually.js';
import { freePort } from '../helpers/ports.js';
import { startTestRuntime } from '../helpers/runtime.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * A projector, a saga, or another runtime's command handler (where a saga's output goes) that was down for a
 * while is reached again within `delivery.maxBackoffMs` of coming back, as the README promises — not whenever
 * grpc-js's own reconnect backoff (doubling up to two minutes) next lets its channel try, which after a minute of
 * failures is tens of seconds away. Each comes back just after evented's last attempt to reach it, the worst
 * moment. The projector's outage is a minute, so this file takes a little over that.
 */

const MAX_BACKOFF_MS = 2000;
const OUTAGE_MS = 60_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Resolves at the next attempt to connect to `port` on 127.0.0.1, which it refuses (the connection is accepted
 * and closed at once, before a byte of HTTP/2, as a failed connect), and then frees the port.
 */
const nextConnectAttempt = (port: number): Promise<void> =>
  new Promise((resolve, reject) => {
    const watcher = createServer((socket) => {
      socket.destroy();
      watcher.close(() => resolve());
    });
    watcher.on('error', reject);
    watcher.listen(port, '127.0.0.1');
  });

const portOf = (address: string): number => Number(address.split(':')[1]);

/** How long after `since` `happened` first held (polled every 10 ms); Infinity if not within `timeoutMs`. */
const msUntil = async (
  since: number,
  happened: () => boolean | Promise<boolean>,
  timeoutMs = 130_000,
): Promise<number> => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await happened()) return Date.now() - since;
    await sleep(10);
  }
  return Infinity;
};

it(`a projector and a saga down for ${OUTAGE_MS / 1000} s are called within maxBackoffMs + 1 s of coming back`, async () => {
  const [logic, projector, saga] = await Promise.all([
    startSampleBusinessLogic(),
    startRecordingProjector(),
    startTransfersSaga(),
  ]);
  const { commands } = await startTestRuntime({
    domains: { account: { businessLogic: logic.address } },
    projectors: { accounts: { address: projector.address, domains: ['account'] } },
    sagas: { transfers: { address: saga.address, domains: ['account'] } },
    delivery: { maxBackoffMs: MAX_BACKOFF_MS },
  });
  const [ada, bob] = [newRoot(), newRoot()];
  const transfer = () =>
    commands.handle(command(ada, { type: 'TransferMoney', toAccount: uuidFromBytes(bob), amount: 1 }));
  await commands.handle(command(ada, open('ada'), deposit(1000)));
  await commands.handle(command(bob, open('bob')));
  await transfer();
  // (opened, deposited, transferred out; opened, and the transfer received through the saga)
  await eventually(() => {
    expect(saga.reacted).toHaveLength(1);
    expect(projector.delivered).toHaveLength(5);
  });

  // Given both down for a minute while commands go on
  projector.stop();
  saga.stop();
  const down = Date.now();
  let transfers = 1;
  while (Date.now() - down < OUTAGE_MS) {
    await transfer();
    transfers += 1;
    await sleep(5000);
  }
  expect(saga.reacted).toHaveLength(1);
  expect(projector.delivered).toHaveLength(5);

  // when each comes back on its address just after evented last tried to reach it (the worst moment),
  // then each is called within maxBackoffMs + 1 s.
  const [projectorWaited, sagaWaited] = await Promise.all(
    [
      { subscriber: projector, called: () => projector.delivered.length > 5 },
      { subscriber: saga, called: () => saga.reacted.length > 1 },
    ].map(async ({ subscriber, called }) => {
      await nextConnectAttempt(portOf(subscriber.address));
      await subscriber.restart();
      return msUntil(Date.now(), called);
    }),
  );
  expect
    .soft(projectorWaited, 'ms from the projector’s return to its first delivery')
    .toBeLessThanOrEqual(MAX_BACKOFF_MS + 1000);
  expect
    .soft(sagaWaited, 'ms from the saga’s return to its first call')
    .toBeLessThanOrEqual(MAX_BACKOFF_MS + 1000);

  // and what was committed meanwhile arrives: every transfer carried once, every event delivered once.
  await eventually(() => {
    expect(saga.reacted).toHaveLength(transfers);
    expect(projector.delivered).toHaveLength(3 + 2 * transfers);
  }, 30_000);
  expect(projector.duplicates()).toEqual([]);
}, 300_000);

it('a saga’s output to another runtime’s command handler that was down arrives within maxBackoffMs + 1 s of its return', async () => {
  const [logic, saga] = await Promise.all([startSampleBusinessLogic(), startTransfersSaga()]);
  // The other runtime: it serves the account domain on a port of its own, and keeps its store across a restart.
  const other = { projectDir: tempDir(), port: await freePort() };
  const startOther = () =>
    startTestRuntime(
      { commandHandler: { port: other.port }, domains: { account: { businessLogic: logic.address } } },
      { projectDir: other.projectDir },
    );
  let target = await startOther();
  const { commands } = await startTestRuntime({
    sagas: { transfers: { address: saga.address, domains: ['account'] } },
    otherCommandHandlers: [{ domain: 'account', address: `127.0.0.1:${other.port}` }],
    delivery: { maxBackoffMs: MAX_BACKOFF_MS },
  });
  const [ada, bob] = [newRoot(), newRoot()];
  const transferOut = (sequence: number) => ({
    type: 'MoneyTransferredOut' as const,
    toAccount: uuidFromBytes(bob),
    amount: 1,
    balance: 100 - sequence,
  });
  const received = async (): Promise<number> =>
    eventsOf(await target.queries.getEvents({ domain: 'account', root: { value: bob } })).filter(
      (event) => event.type === 'TransferReceived',
    ).length;
  await target.commands.record(events(bob, opened('bob')));
  // Recorded as they are in this runtime; the saga turns each transfer out into a command for the other one.
  await commands.record(events(ada, opened('ada'), deposited(100, 100), transferOut(1)));
  await eventually(async () => expect(await received()).toBe(1));

  // Given the other command handler down for 20 s while a transfer's output waits for it
  await target.runtime.close();
  await commands.record(events(ada, transferOut(2)));
  await sleep(20_000);

  // when it comes back just after evented last tried to reach it,
  await nextConnectAttempt(other.port);
  target = await startOther();

  // then the output reaches it within maxBackoffMs + 1 s.
  expect(await msUntil(Date.now(), async () => (await received()) === 2)).toBeLessThanOrEqual(
    MAX_BACKOFF_MS + 1000,
  );
}, 120_000);
