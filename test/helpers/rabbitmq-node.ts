import { afterAll, beforeAll, describe } from 'vitest';
import { startLocalRabbitNode, type LocalRabbitNode } from '../../runtime/infra/rabbitmq/local-node.js';
import { findProgram } from '../../runtime/infra/rabbitmq/node-files.js';
import { tempDir } from './tmp.js';

/**
 * A private RabbitMQ node for one test file, for tests that stop and start the broker (never the machine's
 * shared broker on 5672). Started before the file's tests, always stopped after them, data in a temporary
 * folder. Runs when `rabbitmq-server` is installed; otherwise the suite is skipped loudly, or fails when
 * EVENTED_TEST_REQUIRE names rabbitmq.
 *
 *   describeWithLocalRabbit('reconnect', (node) => { it('…', async () => { await node().stop(); … }) });
 */
export const describeWithLocalRabbit = (title: string, body: (node: () => LocalRabbitNode) => void): void => {
  const installed = findProgram('rabbitmq-server').path !== undefined;
  const required = (process.env.EVENTED_TEST_REQUIRE ?? '')
    .split(',')
    .map((s) => s.trim())
    .includes('rabbitmq');
  if (!installed && !required) {
    console.warn(`skipping "${title}": rabbitmq-server is not installed (a private node is started from it)`);
    describe.skip(`${title} (needs rabbitmq-server)`, () => undefined);
    return;
  }
  describe(title, () => {
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
};
