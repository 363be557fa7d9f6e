import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, expect, it } from 'vitest';
import { configSchema, ConfigError, startRuntime } from '../../runtime/index.js';
import { command, newRoot, open } from '../helpers/account.js';
import { startSampleBusinessLogic } from '../helpers/business-logic.js';
import { deleteAmqpTopology } from '../helpers/delivery.js';
import { startTestRuntime } from '../helpers/runtime.js';
import { describeWith } from '../helpers/services.js';
import { scratchNames } from '../helpers/store-adapter.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * `store.url` and `bus.url` given as `{ env: NAME }`: read from the runtime's environment when it starts (what
 * the Kubernetes manifests do, from Secrets), so that a password is written in no file.
 */

describeWith('postgres', 'URLs read from the environment', (postgresUrl) => {
  const schemas = scratchNames();
  afterAll(async () => {
    const admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    const { rows } = await admin.query<{ name: string }>(
      'SELECT nspname AS name FROM pg_namespace WHERE starts_with(nspname, $1)',
      [schemas.run],
    );
    for (const { name } of rows) await admin.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
    await admin.end();
  });

  describeWith('rabbitmq', 'with RabbitMQ', (amqpUrl) => {
    const exchange = `evented-test-${randomUUID()}`;
    afterAll(() => deleteAmqpTopology(amqpUrl, exchange, []));

    it('opens the store and the broker the variables name, and serves commands', async () => {
      const logic = await startSampleBusinessLogic();
      const test = await startTestRuntime(
        {
          store: { kind: 'postgres', url: { env: 'TEST_STORE_URL' }, schema: schemas.next() },
          bus: { kind: 'amqp', url: { env: 'TEST_BUS_URL' }, exchange },
          domains: { account: { businessLogic: logic.address } },
        },
        { env: { TEST_STORE_URL: postgresUrl, TEST_BUS_URL: amqpUrl } },
      );
      expect(test.runtime.store.kind).toBe('postgres');
      const response = await test.commands.handle(command(newRoot(), open()));
      expect(response.books[0]?.pages).toHaveLength(1);
      expect(test.runtime.deliveryStatus().bus.kind).toBe('amqp');
      await test.runtime.close(100);
      await logic.process.stop();
    });
  });

  it('refuses to start when a variable is not set, naming the key and the variable', async () => {
    const config = configSchema.parse({
      store: { kind: 'postgres', url: { env: 'NO_SUCH_STORE_URL' }, schema: schemas.next() },
      commandHandler: { port: 0 },
      queryHandler: { port: 0 },
      admin: { port: 0 },
      console: { port: 0 },
    });
    const started = startRuntime(config, {
      projectDir: tempDir(),
      logger: pino({ level: 'silent' }),
      env: {},
    });
    await expect(started).rejects.toBeInstanceOf(ConfigError);
    await expect(started).rejects.toThrow('store.url: the environment variable NO_SUCH_STORE_URL is not set');
  });
});
