import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, expect } from 'vitest';
import type { AggregateRef, EventStore } from '../../runtime/store/port.js';
import { describeEventStoreContract } from '../contract/event-store.contract.js';
import { newRef, num, plain, sequencesOf, snapshotAt } from '../contract/store-fixtures.js';
import { repoRoot } from './paths.js';

/**
 * What the integration test files of the event store adapters (SQLite, PostgreSQL, MongoDB) share: the event
 * store contract on fresh storage per test, the stores a file's own tests open (closed after them), and the
 * round trip across a reopen. What is particular to an adapter — its storage, and what is left of it after a
 * failed test — stays in its file.
 */

/** One adapter of the EventStore port, as its test file gives it: `Options` open a store on some storage. */
export interface StoreAdapter<Options> {
  /** The adapter's folder under runtime/store/, which names its run of the contract too. */
  name: 'sqlite' | 'postgres' | 'mongodb';
  /** The function of runtime/store/<name>/index.ts that opens a store … */
  create(options: Options): EventStore | Promise<EventStore>;
  /** … and its exported name, by which a child process opens one. */
  exportName: string;
  /**
   * New, empty storage that no other test sees (a temporary file, a schema, a database): the options that open a
   * store on it (`forChild`: in a child process, where they differ) and how to remove it.
   */
  fresh(): { options: Options; forChild?: Options; remove(): Promise<void> };
}

/**
 * Runs the whole event store contract on the adapter, each test on fresh storage. Returns `open`, for the file's
 * own tests: it opens a store with the options given and closes it after the tests of the enclosing suite.
 */
export const describeStoreAdapter = <Options>(
  adapter: StoreAdapter<Options>,
): { open(options: Options): Promise<EventStore> } => {
  describeEventStoreContract(adapter.name, {
    async create() {
      const storage = adapter.fresh();
      return {
        open: async () => adapter.create(storage.options),
        forChildProcess: () => ({
          module: `${repoRoot}runtime/store/${adapter.name}/index.ts`,
          exportName: adapter.exportName,
          options: storage.forChild ?? storage.options,
        }),
        cleanup: () => storage.remove(),
      };
    },
  });

  const opened: EventStore[] = [];
  afterAll(async () => {
    await Promise.allSettled(opened.map((store) => store.close()));
  });
  return {
    async open(options) {
      const store = await adapter.create(options);
      opened.push(store);
      return store;
    },
  };
};

/**
 * Names for the storage of one run of a test file on a shared server (schemas, databases): each new, all starting
 * with `run`, so that what a failed test left behind can be found and dropped.
 */
export const scratchNames = (): { run: string; next(): string } => {
  const run = `evented_test_${process.pid}_${randomBytes(3).toString('hex')}`;
  let count = 0;
  return { run, next: () => `${run}_${(count += 1)}` };
};

/** Drops every PostgreSQL schema of a run of scratchNames() (what its test file made, or a failed run left). */
export const dropScratchSchemas = async (url: string, run: string): Promise<void> => {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ name: string }>(
      'SELECT nspname AS name FROM pg_namespace WHERE starts_with(nspname, $1)',
      [run],
    );
    for (const { name } of rows) await admin.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
  } finally {
    await admin.end();
  }
};

/**
 * Writes three events, a snapshot and a checkpoint through `first` and closes it; then a store opened again on the
 * same storage (`reopen`) has kept all of it, and numbers the next event after it.
 */
export const expectKeptAcrossReopen = async (
  first: EventStore,
  reopen: () => Promise<EventStore>,
): Promise<void> => {
  const ref = newRef();
  await first.append({ ...ref, events: [num(0), num(1), num(2)], snapshot: snapshotAt(2) });
  await first.saveCheckpoint('relay', 3);
  await first.close();

  const reopened = await reopen();
  const loaded = await reopened.load(ref);
  expect(plain(loaded.snapshot)).toEqual(snapshotAt(2));
  expect(sequencesOf(loaded.events)).toEqual([2]);
  expect(loaded.next).toBe(3);
  expect(await reopened.headPosition()).toBe(3);
  expect(await reopened.getCheckpoint('relay')).toBe(3);
  const appended = await reopened.append({ ...ref, expectedNext: 3, events: [num(3)] });
  expect(appended.events[0]!.position).toBe(4);
};

/**
 * A store made before events had origins: `makeOld` appends through a store of this evented and then takes the
 * origin columns away (what the earlier evented's layout lacked), then `reopen` opens it with this evented. Its old
 * events read back without an origin, and new ones are stored with theirs and found by correlation.
 */
export const expectOriginsAddedToOldStore = async (
  makeOld: (first: EventStore, ref: AggregateRef) => Promise<void>,
  reopen: () => Promise<EventStore>,
): Promise<void> => {
  const ref = newRef();
  const first = await reopen();
  await first.append({ ...ref, events: [num(0)] });
  await makeOld(first, ref);

  const store = await reopen();
  const [old] = await store.readLog(0, 10);
  expect(old!.sequence).toBe(0);
  expect(old!.origin).toBeUndefined();
  const origin = {
    correlationId: 'after-upgrade',
    commandId: 'c',
    commandType: '',
    causationId: '',
    saga: '',
    traceparent: '',
  };
  await store.append({ ...ref, events: [num(1)], origin });
  expect((await store.readAggregate(ref)).map((e) => e.origin)).toEqual([undefined, origin]);
  expect(sequencesOf(await store.readCorrelation('after-upgrade', 10))).toEqual([1]);
};
