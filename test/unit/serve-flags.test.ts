import { describe, expect, it } from 'vitest';
import { configSchema } from '../../runtime/config/schema.js';
import { ConfigError } from '../../runtime/errors/index.js';
import { serversFromLines } from '../../runtime/up/instances.js';
import { applyServeFlags } from '../../runtime/up/serve-flags.js';

/**
 * `evented serve --store/--bus/--port-offset` (how `up --instances` runs instance k): what each changes in the
 * configuration read, and how `up` reads back where an instance listens from what it prints.
 */

const config = configSchema.parse({
  store: { kind: 'postgres', url: 'postgres://a@127.0.0.1/x', schema: 'bank', poolSize: 3 },
  queryHandler: { port: 0 },
  health: { port: 1319 },
  metrics: {},
});

describe('applyServeFlags', () => {
  it('--port-offset moves every configured port, and leaves 0 (any free port) alone', () => {
    const moved = applyServeFlags(config, { portOffset: 20 });
    expect([
      moved.commandHandler.port,
      moved.queryHandler.port,
      moved.projectorCoordinator.port,
      moved.sagaCoordinator.port,
      moved.admin.port,
      moved.health?.port,
      moved.metrics?.port,
      moved.console.port,
    ]).toEqual([1333, 0, 1335, 1768, 1336, 1339, 1338, 1337]);
    expect(applyServeFlags(config, {})).toBe(config);
  });

  it('a port pushed past 65535 is one configuration error', () => {
    const offset = (): unknown => applyServeFlags(config, { portOffset: 65_000 });
    expect(offset).toThrow(ConfigError);
    expect(offset).toThrow(/^--port-offset 65000: a port would be 66748, past 65535$/);
  });

  it('--store with a URL of the same kind keeps the schema and pool; of another kind, its defaults', () => {
    expect(applyServeFlags(config, { store: 'postgres://b@10.0.0.1/y' }).store).toEqual({
      kind: 'postgres',
      url: 'postgres://b@10.0.0.1/y',
      schema: 'bank',
      poolSize: 3,
    });
    expect(applyServeFlags(config, { store: 'mongodb://10.0.0.1/?replicaSet=rs0' }).store).toMatchObject({
      kind: 'mongodb',
      database: 'evented',
    });
    expect(applyServeFlags(config, { store: 'sqlite' }).store).toMatchObject({ kind: 'sqlite' });
  });

  it('--bus memory or an amqp:// URL', () => {
    expect(applyServeFlags(config, { bus: 'amqp://guest:guest@127.0.0.1:5672' }).bus).toMatchObject({
      kind: 'amqp',
      url: 'amqp://guest:guest@127.0.0.1:5672',
    });
    expect(applyServeFlags(config, { bus: 'memory' }).bus).toEqual({ kind: 'memory' });
    expect(() => applyServeFlags(config, { bus: 'rabbitmq' })).toThrow(ConfigError);
  });
});

describe('serversFromLines', () => {
  it("reads an instance's servers from its two serving lines", () => {
    expect(
      serversFromLines([
        'some earlier line',
        'evented serving bank: commands on 127.0.0.1:1323, queries on 127.0.0.1:1324, store postgres at postgres://a@h/x',
        '  admin on 127.0.0.1:1326; bus amqp (amqp://guest@127.0.0.1:5672); projectors: accounts; sagas: none',
      ]),
    ).toEqual({ commands: '127.0.0.1:1323', queries: '127.0.0.1:1324', admin: '127.0.0.1:1326' });
    expect(serversFromLines(['starting…'])).toBeUndefined();
    expect(
      serversFromLines([
        'evented serving bank: commands on 127.0.0.1:1323, queries on 127.0.0.1:1324, store sqlite at /x',
        '  admin on 127.0.0.1:1326; metrics on http://127.0.0.1:1328/metrics; bus memory (in-process)',
      ])?.metrics,
    ).toBe('http://127.0.0.1:1328/metrics');
    expect(
      serversFromLines([
        'evented serving bank: commands on 127.0.0.1:1323, queries on 127.0.0.1:1324, store sqlite at /x',
        '  admin on 127.0.0.1:1326; console on http://127.0.0.1:1327/; bus memory (in-process)',
      ])?.console,
    ).toBe('http://127.0.0.1:1327/');
  });

  it('finds the second serving line after a log line the runtime wrote between the two (same output)', () => {
    expect(
      serversFromLines([
        'evented serving bank: commands on 127.0.0.1:1313, queries on 127.0.0.1:1314, store sqlite at /p/.evented/events.db',
        '{"level":30,"pid":20611,"msg":"relay lease held"}',
        '  admin on 127.0.0.1:1316; bus amqp (amqp://guest@127.0.0.1:5672); projectors: accounts; sagas: transfers',
      ]),
    ).toEqual({ commands: '127.0.0.1:1313', queries: '127.0.0.1:1314', admin: '127.0.0.1:1316' });
  });
});
