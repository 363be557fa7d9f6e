import { MongoClient } from 'mongodb';
import { afterAll, expect, it } from 'vitest';
import { StoreError } from '../../runtime/errors/index.js';
import { SCHEMA_VERSION } from '../../runtime/store/mongodb/collections.js';
import { createMongoEventStore } from '../../runtime/store/mongodb/index.js';
import { rejectionOf } from '../contract/store-fixtures.js';
import { describeWith } from '../helpers/services.js';
import { describeStoreAdapter, expectKeptAcrossReopen, scratchNames } from '../helpers/store-adapter.js';

/**
 * The MongoDB adapter: the whole event store contract against a real server given by EVENTED_TEST_MONGODB_URL
 * (a replica set: appends are transactions), each test in a database of its own that is dropped afterwards.
 * No mongod can be had on the machines this project is built on, so without the URL this file is skipped,
 * saying why (and fails instead when EVENTED_TEST_REQUIRE names mongodb).
 */

describeWith('mongodb', 'mongodb event store', (url) => {
  const databases = scratchNames();
  const admin = new MongoClient(url);
  afterAll(async () => {
    // Whatever a failed test left behind.
    const { databases: all } = await admin.db('admin').admin().listDatabases({ nameOnly: true });
    for (const { name } of all) if (name.startsWith(databases.run)) await admin.db(name).dropDatabase();
    await admin.close();
  });

  const stores = describeStoreAdapter({
    name: 'mongodb',
    create: createMongoEventStore,
    exportName: 'createMongoEventStore',
    fresh: () => {
      const database = databases.next();
      return {
        options: { url, database, poolSize: 4 },
        forChild: { url, database, poolSize: 2 },
        remove: async () => {
          await admin.db(database).dropDatabase();
        },
      };
    },
  });
  const open = (database: string) => stores.open({ url, database, poolSize: 4 });

  it('says what it is and where, without the password', async () => {
    const database = databases.next();
    const store = await open(database);
    expect(store.kind).toBe('mongodb');
    expect(store.location).toContain(database);
    const password = new URL(url).password;
    if (password !== '') expect(store.location).not.toContain(password);
  });

  it('keeps everything across a reopen, and opens one database from many instances at once', async () => {
    const database = databases.next();
    const [first] = await Promise.all([open(database), open(database), open(database)]);
    await expectKeptAcrossReopen(first!, () => open(database));
  });

  it('refuses a database of another schema version, saying which versions', async () => {
    const database = databases.next();
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
