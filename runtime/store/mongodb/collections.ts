import { MongoServerError, type Collection, type Db } from 'mongodb';

/**
 * The MongoDB layout, in one database (default "evented"), set up on open:
 * - events: one document per event, `_id` = its global position (so the _id index is the global log), with
 *   a unique index on (domain, root, sequence): a duplicate or a second writer's event cannot be stored;
 * - aggregates: each aggregate's next sequence (unique on domain, root), what appends check and move;
 * - snapshots, applied_keys (`_id` = the idempotency key), subscriber_progress, checkpoints (`_id` = name);
 * - dead_letters: `_id` = the letter's id, unique on (subscriber, domain, root, sequence);
 * - subscriber_pauses: `_id` = the subscriber; subscriber_deliverers: `_id` = { subscriber, deliverer };
 * - counters: `{ _id: 'log', position }`, the last global position given out (see append.ts), and
 *   `{ _id: 'dead_letters', position }`, the last dead letter id;
 * - meta: `{ _id: 'schema', version }`;
 * - leases: `_id` = the lease's name (see leases.ts).
 * - processes (`_id` = process id) and partition_claims (`_id` = `<group>/<partition>`): see claims.ts.
 * - command_log: the decision log, `_id` = the decision's id from `counters {_id: 'command_log'}` (see
 *   command-log.ts), indexed by aggregate.
 * Byte fields (root, payload, state, origin) are BSON binary; the client is opened with promoteBuffers. An
 * event's origin (store/origin.ts) is `correlationId` (indexed: by_correlation) and `origin`; events stored before
 * evented recorded origins lack both fields.
 */
export const SCHEMA_VERSION = 1;

export interface EventDoc {
  _id: number;
  domain: string;
  root: Buffer;
  sequence: number;
  createdAt: { seconds: number; nanos: number };
  typeUrl: string | null;
  payload: Buffer | null;
  synchronous: boolean;
  /** Absent on events stored before origins were recorded (see store/origin.ts). */
  correlationId?: string | null;
  origin?: Buffer | null;
}

export interface AggregateDoc {
  domain: string;
  root: Buffer;
  next: number;
}

export interface SnapshotDoc {
  domain: string;
  root: Buffer;
  sequence: number;
  typeUrl: string | null;
  state: Buffer | null;
}

export interface ProgressDoc {
  subscriber: string;
  domain: string;
  root: Buffer;
  next: number;
}

/** An entry of the delivery log (see port.ts, Delivery). */
export interface DeliveryDoc {
  subscriber: string;
  domain: string;
  root: Buffer;
  from: number;
  to: number;
  at: number;
  tookMs: number;
}

/** A decision of the decision log (see port.ts, LoggedCommand): errorCode null when accepted. */
export interface CommandDoc {
  _id: number;
  domain: string;
  root: Buffer;
  command: Buffer;
  commandType: string;
  decidedOn: number;
  at: number;
  correlationId: string;
  commandId: string;
  eventCount: number | null;
  errorCode: number | null;
  errorMessage: string | null;
}

export interface DeadLetterDoc {
  _id: number;
  subscriber: string;
  domain: string;
  root: Buffer;
  sequence: number;
  position: number;
  attempts: number;
  lastError: string;
  state: 'open' | 'retried' | 'skipped';
  createdAt: number;
  updatedAt: number;
  decidedAt: number | null;
  decidedBy: string | null;
}

export interface PauseDoc {
  _id: string;
  holder: string;
  reason: string;
  since: number;
  expiresAt: number;
}

export interface DelivererDoc {
  _id: { subscriber: string; deliverer: string };
  pausedFor: string | null;
  at: number;
}

export interface Collections {
  events: Collection<EventDoc>;
  aggregates: Collection<AggregateDoc>;
  snapshots: Collection<SnapshotDoc>;
  appliedKeys: Collection<{ _id: string; domain: string; root: Buffer }>;
  progress: Collection<ProgressDoc>;
  checkpoints: Collection<{ _id: string; position: number }>;
  deadLetters: Collection<DeadLetterDoc>;
  pauses: Collection<PauseDoc>;
  deliverers: Collection<DelivererDoc>;
  counters: Collection<{ _id: string; position: number }>;
  meta: Collection<{ _id: string; version: number }>;
  leases: Collection<LeaseDoc>;
  processes: Collection<{ _id: string; roles: string[]; expiresAt: number }>;
  claims: Collection<ClaimDoc>;
  deliveries: Collection<DeliveryDoc>;
  commands: Collection<CommandDoc>;
}

export interface LeaseDoc {
  _id: string;
  holder: string;
  since: number;
  expiresAt: number;
  fencing: number;
  payload: string;
}

export interface ClaimDoc {
  /** `<group>/<partition>` */
  _id: string;
  group: string;
  partition: number;
  owner: string;
  expiresAt: number;
  epoch: number;
}

const COLLECTION_NAMES = {
  events: 'events',
  aggregates: 'aggregates',
  snapshots: 'snapshots',
  appliedKeys: 'applied_keys',
  progress: 'subscriber_progress',
  checkpoints: 'checkpoints',
  deadLetters: 'dead_letters',
  pauses: 'subscriber_pauses',
  deliverers: 'subscriber_deliverers',
  counters: 'counters',
  meta: 'meta',
  leases: 'leases',
  processes: 'processes',
  claims: 'partition_claims',
  deliveries: 'deliveries',
  commands: 'command_log',
} as const;

export const collectionsOf = (db: Db): Collections => ({
  events: db.collection(COLLECTION_NAMES.events),
  aggregates: db.collection(COLLECTION_NAMES.aggregates),
  snapshots: db.collection(COLLECTION_NAMES.snapshots),
  appliedKeys: db.collection(COLLECTION_NAMES.appliedKeys),
  progress: db.collection(COLLECTION_NAMES.progress),
  checkpoints: db.collection(COLLECTION_NAMES.checkpoints),
  deadLetters: db.collection(COLLECTION_NAMES.deadLetters),
  pauses: db.collection(COLLECTION_NAMES.pauses),
  deliverers: db.collection(COLLECTION_NAMES.deliverers),
  counters: db.collection(COLLECTION_NAMES.counters),
  meta: db.collection(COLLECTION_NAMES.meta),
  leases: db.collection(COLLECTION_NAMES.leases),
  processes: db.collection(COLLECTION_NAMES.processes),
  claims: db.collection(COLLECTION_NAMES.claims),
  deliveries: db.collection(COLLECTION_NAMES.deliveries),
  commands: db.collection(COLLECTION_NAMES.commands),
});

const NAMESPACE_EXISTS = 48;

/**
 * Creates the collections and indexes (both idempotent; collections are created up front because a
 * transaction should not have to create one) and returns the stored schema version, writing ours if none.
 */
export const prepareCollections = async (db: Db, c: Collections): Promise<number> => {
  for (const name of Object.values(COLLECTION_NAMES)) {
    await db.createCollection(name).catch((err: unknown) => {
      if (!(err instanceof MongoServerError && err.code === NAMESPACE_EXISTS)) throw err;
    });
  }
  await c.events.createIndex({ domain: 1, root: 1, sequence: 1 }, { unique: true, name: 'by_aggregate' });
  // Not partial: a query's equality on a string would not be proven to imply a `$type` filter by every server.
  await c.events.createIndex({ correlationId: 1, _id: 1 }, { name: 'by_correlation' });
  await c.aggregates.createIndex({ domain: 1, root: 1 }, { unique: true, name: 'by_aggregate' });
  await c.snapshots.createIndex({ domain: 1, root: 1 }, { unique: true, name: 'by_aggregate' });
  await c.progress.createIndex(
    { subscriber: 1, domain: 1, root: 1 },
    { unique: true, name: 'by_subscriber_aggregate' },
  );
  await c.deadLetters.createIndex(
    { subscriber: 1, domain: 1, root: 1, sequence: 1 },
    { unique: true, name: 'by_event' },
  );
  await c.deadLetters.createIndex({ state: 1, subscriber: 1 }, { name: 'by_state' });
  await c.deliveries.createIndex({ domain: 1, root: 1, from: 1 }, { name: 'by_aggregate' });
  await c.deliveries.createIndex({ at: 1 }, { name: 'by_time' });
  await c.commands.createIndex({ domain: 1, root: 1, _id: 1 }, { name: 'by_aggregate' });
  await c.counters.updateOne({ _id: 'log' }, { $setOnInsert: { position: 0 } }, { upsert: true });
  const meta = await c.meta.findOneAndUpdate(
    { _id: 'schema' },
    { $setOnInsert: { version: SCHEMA_VERSION } },
    { upsert: true, returnDocument: 'after' },
  );
  return meta?.version ?? SCHEMA_VERSION;
};
