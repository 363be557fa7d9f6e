import { MongoClient, MongoServerError, type ClientSession, type TransactionOptions } from 'mongodb';
import { StoreError, isEventedError, messageOf } from '../../errors/index.js';
import { assertRoot } from '../batch-plan.js';
import { createGroupCommit, type Outcome } from '../group-commit.js';
import { createAppendedListeners } from '../appended.js';
import { createMongoClaims } from './claims.js';
import { createMongoCommandLog } from './command-log.js';
import { guardEach } from '../guard.js';
import { loadedAggregate } from '../loaded.js';
import type { AggregateRef, Appended, AppendRequest, EventStore, StoredEvent } from '../port.js';
import { decodeOrigin } from '../origin.js';
import { appendBatch } from './append.js';
import { SCHEMA_VERSION, collectionsOf, prepareCollections, type EventDoc } from './collections.js';
import { createMongoDeadLetters } from './dead-letters.js';
import { createMongoLeases } from './leases.js';
import { createMongoPauses } from './pauses.js';
import { createMongoProgress } from './progress.js';

export interface MongoStoreOptions {
  /** mongodb://host:port/?replicaSet=… — a replica set or a sharded cluster (appends need transactions). */
  url: string;
  /** The database holding evented's collections (default "evented"). */
  database?: string;
  /** Connections this instance may open (the driver's maxPoolSize; default 10). */
  poolSize?: number;
}

const toStoredEvent = (doc: EventDoc): StoredEvent => ({
  position: doc._id,
  domain: doc.domain,
  root: doc.root,
  sequence: doc.sequence,
  createdAt: { seconds: doc.createdAt.seconds, nanos: doc.createdAt.nanos },
  event: doc.typeUrl === null ? undefined : { typeUrl: doc.typeUrl, value: doc.payload ?? new Uint8Array() },
  synchronous: doc.synchronous,
  origin: decodeOrigin(doc.origin),
});

const bytes = (value: Uint8Array): Buffer => Buffer.from(value.buffer, value.byteOffset, value.byteLength);

/** The URL without its password, for messages and `location`. */
const describeUrl = (url: string): string => {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return 'an unparseable MongoDB URL';
  }
};

const ILLEGAL_OPERATION = 20;

/** A read-only transaction whose reads all see the database at one point in time (see load). */
const SNAPSHOT_READ: TransactionOptions = { readConcern: { level: 'snapshot' }, readPreference: 'primary' };

const noTransactions = (location: string): StoreError =>
  new StoreError(
    `the MongoDB server at ${location} is a standalone server: evented appends a book in a transaction, and ` +
      'MongoDB has transactions only on a replica set or a sharded cluster',
    {
      hint: 'start mongod with --replSet rs0 and run rs.initiate() once (a one-member replica set is enough), then add ?replicaSet=rs0 to the URL',
    },
  );

/** Whether the server can run transactions: a replica set member or a mongos. */
const supportsTransactions = async (client: MongoClient): Promise<boolean> => {
  const hello = await client.db('admin').command({ hello: 1 });
  return typeof hello.setName === 'string' || hello.msg === 'isdbgrid';
};

/**
 * An event store on MongoDB (a replica set or a sharded cluster), the original's store: any number of runtimes
 * may share it. Resolves once the collections and indexes are in place.
 */
export const createMongoEventStore = async (options: MongoStoreOptions): Promise<EventStore> => {
  const database = options.database ?? 'evented';
  const location = `${describeUrl(options.url)} (database ${database})`;
  const client = new MongoClient(options.url, { maxPoolSize: options.poolSize ?? 10, promoteBuffers: true });
  const c = collectionsOf(client.db(database));
  try {
    await client.connect();
    if (!(await supportsTransactions(client))) throw noTransactions(location);
    const version = await prepareCollections(client.db(database), c);
    if (version !== SCHEMA_VERSION)
      throw new StoreError(
        `${location} has schema version ${version}; this evented reads version ${SCHEMA_VERSION}`,
      );
  } catch (err) {
    await client.close().catch(() => undefined);
    if (isEventedError(err)) throw err;
    throw new StoreError(`cannot open the MongoDB event store at ${location}: ${messageOf(err)}`, {
      hint: 'check that the server is running and the URL (hosts, replicaSet, credentials) is right',
      cause: err,
    });
  }

  const failure = (err: unknown): unknown => {
    if (isEventedError(err)) return err;
    if (err instanceof MongoServerError && err.code === ILLEGAL_OPERATION) return noTransactions(location);
    return new StoreError(`the MongoDB event store at ${location} failed: ${messageOf(err)}`, { cause: err });
  };

  const { announce, onAppended } = createAppendedListeners();

  const writeBatch = async (requests: AppendRequest[]): Promise<Outcome<Appended>[]> => {
    try {
      const plan = await appendBatch(client, c, requests);
      if (plan.events.length > 0) announce();
      return plan.outcomes;
    } catch (err) {
      throw failure(err);
    }
  };

  // Smaller batches than SQLite's: a transaction stays well below MongoDB's size and time limits.
  const appends = createGroupCommit(writeBatch, 128);
  const progress = createMongoProgress(client, c);
  const deadLetters = createMongoDeadLetters(c);
  const leases = createMongoLeases(c);
  const pauses = createMongoPauses(c);
  const claims = createMongoClaims(c);
  const commands = createMongoCommandLog(c);
  let closed = false;
  let closing: Promise<void> | undefined;

  /** Every call but append: checks that the store is open and turns driver errors into StoreErrors. */
  const guarded =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (closed) throw new StoreError('the event store is closed');
      try {
        return await call(...args);
      } catch (err) {
        throw failure(err);
      }
    };

  const readRange = async (
    { domain, root }: AggregateRef,
    from = 0,
    to = Number.MAX_SAFE_INTEGER,
    session?: ClientSession,
  ) =>
    (
      await c.events
        .find({ domain, root: bytes(root), sequence: { $gte: from, $lt: to } }, { session })
        .sort({ sequence: 1 })
        .toArray()
    ).map(toStoredEvent);

  // Log reads see only what a majority has (appends commit with w: majority): the relay never publishes an
  // event that a failover could take back.
  const majority = { readConcern: { level: 'majority' as const } };

  return {
    kind: 'mongodb',
    location,

    async append(request) {
      if (closed) throw new StoreError('the event store is closed');
      assertRoot(request.root);
      return appends.submit(request);
    },

    load: guarded(async (ref) => {
      assertRoot(ref.root);
      // The snapshot and the events after it in one read-only transaction with snapshot read concern: both
      // reads see the database at one point in time, so a batch another runtime commits in between (it may
      // store a newer snapshot and events together) is wholly in the state or wholly out of it.
      const session = client.startSession();
      try {
        return await session.withTransaction(async () => {
          const stored = await c.snapshots.findOne(
            { domain: ref.domain, root: bytes(ref.root) },
            { session },
          );
          const snapshot =
            stored === null
              ? undefined
              : {
                  sequence: stored.sequence,
                  state:
                    stored.typeUrl === null
                      ? undefined
                      : { typeUrl: stored.typeUrl, value: stored.state ?? new Uint8Array() },
                };
          return loadedAggregate(
            ref,
            snapshot,
            await readRange(ref, snapshot?.sequence ?? 0, undefined, session),
          );
        }, SNAPSHOT_READ);
      } finally {
        await session.endSession();
      }
    }),

    readAggregate: guarded(async (ref, range = {}) => {
      assertRoot(ref.root);
      return readRange(ref, range.from, range.to);
    }),

    nextSequence: guarded(async ({ domain, root }) => {
      const doc = await c.aggregates.findOne({ domain, root: bytes(root) });
      return doc?.next ?? 0;
    }),

    async *listAggregates(domain) {
      if (closed) throw new StoreError('the event store is closed');
      const cursor = c.aggregates
        .find(domain === undefined ? {} : { domain }, { projection: { _id: 0, domain: 1, root: 1 } })
        .sort({ domain: 1, root: 1 });
      try {
        for await (const doc of cursor) yield { domain: doc.domain, root: doc.root };
      } catch (err) {
        throw failure(err);
      } finally {
        await cursor.close();
      }
    },

    readLog: guarded(async (after, limit) =>
      (
        await c.events
          .find({ _id: { $gt: after } }, majority)
          .sort({ _id: 1 })
          .limit(limit)
          .toArray()
      ).map(toStoredEvent),
    ),

    readCorrelation: guarded(async (correlationId, limit) =>
      (await c.events.find({ correlationId }, majority).sort({ _id: 1 }).limit(limit).toArray()).map(
        toStoredEvent,
      ),
    ),

    countLog: guarded(async (after, domains) => {
      const match =
        domains === undefined
          ? { _id: { $gt: after } }
          : { _id: { $gt: after }, domain: { $in: [...domains] } };
      const [counted] = await c.events
        .aggregate<{ events: number; aggregates: number }>([
          { $match: match },
          { $group: { _id: { domain: '$domain', root: '$root' }, events: { $sum: 1 } } },
          { $group: { _id: null, events: { $sum: '$events' }, aggregates: { $sum: 1 } } },
          { $project: { _id: 0, events: 1, aggregates: 1 } },
        ])
        .toArray();
      return counted ?? { events: 0, aggregates: 0 };
    }),

    headPosition: guarded(async () => (await c.counters.findOne({ _id: 'log' }, majority))?.position ?? 0),

    getCheckpoint: guarded(async (name) => (await c.checkpoints.findOne({ _id: name }))?.position ?? 0),

    // Forward only ($max), and with a fence only while the lease has that fencing number (checked just before:
    // a save racing a takeover may still land, which $max keeps harmless).
    saveCheckpoint: guarded(async (name, position, fence) => {
      if (
        fence !== undefined &&
        (await c.leases.findOne({ _id: fence.lease, fencing: fence.fencing })) === null
      )
        return;
      await c.checkpoints.updateOne({ _id: name }, { $max: { position } }, { upsert: true });
    }),

    isApplied: guarded(
      async (idempotencyKey) => (await c.appliedKeys.findOne({ _id: idempotencyKey })) !== null,
    ),

    onAppended,

    loadProgress: guarded(progress.loadProgress),
    saveProgress: guarded(progress.saveProgress),
    resetProgress: guarded(progress.resetProgress),
    listDeliveries: guarded(progress.listDeliveries),
    pruneDeliveries: guarded(progress.pruneDeliveries),
    ...guardEach(deadLetters, (call) => guarded(call)()),
    acquireLease: guarded(leases.acquireLease),
    releaseLease: guarded(leases.releaseLease),
    listLeases: guarded(leases.listLeases),
    onLeaseLost: leases.onLeaseLost,
    ...guardEach(pauses, (call) => guarded(call)()),
    ...guardEach(claims, (call) => guarded(call)()),
    ...guardEach(commands, (call) => guarded(call)()),

    close() {
      closed = true;
      // What was submitted before close() is still written.
      closing ??= appends.drain().then(() => client.close());
      return closing;
    },
  };
};
