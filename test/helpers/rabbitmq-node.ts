import { afterAll, beforeAll } from 'vitest';
import { startLocalRabbitNode, type LocalRabbitNode } from '../../runtime/infra/rabbitmq/local-node.js';
import { describeWith } from './services.js';
import { tempDir } from './tmp.js';

/**
 * A private RabbitMQ node for one test file, for tests that stop and start the broker (never the machine's
 * shared broker on 5672). Started before the file's tests, always stopped after them, data in a temporary
 * folder. Runs when `rabbitmq-server` is installed (the requirement `rabbitmq-server` of
 * test/helpers/services.ts); otherwise the suite is not run, and says so, or fails when EVENTED_TEST_REQUIRE names
 * rabbitmq-server.
 *
 *   describeWithLocalRabbit('reconnect', (node) => { it('…', async () => { await node().stop(); … }) });
 */
export const describeWithLocalRabbit = (title: string, body: (node: () => LocalRabbitNode) => void): void =>
  describeWith('rabbitmq-server', title, () => {
    let node: LocalRabbitNode | undefined;
    beforeAll(async () => {
      node = await startLocalRabbitNode({ dataDir: tempDir('evented-rabbit-') });
    }, 120_000);
    afterAll(async () => {
      await node?.stop();
    }, 60_000);
    body(() => {
      if (node === undefined) throw new Error('the private RabbitMQ node did not start');
      return node;
    });
  });
