import { beforeAll, describe, expect, it } from 'vitest';
import { command, deposit, newRoot, open } from '../helpers/account.js';
import { startSampleBusinessLogic } from '../helpers/business-logic.js';
import { assertBuilt, errorLines, runEvented } from '../helpers/cli.js';
import type { CommandClient, QueryClient } from '../helpers/clients.js';
import {
  sequencesByAccount,
  startDeposits,
  startRecordingProjector,
  startTransfersSaga,
  storedAccountBooks,
  transfersInStore,
  type Delivered,
} from '../helpers/delivery.js';
import { eventually } from '../helpers/eventually.js';
import { startTestRuntime } from '../helpers/runtime.js';

/**
 * Replay and rebuild as a user runs them (`evented replay` / `evented rebuild`, the built CLI as a subprocess)
 * against a runtime whose projector or saga is a recording one served in this process: a replay marks with
 * `evented-replay: true` exactly the events the subscriber had handled before, and delivers the others (those it
 * was behind on, those committed while the replay runs) unmarked, as live delivery would, and live delivery takes
 * over without delivering anything twice. A rebuild asks the projector to Reset first and forgets nothing when
 * that fails.
 */

const STACK_FRAME = /^\s+at /m;

beforeAll(() => assertBuilt());

/** "account#sequence" of every event the store holds. */
const storedKeys = async (queries: QueryClient): Promise<string[]> =>
  Object.entries(sequencesByAccount(await storedAccountBooks(queries))).flatMap(([id, sequences]) =>
    sequences.map((sequence) => `${id}#${sequence}`),
  );

const keyOf = ({ account, sequence }: Pick<Delivered, 'account' | 'sequence'>): string =>
  `${account}#${sequence}`;

/** `count` accounts, each opened with `events` events in one command. */
const seedAccounts = async (
  commands: CommandClient,
  count: number,
  events: number,
): Promise<Uint8Array[]> => {
  const accounts = Array.from({ length: count }, () => newRoot());
  const deposits = Array.from({ length: events - 1 }, () => deposit(1));
  for (let i = 0; i < accounts.length; i += 20) {
    await Promise.all(
      accounts
        .slice(i, i + 20)
        .map((root, j) => commands.handle(command(root, open(`owner ${i + j}`), ...deposits))),
    );
  }
  return accounts;
};

/**
 * What a replay may do to what a subscriber was given (`deliveries`, in the order they came): every stored event
 * arrives exactly once unmarked (never twice, also after the handover to live delivery); an event arrives marked
 * only after it arrived unmarked, and at most once so; each aggregate's unmarked events come in sequence order.
 * Returns the events that came marked.
 */
const expectReplayRules = (
  deliveries: readonly { key: string; replay: boolean }[],
  stored: readonly string[],
): Set<string> => {
  const unmarked = new Map<string, number>();
  const marked = new Set<string>();
  const markedTooEarly: string[] = [];
  const markedTwice: string[] = [];
  for (const { key, replay } of deliveries) {
    if (!replay) unmarked.set(key, (unmarked.get(key) ?? 0) + 1);
    else if (!unmarked.has(key)) markedTooEarly.push(key);
    else if (marked.has(key)) markedTwice.push(key);
    else marked.add(key);
  }
  expect(markedTooEarly, 'events marked as a replay that the subscriber had never been given').toEqual([]);
  expect(markedTwice, 'events replayed twice').toEqual([]);
  expect(
    stored.filter((key) => unmarked.get(key) !== 1),
    'events not given exactly once unmarked',
  ).toEqual([]);
  const byAccount = new Map<string, number[]>();
  for (const { key, replay } of deliveries) {
    if (replay) continue;
    const [account, sequence] = key.split('#');
    byAccount.set(account!, [...(byAccount.get(account!) ?? []), Number(sequence)]);
  }
  for (const [account, sequences] of byAccount) {
    expect(sequences, `account ${account}`).toEqual(sequences.map((_, index) => index));
  }
  return marked;
};

describe.each(['replay', 'rebuild'] as const)('evented %s', (how) => {
  it(`marks exactly the events the projector had handled, while commands keep coming; live delivery then takes over without a duplicate`, async () => {
    const [logic, projector] = await Promise.all([startSampleBusinessLogic(), startRecordingProjector()]);
    const { runtime, commands, queries } = await startTestRuntime({
      domains: { account: { businessLogic: logic.address } },
      projectors: { recording: { address: projector.address, domains: ['account'] } },
    });

    // Given 12,000 events (more than one replay page) that the projector has all handled
    const accounts = await seedAccounts(commands, 120, 100);
    await eventually(() => expect(projector.delivered.length).toBeGreaterThanOrEqual(12_000), 60_000);

    // and a projector that has become slow, so that it falls behind the commands that keep coming
    projector.delayMs = 300;
    const load = startDeposits({ accounts, client: () => commands, workers: 4 });
    const delivered = (): Set<string> => new Set(projector.delivered.map(keyOf));
    await eventually(() => {
      const handled = delivered();
      expect(load.acknowledged.filter((key) => !handled.has(key)).length).toBeGreaterThanOrEqual(40);
    }, 30_000);

    // When the user replays (or rebuilds) it while the commands go on
    const before = delivered();
    const behind = load.acknowledged.filter((key) => !before.has(key));
    const args = how === 'replay' ? ['replay', '--projector', 'recording'] : ['rebuild', 'recording'];
    const result = await runEvented([...args, '--address', runtime.admin.address, '--json']);
    expect(result.stderr).not.toMatch(STACK_FRAME);
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout.trim().split('\n').pop()!)).toMatchObject({ done: true });

    // and more commands come after the handover to live delivery
    const atHandover = load.acknowledged.length;
    await eventually(() => expect(load.acknowledged.length).toBeGreaterThanOrEqual(atHandover + 40), 30_000);
    await load.stop();
    expect(load.failures).toEqual([]);
    projector.delayMs = 0;

    // Then every stored event reaches the projector, exactly once unmarked, in order per aggregate,
    const stored = await storedKeys(queries);
    await eventually(() => {
      const unmarked = new Set(projector.delivered.filter((d) => !d.replay).map(keyOf));
      expect(stored.filter((key) => !unmarked.has(key))).toEqual([]);
    }, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 500)); // a late duplicate would show by now
    const marked = expectReplayRules(
      projector.delivered.map((d) => ({ key: keyOf(d), replay: d.replay })),
      await storedKeys(queries),
    );

    // and the events marked as a replay are exactly those it had handled before the replay
    expect(
      [...before].filter((key) => !marked.has(key)),
      'handled before, not replayed',
    ).toEqual([]);
    expect(
      [...marked].filter((key) => !before.has(key)).length,
      'replayed events handled after the snapshot, before the replay took the subscriber',
    ).toBeLessThan(200);
    expect(behind.length).toBeGreaterThanOrEqual(40); // events it had not handled when the replay began
    if (how === 'rebuild') expect(projector.resets).toBe(1);
  }, 240_000);
});

describe('evented replay --saga', () => {
  it('marks what the saga had handled; its output keeps its idempotency keys, so nothing is applied twice', async () => {
    const [logic, saga] = await Promise.all([startSampleBusinessLogic(), startTransfersSaga()]);
    const { runtime, commands, queries } = await startTestRuntime({
      domains: { account: { businessLogic: logic.address } },
      sagas: { transfers: { address: saga.address, domains: ['account'] } },
    });
    const accounts = Array.from({ length: 6 }, () => newRoot());
    await Promise.all(
      accounts.map((root, i) => commands.handle(command(root, open(`owner ${i}`), deposit(10_000)))),
    );

    // Given transfers the saga has carried (each MoneyTransferredOut → a TransferReceived)
    const load = startDeposits({ accounts, client: () => commands, workers: 3, transferEvery: 2 });
    await eventually(() => expect(saga.reacted.length).toBeGreaterThanOrEqual(40), 30_000);
    const before = new Set(saga.reactions.map(({ key }) => key));

    // When it is replayed while transfers go on
    const result = await runEvented(['replay', '--saga', 'transfers', '--address', runtime.admin.address]);
    expect(result.stderr).not.toMatch(STACK_FRAME);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(
      /replayed saga transfers: [\d,]+ events up to position \d+; live delivery goes on/,
    );
    const atHandover = saga.reacted.length;
    await eventually(() => expect(saga.reacted.length).toBeGreaterThanOrEqual(atHandover + 10), 30_000);
    await load.stop();
    expect(load.failures).toEqual([]);

    // Then each transfer out was received exactly once, although the saga reacted to many of them twice
    await eventually(async () => {
      const { out, received } = transfersInStore(await storedAccountBooks(queries));
      expect(received).toEqual(out);
    }, 60_000);
    const stored = await storedKeys(queries);
    await eventually(() => {
      const unmarked = new Set(saga.reactions.filter((r) => !r.replay).map(({ key }) => key));
      expect(stored.filter((key) => !unmarked.has(key))).toEqual([]);
    }, 60_000);
    const marked = expectReplayRules(saga.reactions, stored);
    expect(
      [...before].filter((key) => !marked.has(key)),
      'handled before, not replayed',
    ).toEqual([]);
    expect(marked.size).toBeGreaterThanOrEqual(before.size);
  }, 240_000);
});

describe('evented replay --dry-run', () => {
  it('says how many events and aggregates a replay would deliver, and delivers nothing', async () => {
    const [logic, projector] = await Promise.all([startSampleBusinessLogic(), startRecordingProjector()]);
    const { runtime, commands, queries } = await startTestRuntime({
      domains: { account: { businessLogic: logic.address } },
      projectors: { recording: { address: projector.address, domains: ['account'] } },
    });
    await seedAccounts(commands, 4, 3);
    const stored = await storedKeys(queries);
    await eventually(() => expect(projector.delivered).toHaveLength(stored.length));
    const calls = projector.calls.length;

    // From position 5 of 12: the events at positions 5 to 12, of the accounts they belong to
    const dryRun = await runEvented([
      'replay',
      '--projector',
      'recording',
      '--from',
      '5',
      '--dry-run',
      '--json',
      '--address',
      runtime.admin.address,
    ]);
    expect(dryRun.exitCode).toBe(0);
    const lines = dryRun.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      events: 0,
      total: 8,
      aggregates: 3,
      position: 4,
      done: false,
    });

    const plain = await runEvented(['rebuild', 'recording', '--dry-run', '--address', runtime.admin.address]);
    expect(plain.exitCode).toBe(0);
    expect(plain.stdout).toMatch(/would deliver 12 events of 4 aggregates after position 0/);

    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(projector.calls.length).toBe(calls);
    expect(projector.resets).toBe(0);
    // (A partition without events moves its checkpoint once it finds nothing more in the store.)
    await eventually(() =>
      expect(runtime.deliveryStatus().projectors[0]).toMatchObject({ checkpoint: 12, state: 'live' }),
    );
  });
});

describe('evented rebuild, when the projector’s Reset fails', () => {
  it('stops with the projector’s error and forgets nothing; once Reset works it rebuilds', async () => {
    const [logic, projector] = await Promise.all([startSampleBusinessLogic(), startRecordingProjector()]);
    const { runtime, commands, queries } = await startTestRuntime({
      domains: { account: { businessLogic: logic.address } },
      projectors: { recording: { address: projector.address, domains: ['account'] } },
    });
    const accounts = await seedAccounts(commands, 5, 4);
    await eventually(() => expect(projector.delivered).toHaveLength(20));
    const status = async () => {
      const shown = await runEvented(['status', '--json', '--address', runtime.admin.address]);
      const parsed = JSON.parse(shown.stdout) as {
        subscribers: { name: string; checkpoint: number; lag: number }[];
      };
      return parsed.subscribers.find((s) => s.name === 'recording');
    };
    await eventually(async () => expect(await status()).toMatchObject({ checkpoint: 20, lag: 0 }));

    // When its Reset fails
    projector.failReset = 'the read model is on a read-only disk';
    const failed = await runEvented(['rebuild', 'recording', '--address', runtime.admin.address]);

    // Then the rebuild stops with that error, in one line, exit 1
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).not.toMatch(STACK_FRAME);
    expect(errorLines(failed.stderr)).toHaveLength(1);
    expect(errorLines(failed.stderr)[0]).toContain('the read model is on a read-only disk');
    expect(projector.delivered).toHaveLength(20);

    // and the projector's position and per-aggregate progress are as they were: a new event of an account it
    // has seen, and one of a new account, are all it is given
    expect(await status()).toMatchObject({ checkpoint: 20, lag: 0 });
    await commands.handle(command(accounts[0]!, deposit(5)));
    await commands.handle(command(newRoot(), open('late')));
    await eventually(() => expect(projector.delivered).toHaveLength(22));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(projector.delivered).toHaveLength(22);
    expect(projector.duplicates()).toEqual([]);
    // (A partition without the new events moves its checkpoint once it finds nothing more in the store.)
    await eventually(async () => expect(await status()).toMatchObject({ checkpoint: 22, lag: 0 }));

    // Once Reset works, the rebuild resets it and gives it every event again, marked as a replay
    projector.failReset = undefined;
    const rebuilt = await runEvented(['rebuild', 'recording', '--address', runtime.admin.address]);
    expect(rebuilt.exitCode).toBe(0);
    expect(rebuilt.stdout).toMatch(/rebuilt projector recording: 22 events up to position 22/);
    expect(projector.resets).toBe(1);
    const stored = await storedKeys(queries);
    expect(projector.delivered.slice(22).map((d) => d.replay)).toEqual(stored.map(() => true));
    expect(new Set(projector.delivered.slice(22).map(keyOf))).toEqual(new Set(stored));
  });
});
