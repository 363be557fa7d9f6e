import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { command, deposit, newRoot, open } from '../helpers/account.js';
import { startSampleServices } from '../helpers/business-logic.js';
import { assertBuilt, configYaml, evented, freeRuntimePorts, writeConfig } from '../helpers/cli.js';
import { commandClient, queryClient, type CommandClient } from '../helpers/clients.js';
import {
  deleteAmqpTopology,
  foldAccounts,
  sequencesByAccount,
  startDeposits,
  storedAccountBooks,
  transfersInStore,
} from '../helpers/delivery.js';
import { eventually } from '../helpers/eventually.js';
import type { TestProcess } from '../helpers/processes.js';
import { readAccounts } from '../helpers/read-model.js';
import { describeWith } from '../helpers/services.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The runtime dies (SIGKILL: no drain, no clean close) while commands are flowing, and is started again on the
 * same project. The store is the truth: every event it acknowledged is still there, and the outbox relay, the
 * projector coordinator and the saga coordinator pick up where their saved checkpoints left them. So the
 * projector ends up with exactly the read model the store implies (nothing committed just before the crash is
 * lost on the way), and the saga carried every transfer exactly once (an input it handled just before the crash
 * and gets again does not credit the money twice).
 */

const READY = /evented serving (\S+): commands on ([^\s,]+), queries on ([^\s,]+)/;

describeWith('rabbitmq', '`evented serve` killed while commands flow', (amqpUrl) => {
  const exchange = `evented-test-${randomUUID()}`;
  beforeAll(() => assertBuilt());
  const serving: TestProcess[] = [];
  afterAll(async () => {
    // The runtime first: a consumer whose queue is deleted under it declares the queue again.
    await Promise.all(serving.map((process) => process.stop('SIGKILL')));
    await deleteAmqpTopology(amqpUrl, exchange, ['projector:accounts', 'saga:transfers']);
  });

  it('loses no committed event and applies no saga output twice: after a restart the read model equals the store’s', async () => {
    const projectDir = tempDir();
    const readModel = join(projectDir, 'read-model', 'accounts.json');
    const sample = await startSampleServices(readModel);
    writeConfig(
      projectDir,
      configYaml({
        name: 'crash',
        log: { level: 'warn' },
        ports: await freeRuntimePorts(),
        bus: { kind: 'amqp', url: amqpUrl, exchange },
        ...sample.config,
      }),
    );
    const serve = async () => {
      const process = evented(['serve', projectDir]);
      serving.push(process);
      const [, , commandsAt, queriesAt] = await process.waitFor(READY, 30_000);
      return { process, commands: commandClient(commandsAt!), queries: queryClient(queriesAt!) };
    };

    // Given a running `evented serve` and accounts that exist
    const first = await serve();
    const accounts = Array.from({ length: 12 }, () => newRoot());
    await Promise.all(
      accounts.map((root, i) => first.commands.handle(command(root, open(`owner ${i}`), deposit(100)))),
    );

    // and clients that keep sending deposits and transfers (which the saga carries to the receiving account),
    // noting each event the runtime acknowledged
    let client: CommandClient = first.commands;
    const load = startDeposits({ accounts, client: () => client, workers: 16, transferEvery: 5 });
    const { acknowledged } = load;

    // When the runtime is killed while commands are in flight, at a moment when the projector is behind what was
    // acknowledged (so that acknowledged events are still on their way: in the outbox, on the bus, or in a call)
    const behind = (): boolean => {
      const model = readAccounts(readModel);
      return acknowledged.some((event) => {
        const [id, sequence] = event.split('#');
        return (model[id!]?.sequence ?? -1) < Number(sequence);
      });
    };
    await eventually(
      () => {
        expect(acknowledged.length).toBeGreaterThanOrEqual(300);
        expect(behind()).toBe(true);
      },
      60_000,
      5,
    );
    expect(await first.process.stop('SIGKILL')).toMatchObject({ signal: 'SIGKILL' });
    const beforeRestart = acknowledged.length;
    // (a command sent now fails: not acknowledged, maybe committed — the store will say)
    await eventually(() => expect(load.failures.length).toBeGreaterThan(0), 30_000);

    // and started again on the same project, with the clients still sending
    const second = await serve();
    client = second.commands;
    await eventually(() => expect(acknowledged.length).toBeGreaterThanOrEqual(beforeRestart + 200), 60_000);
    await load.stop();

    // Then every event the runtimes acknowledged is in the store, with no gap in any account
    const books = await storedAccountBooks(second.queries);
    const stored = new Set(
      Object.entries(sequencesByAccount(books)).flatMap(([id, sequences]) =>
        sequences.map((s) => `${id}#${s}`),
      ),
    );
    expect(acknowledged.filter((event) => !stored.has(event))).toEqual([]);
    foldAccounts(books); // throws on a gap

    // and every transfer out arrives exactly once (the saga's commands are stored events too, so read again)
    // while the projector's read model becomes exactly what the store's events imply
    await eventually(
      async () => {
        const now = await storedAccountBooks(second.queries);
        const { out, received } = transfersInStore(now);
        expect(received).toEqual(out);
        expect(readAccounts(readModel)).toEqual(foldAccounts(now));
      },
      90_000,
      250,
    );
    expect(Object.keys(transfersInStore(books).out).length).toBeGreaterThan(0);
    expect(Object.keys(readAccounts(readModel))).toHaveLength(accounts.length);

    await second.process.stop('SIGTERM');
  }, 240_000);
});
