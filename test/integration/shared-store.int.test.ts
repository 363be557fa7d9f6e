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
import { startScriptedBusinessLogic } from '../helpers/business-logic.js';
import { assertBuilt, newProject, startServe } from '../helpers/cli.js';
import { commandClient } from '../helpers/clients.js';
import { describeWith } from '../helpers/services.js';
import { scratchNames } from '../helpers/store-adapter.js';
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
 * state shows as INTERNAL with the first, as a stale commit with the second.
 */
const decide = (context: ContextualCommand): EventBook => {
  const shown = (context.events?.snapshot?.sequence ?? 0) + (context.events?.pages.length ?? 0);
  const command = text(context.command?.pages[0]?.command?.value);
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

/** Checks the race's outcomes against what the store holds. */
const expectDecidedOnPredecessors = async (
  store: EventStore,
  root: Uint8Array,
  outcomes: Outcome[],
  businessLogicCalls: number,
): Promise<void> => {
  // Every command answered OK or ABORTED (a race lost too often), never INTERNAL or anything else.
  const refused = outcomes.filter((o) => o.code !== status.OK && o.code !== status.ABORTED);
  expect
    .soft(
      refused.map((o) => `${status[o.code]}: ${o.details}`),
      'commands refused otherwise than ABORTED',
    )
    .toEqual([]);
  expect(outcomes).toHaveLength(WRITERS * COMMANDS_PER_WRITER);

  const events = await store.readAggregate({ domain: DOMAIN, root });
  const decisions = events.map((e) => JSON.parse(text(e.event?.value)) as Decision);
  // No gap,
  expect(events.map((e) => e.sequence)).toEqual(range(0, events.length));
  // every stored event was decided on exactly its predecessors,
  const stale = events
    .map((e, i) => ({ sequence: e.sequence, ...decisions[i]! }))
    .filter((d) => d.shown !== d.sequence)
    .map((d) => `#${d.sequence} (${d.command}) was decided on ${d.shown} events`);
  expect.soft(stale, 'events decided on a torn or stale state').toEqual([]);
  // and every OK command's event is stored exactly once, and no other command's.
  const ok = outcomes.filter((o) => o.code === status.OK).map((o) => o.command);
  expect(decisions.map((d) => d.command).sort()).toEqual(ok.sort());

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
      await expectDecidedOnPredecessors(reader, root, outcomes, logic.calls.length);
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
