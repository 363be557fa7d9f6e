import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, expect, it } from 'vitest';
import { StoreError } from '../../runtime/errors/index.js';
import type { EventStore } from '../../runtime/store/port.js';
import { SCHEMA_VERSION } from '../../runtime/store/mongodb/collections.js';
import { createMongoEventStore } from '../../runtime/store/mongodb/index.js';
import { describeEventStoreContract, type StoreFactory } from '../contract/event-store.contract.js';
import { newRef, num, plain, rejectionOf, sequencesOf, snapshotAt } from '../contract/store-fixtures.js';
import { repoRoot } from '../helpers/paths.js';
import { describeWith } from '../helpers/services.js';

/**
 * The MongoDB adapter: the whole event store contract against a real server given by EVENTED_TEST_MONGODB_URL
 * (a replica set: appends are transactions), each test in a database of its own that is dropped afterwards.
 * No mongod can be had on the machines this project is built on, so without the URL this file is skipped,
 * saying why (and fails instead when EVENTED_TEST_REQUIRE names mongodb).
 */

describeWith('mongodb', 'mongodb event store', (url) => {
  const run = `evented_test_${process.pid}_${randomBytes(3).toString('hex')}`;
  let databases = 0;
  const admin = new MongoClient(url);
  afterAll(async () => {
    // Whatever a failed test left behind.
    const { databases: all } = await admin.db('admin').admin().listDatabases({ nameOnly: true });
    for (const { name } of all) if (name.startsWith(run)) await admin.db(name).dropDatabase();
    await admin.close();
  });
  const freshDatabase = (): string => `${run}_${(databases += 1)}`;

  const mongoFactory: StoreFactory = {
    async create() {
      const database = freshDatabase();
      return {
        open: () => createMongoEventStore({ url, database, poolSize: 4 }),
        forChildProcess: () => ({
          module: `${repoRoot}runtime/store/mongodb/index.ts`,
          exportName: 'createMongoEventStore',
          options: { url, database, poolSize: 2 },
        }),
        cleanup: async () => {
          await admin.db(database).dropDatabase();
        },
      };
    },
  };

  describeEventStoreContract('mongodb', mongoFactory);

  const opened: EventStore[] = [];
  const open = async (database: string): Promise<EventStore> => {
    const store = await createMongoEventStore({ url, database, poolSize: 4 });
    opened.push(store);
    return store;
  };
  afterAll(async () => {
    await Promise.allSettled(opened.map((store) => store.close()));
  });

  it('says what it is and where, without the password', async () => {
    const database = freshDatabase();
    const store = await open(database);
    expect(store.kind).toBe('mongodb');
    expect(store.location).toContain(database);
    const password = new URL(url).password;
    if (password !== '') expect(store.location).not.toContain(password);
  });

  it('keeps everything across a reopen, and opens one database from many instances at once', async () => {
    const database = freshDatabase();
    const [first] = await Promise.all([open(database), open(database), open(database)]);
    const ref = newRef();
    await first!.append({ ...ref, events: [num(0), num(1), num(2)], snapshot: snapshotAt(2) });
    await first!.saveCheckpoint('relay', 3);
    await first!.close();

    const reopened = await open(database);
    const loaded = await reopened.load(ref);
    expect(plain(loaded.snapshot)).toEqual(snapshotAt(2));
    expect(sequencesOf(loaded.events)).toEqual([2]);
    expect(loaded.next).toBe(3);
    expect(await reopened.headPosition()).toBe(3);
    expect(await reopened.getCheckpoint('relay')).toBe(3);
    const appended = await reopened.append({ ...ref, expectedNext: 3, events: [num(3)] });
    expect(appended.events[0]!.position).toBe(4);
  });

  it('refuses a database of another schema version, saying which versions', async () => {
    const database = freshDatabase();
    await (await open(database)).close();
    await admin
      .db(database)
      .collection<{ _id: string; version: number }>('meta')
      .updateOne({ _id: 'schema' }, { $set: { version: SCHEMA_VERSION + 1 } });

    const error = await rejectionOf(createMongoEventStore({ url, database }));

    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toMatch(
      new RegExp(`schema version ${SCHEMA_VERSION + 1}; this evented reads version ${SCHEMA_VERSION}$`),
    );
  });

  it('fails with a StoreError and a hint when the server cannot be reached', async () => {
    const error = await rejectionOf(
      createMongoEventStore({ url: 'mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500', database: 'x' }),
    );
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).message).toMatch(/cannot open the MongoDB event store at/);
    expect((error as StoreError).hint).toMatch(/server is running/);
  });
});
