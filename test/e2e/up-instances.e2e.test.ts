import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { command, deposit, newRoot, open } from '../helpers/account.js';
import {
  assertBuilt,
  errorLines,
  evented,
  isRunning,
  newProject,
  readRuntimeFile,
  runEvented,
  sampleBusinessLogicProcess,
} from '../helpers/cli.js';
import { commandClient } from '../helpers/clients.js';
import { startRecordingProjector } from '../helpers/delivery.js';
import { eventually } from '../helpers/eventually.js';
import { freePort, occupiedPort } from '../helpers/ports.js';
import { describeWith } from '../helpers/services.js';
import { uuidFromBytes } from '../../runtime/protocol/uuid.js';

/**
 * `evented up --instances N` as a user runs it: N real `evented serve` processes under one `up`, on a real
 * RabbitMQ and PostgreSQL (a schema of this file's own). Commands go to every instance; one instance is killed
 * with SIGKILL at a random moment while commands flow, and the others go on taking them; `up` shows it died,
 * `evented status` lists every instance, and `evented down` leaves no process. Checked from the store afterwards:
 * every acknowledged command stored exactly once, every stored event at the projector.
 */

const READY = /is ready, (\d+) instances: (.*)\. Ctrl-C/;
const STACK_FRAME = /^\s+at /m;

beforeAll(() => assertBuilt());

/** "instance-2 commands on 127.0.0.1:1323, …" → each instance's command handler, by name. */
const commandAddresses = (summary: string): Record<string, string> =>
  Object.fromEntries(
    [...summary.matchAll(/(instance-\d+) commands on ([^\s,;]+)/g)].map(([, n, at]) => [n!, at!]),
  );

describeWith('postgres', 'evented up --instances', (postgresUrl) => {
  describeWith('rabbitmq', 'on RabbitMQ and PostgreSQL', (amqpUrl) => {
    const schema = `up_instances_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    const db = new pg.Client({ connectionString: postgresUrl });
    beforeAll(() => db.connect());
    afterAll(async () => {
      await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await db.end();
    });

    /** (account, sequence) of every event stored, as "uuid#seq". */
    const storedKeys = async (): Promise<string[]> => {
      const { rows } = await db.query<{ root: Buffer; sequence: string }>(
        `SELECT root, sequence FROM ${schema}.events WHERE domain = 'account' ORDER BY root, sequence`,
      );
      return rows.map((row) => `${uuidFromBytes(new Uint8Array(row.root))}#${Number(row.sequence)}`);
    };

    it('runs 3 instances; commands to each are stored and projected; one killed, the others serve; down ends all', async () => {
      const projector = await startRecordingProjector();
      const logicPort = await freePort();
      const { dir, ports } = await newProject({
        store: { kind: 'postgres', url: postgresUrl, schema },
        domains: { account: { businessLogic: `127.0.0.1:${logicPort}` } },
        projectors: { accounts: { address: projector.address, domains: ['account'] } },
        processes: { 'business-logic': sampleBusinessLogicProcess(logicPort) },
      });

      // Given three instances, each with its own ports
      const up = evented(['up', dir, '--instances', '3', '--bus', amqpUrl, '--store', postgresUrl]);
      const [, count, summary] = await up.waitFor(READY, 90_000);
      expect(count).toBe('3');
      const addresses = commandAddresses(summary!);
      expect(Object.keys(addresses)).toEqual(['instance-1', 'instance-2', 'instance-3']);
      expect(Object.values(addresses)).toEqual(
        [0, 10, 20].map((offset) => `127.0.0.1:${ports.commands + offset}`),
      );
      const instances = readRuntimeFile(dir).components.filter((c) => c.kind === 'instance');
      expect(instances.map((c) => [c.name, c.roles])).toEqual(
        ['instance-1', 'instance-2', 'instance-3'].map((name) => [
          name,
          ['command', 'query', 'relay', 'projectors', 'sagas', 'admin'],
        ]),
      );
      const pids = Object.fromEntries(instances.map((c) => [c.name, c.pid!]));

      // When commands go to every instance, and instance-2 is killed (SIGKILL) at a random moment among them
      const clients = Object.fromEntries(
        Object.entries(addresses).map(([name, at]) => [name, commandClient(at)]),
      );
      const acknowledged: string[] = [];
      const total = 60;
      const killAt = 10 + Math.floor(Math.random() * 30);
      let killed = false;
      for (let i = 0; i < total; i++) {
        if (i === killAt) {
          process.kill(pids['instance-2']!, 'SIGKILL');
          killed = true;
        }
        const root = newRoot();
        const target = `instance-${(i % 3) + 1}`;
        try {
          await clients[target]!.handle(command(root, open('ada'), deposit(i + 1)));
          acknowledged.push(uuidFromBytes(root));
        } catch (err) {
          // Only the killed instance may refuse, and only once it was killed.
          expect({ target, killed }, (err as Error).message).toEqual({ target: 'instance-2', killed: true });
          // As a client behind a load balancer would: the same command to a live instance.
          await clients['instance-3']!.handle(command(root, open('ada'), deposit(i + 1)));
          acknowledged.push(uuidFromBytes(root));
        }
      }

      // Then up shows that it died, and the other two still take commands
      await up.waitFor(/failed\s+instance-2\s.*was killed by SIGKILL/, 15_000);
      // and, as the claims move, that the two survivors now hold every partition of the projector between them.
      await eventually(() => {
        const held = ['instance-1', 'instance-3'].flatMap((name) => partitionsShown(up.output(), name));
        expect(held.sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => i));
      }, 20_000);
      expect(isRunning(pids['instance-1']!)).toBe(true);
      expect(isRunning(pids['instance-3']!)).toBe(true);
      for (const name of ['instance-1', 'instance-3']) {
        const root = newRoot();
        await clients[name]!.handle(command(root, open('bo'), deposit(5)));
        acknowledged.push(uuidFromBytes(root));
      }

      // and every acknowledged command is stored exactly once (two events), and every stored event is projected
      const stored = await storedKeys();
      const expected = acknowledged.flatMap((account) => [`${account}#0`, `${account}#1`]).sort();
      expect(stored.slice().sort()).toEqual(expected);
      await eventually(() => {
        const delivered = new Set(projector.delivered.map((d) => `${d.account}#${d.sequence}`));
        expect(stored.filter((key) => !delivered.has(key))).toEqual([]);
      }, 30_000);

      // and `evented status` lists every instance: the dead one as not running (so: not healthy, exit 1)
      const status = await runEvented(['status', '--dir', dir]);
      expect(status.exitCode, status.stdout + status.stderr).toBe(1);
      expect(status.stdout).toMatch(
        new RegExp(`instance-1\\s+${pids['instance-1']}\\s+running\\s+${addresses['instance-1']}`),
      );
      expect(status.stdout).toMatch(new RegExp(`instance-2\\s+${pids['instance-2']}\\s+not running`));
      expect(status.stdout).toMatch(new RegExp(`instance-3\\s+${pids['instance-3']}\\s+running`));
      expect(status.stderr).toContain('not healthy: instance-2 is not running');

      // and `evented down` ends them all
      const recorded = readRuntimeFile(dir).components.flatMap((c) => (c.pid ? [c.pid] : []));
      expect(await runEvented(['down', dir])).toMatchObject({ exitCode: 0 });
      expect(await up.exited()).toEqual({ exitCode: 0, signal: undefined });
      expect(recorded.filter((pid) => isRunning(pid))).toEqual([]);
      expect(existsSync(join(dir, '.evented', 'runtime.json'))).toBe(false);
    }, 180_000);

    it('the instance named in runtime.json killed: status and the other commands turn to a live one', async () => {
      const logicPort = await freePort();
      const { dir } = await newProject({
        store: { kind: 'postgres', url: postgresUrl, schema },
        domains: { account: { businessLogic: `127.0.0.1:${logicPort}` } },
        processes: { 'business-logic': sampleBusinessLogicProcess(logicPort) },
      });
      const up = evented(['up', dir, '--instances', '2', '--bus', amqpUrl]);
      const [, , summary] = await up.waitFor(READY, 90_000);
      const addresses = commandAddresses(summary!);
      const first = readRuntimeFile(dir).components.find((c) => c.name === 'instance-1')!;
      expect(readRuntimeFile(dir).commandHandler).toBe(addresses['instance-1']);

      process.kill(first.pid!, 'SIGKILL');
      await up.waitFor(/failed\s+instance-1\s/, 15_000);

      await eventually(() => expect(readRuntimeFile(dir).commandHandler).toBe(addresses['instance-2']));
      const status = await runEvented(['status', '--dir', dir]);
      expect(status.stdout).toMatch(/instance-1\s+\d+\s+not running/);
      expect(status.stdout).toMatch(/instance-2\s+\d+\s+running/);
      const sent = await runEvented(['status', '--dir', dir, '--json']);
      expect(JSON.parse(sent.stdout)).toMatchObject({ instances: [{ running: false }, { running: true }] });

      expect(await runEvented(['down', dir])).toMatchObject({ exitCode: 0 });
      expect(await up.exited()).toEqual({ exitCode: 0, signal: undefined });
    }, 120_000);
  });
});

/** The projector `accounts`' partitions the last line of up's view for `name` shows it holding. */
const partitionsShown = (output: string, name: string): number[] => {
  const lines = output
    .split('\n')
    .filter((line) => new RegExp(`^ready\\s+${name}\\s.*partitions: `).test(line));
  const ranges = /partitions: .*?accounts ([\d,-]+)/.exec(lines.at(-1) ?? '')?.[1];
  return (ranges ?? '')
    .split(',')
    .filter(Boolean)
    .flatMap((range) => {
      const [from, to = from] = range.split('-').map(Number);
      return Array.from({ length: to! - from! + 1 }, (_, i) => from! + i);
    });
};

describe('evented up --instances: what is refused', () => {
  it('more than one instance on the in-process bus: one line saying to add --bus rabbitmq; nothing started', async () => {
    const { dir } = await newProject({});
    const up = evented(['up', dir, '--instances', '2']);
    const { exitCode } = await up.exited();
    expect(errorLines(up.output()), up.output()).toEqual([
      "error: --instances 2: the in-process bus reaches only its own process, so the instances would not see each other's events: add --bus rabbitmq (or --bus amqp://…); the store may stay SQLite on this machine, or --store postgres://…",
    ]);
    expect(exitCode).toBe(1);
    expect(up.output()).not.toMatch(STACK_FRAME);
    expect(up.output()).not.toContain('starting');
    expect(existsSync(join(dir, '.evented', 'runtime.json'))).toBe(false);
    const logs = join(dir, '.evented', 'logs');
    expect(existsSync(logs) ? readdirSync(logs).filter((f) => f.startsWith('instance-')) : []).toEqual([]);
  });

  it('a busy port of instance 2 (the configured one + 10): one line naming it, before anything starts', async () => {
    const busy = await occupiedPort();
    const { dir } = await newProject({ ports: { commands: busy - 10 } });
    // The broker is never reached: the ports are checked first.
    const up = evented(['up', dir, '--instances', '2', '--bus', 'amqp://guest:guest@127.0.0.1:1']);
    const { exitCode } = await up.exited();
    expect(errorLines(up.output()), up.output()).toEqual([
      `error: port ${busy} is already in use (commandHandler.port + 10 for instance-2: 127.0.0.1:${busy})`,
    ]);
    expect(exitCode).toBe(1);
    expect(up.output()).not.toContain('starting');
  });

  it('evented serve: --store, --bus and --port-offset that it cannot take are usage errors', async () => {
    const { dir } = await newProject({});
    const cases = [
      [['--store', 'mongo'], 'error: --store mongo: expected sqlite, a postgres:// URL or a mongodb:// URL'],
      [['--bus', 'rabbitmq'], 'error: --bus rabbitmq: expected memory or an amqp:// URL'],
      [['--port-offset', '-10'], 'error: --port-offset -10: expected a whole number, 0 or more'],
    ] as const;
    for (const [args, line] of cases) {
      const serve = evented(['serve', dir, ...args]);
      const { exitCode } = await serve.exited();
      expect(errorLines(serve.output()), serve.output()).toEqual([line]);
      expect(exitCode).toBe(2);
    }
  });

  it('--instances that is not a whole number from 1 to 16 is a usage error', async () => {
    const { dir } = await newProject({});
    for (const value of ['0', '2.5', 'many', '17']) {
      const up = evented(['up', dir, '--instances', value]);
      const { exitCode } = await up.exited();
      expect(errorLines(up.output())).toEqual([
        `error: --instances ${value}: expected a whole number from 1 to 16`,
      ]);
      expect(exitCode).toBe(2);
    }
  });
});
