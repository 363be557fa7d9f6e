import { createHash } from 'node:crypto';
import type { PoolClient } from 'pg';
import { assignPositions, aggregateKey, batchInputs, planBatch, type BatchPlan } from '../batch-plan.js';
import { encodeOrigin } from '../origin.js';
import { insertCommands } from './command-log.js';
import type { AggregateRef, AppendRequest } from '../port.js';

/**
 * One group-commit batch in one PostgreSQL transaction (READ COMMITTED):
 *
 *   1. lock every aggregate of the batch (transaction-scoped advisory locks, in ascending key order);
 *   2. read their next sequences and which of the batch's idempotency keys are stored;
 *   3. decide every append in JS with the port's rules (batch-plan.ts); the ones that break a rule fail alone;
 *   4. store the new idempotency keys (ascending), then, in one statement: move the log head, insert the events
 *      numbered from it, move the aggregates' next, upsert the snapshots; then the decisions of the batch's
 *      commands (the decision log, when on: see command-log.ts); 5. commit.
 *
 * Global positions: `log_head` is one row, and step 4 updates it (`position = position + n`), so its row lock
 * is held from there to the commit. A second batch's step 4 waits for the first to commit (or roll back) and
 * then continues from the committed value. Positions are therefore handed out in commit order and without
 * holes (a rolled-back batch gives its numbers back), and `readLog` can read plainly (`position > after ORDER
 * BY position`): no transaction can later commit an event below a position a reader has already seen,
 * because that transaction would have had to hold the row lock before the reader's event was even numbered.
 * The cost: appends of all writers serialize on that row for the time of one statement plus the commit (its
 * WAL flush). Each instance's group commit amortizes it over a whole batch, and the lock is taken last, after
 * the reads and the decisions, so it is held as briefly as the scheme allows. (The alternatives: a sequence
 * with readers holding back below pg_snapshot_xmin of in-flight writers gives positions out of commit order
 * and with holes, which the port forbids; a global advisory lock for the whole append serializes more.)
 *
 * Deadlocks cannot arise between appends: every transaction takes aggregate locks in one global order, then
 * keys in one global order, then the head row, and whoever holds the head row waits for nothing. A lost race
 * on an idempotency key (another writer stored it between steps 2 and 4: unique violation) reruns the batch,
 * which then answers that append as a duplicate.
 */

/** The advisory lock of an aggregate: 64 bits of a hash of its key (a collision only makes two wait). */
const lockKeyOf = (ref: AggregateRef): bigint =>
  createHash('sha256').update(aggregateKey(ref)).digest().readBigInt64BE(0);

const RETRYABLE = new Set(['23505', '40001', '40P01']);
const MAX_ATTEMPTS = 10;

export const isRetryable = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && RETRYABLE.has((err as { code?: string }).code ?? '');

export const appendStatements = (s: string) => ({
  schema: s,
  nexts: `SELECT domain, root, next FROM ${s}.aggregates
          WHERE (domain, root) IN (SELECT * FROM unnest($1::text[], $2::bytea[]))`,
  applied: `SELECT key FROM ${s}.applied_keys WHERE key = ANY($1::text[])`,
  storeKeys: `INSERT INTO ${s}.applied_keys (key, domain, root) SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[])`,
  write: `WITH head AS (
      UPDATE ${s}.log_head SET position = position + $1::bigint WHERE $1::bigint > 0
      RETURNING position - $1::bigint AS base
    ), appended AS (
      INSERT INTO ${s}.events (position, domain, root, sequence, created_seconds, created_nanos, type_url, payload, synchronous, correlation_id, origin)
      SELECT head.base + e.ord, e.domain, e.root, e.sequence, e.seconds, e.nanos, e.type_url, e.payload, e.synchronous, e.correlation_id, e.origin
      FROM head, unnest($2::text[], $3::bytea[], $4::bigint[], $5::bigint[], $6::int[], $7::text[], $8::bytea[], $9::bool[], $18::text[], $19::bytea[])
        WITH ORDINALITY AS e(domain, root, sequence, seconds, nanos, type_url, payload, synchronous, correlation_id, origin, ord)
    ), moved AS (
      INSERT INTO ${s}.aggregates (domain, root, next) SELECT * FROM unnest($10::text[], $11::bytea[], $12::bigint[])
      ON CONFLICT (domain, root) DO UPDATE SET next = excluded.next
    ), snapped AS (
      INSERT INTO ${s}.snapshots AS stored (domain, root, sequence, type_url, state)
      SELECT * FROM unnest($13::text[], $14::bytea[], $15::bigint[], $16::text[], $17::bytea[])
      ON CONFLICT (domain, root) DO UPDATE
        SET sequence = excluded.sequence, type_url = excluded.type_url, state = excluded.state
        WHERE excluded.sequence >= stored.sequence
    )
    SELECT base FROM head`,
});

type Statements = ReturnType<typeof appendStatements>;

const bytes = (value: Uint8Array): Buffer => Buffer.from(value.buffer, value.byteOffset, value.byteLength);

/** Steps 1–3: lock, read, decide. */
const decide = async (client: PoolClient, sql: Statements, requests: AppendRequest[]): Promise<BatchPlan> => {
  const { aggregates, keys } = batchInputs(requests);
  const locks = [...new Set(aggregates.map(lockKeyOf))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // The keys are numbers of our own making, so the lock can ride along with BEGIN in one round trip. It is a
  // statement of its own, so that the reads below take their snapshot after every lock is held.
  await client.query(
    `BEGIN; SELECT pg_advisory_xact_lock(k) FROM unnest('{${locks.join(',')}}'::bigint[]) AS k`,
  );
  const rows = await client.query<{ domain: string; root: Buffer; next: string }>({
    name: 'evented.append.nexts',
    text: sql.nexts,
    values: [aggregates.map((a) => a.domain), aggregates.map((a) => bytes(a.root))],
  });
  const nexts = new Map(rows.rows.map((row) => [aggregateKey(row), Number(row.next)]));
  const applied =
    keys.length === 0
      ? []
      : (
          await client.query<{ key: string }>({
            name: 'evented.append.applied',
            text: sql.applied,
            values: [keys],
          })
        ).rows;
  return planBatch(requests, { nexts, appliedKeys: new Set(applied.map((row) => row.key)) });
};

/** Step 4: everything the plan writes. */
const write = async (client: PoolClient, sql: Statements, plan: BatchPlan): Promise<void> => {
  await writeEvents(client, sql, plan);
  if (plan.commands.length > 0) await insertCommands(client, sql.schema, plan.commands);
};

/** The keys, then the head, events, nexts and snapshots in one statement. */
const writeEvents = async (client: PoolClient, sql: Statements, plan: BatchPlan): Promise<void> => {
  if (plan.keys.length > 0) {
    const keys = [...plan.keys].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    await client.query({
      name: 'evented.append.keys',
      text: sql.storeKeys,
      values: [keys.map((k) => k.key), keys.map((k) => k.ref.domain), keys.map((k) => bytes(k.ref.root))],
    });
  }
  if (plan.events.length === 0 && plan.snapshots.size === 0) return;
  const { events } = plan;
  const nexts = [...plan.nexts.values()];
  const snapshots = [...plan.snapshots.values()];
  const origins = events.map((e) => encodeOrigin(e.origin));
  const result = await client.query<{ base: string }>({
    name: 'evented.append.write',
    text: sql.write,
    values: [
      events.length,
      events.map((e) => e.domain),
      events.map((e) => bytes(e.root)),
      events.map((e) => e.sequence),
      events.map((e) => e.createdAt.seconds),
      events.map((e) => e.createdAt.nanos),
      events.map((e) => e.event?.typeUrl ?? null),
      events.map((e) => (e.event === undefined ? null : bytes(e.event.value))),
      events.map((e) => e.synchronous),
      nexts.map((n) => n.ref.domain),
      nexts.map((n) => bytes(n.ref.root)),
      nexts.map((n) => n.next),
      snapshots.map((s) => s.ref.domain),
      snapshots.map((s) => bytes(s.ref.root)),
      snapshots.map((s) => s.snapshot.sequence),
      snapshots.map((s) => s.snapshot.state?.typeUrl ?? null),
      snapshots.map((s) => (s.snapshot.state === undefined ? null : bytes(s.snapshot.state.value))),
      origins.map((o) => o.correlationId),
      origins.map((o) => (o.bytes === null ? null : bytes(o.bytes))),
    ],
  });
  if (events.length > 0) assignPositions(plan, Number(result.rows[0]!.base));
};

/** Runs a batch to its commit, again from the start after a lost key race or a deadlock; returns its plan. */
export const appendBatch = async (
  client: PoolClient,
  sql: Statements,
  requests: AppendRequest[],
): Promise<BatchPlan> => {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const plan = await decide(client, sql, requests);
      await write(client, sql, plan);
      await client.query('COMMIT');
      return plan;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (!isRetryable(err) || attempt >= MAX_ATTEMPTS) throw err;
    }
  }
};
