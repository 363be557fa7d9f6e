import { join } from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserConfig } from '../../runtime/config/schema.js';
import type { ContextualCommand, EventBook } from '../../runtime/protocol/gen/evented/evented.js';
import { randomUuidBytes } from '../../runtime/protocol/uuid.js';
import { createMongoEventStore } from '../../runtime/store/mongodb/index.js';
import type { EventStore } from '../../runtime/store/port.js';
import { createPostgresEventStore } from '../../runtime/store/postgres/index.js';
import { createSqliteEventStore } from '../../runtime/store/sqlite/index.js';
import { commandBook, coverOf, forced, numbered, payload, range } from '../helpers/books.js';
import { grpcError, startScriptedBusinessLogic } from '../helpers/business-logic.js';
import { assertBuilt, newProject, startServe, startServeAs } from '../helpers/cli.js';
import { commandClient } from '../helpers/clients.js';
import { describeWith } from '../helpers/services.js';
import { dropScratchSchemas, scratchNames } from '../helpers/store-adapter.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Two `evented serve` processes on one store, 64 clients racing on one aggregate through both. The business
 * logic writes into each event how many events it was shown (the snapshot's sequence plus the pages it was
 * given), so the store afterwards tells whether a decision was made on a torn or stale state: an event stored at
 * sequence n must have been decided on exactly n predecessors. A lost race is decided again and, after
 * `conflictRetries`, ABORTED; never INTERNAL, never a stale commit, never a lost or doubled command.
 */

const WRITERS = 64;
const COMMANDS_PER_WRITER = 16;
/**
 * The business logic returns a snapshot whenever the events it covers are a multiple of this: rarely enough that
 * a load reads many events (as between an aggregate's snapshots), often enough that the snapshot path is taken.
 */
const SNAPSHOT_EVERY = 100;
const DOMAIN = 'hot';

const text = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);

/** What the business logic writes into each event: the command it decided, and how many events it was shown. */
interface Decision {
  command: string;
  shown: number;
}

/**
 * Numbers the event with `num` (from what it was shown) for even commands and with `force` for odd ones: a torn
 * state shows as INTERNAL with the first, as a stale commit with the second. "need-K" is refused
 * (FAILED_PRECONDITION) and "quiet-K" answered with no event while the aggregate has fewer than K events: a
 * decision that writes nothing, made on a cached state another process has moved past, would be wrong.
 */
const decide = (context: ContextualCommand): EventBook => {
  const shown = (context.events?.snapshot?.sequence ?? 0) + (context.events?.pages.length ?? 0);
  const command = text(context.command?.pages[0]?.command?.value);
  const [kind, k] = command.split('-');
  if (kind === 'need' && shown < Number(k))
    throw grpcError(status.FAILED_PRECONDITION, `only ${shown} events`);
  if (kind === 'quiet' && shown < Number(k))
    return { cover: context.command?.cover, pages: [], snapshot: undefined };
  const event = payload('test/Decided', JSON.stringify({ command, shown } satisfies Decision));
  const covered = shown + 1;
  return {
    cover: context.command?.cover,
    pages: [Number(command.split('-')[1]) % 2 === 0 ? numbered(shown, event) : forced(event)],
    snapshot:
      covered % SNAPSHOT_EVERY === 0
        ? { sequence: covered, state: payload('test/Count', String(covered)) }
        : undefined,
  };
};

/** How each command ended: OK, or the gRPC status it was refused with. */
type Outcome = { command: string; code: status; details: string };

/** WRITERS clients, each on its own connection to one of the runtimes in turn, each sending its commands one by one. */
const race = async (addresses: string[], root: Uint8Array): Promise<Outcome[]> => {
  const outcomes: Outcome[] = [];
  await Promise.all(
    range(0, WRITERS).map(async (w) => {
      const client = commandClient(addresses[w % addresses.length]!);
      for (const i of range(0, COMMANDS_PER_WRITER)) {
        const command = `c-${w * COMMANDS_PER_WRITER + i}`;
        try {
          await client.handle(commandBook(coverOf(DOMAIN, root), payload('test/Command', command)), 120_000);
          outcomes.push({ command, code: status.OK, details: '' });
        } catch (err) {
          const { code, details } = err as ServiceError;
          outcomes.push({ command, code, details });
        }
      }
      client.close();
    }),
  );
  return outcomes;
};

/**
 * What the store holds of `roots` against how the commands ended: every command OK or ABORTED, every stored event
 * decided on exactly its predecessors, every OK command's event stored once and no other command's.
 */
const expectDecidedOnPredecessors = async (
  store: EventStore,
  roots: Uint8Array[],
  outcomes: Outcome[],
): Promise<void> => {
  // Every command answered OK or ABORTED (a race lost too often), never INTERNAL or anything else.
  const refused = outcomes.filter((o) => o.code !== status.OK && o.code !== status.ABORTED);
  expect
    .soft(
      refused.map((o) => `${status[o.code]}: ${o.details}`),
      'commands refused otherwise than ABORTED',
    )
    .toEqual([]);
  const commands: string[] = [];
  for (const root of roots) {
    const events = await store.readAggregate({ domain: DOMAIN, root });
    const decisions = events.map((e) => JSON.parse(text(e.event?.value)) as Decision);
    commands.push(...decisions.map((d) => d.command));
    // No gap,
    expect(events.map((e) => e.sequence)).toEqual(range(0, events.length));
    // every stored event was decided on exactly its predecessors,
    const stale = events
      .map((e, i) => ({ sequence: e.sequence, ...decisions[i]! }))
      .filter((d) => d.shown !== d.sequence)
      .map((d) => `#${d.sequence} (${d.command}) was decided on ${d.shown} events`);
    expect.soft(stale, 'events decided on a torn or stale state').toEqual([]);
  }
  // and every OK command's event is stored exactly once, and no other command's.
  const ok = outcomes.filter((o) => o.code === status.OK).map((o) => o.command);
  expect(commands.sort()).toEqual(ok.sort());
};

/** The race's own checks: every command answered, the race real, the snapshot path taken. */
const expectRaced = async (
  store: EventStore,
  root: Uint8Array,
  outcomes: Outcome[],
  businessLogicCalls: number,
): Promise<void> => {
  expect(outcomes).toHaveLength(WRITERS * COMMANDS_PER_WRITER);
  await expectDecidedOnPredecessors(store, [root], outcomes);
  const events = await store.readAggregate({ domain: DOMAIN, root });

  // The race was real (some commands were decided again) and the snapshot path was taken.
  expect(businessLogicCalls, 'no command lost a race').toBeGreaterThan(outcomes.length);
  const loaded = await store.load({ domain: DOMAIN, root });
  expect(loaded.snapshot?.sequence).toBeGreaterThan(0);
  expect(loaded.next).toBe(events.length);
};

/**
 * Runs the race through two `evented serve` processes on the store that `store` configures, and checks it with
 * `open()`, a store of this process on the same storage.
 */
const raceThroughTwoRuntimes = async (
  store: NonNullable<UserConfig['store']>,
  open: () => Promise<EventStore>,
): Promise<void> => {
  const logic = await startScriptedBusinessLogic(decide);
  // One runtime keeps aggregates in memory, the other loads each command's aggregate from the store.
  const runtimes = await Promise.all(
    [10_000, 0].map(async (cachedAggregates) => {
      const project = await newProject({
        log: { level: 'warn' },
        store,
        commandHandler: { cachedAggregates },
        domains: { [DOMAIN]: { businessLogic: logic.address } },
      });
      return startServe(project.dir);
    }),
  );
  try {
    const root = randomUuidBytes();

    const outcomes = await race(
      runtimes.map((r) => r.commands),
      root,
    );

    const reader = await open();
    try {
      await expectRaced(reader, root, outcomes, logic.calls.length);
    } finally {
      await reader.close();
    }
  } finally {
    await Promise.all(runtimes.map((r) => r.process.stop()));
    logic.stop();
  }
};

beforeAll(() => assertBuilt());

describe('two command handlers on one SQLite file', () => {
  it(`${WRITERS} writers on one aggregate: every event decided on exactly its predecessors, only OK or ABORTED`, async () => {
    const path = join(tempDir(), 'shared.db');
    await raceThroughTwoRuntimes({ kind: 'sqlite', path }, async () => createSqliteEventStore({ path }));
  }, 180_000);
});

describeWith('postgres', 'two command handlers on one PostgreSQL schema', (url) => {
  const schemas = scratchNames();
  afterAll(async () => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const { rows } = await admin.query<{ name: string }>(
      'SELECT nspname AS name FROM pg_namespace WHERE starts_with(nspname, $1)',
      [schemas.run],
    );
    for (const { name } of rows) await admin.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
    await admin.end();
  });

  it(`${WRITERS} writers on one aggregate: every event decided on exactly its predecessors, only OK or ABORTED`, async () => {
    const schema = schemas.next();
    await raceThroughTwoRuntimes({ kind: 'postgres', url, schema, poolSize: 4 }, () =>
      createPostgresEventStore({ url, schema, poolSize: 2 }),
    );
  }, 180_000);
});

/**
 * Both caches warm: two `evented serve --role command` processes on one PostgreSQL schema, each holding every
 * aggregate in its cache (commandHandler.cachedAggregates, on by default), writers alternating between them on the
 * same aggregates, so that each process's cache is moved past by the other at every turn. A decision on a state
 * another process has moved past never stands: an append fails on its expected sequence and is decided again
 * on a reload; a rejection or an empty answer, which append nothing, is checked against the store and decided
 * again when the cached state was stale.
 */
describeWith('postgres', 'two command processes on one PostgreSQL schema, both caches warm', (url) => {
  describeWith('rabbitmq', 'with RabbitMQ (what a split deployment needs)', (amqpUrl) => {
    const schemas = scratchNames();
    afterAll(async () => {
      await dropScratchSchemas(url, schemas.run);
    });

    const startTwo = async () => {
      const logic = await startScriptedBusinessLogic(decide);
      const schema = schemas.next();
      const processes = await Promise.all(
        [0, 1].map(async () => {
          const project = await newProject({
            log: { level: 'warn' },
            store: { kind: 'postgres', url, schema, poolSize: 4 },
            // The bus is not used by the role command; a split deployment names one all the same.
            bus: { kind: 'amqp', url: amqpUrl, exchange: `evented-test-${schema}` },
            domains: { [DOMAIN]: { businessLogic: logic.address } },
          });
          return startServeAs(project.dir, 'command');
        }),
      );
      const clients = processes.map((it) => commandClient(it.servers.commands!));
      const send = async (through: number, root: Uint8Array, command: string): Promise<Outcome> => {
        try {
          await clients[through]!.handle(
            commandBook(coverOf(DOMAIN, root), payload('test/Command', command)),
            120_000,
          );
          return { command, code: status.OK, details: '' };
        } catch (err) {
          const { code, details } = err as ServiceError;
          return { command, code, details };
        }
      };
      const stop = async (): Promise<void> => {
        for (const client of clients) client.close();
        await Promise.all(processes.map(({ process }) => process.stop('SIGTERM')));
        logic.stop();
      };
      return { logic, send, stop, schema };
    };

    it('writers alternating between the processes on the same aggregates: every event decided on exactly its predecessors, only OK or ABORTED', async () => {
      const { logic, send, stop, schema } = await startTwo();
      try {
        const roots = range(0, 8).map(() => randomUuidBytes());
        // Both caches warm: each process has decided on every aggregate.
        const outcomes: Outcome[] = [];
        for (const [i, root] of roots.entries()) {
          outcomes.push(await send(0, root, `c-${2 * i}`), await send(1, root, `c-${2 * i + 1}`));
        }
        // Each writer's next command goes through the other process, on the next aggregate.
        let next = roots.length * 2;
        await Promise.all(
          range(0, 32).map(async (w) => {
            for (const i of range(0, 12)) {
              const command = `c-${next++}`;
              outcomes.push(await send((w + i) % 2, roots[(w + i) % roots.length]!, command));
            }
          }),
        );
        expect(outcomes).toHaveLength(16 + 32 * 12);
        const reader = await createPostgresEventStore({ url, schema, poolSize: 2 });
        try {
          await expectDecidedOnPredecessors(reader, roots, outcomes);
        } finally {
          await reader.close();
        }
        // Decisions were made on states the other process had moved past, and decided again.
        expect(logic.calls.length, 'no command was decided again').toBeGreaterThan(outcomes.length);
      } finally {
        await stop();
      }
    }, 180_000);

    it('a rejection or an empty answer on a cached state the other process moved past is decided again on the store’s state', async () => {
      const { send, stop, schema } = await startTwo();
      try {
        const root = randomUuidBytes();
        // Given the first process's cache at one event, and the second process's at two (the store's),
        expect(await send(0, root, 'c-0')).toMatchObject({ code: status.OK });
        expect(await send(1, root, 'c-1')).toMatchObject({ code: status.OK });
        // a command the business logic refuses on one event but takes on two, sent to the first process, is taken;
        const needs = await send(0, root, 'need-2');
        expect(needs, needs.details).toMatchObject({ code: status.OK });
        // and one it answers with nothing on two events but takes on three, sent to the second, is taken.
        const quiet = await send(1, root, 'quiet-3');
        expect(quiet, quiet.details).toMatchObject({ code: status.OK });
        // While a cached state that is the store's is decided on as it is: refused, and nothing, both OK to send.
        expect(await send(1, root, 'need-9')).toMatchObject({
          code: status.FAILED_PRECONDITION,
          details: 'only 4 events',
        });
        expect(await send(1, root, 'quiet-9')).toMatchObject({ code: status.OK });

        const reader = await createPostgresEventStore({ url, schema, poolSize: 2 });
        try {
          const events = await reader.readAggregate({ domain: DOMAIN, root });
          expect(events.map((e) => JSON.parse(text(e.event?.value)) as Decision)).toEqual([
            { command: 'c-0', shown: 0 },
            { command: 'c-1', shown: 1 },
            { command: 'need-2', shown: 2 },
            { command: 'quiet-3', shown: 3 },
          ]);
        } finally {
          await reader.close();
        }
      } finally {
        await stop();
      }
    }, 120_000);
  });
});

describeWith('mongodb', 'two command handlers on one MongoDB database', (url) => {
  const databases = scratchNames();
  afterAll(async () => {
    const admin = new MongoClient(url);
    const { databases: all } = await admin.db('admin').admin().listDatabases({ nameOnly: true });
    for (const { name } of all) if (name.startsWith(databases.run)) await admin.db(name).dropDatabase();
    await admin.close();
  });

  it(`${WRITERS} writers on one aggregate: every event decided on exactly its predecessors, only OK or ABORTED`, async () => {
    const database = databases.next();
    await raceThroughTwoRuntimes({ kind: 'mongodb', url, database }, () =>
      createMongoEventStore({ url, database, poolSize: 2 }),
    );
  }, 180_000);
});
