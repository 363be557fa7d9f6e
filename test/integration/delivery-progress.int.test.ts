import { beforeAll, describe, expect, it } from 'vitest';
import { command, deposit, newRoot, open } from '../helpers/account.js';
import { startSampleBusinessLogic } from '../helpers/business-logic.js';
import {
  assertBuilt,
  configYaml,
  evented,
  freeRuntimePorts,
  runEvented,
  writeConfig,
  type ProjectConfig,
} from '../helpers/cli.js';
import { commandClient, queryClient } from '../helpers/clients.js';
import {
  sequencesByAccount,
  startRecordingProjector,
  storedAccountBooks,
  type Delivered,
} from '../helpers/delivery.js';
import { eventually } from '../helpers/eventually.js';
import type { TestProcess } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Progress follows each call to the user's projector, not each batch. A projector without HandleBatch, which
 * evented calls once per book, takes a while per call; a backlog of a few thousand events reaches it as large
 * batches. When the runtime (`evented serve`, its own process) is killed with SIGKILL in the middle of one and
 * started again, the projector is given again only what was in flight, not the part of the batch it had already
 * handled; and `evented status`, while the batch is delivered, shows a lag that shrinks as calls succeed.
 */

const READY = /evented serving (\S+): commands on ([^\s,]+), queries on ([^\s,]+)/;
/** How long the projector takes per call, and how often evented saves progress (runtime/subscriber/consumer.ts). */
const CALL_MS = 60;
const SAVE_EVERY_MS = 100;

beforeAll(() => assertBuilt());

interface SubscriberRow {
  name: string;
  state: string;
  checkpoint: number;
  lag: number;
  deliveredPastCheckpoint: number;
}

describe('progress saved as each call succeeds', () => {
  it('a runtime killed in the middle of a large batch gives the projector again only what was in flight; status shows the lag shrinking', async () => {
    const projectDir = tempDir();
    const [logic, projector] = await Promise.all([
      startSampleBusinessLogic(),
      startRecordingProjector({ handleBatch: false }),
    ]);
    const ports = await freeRuntimePorts();
    const admin = `127.0.0.1:${ports.admin}`;
    const base: ProjectConfig = {
      name: 'progress',
      log: { level: 'warn' },
      // One partition: what is measured here is progress within a batch, which a partition's checkpoint shows.
      delivery: { partitions: 1 },
      ports,
      domains: { account: { businessLogic: logic.address } },
    };
    const serve = async (): Promise<{ process: TestProcess; commands: string; queries: string }> => {
      const process = evented(['serve', projectDir]);
      const [, , commands, queries] = await process.waitFor(READY, 30_000);
      return { process, commands: commands!, queries: queries! };
    };

    // Given a backlog of 3,000 events (200 accounts of 15 events), stored while no projector was configured
    writeConfig(projectDir, configYaml(base));
    const seeding = await serve();
    const commands = commandClient(seeding.commands);
    const accounts = Array.from({ length: 200 }, () => newRoot());
    const deposits = Array.from({ length: 14 }, () => deposit(1));
    for (let i = 0; i < accounts.length; i += 25) {
      await Promise.all(
        accounts
          .slice(i, i + 25)
          .map((root, j) => commands.handle(command(root, open(`owner ${i + j}`), ...deposits))),
      );
    }
    expect(await seeding.process.stop('SIGTERM')).toMatchObject({ exitCode: 0 });

    // and a projector that answers one book per call, slowly, now configured: the runtime catches up from the
    // store in batches of 2,000 events, one call per account's book
    projector.delayMs = CALL_MS;
    const config: ProjectConfig = {
      ...base,
      projectors: { recording: { address: projector.address, domains: ['account'] } },
    };
    writeConfig(projectDir, configYaml(config));
    const first = await serve();
    const status = async (): Promise<{ head: number; row: SubscriberRow }> => {
      const shown = await runEvented(['status', '--json', '--address', admin]);
      const parsed = JSON.parse(shown.stdout) as { head: number; subscribers: SubscriberRow[] };
      return { head: parsed.head, row: parsed.subscribers.find((s) => s.name === 'recording')! };
    };
    const unique = (): number => new Set(projector.delivered.map(keyOf)).size;

    // When status is asked while the batch is delivered
    await eventually(() => expect(projector.delivered.length).toBeGreaterThanOrEqual(300), 60_000, 10);
    const handedBefore = unique();
    const early = await status();
    await eventually(
      () => expect(projector.delivered.length).toBeGreaterThanOrEqual(handedBefore + 300),
      60_000,
      10,
    );
    const later = await status();

    // Then its lag counts only what is not delivered yet (at most one call's events more than the projector had
    // when status was asked), and shrinks as calls succeed, while the position waits for the whole batch
    expect(early.head).toBe(3000);
    expect(early.row.lag).toBeLessThanOrEqual(3000 - handedBefore + 15);
    expect(early.row.checkpoint + early.row.deliveredPastCheckpoint + early.row.lag).toBe(3000);
    expect(later.row.lag).toBeLessThan(early.row.lag);
    expect(later.row.deliveredPastCheckpoint).toBeGreaterThan(early.row.deliveredPastCheckpoint);

    // When the runtime is killed in the middle of the batch
    await eventually(() => expect(projector.delivered.length).toBeGreaterThanOrEqual(900), 60_000, 5);
    expect(await first.process.stop('SIGKILL')).toMatchObject({ signal: 'SIGKILL' });
    const callsBeforeKill = projector.calls.length;
    const handedAtKill = unique();

    // and started again
    const second = await serve();

    // Then every stored event reaches the projector, each account's in order
    const stored = Object.entries(sequencesByAccount(await storedAccountBooks(queryClient(second.queries))));
    expect(stored.flatMap(([, sequences]) => sequences)).toHaveLength(3000);
    await eventually(() => expect(unique()).toBe(3000), 120_000, 250);
    for (const [account, sequences] of stored) {
      const firstTimes = [
        ...new Set(projector.delivered.filter((d) => d.account === account).map((d) => d.sequence)),
      ];
      expect(firstTimes, `account ${account}`).toEqual(sequences);
    }

    // and what it is given twice is at most what was in flight: the call the runtime was waiting for, and the calls
    // that succeeded in the last save interval (SAVE_EVERY_MS / CALL_MS of them, rounded up), plus one call for the
    // save's own write — of the hundreds of calls of the batch handled before the kill
    const window = 1 + Math.ceil(SAVE_EVERY_MS / CALL_MS) + 1;
    const lastCalls = new Set(
      projector.calls.slice(callsBeforeKill - window, callsBeforeKill).flatMap((c) => c.keys),
    );
    const twice = projector.duplicates();
    expect(handedAtKill).toBeGreaterThanOrEqual(900);
    expect(
      twice.filter((key) => !lastCalls.has(key)),
      'given twice, though handled before the last calls',
    ).toEqual([]);
    expect(twice.length).toBeLessThanOrEqual(window * 15);

    await eventually(
      async () => expect((await status()).row).toMatchObject({ checkpoint: 3000, lag: 0 }),
      30_000,
    );
    await second.process.stop('SIGTERM');
  }, 300_000);
});

const keyOf = ({ account, sequence }: Delivered): string => `${account}#${sequence}`;
