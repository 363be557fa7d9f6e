import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { command, deposit, newRoot, open } from '../helpers/account.js';
import { startSampleBusinessLogic, startSampleSaga } from '../helpers/business-logic.js';
import {
  assertBuilt,
  errorLines,
  freeRuntimePorts,
  newProject,
  runEvented,
  startServeAs,
  type ProjectConfig,
  type RoleProcess,
} from '../helpers/cli.js';
import { commandClient, queryClient } from '../helpers/clients.js';
import {
  deleteAmqpTopology,
  foldAccounts,
  sequencesByAccount,
  startRecordingProjector,
  storedAccountBooks,
  transfersInStore,
} from '../helpers/delivery.js';
import { eventually } from '../helpers/eventually.js';
import { healthCheck } from '../helpers/health.js';
import { describeWith } from '../helpers/services.js';
import { dropScratchSchemas, scratchNames } from '../helpers/store-adapter.js';
import { uuidFromBytes } from '../../runtime/protocol/uuid.js';
import { pino } from 'pino';
import { configSchema, ROLES, startRuntime, type Role } from '../../runtime/index.js';
import { adminCalls } from '../helpers/clients.js';
import { startScriptedBusinessLogic } from '../helpers/business-logic.js';
import { acceptWith } from '../helpers/books.js';
import { startTransfersSaga } from '../helpers/delivery.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * A deployment split by role: each role in `evented serve --role …` processes of its own, on one PostgreSQL schema
 * and one RabbitMQ exchange. Each process starts only what its roles need: commands are stored by the command
 * process, published by the relay process alone (nothing reaches a projector before it runs), delivered by the
 * projectors process, carried by the sagas process back to the command process; the admin process says which
 * roles it holds, replays and rebuilds projectors that another process delivers, and refuses, with the role
 * they need, a saga's replay and dead-letter decisions, which need a coordinator it does not run. Every process answers health checks and stops cleanly on SIGTERM.
 */

const transfer = (to: Uint8Array, amount: number) =>
  ({ type: 'TransferMoney', toAccount: uuidFromBytes(to), amount }) as const;

/** Every role's process answers grpc.health.v1 on each server its READY line names. */
const expectHealthy = async (processes: RoleProcess[]): Promise<void> => {
  for (const { roles, servers } of processes) {
    expect(Object.keys(servers), `the servers of ${roles.join(',')}`).not.toEqual([]);
    for (const address of Object.values(servers)) expect(await healthCheck(address, '')).toBe('SERVING');
  }
};

/** SIGTERM: each process drains and exits 0. */
const expectStopsCleanly = async (processes: RoleProcess[]): Promise<void> => {
  const exits = await Promise.all(processes.map(({ process }) => process.stop('SIGTERM')));
  expect(exits).toEqual(processes.map(() => ({ exitCode: 0, signal: undefined })));
};

beforeAll(() => assertBuilt());

describeWith('postgres', 'a deployment split by role', (postgresUrl) => {
  describeWith('rabbitmq', 'on one PostgreSQL schema and one RabbitMQ exchange', (amqpUrl) => {
    const schemas = scratchNames();
    const exchanges: string[] = [];
    afterAll(async () => {
      for (const exchange of exchanges) {
        await deleteAmqpTopology(amqpUrl, exchange, ['projector:recording', 'saga:transfers']);
      }
      await dropScratchSchemas(postgresUrl, schemas.run);
    });

    /** evented.yaml of a split deployment: every server on a free port of its own, so one file serves all roles. */
    const deployment = async (services: Pick<ProjectConfig, 'domains' | 'projectors' | 'sagas'>) => {
      const exchange = `evented-test-${randomUUID()}`;
      exchanges.push(exchange);
      const ports = await freeRuntimePorts();
      const config: ProjectConfig = {
        name: 'bank',
        log: { level: 'warn' },
        store: { kind: 'postgres', url: postgresUrl, schema: schemas.next(), poolSize: 4 },
        bus: { kind: 'amqp', url: amqpUrl, exchange },
        commandHandler: { address: `127.0.0.1:${ports.commands}` },
        ...services,
        ports,
      };
      return { config, ...(await newProject(config)) };
    };

    it('command, query, relay, projectors, sagas and admin each in a process of its own', async () => {
      const [logic, projector, saga] = await Promise.all([
        startSampleBusinessLogic(),
        startRecordingProjector(),
        startSampleSaga(),
      ]);
      const { dir, ports } = await deployment({
        domains: { account: { businessLogic: logic.address } },
        projectors: { recording: { address: projector.address, domains: ['account'] } },
        sagas: { transfers: { address: saga.address, domains: ['account'] } },
      });
      const at = (port: number): string => `127.0.0.1:${port}`;

      // Given a process for each role but the relay and the sagas, each running the servers of its role alone
      const [commands, queries, projectors, admin] = await Promise.all(
        ['command', 'query', 'projectors', 'admin'].map((role) => startServeAs(dir, role)),
      );
      expect(commands!.servers).toEqual({ commands: at(ports.commands) });
      expect(queries!.servers).toEqual({ queries: at(ports.queries) });
      expect(projectors!.servers).toEqual({ projectors: at(ports.projectors) });
      expect(admin!.servers).toEqual({ admin: at(ports.admin) });

      // when commands are sent to the command process (a transfer among them),
      const client = commandClient(commands!.servers.commands!);
      const [from, to] = [newRoot(), newRoot()];
      await client.handle(command(from, open('ada'), deposit(100)));
      await client.handle(command(to, open('grace')));
      await client.handle(command(from, transfer(to, 30)));

      // then they are stored, and no process publishes them: the relay runs in none of these.
      const reader = queryClient(queries!.servers.queries!);
      expect(sequencesByAccount(await storedAccountBooks(reader))).toEqual({
        [uuidFromBytes(from)]: [0, 1, 2],
        [uuidFromBytes(to)]: [0],
      });
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(projector.delivered).toEqual([]);

      // When the relay process starts (it answers health checks on `health`, its only server),
      const relay = await startServeAs(dir, 'relay');
      expect(relay.servers).toEqual({ health: at(ports.health) });

      // then the projectors process delivers every stored event to the projector, in order,
      await eventually(async () => {
        expect(projector.sequences()).toEqual(sequencesByAccount(await storedAccountBooks(reader)));
      }, 30_000);
      // and the transfer waits for the sagas' process: nothing else carries it.
      expect(transfersInStore(await storedAccountBooks(reader)).received).toEqual({});

      // When the sagas process starts, the saga's command reaches the command process (commandHandler.address)
      const sagas = await startServeAs(dir, 'sagas');
      expect(sagas.servers).toEqual({ sagas: at(ports.sagas) });
      await eventually(async () => {
        const { out, received } = transfersInStore(await storedAccountBooks(reader));
        expect(received).toEqual(out);
        expect(Object.keys(out)).toHaveLength(1);
      }, 30_000);
      // and what it produced is delivered too.
      await eventually(async () => {
        const books = await storedAccountBooks(reader);
        expect(projector.sequences()).toEqual(sequencesByAccount(books));
        expect(projector.accounts()).toEqual(foldAccounts(books));
      }, 30_000);
      expect(projector.duplicates()).toEqual([]);

      // The admin process says which roles it holds, and lists only what it runs: the store.
      const shown = await runEvented(['status', '--address', admin!.servers.admin!, '--json']);
      expect(shown.exitCode).toBe(0);
      const held = JSON.parse(shown.stdout) as {
        roles: string[];
        components: { name: string }[];
        subscribers: unknown[];
      };
      expect(held.roles).toEqual(['admin']);
      // The store, and the web console it serves (role admin).
      expect(held.components.map((c) => c.name)).toEqual(['store', 'console']);
      expect(held.subscribers).toEqual([]);
      const table = await runEvented(['status', '--address', admin!.servers.admin!]);
      expect(table.stdout).toMatch(/^bank \(evented \S+\): store head at position 5\nroles: admin\n/);
      expect(table.stdout).toContain('The projectors and sagas run in other processes.');

      // It lists dead letters from the store; it replays and rebuilds a projector that the projectors process
      // delivers (pausing that process's live delivery meanwhile: test/integration/replay-across.int.test.ts),
      expect(await runEvented(['dlq', 'list', '--address', admin!.servers.admin!])).toMatchObject({
        exitCode: 0,
      });
      for (const args of [
        ['replay', '--projector', 'recording'],
        ['rebuild', 'recording'],
      ]) {
        const replayed = await runEvented([...args, '--address', admin!.servers.admin!]);
        expect(replayed.exitCode, `${args.join(' ')}: ${replayed.stderr}`).toBe(0);
      }
      expect(projector.resets).toBe(1);
      expect(projector.delivered.some((d) => d.replay)).toBe(true);
      // and refuses, in one line naming the role, what needs the coordinator of a subscriber it does not deliver
      // to: a saga's replay (its commands go out again) and dead-letter decisions.
      for (const args of [
        ['replay', '--saga', 'transfers'],
        ['dlq', 'retry', '--subscriber', 'recording'],
      ]) {
        const refused = await runEvented([...args, '--address', admin!.servers.admin!]);
        expect(refused.exitCode, args.join(' ')).toBe(1);
        const kind = args.includes('--saga') ? 'saga' : 'projector';
        const name = kind === 'saga' ? 'transfers' : 'recording';
        expect(errorLines(refused.stderr)).toEqual([
          expect.stringMatching(
            new RegExp(
              `^error: ${kind} "${name}" is delivered by the processes holding the role ${kind}s, and this one holds admin: .* \\(evented serve --role admin,${kind}s\\)$`,
            ),
          ),
        ]);
        expect(refused.stderr).not.toMatch(/^\s+at /m);
      }
      // (the refusal is FAILED_PRECONDITION, as a script reading --json sees it)
      const json = await runEvented([
        'replay',
        '--saga',
        'transfers',
        '--json',
        '--address',
        admin!.servers.admin!,
      ]);
      expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: 'FAILED_PRECONDITION' } });

      // Every process answers health checks, and stops cleanly on SIGTERM.
      const all = [commands!, queries!, projectors!, admin!, relay, sagas];
      await expectHealthy(all);
      await expectStopsCleanly(all);
    }, 180_000);

    it('two processes for each of command, query and admin, beside one with the relay and the projectors', async () => {
      const [logic, projector] = await Promise.all([startSampleBusinessLogic(), startRecordingProjector()]);
      const services = {
        domains: { account: { businessLogic: logic.address } },
        projectors: { recording: { address: projector.address, domains: ['account'] } },
      };
      const first = await deployment(services);
      // The second of each role listens on ports of its own (on one machine), with the same store and bus.
      const second = await newProject({ ...first.config, ports: await freeRuntimePorts() });
      const processes = await Promise.all([
        startServeAs(first.dir, 'command,query,admin'),
        startServeAs(second.dir, 'command,query,admin'),
        startServeAs(first.dir, 'relay,projectors'),
      ]);
      const [one, two] = processes;

      // Deposits on the same accounts through both command processes at once: each stored once, in order,
      const accounts = [newRoot(), newRoot(), newRoot()];
      const clients = [one!, two!].map((it) => commandClient(it.servers.commands!));
      await Promise.all(accounts.map((root, i) => clients[i % 2]!.handle(command(root, open(`owner ${i}`)))));
      const sent = 40;
      const results = await Promise.allSettled(
        Array.from({ length: sent }, (_, i) =>
          clients[i % 2]!.handle(command(accounts[i % accounts.length]!, deposit(1))),
        ),
      );
      // (a command that lost the race to the other process more than conflictRetries times is ABORTED, unstored)
      const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as { code: number }] : []));
      expect(refused.filter(({ code }) => code !== status.ABORTED)).toEqual([]);
      const ok = sent - refused.length;
      expect(ok).toBeGreaterThan(sent / 2);
      const books = await storedAccountBooks(queryClient(two!.servers.queries!));
      expect(Object.values(foldAccounts(books)).reduce((sum, account) => sum + account.balance, 0)).toBe(ok);
      expect(Object.values(sequencesByAccount(books)).flat()).toHaveLength(accounts.length + ok);

      // both query processes answer the same, and the projector gets every event, in order, once.
      expect(await storedAccountBooks(queryClient(one!.servers.queries!))).toEqual(books);
      await eventually(() => expect(projector.sequences()).toEqual(sequencesByAccount(books)), 30_000);
      expect(projector.duplicates()).toEqual([]);

      // Each admin process answers for itself.
      for (const it of [one!, two!]) {
        const shown = await runEvented(['status', '--address', it.servers.admin!, '--json']);
        expect(JSON.parse(shown.stdout)).toMatchObject({ roles: ['command', 'query', 'admin'] });
      }
      await expectHealthy(processes);
      await expectStopsCleanly(processes);
    }, 180_000);

    /** Every non-empty set of roles: 63 of them, the last holding all six. */
    const roleSets = (): Role[][] =>
      Array.from({ length: 2 ** ROLES.length - 1 }, (_, i) => ROLES.filter((_, bit) => ((i + 1) >> bit) & 1));

    it('every set of roles starts the servers, coordinators and relay of its roles only, and closes', async () => {
      const [logic, projector, saga] = await Promise.all([
        startScriptedBusinessLogic(acceptWith(1)),
        startRecordingProjector(),
        startTransfersSaga(),
      ]);
      const { config } = await deployment({
        domains: { account: { businessLogic: logic.address } },
        projectors: { recording: { address: projector.address, domains: ['account'] } },
        sagas: { transfers: { address: saga.address, domains: ['account'] } },
      });
      const { ports: _ports, ...user } = config;
      const resolved = configSchema.parse({
        ...user,
        commandHandler: { ...user.commandHandler, port: 0 },
        queryHandler: { port: 0 },
        projectorCoordinator: { port: 0 },
        sagaCoordinator: { port: 0 },
        admin: { port: 0 },
        console: { port: 0 },
        health: { port: 0 },
      });
      const projectDir = tempDir();
      for (const roles of roleSets()) {
        const runtime = await startRuntime(resolved, {
          projectDir,
          roles,
          logger: pino({ level: 'silent' }),
        });
        try {
          const holds = (role: Role): boolean => roles.includes(role);
          const servers = {
            'command handler': runtime.commandHandler,
            'query handler': runtime.queryHandler,
            'projector coordinator': runtime.projectorCoordinator,
            'saga coordinator': runtime.sagaCoordinator,
            admin: runtime.admin,
            health: runtime.health,
          };
          const expected = {
            'command handler': holds('command'),
            'query handler': holds('query'),
            'projector coordinator': holds('projectors'),
            'saga coordinator': holds('sagas'),
            admin: holds('admin'),
            health: !['command', 'query', 'projectors', 'sagas', 'admin'].some((role) => holds(role as Role)),
          };
          const what = roles.join(',');
          expect(runtime.roles, what).toEqual(roles);
          expect(
            Object.fromEntries(Object.entries(servers).map(([name, server]) => [name, server !== undefined])),
            what,
          ).toEqual(expected);
          for (const server of Object.values(servers)) {
            if (server) expect(await healthCheck(server.address, ''), what).toBe('SERVING');
          }
          const delivery = runtime.deliveryStatus();
          expect(
            {
              bus: delivery.bus !== undefined,
              relay: delivery.relay !== undefined,
              projectors: delivery.projectors.map((it) => it.name),
              sagas: delivery.sagas.map((it) => it.name),
            },
            what,
          ).toEqual({
            bus: holds('relay') || holds('projectors') || holds('sagas'),
            relay: holds('relay'),
            projectors: holds('projectors') ? ['recording'] : [],
            sagas: holds('sagas') ? ['transfers'] : [],
          });
          if (runtime.admin) {
            const status = await adminCalls(runtime.admin.address).status();
            expect(status.roles, what).toEqual(roles);
            expect(status.components.map((it) => it.name).sort(), what).toEqual(
              [
                'store',
                'console',
                ...(delivery.bus ? ['bus'] : []),
                ...(holds('relay') ? ['relay'] : []),
                ...(holds('command') ? ['command handler', 'business logic account'] : []),
                ...(holds('query') ? ['query handler'] : []),
                ...(holds('projectors') ? ['projector coordinator', 'projector recording'] : []),
                ...(holds('sagas') ? ['saga coordinator', 'saga transfers'] : []),
              ].sort(),
            );
          }
        } finally {
          await runtime.close(1000);
        }
      }
    }, 300_000);
  });
});
