import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { StoreError, messageOf } from '../../errors/index.js';
import type { Snapshot } from '../../protocol/gen/evented/evented.js';
import { createGroupCommit, type Outcome } from '../group-commit.js';
import { createAppendedListeners } from '../appended.js';
import { guardEach } from '../guard.js';
import { loadedAggregate } from '../loaded.js';
import {
  aggregateKey,
  assertRoot,
  assignPositions,
  batchInputs,
  planBatch,
  type BatchPlan,
} from '../batch-plan.js';
import type {
  AggregateRef,
  AppendRequest,
  Appended,
  EventStore,
  LoadedAggregate,
  LogCount,
  SequenceRange,
  StoredEvent,
} from '../port.js';
import { startCheckpointer } from './checkpointer.js';
import { createSqliteDeadLetters } from './dead-letters.js';
import { createSqliteLeases } from './leases.js';
import { createSqlitePauses } from './pauses.js';
import { createSqliteProgress } from './progress.js';
import { createSqliteClaims } from './claims.js';
import { createSqliteCommandLog } from './command-log.js';
import { decodeOrigin, encodeOrigin } from '../origin.js';
import {
  EVENT_COLUMNS,
  ORIGIN_COLUMNS,
  SCHEMA_VERSION,
  originIndexSql,
  schemaSql,
  type EventRow,
  type SnapshotRow,
} from './schema.js';

export interface SqliteStoreOptions {
  /** The database file; its folder is created on first use. */
  path: string;
  /**
   * `full` (default): a commit survives a power loss. `normal`: a commit survives a crash of the process but
   * may be lost with the machine; faster on slow disks. Group commit makes `full` cheap under load.
   */
  synchronous?: 'full' | 'normal';
  busyTimeoutMs?: number;
}

const toStoredEvent = (row: EventRow): StoredEvent => ({
  position: row.position,
  domain: row.domain,
  root: row.root,
  sequence: row.sequence,
  createdAt: { seconds: row.created_seconds, nanos: row.created_nanos },
  event:
    row.type_url === null ? undefined : { typeUrl: row.type_url, value: row.payload ?? new Uint8Array() },
  synchronous: row.synchronous === 1,
  origin: decodeOrigin(row.origin),
});

/**
 * Adds the columns a file made by an earlier evented lacks, in one write transaction (two processes opening the
 * same old file at once: the second finds them added), then their index.
 */
const addMissingColumns = (db: Database.Database): void => {
  db.transaction(() => {
    const present = new Set(
      db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('events') as string[],
    );
    for (const [column, type] of Object.entries(ORIGIN_COLUMNS)) {
      if (!present.has(column)) db.exec(`ALTER TABLE events ADD COLUMN ${column} ${type}`);
    }
  }).immediate();
  db.exec(originIndexSql);
};

const toSnapshot = (row: SnapshotRow | undefined): Snapshot | undefined =>
  row === undefined
    ? undefined
    : {
        sequence: row.sequence,
        state:
          row.type_url === null ? undefined : { typeUrl: row.type_url, value: row.state ?? new Uint8Array() },
      };

const openDatabase = (options: SqliteStoreOptions): Database.Database => {
  const path = resolve(options.path);
  try {
    mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    // The busy timeout first: another process opening the same file at this moment (switching it to WAL,
    // creating the tables) holds its lock for a moment, which must be waited for, not an error.
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    db.exec(schemaSql);
    addMissingColumns(db);
    const version = db.prepare('SELECT version FROM evented_schema').pluck().get() as number | undefined;
    if (version === undefined)
      db.prepare('INSERT INTO evented_schema (version) VALUES (?)').run(SCHEMA_VERSION);
    else if (version !== SCHEMA_VERSION) {
      db.close();
      throw new StoreError(
        `${path} has schema version ${version}; this evented reads version ${SCHEMA_VERSION}`,
        {
          hint: 'an earlier evented wrote it (before 0.1.0 there are no migrations): move the file away to start a new store',
        },
      );
    }
    return db;
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError(`cannot open the SQLite event store at ${path}: ${messageOf(err)}`, {
      hint: 'check that the folder is writable and the file is not another program’s',
      cause: err,
    });
  }
};

/** The embedded default event store: one SQLite file (WAL), created on first use. */
export const createSqliteEventStore = (options: SqliteStoreOptions): EventStore => {
  const db = openDatabase(options);
  const sql = {
    begin: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
    head: db.prepare('SELECT coalesce(max(position), 0) FROM events').pluck(),
    next: db.prepare('SELECT next FROM aggregates WHERE domain = ? AND root = ?').pluck(),
    setNext: db.prepare(
      'INSERT INTO aggregates (domain, root, next) VALUES (?, ?, ?) ON CONFLICT (domain, root) DO UPDATE SET next = excluded.next',
    ),
    insertEvent: db.prepare(
      `INSERT INTO events (${EVENT_COLUMNS}) VALUES (@position, @domain, @root, @sequence, @created_seconds, @created_nanos, @type_url, @payload, @synchronous, @correlation_id, @origin)`,
    ),
    putSnapshot: db.prepare(
      `INSERT INTO snapshots (domain, root, sequence, type_url, state) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (domain, root) DO UPDATE SET sequence = excluded.sequence, type_url = excluded.type_url, state = excluded.state
       WHERE excluded.sequence >= snapshots.sequence`,
    ),
    snapshot: db.prepare('SELECT sequence, type_url, state FROM snapshots WHERE domain = ? AND root = ?'),
    range: db.prepare(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE domain = ? AND root = ? AND sequence >= ? AND sequence < ? ORDER BY sequence`,
    ),
    log: db.prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?`),
    correlation: db.prepare(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE correlation_id = ? ORDER BY position LIMIT ?`,
    ),
    aggregatesPage: db.prepare(
      'SELECT domain, root FROM aggregates WHERE (domain, root) > (?, ?) ORDER BY domain, root LIMIT ?',
    ),
    domainAggregatesPage: db.prepare(
      'SELECT domain, root FROM aggregates WHERE domain = ? AND root > ? ORDER BY root LIMIT ?',
    ),
    countLog: db.prepare(
      'SELECT count(*) AS events, count(DISTINCT domain || char(0) || hex(root)) AS aggregates FROM events WHERE position > ?',
    ),
    countDomainsLog: db.prepare(
      `SELECT count(*) AS events, count(DISTINCT domain || char(0) || hex(root)) AS aggregates FROM events
       WHERE position > ? AND domain IN (SELECT value FROM json_each(?))`,
    ),
    applied: db.prepare('SELECT 1 FROM applied_keys WHERE key = ?').pluck(),
    apply: db.prepare('INSERT INTO applied_keys (key, domain, root) VALUES (?, ?, ?)'),
    checkpoint: db.prepare('SELECT position FROM checkpoints WHERE name = ?').pluck(),
    // Forward only, and (with a fence) only while the lease has that fencing number: see EventStore.saveCheckpoint.
    saveCheckpoint: db.prepare(
      `INSERT INTO checkpoints (name, position)
       SELECT @name, @position WHERE @lease IS NULL OR EXISTS (SELECT 1 FROM leases WHERE name = @lease AND fencing = @fencing)
       ON CONFLICT (name) DO UPDATE SET position = max(position, excluded.position)`,
    ),
  };

  const nextOf = (domain: string, root: Uint8Array): number =>
    (sql.next.get(domain, root) as number | undefined) ?? 0;

  /**
   * One group-commit batch in one transaction: what the batch depends on is read, the port's rules are applied
   * to every append in order (batch-plan.ts, shared with the other stores), and the result is written.
   */
  const writeBatch = (requests: AppendRequest[]): Outcome<Appended>[] => {
    try {
      sql.begin.run();
    } catch (err) {
      throw new StoreError(`cannot write to ${options.path}: ${messageOf(err)}`, { cause: err });
    }
    let plan: BatchPlan;
    let step = 'write to';
    try {
      plan = planAndWrite(requests);
      step = 'commit to';
      sql.commit.run();
    } catch (err) {
      if (db.inTransaction) sql.rollback.run();
      throw new StoreError(`cannot ${step} ${options.path}: ${messageOf(err)}`, { cause: err });
    }
    if (plan.events.length > 0) announce();
    return plan.outcomes;
  };

  const planAndWrite = (requests: AppendRequest[]): BatchPlan => {
    const { aggregates, keys } = batchInputs(requests);
    const nexts = new Map(aggregates.map((ref) => [aggregateKey(ref), nextOf(ref.domain, ref.root)]));
    const appliedKeys = new Set(keys.filter((key) => sql.applied.get(key) !== undefined));
    const plan = planBatch(requests, { nexts, appliedKeys });
    assignPositions(plan, sql.head.get() as number);
    for (const event of plan.events) {
      const origin = encodeOrigin(event.origin);
      sql.insertEvent.run({
        position: event.position,
        domain: event.domain,
        root: event.root,
        sequence: event.sequence,
        created_seconds: event.createdAt.seconds,
        created_nanos: event.createdAt.nanos,
        type_url: event.event?.typeUrl ?? null,
        payload: event.event?.value ?? null,
        synchronous: event.synchronous ? 1 : 0,
        correlation_id: origin.correlationId,
        origin: origin.bytes,
      });
    }
    for (const { ref, next } of plan.nexts.values()) sql.setNext.run(ref.domain, ref.root, next);
    for (const { ref, snapshot } of plan.snapshots.values()) {
      sql.putSnapshot.run(
        ref.domain,
        ref.root,
        snapshot.sequence,
        snapshot.state?.typeUrl ?? null,
        snapshot.state?.value ?? null,
      );
    }
    for (const { key, ref } of plan.keys) sql.apply.run(key, ref.domain, ref.root);
    for (const entry of plan.commands) commands.insert(entry);
    return plan;
  };

  const { announce, onAppended } = createAppendedListeners();

  const appends = createGroupCommit(writeBatch);
  const progress = createSqliteProgress(db);
  const deadLetters = createSqliteDeadLetters(db);
  const leases = createSqliteLeases(db);
  const pauses = createSqlitePauses(db);
  const claims = createSqliteClaims(db);
  const commands = createSqliteCommandLog(db);
  // Keeps the automatic checkpoint inside writeBatch short (see checkpointer.ts).
  const checkpointer = startCheckpointer({
    path: resolve(options.path),
    synchronous: options.synchronous === 'normal' ? 'NORMAL' : 'FULL',
    busyTimeoutMs: options.busyTimeoutMs ?? 5000,
  });
  let closed = false;

  const assertOpen = (): void => {
    if (closed) throw new StoreError('the event store is closed');
  };

  const readRange = ({ domain, root }: AggregateRef, range: SequenceRange = {}): StoredEvent[] =>
    (sql.range.all(domain, root, range.from ?? 0, range.to ?? Number.MAX_SAFE_INTEGER) as EventRow[]).map(
      toStoredEvent,
    );

  /**
   * The snapshot and the events after it in one read transaction. Outside one, each statement would see the
   * file as it was when that statement ran, and a commit by another process between the two (two command
   * handlers on one file) would give a state that misses events. In WAL mode a deferred transaction's snapshot
   * starts at its first read and holds until it ends; better-sqlite3's transaction() begins a deferred one.
   */
  const loadTransaction = db.transaction((ref: AggregateRef): LoadedAggregate => {
    const snapshot = toSnapshot(sql.snapshot.get(ref.domain, ref.root) as SnapshotRow | undefined);
    return loadedAggregate(ref, snapshot, readRange(ref, { from: snapshot?.sequence ?? 0 }));
  });

  return {
    kind: 'sqlite',
    location: resolve(options.path),

    async append(request) {
      assertOpen();
      assertRoot(request.root);
      return appends.submit(request);
    },

    async load(ref): Promise<LoadedAggregate> {
      assertOpen();
      assertRoot(ref.root);
      return loadTransaction(ref);
    },

    async readAggregate(ref, range) {
      assertOpen();
      assertRoot(ref.root);
      return readRange(ref, range);
    },

    async nextSequence(ref) {
      assertOpen();
      return nextOf(ref.domain, ref.root);
    },

    async *listAggregates(domain) {
      const pageSize = 1000;
      let after: { domain: string; root: Uint8Array } = { domain: domain ?? '', root: new Uint8Array() };
      for (;;) {
        assertOpen();
        const rows = (
          domain === undefined
            ? sql.aggregatesPage.all(after.domain, after.root, pageSize)
            : sql.domainAggregatesPage.all(domain, after.root, pageSize)
        ) as { domain: string; root: Buffer }[];
        for (const row of rows) yield { domain: row.domain, root: row.root };
        if (rows.length < pageSize) return;
        after = rows[rows.length - 1]!;
      }
    },

    async readLog(after, limit) {
      assertOpen();
      return (sql.log.all(after, limit) as EventRow[]).map(toStoredEvent);
    },

    async readCorrelation(correlationId, limit) {
      assertOpen();
      return (sql.correlation.all(correlationId, limit) as EventRow[]).map(toStoredEvent);
    },

    async countLog(after, domains) {
      assertOpen();
      return (
        domains === undefined
          ? sql.countLog.get(after)
          : sql.countDomainsLog.get(after, JSON.stringify(domains))
      ) as LogCount;
    },

    async headPosition() {
      assertOpen();
      return sql.head.get() as number;
    },

    async getCheckpoint(name) {
      assertOpen();
      return (sql.checkpoint.get(name) as number | undefined) ?? 0;
    },

    async saveCheckpoint(name, position, fence) {
      assertOpen();
      sql.saveCheckpoint.run({
        name,
        position,
        lease: fence?.lease ?? null,
        fencing: fence?.fencing ?? null,
      });
    },

    async isApplied(idempotencyKey) {
      assertOpen();
      return sql.applied.get(idempotencyKey) !== undefined;
    },

    onAppended,

    async loadProgress(subscriber, aggregates) {
      assertOpen();
      return progress.loadProgress(subscriber, aggregates);
    },

    async saveProgress(subscriber, records, checkpoint, checkpointName) {
      assertOpen();
      return progress.saveProgress(subscriber, records, checkpoint, checkpointName);
    },

    async resetProgress(subscriber) {
      assertOpen();
      return progress.resetProgress(subscriber);
    },

    async listDeliveries(aggregate, range) {
      assertOpen();
      return progress.listDeliveries(aggregate, range);
    },

    async pruneDeliveries(endedBefore) {
      assertOpen();
      return progress.pruneDeliveries(endedBefore);
    },

    ...guardEach(deadLetters, async (call) => {
      assertOpen();
      return call();
    }),
    ...guardEach(claims, async (call) => {
      assertOpen();
      return call();
    }),
    ...guardEach(commands.log, async (call) => {
      assertOpen();
      return call();
    }),

    acquireLease: async (...args) => {
      assertOpen();
      return leases.acquireLease(...args);
    },
    releaseLease: async (...args) => {
      assertOpen();
      return leases.releaseLease(...args);
    },
    listLeases: async () => {
      assertOpen();
      return leases.listLeases();
    },
    onLeaseLost: leases.onLeaseLost,
    ...guardEach(pauses, async (call) => {
      assertOpen();
      return call();
    }),

    async close() {
      if (closed) return;
      await appends.drain();
      closed = true;
      await checkpointer.close();
      db.close();
    },
  };
};
