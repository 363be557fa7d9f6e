import { MongoServerError, type ClientSession, type MongoClient, type TransactionOptions } from 'mongodb';
import { assignPositions, batchInputs, aggregateKey, planBatch, type BatchPlan } from '../batch-plan.js';
import type { AggregateRef, AppendRequest } from '../port.js';
import type { Origin } from '../../protocol/gen/evented/evented.js';
import { encodeOrigin } from '../origin.js';
import type { Collections, EventDoc } from './collections.js';
import { insertCommands } from './command-log.js';

/**
 * One group-commit batch in one MongoDB transaction (snapshot read concern, majority write concern):
 * read the batch's aggregates and stored idempotency keys, decide every append with the port's rules
 * (batch-plan.ts), then write keys, snapshots, the aggregates' next, and — last — move the log counter and
 * insert the events numbered from it; then the decisions of the batch's commands (the decision log, when on),
 * numbered from a counter of their own moved the same way (see command-log.ts).
 *
 * Global positions: `counters {_id: 'log'}` is one document, and every batch that adds events increments it
 * (`$inc`) inside its transaction. MongoDB lets only one transaction at a time hold a write to a document:
 * a second one fails with a WriteConflict (retried by `withTransaction` from the start), both while the first
 * is open and if the first commits after the second's snapshot was taken. So a batch that succeeds in
 * incrementing it read the counter after every earlier incrementer had committed: positions are given out
 * in commit order, and an aborted batch gives its numbers back (no holes). A reader of the log therefore
 * never sees position n+1 while n is still to commit — readLog can read plainly (`_id > after`, ascending).
 * The cost: batches of all writers serialize on that document, and the losers of a race redo their batch.
 *
 * Concurrency on an aggregate works the same way: two batches that both move one aggregate's document (or
 * insert its event with one sequence: unique index) conflict, and the retry reads the new next, so the
 * loser's append then fails with ConcurrencyConflictError as the port says.
 */

const TRANSACTION: TransactionOptions = {
  readConcern: { level: 'snapshot' },
  writeConcern: { w: 'majority' },
  readPreference: 'primary',
};

const DUPLICATE_KEY = 11000;
const MAX_ATTEMPTS = 10;

const bytes = (value: Uint8Array): Buffer => Buffer.from(value.buffer, value.byteOffset, value.byteLength);
const byAggregate = (refs: readonly AggregateRef[]) => ({
  $or: refs.map((ref) => ({ domain: ref.domain, root: bytes(ref.root) })),
});

/** An event's origin as document fields (none for an event without one, like those stored before origins). */
const originFields = (origin: Origin | undefined): Pick<EventDoc, 'correlationId' | 'origin'> => {
  const stored = encodeOrigin(origin);
  return stored.bytes === null ? {} : { correlationId: stored.correlationId, origin: bytes(stored.bytes) };
};

const runBatch = async (
  session: ClientSession,
  c: Collections,
  requests: AppendRequest[],
): Promise<BatchPlan> => {
  // 1. What the batch depends on.
  const { aggregates, keys } = batchInputs(requests);
  const stored = await c.aggregates.find(byAggregate(aggregates), { session }).toArray();
  const applied =
    keys.length === 0
      ? []
      : await c.appliedKeys.find({ _id: { $in: keys } }, { session, projection: { _id: 1 } }).toArray();
  // 2. The decisions.
  const plan = planBatch(requests, {
    nexts: new Map(stored.map((doc) => [aggregateKey(doc), doc.next])),
    appliedKeys: new Set(applied.map((doc) => doc._id)),
  });
  // 3. The writes, the log counter last (its document is what every writer contends for).
  if (plan.keys.length > 0)
    await c.appliedKeys.insertMany(
      plan.keys.map(({ key, ref }) => ({ _id: key, domain: ref.domain, root: bytes(ref.root) })),
      { session },
    );
  await writeSnapshots(session, c, plan);
  if (plan.nexts.size > 0)
    await c.aggregates.bulkWrite(
      [...plan.nexts.values()].map(({ ref, next }) => ({
        updateOne: {
          filter: { domain: ref.domain, root: bytes(ref.root) },
          update: { $set: { next } },
          upsert: true,
        },
      })),
      { session },
    );
  if (plan.events.length > 0) {
    const counter = await c.counters.findOneAndUpdate(
      { _id: 'log' },
      { $inc: { position: plan.events.length } },
      { session, upsert: true, returnDocument: 'after' },
    );
    assignPositions(plan, counter!.position - plan.events.length);
    await c.events.insertMany(
      plan.events.map((e) => ({
        ...originFields(e.origin),
        _id: e.position,
        domain: e.domain,
        root: bytes(e.root),
        sequence: e.sequence,
        createdAt: { seconds: e.createdAt.seconds, nanos: e.createdAt.nanos },
        typeUrl: e.event?.typeUrl ?? null,
        payload: e.event === undefined ? null : bytes(e.event.value),
        synchronous: e.synchronous,
      })),
      { session },
    );
  }
  if (plan.commands.length > 0) await insertCommands(c, plan.commands, session);
  return plan;
};

/** Replaces each aggregate's snapshot with the batch's when that is not older than the stored one. */
const writeSnapshots = async (session: ClientSession, c: Collections, plan: BatchPlan): Promise<void> => {
  if (plan.snapshots.size === 0) return;
  const candidates = [...plan.snapshots.values()];
  const stored = await c.snapshots
    .find(byAggregate(candidates.map((s) => s.ref)), {
      session,
      projection: { domain: 1, root: 1, sequence: 1 },
    })
    .toArray();
  const storedSequence = new Map(stored.map((doc) => [aggregateKey(doc), doc.sequence]));
  const newer = candidates.filter(
    ({ ref, snapshot }) => snapshot.sequence >= (storedSequence.get(aggregateKey(ref)) ?? -1),
  );
  if (newer.length === 0) return;
  await c.snapshots.bulkWrite(
    newer.map(({ ref, snapshot }) => ({
      replaceOne: {
        filter: { domain: ref.domain, root: bytes(ref.root) },
        replacement: {
          domain: ref.domain,
          root: bytes(ref.root),
          sequence: snapshot.sequence,
          typeUrl: snapshot.state?.typeUrl ?? null,
          state: snapshot.state === undefined ? null : bytes(snapshot.state.value),
        },
        upsert: true,
      },
    })),
    { session },
  );
};

/**
 * Runs a batch to its commit. `withTransaction` retries transient errors (write conflicts) itself; a duplicate
 * key (a writer committed the same aggregate's first event or the same idempotency key just before) reruns
 * the batch here, which then sees that write.
 */
export const appendBatch = async (
  client: MongoClient,
  c: Collections,
  requests: AppendRequest[],
): Promise<BatchPlan> => {
  const session = client.startSession();
  try {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await session.withTransaction(() => runBatch(session, c, requests), TRANSACTION);
      } catch (err) {
        if (!(err instanceof MongoServerError && err.code === DUPLICATE_KEY) || attempt >= MAX_ATTEMPTS)
          throw err;
      }
    }
  } finally {
    await session.endSession();
  }
};
