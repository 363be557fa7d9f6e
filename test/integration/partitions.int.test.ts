import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPostgresEventStore } from '../../runtime/store/postgres/index.js';
import type { EventStore, PartitionClaim } from '../../runtime/store/port.js';
import { command, deposit, newRoot, open } from '../helpers/account.js';
import { startSampleBusinessLogic } from '../helpers/business-logic.js';
import {
  assertBuilt,
  newProject,
  runEvented,
  startServeAs,
  type ProjectConfig,
  type RoleProcess,
} from '../helpers/cli.js';
import type { RuntimeStatus } from '../../runtime/protocol/gen/evented/evented.js';
import { commandClient, queryClient } from '../helpers/clients.js';
import {
  deleteAmqpTopology,
  sequencesByAccount,
  startRecordingProjector,
  storedAccountBooks,
} from '../helpers/delivery.js';
import { eventually } from '../helpers/eventually.js';
import { callsOf, firstDeliveries, holders, isOf, overlaps } from '../helpers/processes-on-one-store.js';
import { describeWith } from '../helpers/services.js';
import { dropScratchSchemas, scratchNames } from '../helpers/store-adapter.js';

/**
 * Partitioned delivery across real `evented serve` processes on one PostgreSQL schema and one RabbitMQ exchange:
 * a command process (command, query, relay) and three processes holding the role projectors, each calling the
 * one projector "recording" through an endpoint of its own (so every call says which process made it), while
 * commands flow. Then the process holding the most partitions is killed with SIGKILL, and a fourth one joins.
 *
 * Invariants, checked on every call the projector got and against the store: a partition is never delivered by
 * two processes at once (calls of one partition from different processes never overlap in time); every stored
 * event reaches the projector, and each aggregate's events come in order on first delivery; the partitions are
 * shared out about evenly; a killed process's partitions are taken over once its claims expire, and a process
 * that joins takes its share within seconds (both times are printed).
 */

const PARTITIONS = 16;
const CLAIM_TTL_MS = 5000;
const GROUP = 'projector:recording';

beforeAll(() => assertBuilt());

describeWith('postgres', 'partitioned delivery', (postgresUrl) => {
  describeWith('rabbitmq', 'across evented serve processes', (amqpUrl) => {
    const schemas = scratchNames();
    const exchange = `evented-test-${randomUUID()}`;
    const stores: EventStore[] = [];
    const running: RoleProcess[] = [];
    afterAll(async () => {
      await Promise.all(running.map(({ process }) => process.stop('SIGKILL')));
      await Promise.all(stores.map((store) => store.close()));
      await deleteAmqpTopology(amqpUrl, exchange, [GROUP]);
      await dropScratchSchemas(postgresUrl, schemas.run);
    });

    it('never delivers a partition from two processes at once; takes over a killed holder; shares with a newcomer', async () => {
      const schema = schemas.next();
      const logic = await startSampleBusinessLogic();
      const projectors = await Promise.all([0, 1, 2, 3].map(() => startRecordingProjector({ delayMs: 5 })));
      /** A project folder of its own per process (its own ports), all on one store and one exchange. */
      const projectFor = async (endpoint: number) => {
        const config: ProjectConfig = {
          name: 'bank',
          log: { level: 'warn' },
          store: { kind: 'postgres', url: postgresUrl, schema, poolSize: 4 },
          bus: { kind: 'amqp', url: amqpUrl, exchange },
          domains: { account: { businessLogic: logic.address } },
          projectors: { recording: { address: projectors[endpoint]!.address, domains: ['account'] } },
          delivery: { partitions: PARTITIONS, claimTtlMs: CLAIM_TTL_MS },
        };
        return newProject(config);
      };
      const serve = async (endpoint: number, roles: string): Promise<RoleProcess> => {
        const started = await startServeAs((await projectFor(endpoint)).dir, roles);
        running.push(started);
        return started;
      };
      const store = await createPostgresEventStore({ url: postgresUrl, schema, poolSize: 2 });
      stores.push(store);

      // Given a command process and three processes holding the role projectors,
      const commands = await serve(0, 'command,query,relay');
      const delivering = await Promise.all([0, 1, 2].map((endpoint) => serve(endpoint, 'projectors,admin')));
      const ownerOf = (index: number): string => {
        const pid = delivering[index]!.process.pid;
        const owner = [...holders(claimsNow)].find(([id]) => isOf(id, pid))?.[0];
        return owner ?? `?/${pid}`;
      };
      let claimsNow: PartitionClaim[] = [];

      // with commands flowing all along (60 accounts, deposits in turn)
      const client = commandClient(commands.servers.commands!);
      const accounts = Array.from({ length: 60 }, () => newRoot());
      for (const root of accounts) await client.handle(command(root, open('owner')));
      let flowing = true;
      let sent = 0;
      const failures: string[] = [];
      const load = (async () => {
        for (let i = 0; flowing; i += 1) {
          try {
            await client.handle(command(accounts[i % accounts.length]!, deposit(1)));
            sent += 1;
          } catch (err) {
            failures.push(String(err));
          }
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })();

      // then the partitions are shared out: 16 over 3 is 6, 5 and 5.
      await eventually(async () => {
        claimsNow = await store.listClaims(GROUP);
        const counts = [...holders(claimsNow).values()].map((held) => held.length).sort();
        expect(counts).toEqual([5, 5, 6]);
      }, 30_000);

      // When the process holding the most partitions is killed (SIGKILL: its claims stay until they expire) once
      // each of them has delivered (a process that joins a moment after another takes its share one or two claim
      // heartbeats later),
      await eventually(() => expect(sent).toBeGreaterThan(100), 30_000);
      await eventually(
        () =>
          expect(projectors.slice(0, 3).map((projector) => projector.calls.length > 0)).toEqual([
            true,
            true,
            true,
          ]),
        30_000,
        50,
      );
      claimsNow = await store.listClaims(GROUP);
      const counts = [0, 1, 2].map((index) => holders(claimsNow).get(ownerOf(index))?.length ?? 0);
      const victim = counts.indexOf(Math.max(...counts));
      expect([...counts].sort()).toEqual([5, 5, 6]);
      const victimOwner = ownerOf(victim);
      const killedAt = Date.now();
      await delivering[victim]!.process.stop('SIGKILL');

      // then the two others hold every partition once its claims have expired, 8 each.
      await eventually(
        async () => {
          claimsNow = await store.listClaims(GROUP);
          const held = holders(claimsNow);
          expect(held.has(victimOwner)).toBe(false);
          expect([...held.values()].map((partitions) => partitions.length)).toEqual([8, 8]);
        },
        30_000,
        50,
      );
      const takeoverMs = Date.now() - killedAt;

      // When a fourth process joins,
      const joinedAt = Date.now();
      const joiner = await serve(3, 'projectors,admin');
      // then it takes its share (16 over 3: 5 or 6) within seconds, the others giving up their surplus.
      await eventually(
        async () => {
          claimsNow = await store.listClaims(GROUP);
          const held = holders(claimsNow);
          const mine = [...held].find(([id]) => isOf(id, joiner.process.pid))?.[1] ?? [];
          expect(mine.length).toBeGreaterThanOrEqual(5);
          expect([...held.values()].map((partitions) => partitions.length).sort()).toEqual([5, 5, 6]);
        },
        30_000,
        50,
      );
      const joinMs = Date.now() - joinedAt;

      // and `evented status` of any process shows which process holds which partitions, as the store has them.
      const shown = await runEvented(['status', '--json', '--address', joiner.servers.admin!]);
      const parsed = JSON.parse(shown.stdout) as RuntimeStatus;
      const recording = parsed.subscribers.find((s) => s.name === 'recording')!;
      expect(recording.partitionCount).toBe(PARTITIONS);
      expect(isOf(parsed.processId, joiner.process.pid)).toBe(true);
      expect(recording.holders.map((h) => h.partitions.length).sort()).toEqual([5, 5, 6]);
      expect(recording.holders.map((h) => h.process)).toContain(parsed.processId);
      const table = await runEvented(['status', '--address', joiner.servers.admin!]);
      // (the table names each process as PID@HOST, status.ts)
      expect(table.stdout).toMatch(new RegExp(`PARTITIONS[^]*${joiner.process.pid}@\\S+ \\(this\\) \\d`));
      console.log(
        `partitions: SIGKILL of the holder of ${counts[victim]} partitions → taken over in ${takeoverMs} ms (claim TTL ${CLAIM_TTL_MS} ms); a joining process took its share in ${joinMs} ms`,
      );

      // The newcomer delivers its share while commands still flow (its first call: how long after it joined),
      await eventually(() => expect(projectors[3]!.calls.length).toBeGreaterThan(0), 30_000, 50);
      console.log(
        `partitions: the joining process's first call ${Date.now() - joinedAt} ms after it started`,
      );
      // and when the commands stop,
      await new Promise((resolve) => setTimeout(resolve, 1000));
      flowing = false;
      await load;
      expect(failures).toEqual([]);

      // then every stored event reaches the projector, each aggregate's in order on first delivery,
      const reader = queryClient(commands.servers.queries!);
      const stored = sequencesByAccount(await storedAccountBooks(reader));
      await eventually(() => expect(firstDeliveries(projectors)).toEqual(stored), 60_000, 200);
      // and no partition was ever delivered by two processes at once.
      const calls = callsOf(projectors, PARTITIONS);
      expect(new Set(calls.map((call) => call.process)).size).toBe(4);
      expect(overlaps(calls, PARTITIONS)).toEqual([]);
    }, 240_000);
  });
});
