import { randomUUID } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { uuidFromBytes } from '../../runtime/protocol/uuid.js';
import { newRoot } from '../helpers/account.js';
import { coverOf, eventBook, forced, payload, range } from '../helpers/books.js';
import { deleteAmqpTopology, isContiguousFromZero, startRecordingProjector } from '../helpers/delivery.js';
import { commandClient } from '../helpers/clients.js';
import { eventually } from '../helpers/eventually.js';
import { startTestRuntime } from '../helpers/runtime.js';
import { freePort } from '../helpers/ports.js';
import { describeWith } from '../helpers/services.js';

/**
 * A relay round larger than the broker's message limit used to be refused whole, and published again forever:
 * three books of 50 × 1 MiB events made one 157 MB message, RabbitMQ refuses more than 128 MiB, and nothing was
 * delivered after. Rounds are cut into messages below bus.maxMessageBytes (4 MiB by default).
 */

const MiB = 1024 * 1024;

describeWith('rabbitmq', 'bus messages cut by size', (url) => {
  const exchange = `evented-test-${randomUUID()}`;
  afterAll(() => deleteAmqpTopology(url, exchange, ['projector:accounts']));

  it('delivers three books of 50 × 1 MiB events to a projector, each aggregate in order', async () => {
    // Given three books of 50 events of just under 1 MiB each, stored while the broker could not be reached (so
    // that the relay finds all 150 events, 150 MiB, in its first round),
    const down = `amqp://guest:guest@127.0.0.1:${await freePort()}`;
    const first = await startTestRuntime({
      bus: { kind: 'amqp', url: down, exchange },
      commandHandler: { maxBookBytes: 64 * MiB },
    });
    // (Record answers with the stored book: 50 MiB)
    const commands = commandClient(first.runtime.commandHandler.address, {
      maxReceiveMessageBytes: 64 * MiB,
    });
    const roots = [newRoot(), newRoot(), newRoot()];
    const heavy = () => forced(payload('test/Heavy', new Uint8Array(MiB - 64)));
    for (const root of roots) {
      await commands.record(eventBook(coverOf('account', root), range(0, 50).map(heavy)), 60_000);
    }
    expect(first.runtime.deliveryStatus().relay.published).toBe(0);
    await first.runtime.close(100);

    // when the runtime comes back with the broker and a projector,
    const projector = await startRecordingProjector();
    const { runtime } = await startTestRuntime(
      {
        bus: { kind: 'amqp', url, exchange },
        commandHandler: { maxBookBytes: 64 * MiB },
        projectors: { accounts: { address: projector.address, domains: ['account'] } },
      },
      { projectDir: first.projectDir },
    );

    // then the relay publishes the round (in messages the broker takes), and every event reaches the projector,
    // once, in sequence order per aggregate.
    await eventually(
      () => expect(runtime.deliveryStatus().relay).toMatchObject({ state: 'running', published: 150 }),
      120_000,
      200,
    );
    await eventually(() => expect(projector.delivered).toHaveLength(150), 60_000, 200);
    for (const root of roots) {
      expect(isContiguousFromZero(projector.sequences()[uuidFromBytes(root)] ?? [])).toBe(true);
    }
    expect(projector.duplicates()).toEqual([]);
  }, 180_000);
});
