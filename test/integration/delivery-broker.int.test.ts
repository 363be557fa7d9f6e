import { randomUUID } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import { command, deposit, newRoot, open } from '../helpers/account.js';
import { startSampleBusinessLogic } from '../helpers/business-logic.js';
import {
  foldAccounts,
  sequencesByAccount,
  startDeposits,
  startRecordingProjector,
  storedAccountBooks,
} from '../helpers/delivery.js';
import { eventually } from '../helpers/eventually.js';
import { startLocalRabbitNode } from '../../runtime/infra/rabbitmq/local-node.js';
import { describeWithLocalRabbit } from '../helpers/rabbitmq-node.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The broker goes away under load and comes back. Commands never depend on it (the store is the truth, the
 * outbox relay publishes when it can), and afterwards the projector has every event exactly once, in order per
 * aggregate: what the relay published twice around the outage, and what the broker delivered again, the
 * coordinator skipped. Runs on a private RabbitMQ node (never the machine's shared broker).
 */

describeWithLocalRabbit('delivery when the broker stops and starts under load', (node) => {
  let running: TestRuntime | undefined;
  afterEach(async () => {
    await running?.runtime.close(100);
    if (!node().running) await node().start();
  }, 120_000);

  it('takes every command while the broker is down, then delivers every event once and in order', async () => {
    const [logic, projector] = await Promise.all([startSampleBusinessLogic(), startRecordingProjector()]);
    running = await startTestRuntime({
      bus: { kind: 'amqp', url: node().url, exchange: `evented-test-${randomUUID()}` },
      domains: { account: { businessLogic: logic.address } },
      projectors: { recording: { address: projector.address, domains: ['account'] } },
      delivery: { maxBackoffMs: 1000 },
    });
    const { commands, queries } = running;
    const accounts = Array.from({ length: 10 }, () => newRoot());
    await Promise.all(accounts.map((root, i) => commands.handle(command(root, open(`owner ${i}`)))));

    // Given a load of commands, flowing through to the projector
    const load = startDeposits({ accounts, client: () => commands, workers: 8 });
    await eventually(() => expect(projector.delivered.length).toBeGreaterThanOrEqual(150), 60_000);

    // When the broker stops, and commands keep coming while it is down
    await node().stop();
    const whileDown = load.acknowledged.length;
    await eventually(() => expect(load.acknowledged.length).toBeGreaterThanOrEqual(whileDown + 150), 60_000);

    // and it starts again, with commands still coming
    await node().start();
    const afterRestart = load.acknowledged.length;
    await eventually(
      () => expect(load.acknowledged.length).toBeGreaterThanOrEqual(afterRestart + 50),
      60_000,
    );
    await load.stop();

    // Then no command failed: the broker is not on the command path
    expect(load.failures).toEqual([]);

    // and the projector gets every stored event: per account 0, 1, 2, … in order, with no gap and no repeat
    const books = await storedAccountBooks(queries);
    await eventually(() => expect(projector.sequences()).toEqual(sequencesByAccount(books)), 90_000, 250);
    expect(projector.duplicates()).toEqual([]);
    // so the read model built from every delivery is the one the store implies
    expect(projector.accounts()).toEqual(foldAccounts(books));
    expect(Object.values(sequencesByAccount(books)).flat().length).toBe(
      accounts.length + load.acknowledged.length,
    );
  }, 240_000);

  // A broker that loses its queued messages (restarted without its data, a deleted queue) must not lose events:
  // the consumer fills a hole before a batch's first position from the store, and when its position stands still
  // behind the store's head, it asks the store.
  it('delivers from the store what a broker that lost its data never delivered', async () => {
    const [logic, projector] = await Promise.all([startSampleBusinessLogic(), startRecordingProjector()]);
    running = await startTestRuntime({
      bus: { kind: 'amqp', url: node().url, exchange: `evented-test-${randomUUID()}` },
      domains: { account: { businessLogic: logic.address } },
      projectors: { recording: { address: projector.address, domains: ['account'] } },
      delivery: { maxBackoffMs: 500 },
    });
    const { commands, queries, runtime } = running;
    const accounts = Array.from({ length: 10 }, () => newRoot());
    await Promise.all(accounts.map((root, i) => commands.handle(command(root, open(`owner ${i}`)))));
    await eventually(() => expect(projector.delivered).toHaveLength(accounts.length), 30_000);

    // Given events that were published to the broker while the projector was down (waiting in its queue)
    projector.stop();
    for (const root of accounts) await commands.handle(command(root, deposit(5)));
    await eventually(
      () => expect(runtime.deliveryStatus().relay.checkpoint).toBe(2 * accounts.length),
      30_000,
    );

    // When the broker is replaced by one without its data (a container without a volume, a deleted queue)
    await node().stop();
    const fresh = await startLocalRabbitNode({ dataDir: tempDir('evented-rabbit-'), port: node().port });
    try {
      // and the projector comes back, and new events flow (to one account only)
      await projector.restart();
      await commands.handle(command(accounts[0]!, deposit(7)));

      // Then the projector still gets every stored event, once and in order: the store is the truth
      const books = await storedAccountBooks(queries);
      await eventually(() => expect(projector.sequences()).toEqual(sequencesByAccount(books)), 60_000, 250);
      expect(projector.duplicates()).toEqual([]);
    } finally {
      await running.runtime.close(100);
      await fresh.stop();
    }
  }, 240_000);
});
