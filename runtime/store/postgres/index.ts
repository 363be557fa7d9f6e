import pg from 'pg';
import { StoreError, isEventedError, messageOf } from '../../errors/index.js';
import type { Snapshot } from '../../protocol/gen/evented/evented.js';
import { assertRoot } from '../batch-plan.js';
import { createGroupCommit, type Outcome } from '../group-commit.js';
import { createAppendedListeners } from '../appended.js';
import { guardEach } from '../guard.js';
import { loadedAggregate } from '../loaded.js';
import type { AggregateRef, Appended, AppendRequest, EventStore, LogCount, StoredEvent } from '../port.js';
import { decodeOrigin } from '../origin.js';
import { appendBatch, appendStatements } from './append.js';
import { createPostgresDeadLetters } from './dead-letters.js';
import { createPostgresLeases } from './leases.js';
import { createPostgresPauses } from './pauses.js';
import { createPostgresProgress } from './progress.js';
import { createPostgresClaims } from './claims.js';
import { createPostgresCommandLog } from './command-log.js';
import { EVENT_COLUMNS, SCHEMA_VERSION, quoteSchema, schemaSql, type EventRow } from './schema.js';

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** Connections this instance may open (default 10). Appends use one at a time; reads share the rest. */
  poolSize?: number;
  /** The schema holding evented's tables, created on open (default "evented"). */
  schema?: string;
}

const toStoredEvent = (row: EventRow): StoredEvent => ({
  position: Number(row.position),
  domain: row.domain,
  root: row.root,
  sequence: Number(row.sequence),
  createdAt: { seconds: Number(row.created_seconds), nanos: row.created_nanos },
  event:
    row.type_url === null ? undefined : { typeUrl: row.type_url, value: row.payload ?? new Uint8Array() },
  synchronous: row.synchronous,
  origin: decodeOrigin(row.origin),
});

const bytes = (value: Uint8Array): Buffer => Buffer.from(value.buffer, value.byteOffset, value.byteLength);

/** The URL without its password, for messages and `location`. */
const describeUrl = (url: string): string => {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return 'an unparseable PostgreSQL URL';
  }
};

/** For a database that does not exist (SQLSTATE 3D000), the command that creates it. */
const missingDatabase = (err: unknown, url: string): string | undefined => {
  if ((err as { code?: unknown }).code !== '3D000') return undefined;
  try {
    const { hostname, port, username, pathname } = new URL(url);
    const flags = [
      hostname && `-h ${hostname}`,
      port && `-p ${port}`,
      username && `-U ${decodeURIComponent(username)}`,
    ].filter(Boolean);
    return `create it: createdb ${[...flags, decodeURIComponent(pathname.slice(1))].join(' ')}`;
  } catch {
    return 'create it with createdb';
  }
};

/** Creates the schema if needed (one opener at a time) and checks its version. */
const prepareSchema = async (pool: pg.Pool, s: string, where: string): Promise<void> => {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`evented schema ${s}`]);
    await client.query(schemaSql(s));
    const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${s}.evented_schema`);
    if (rows.length === 0)
      await client.query(`INSERT INTO ${s}.evented_schema (version) VALUES ($1)`, [SCHEMA_VERSION]);
    else if (rows[0]!.version !== SCHEMA_VERSION)
      throw new StoreError(
        `${where} has schema version ${rows[0]!.version}; this evented reads version ${SCHEMA_VERSION}`,
      );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
};

/**
 * An event store on a PostgreSQL server, for teams and production: any number of runtimes (processes,
 * machines) may share it. Resolves once the schema is in place.
 */
export const createPostgresEventStore = async (options: PostgresStoreOptions): Promise<EventStore> => {
  const s = quoteSchema(options.schema ?? 'evented');
  const location = `${describeUrl(options.url)} (schema ${options.schema ?? 'evented'})`;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    // A writer that stops mid-transaction (a frozen process) would hold the log head and stall every writer:
    // the server ends such a transaction after a minute.
    idle_in_transaction_session_timeout: 60_000,
  });
  // An idle connection that breaks is dropped by the pool; the next query opens another.
  pool.on('error', () => undefined);
  const failure = (err: unknown): unknown =>
    isEventedError(err)
      ? err
      : new StoreError(`the PostgreSQL event store at ${location} failed: ${messageOf(err)}`, { cause: err });
  try {
    await prepareSchema(pool, s, location);
  } catch (err) {
    await pool.end().catch(() => undefined);
    if (isEventedError(err)) throw err;
    throw new StoreError(`cannot open the PostgreSQL event store at ${location}: ${messageOf(err)}`, {
      hint:
        missingDatabase(err, options.url) ??
        'check that the server is running and the URL (user, password, database) is right',
      cause: err,
    });
  }

  const appendSql = appendStatements(s);
  const sql = {
    head: `SELECT position FROM ${s}.log_head`,
    next: `SELECT next FROM ${s}.aggregates WHERE domain = $1 AND root = $2`,
    // One statement, so one consistent view even under READ COMMITTED (a statement reads one snapshot of the
    // database): the snapshot and the events after it are never torn by a commit of another runtime. The
    // snapshot's sequence is also an initplan, so that the events are an index range from it rather than the
    // whole aggregate filtered.
    load: `SELECT snap.sequence AS snapshot_sequence, snap.type_url AS snapshot_type_url, snap.state, e.*
           FROM (SELECT 1) AS one
           LEFT JOIN ${s}.snapshots AS snap ON snap.domain = $1 AND snap.root = $2
           LEFT JOIN (
             SELECT ${EVENT_COLUMNS} FROM ${s}.events
             WHERE domain = $1 AND root = $2
               AND sequence >= coalesce((SELECT sequence FROM ${s}.snapshots WHERE domain = $1 AND root = $2), 0)
           ) AS e ON true
           ORDER BY e.sequence`,
    range: `SELECT ${EVENT_COLUMNS} FROM ${s}.events
            WHERE domain = $1 AND root = $2 AND sequence >= $3 AND sequence < $4 ORDER BY sequence`,
    log: `SELECT ${EVENT_COLUMNS} FROM ${s}.events WHERE position > $1 ORDER BY position LIMIT $2`,
    correlation: `SELECT ${EVENT_COLUMNS} FROM ${s}.events WHERE correlation_id = $1 ORDER BY position LIMIT $2`,
    countLog: `SELECT count(*) AS events, count(DISTINCT (domain, root)) AS aggregates FROM ${s}.events
               WHERE position > $1 AND ($2::text[] IS NULL OR domain = ANY($2::text[]))`,
    aggregatesPage: `SELECT domain, root FROM ${s}.aggregates WHERE (domain, root) > ($1, $2)
                     ORDER BY domain, root LIMIT $3`,
    domainAggregatesPage: `SELECT domain, root FROM ${s}.aggregates WHERE domain = $1 AND root > $2
                           ORDER BY root LIMIT $3`,
    applied: `SELECT 1 FROM ${s}.applied_keys WHERE key = $1`,
    checkpoint: `SELECT position FROM ${s}.checkpoints WHERE name = $1`,
    // Forward only, and (with a fence) only while the lease has that fencing number: see EventStore.saveCheckpoint.
    saveCheckpoint: `INSERT INTO ${s}.checkpoints AS stored (name, position)
                     SELECT $1::text, $2::bigint WHERE $3::text IS NULL
                       OR EXISTS (SELECT 1 FROM ${s}.leases WHERE name = $3 AND fencing = $4::bigint)
                     ON CONFLICT (name) DO UPDATE SET position = greatest(stored.position, excluded.position)`,
  };

  const { announce, onAppended } = createAppendedListeners();

  const writeBatch = async (requests: AppendRequest[]): Promise<Outcome<Appended>[]> => {
    const client = await pool.connect().catch((err: unknown) => {
      throw failure(err);
    });
    let broken: Error | undefined;
    try {
      const plan = await appendBatch(client, appendSql, requests);
      if (plan.events.length > 0) announce();
      return plan.outcomes;
    } catch (err) {
      // A connection that failed mid-transaction is not given back to the pool.
      broken = err instanceof Error ? err : new Error(String(err));
      throw failure(err);
    } finally {
      client.release(broken);
    }
  };

  const appends = createGroupCommit(writeBatch);
  const progress = createPostgresProgress(pool, s);
  const deadLetters = createPostgresDeadLetters(pool, s);
  const leases = createPostgresLeases({ url: options.url, pool, s, schema: options.schema ?? 'evented' });
  const pauses = createPostgresPauses(pool, s);
  const claims = createPostgresClaims(pool, s);
  const commands = createPostgresCommandLog(pool, s);
  let closed = false;
  let closing: Promise<void> | undefined;

  /** Runs a read (or a small write) on the pool, after checking that the store is open. */
  const query = async <R extends pg.QueryResultRow>(
    name: string,
    text: string,
    values: unknown[],
  ): Promise<R[]> => {
    if (closed) throw new StoreError('the event store is closed');
    try {
      return (await pool.query<R>({ name: `evented.${name}`, text, values })).rows;
    } catch (err) {
      throw failure(err);
    }
  };
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

  const nextOf = async ({ domain, root }: AggregateRef): Promise<number> => {
    const rows = await query<{ next: string }>('next', sql.next, [domain, bytes(root)]);
    return rows.length === 0 ? 0 : Number(rows[0]!.next);
  };

  return {
    kind: 'postgres',
    location,

    async append(request) {
      if (closed) throw new StoreError('the event store is closed');
      assertRoot(request.root);
      return appends.submit(request);
    },

    async load(ref) {
      assertRoot(ref.root);
      type Row = EventRow & {
        snapshot_sequence: string | null;
        snapshot_type_url: string | null;
        state: Buffer | null;
      };
      const rows = await query<Row>('load', sql.load, [ref.domain, bytes(ref.root)]);
      const first = rows[0]!;
      const snapshot: Snapshot | undefined =
        first.snapshot_sequence === null
          ? undefined
          : {
              sequence: Number(first.snapshot_sequence),
              state:
                first.snapshot_type_url === null
                  ? undefined
                  : { typeUrl: first.snapshot_type_url, value: first.state ?? new Uint8Array() },
            };
      return loadedAggregate(ref, snapshot, rows.filter((row) => row.position !== null).map(toStoredEvent));
    },

    async readAggregate(ref, range = {}) {
      assertRoot(ref.root);
      const rows = await query<EventRow>('range', sql.range, [
        ref.domain,
        bytes(ref.root),
        range.from ?? 0,
        range.to ?? Number.MAX_SAFE_INTEGER,
      ]);
      return rows.map(toStoredEvent);
    },

    nextSequence: nextOf,

    async *listAggregates(domain) {
      const pageSize = 1000;
      let after: AggregateRef = { domain: domain ?? '', root: new Uint8Array() };
      for (;;) {
        const rows =
          domain === undefined
            ? await query<{ domain: string; root: Buffer }>('aggregates', sql.aggregatesPage, [
                after.domain,
                bytes(after.root),
                pageSize,
              ])
            : await query<{ domain: string; root: Buffer }>('domainAggregates', sql.domainAggregatesPage, [
                domain,
                bytes(after.root),
                pageSize,
              ]);
        for (const row of rows) yield { domain: row.domain, root: row.root };
        if (rows.length < pageSize) return;
        after = rows[rows.length - 1]!;
      }
    },

    async readLog(after, limit) {
      return (await query<EventRow>('log', sql.log, [after, limit])).map(toStoredEvent);
    },

    async readCorrelation(correlationId, limit) {
      return (await query<EventRow>('correlation', sql.correlation, [correlationId, limit])).map(
        toStoredEvent,
      );
    },

    async countLog(after, domains): Promise<LogCount> {
      const [row] = await query<{ events: string; aggregates: string }>('countLog', sql.countLog, [
        after,
        domains ?? null,
      ]);
      return { events: Number(row!.events), aggregates: Number(row!.aggregates) };
    },

    async headPosition() {
      const [row] = await query<{ position: string }>('head', sql.head, []);
      return Number(row!.position);
    },

    async getCheckpoint(name) {
      const [row] = await query<{ position: string }>('checkpoint', sql.checkpoint, [name]);
      return row === undefined ? 0 : Number(row.position);
    },

    async saveCheckpoint(name, position, fence) {
      await query('saveCheckpoint', sql.saveCheckpoint, [
        name,
        position,
        fence?.lease ?? null,
        fence?.fencing ?? null,
      ]);
    },

    async isApplied(idempotencyKey) {
      return (await query('applied', sql.applied, [idempotencyKey])).length > 0;
    },

    onAppended,

    loadProgress: guarded(progress.loadProgress),
    saveProgress: guarded(progress.saveProgress),
    resetProgress: guarded(progress.resetProgress),
    listDeliveries: guarded(progress.listDeliveries),
    pruneDeliveries: guarded(progress.pruneDeliveries),
    ...guardEach(deadLetters, (call) => guarded(call)()),
    ...guardEach(pauses, (call) => guarded(call)()),

    acquireLease: guarded(leases.acquireLease),
    releaseLease: guarded(leases.releaseLease),
    listLeases: guarded(leases.listLeases),
    onLeaseLost: leases.onLeaseLost,
    ...guardEach(claims, (call) => guarded(call)()),
    ...guardEach(commands, (call) => guarded(call)()),

    close() {
      closed = true;
      // What was submitted before close() is still written; the leases go with the lock connection.
      closing ??= appends
        .drain()
        .then(() => leases.close())
        .then(() => pool.end());
      return closing;
    },
  };
};
