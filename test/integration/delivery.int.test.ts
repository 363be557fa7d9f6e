import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { UserConfig } from '../../runtime/index.js';
import { uuidFromBytes } from '../../runtime/protocol/uuid.js';
import { command, deposit, events, eventsOf, newRoot, open, opened } from '../helpers/account.js';
import { startSampleServices } from '../helpers/business-logic.js';
import { deleteAmqpTopology, startRecordingProjector } from '../helpers/delivery.js';
import { eventually } from '../helpers/eventually.js';
import { readAccounts } from '../helpers/read-model.js';
import { startTestRuntime } from '../helpers/runtime.js';
import { describeWith } from '../helpers/services.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * End to end: commands in; the projector's read model and the saga's commands out, through the outbox relay,
 * the bus (in-process, and RabbitMQ) and the coordinators, with the sample services as real processes.
 */

/** The whole path on the bus `bus()` configures (called once per test). */
const deliveryOver = (bus: () => UserConfig['bus']): void => {
  it('keeps the projector’s read model and runs the saga’s commands through business logic', async () => {
    const dir = tempDir();
    const readModel = join(dir, 'accounts.json');
    const sample = await startSampleServices(readModel);
    const { commands, queries } = await startTestRuntime({ bus: bus(), ...sample.config });
    const [ada, bob] = [newRoot(), newRoot()];

    await commands.handle(command(ada, open('ada'), deposit(100)));
    await commands.handle(command(bob, open('bob')));
    await commands.handle(command(ada, { type: 'TransferMoney', toAccount: uuidFromBytes(bob), amount: 30 }));

    const accounts = await eventually(() => {
      const model = readAccounts(readModel);
      expect(model[uuidFromBytes(bob)]?.balance).toBe(30);
      return model;
    });
    expect(accounts[uuidFromBytes(ada)]).toEqual({ open: true, owner: 'ada', balance: 70, sequence: 2 });
    expect(accounts[uuidFromBytes(bob)]).toEqual({ open: true, owner: 'bob', balance: 30, sequence: 1 });
    const bobEvents = eventsOf(await queries.getEvents({ domain: 'account', root: { value: bob } }));
    expect(bobEvents.map((e) => e.type)).toEqual(['AccountOpened', 'TransferReceived']);
  });
};

describe('delivery over the memory bus', () => deliveryOver(() => ({ kind: 'memory' })));

describeWith('rabbitmq', 'delivery over the RabbitMQ bus', (amqpUrl) => {
  const exchanges: string[] = [];
  afterAll(async () => {
    for (const exchange of exchanges) {
      await deleteAmqpTopology(amqpUrl, exchange, ['projector:accounts', 'saga:transfers']);
    }
  });
  deliveryOver(() => {
    const exchange = `evented-test-${randomUUID()}`;
    exchanges.push(exchange);
    return { kind: 'amqp', url: amqpUrl, exchange };
  });
});

describe('delivery of large events', () => {
  it('stays under the projector’s 4 MiB message limit: a backlog of 7 MiB arrives in several HandleBatch calls', async () => {
    // Given a store holding 24 accounts whose opening event is 300 KB each (recorded before any projector)
    const first = await startTestRuntime({ bus: { kind: 'memory' } });
    const accounts = Array.from({ length: 24 }, () => newRoot());
    for (const root of accounts) await first.commands.record(events(root, opened('x'.repeat(300_000))));
    await first.runtime.close();

    // when a projector with gRPC's default limits (4 MiB per message) catches up on all of it at once,
    const projector = await startRecordingProjector();
    await startTestRuntime(
      {
        bus: { kind: 'memory' },
        projectors: { accounts: { address: projector.address, domains: ['account'] } },
      },
      { projectDir: first.projectDir },
    );

    // then every event arrives, in HandleBatch calls cut below the limit: none refused for its size, no
    // fallback to one call per book (a partition holding a single account sends it alone, with Handle).
    await eventually(() => expect(projector.delivered).toHaveLength(24));
    expect(projector.duplicates()).toEqual([]);
    expect(projector.calls.every((c) => c.keys.length === c.events)).toBe(true);
    expect(projector.calls.every((c) => c.method === 'handleBatch' || c.events === 1)).toBe(true);
    expect(projector.calls.length).toBeGreaterThanOrEqual(2);
  });
});
