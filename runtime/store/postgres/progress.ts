import type { Pool } from 'pg';
import { aggregateKey } from '../batch-plan.js';
import { deliveryRows, overlapBounds } from '../deliveries.js';
import type { ProgressRecord, SubscriberProgress } from '../port.js';

interface DeliveryRow {
  subscriber: string;
  domain: string;
  root: Buffer;
  seq_from: string;
  seq_to: string;
  at: string;
  took_ms: string;
}

const bytes = (value: Uint8Array): Buffer => Buffer.from(value.buffer, value.byteOffset, value.byteLength);

/**
 * Subscriber progress in PostgreSQL: one row per (subscriber, aggregate). Progress, checkpoint and the delivery
 * log's rows are saved by one statement (so together or not at all), and only ever move forward. Rows are written in key order, so
 * two saves of overlapping aggregates wait for each other instead of deadlocking.
 */
export const createPostgresProgress = (pool: Pool, s: string): SubscriberProgress => {
  const sql = {
    load: `SELECT domain, root, next FROM ${s}.subscriber_progress
           WHERE subscriber = $1 AND (domain, root) IN (SELECT * FROM unnest($2::text[], $3::bytea[]))`,
    save: `WITH saved AS (
             INSERT INTO ${s}.subscriber_progress AS stored (subscriber, domain, root, next)
             SELECT $1::text, * FROM unnest($2::text[], $3::bytea[], $4::bigint[])
             ON CONFLICT (subscriber, domain, root) DO UPDATE SET next = greatest(stored.next, excluded.next)
           ), delivered AS (
             INSERT INTO ${s}.deliveries (subscriber, domain, root, seq_from, seq_to, at, took_ms)
             SELECT $1::text, * FROM unnest($7::text[], $8::bytea[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[])
           )
           INSERT INTO ${s}.checkpoints AS stored (name, position) SELECT $6::text, $5::bigint WHERE $5::bigint IS NOT NULL
           ON CONFLICT (name) DO UPDATE SET position = greatest(stored.position, excluded.position)`,
    deliveries: `SELECT subscriber, domain, root, seq_from, seq_to, at, took_ms FROM ${s}.deliveries
                 WHERE domain = $1 AND root = $2 AND seq_from < $3 AND seq_to > $4`,
    prune: `DELETE FROM ${s}.deliveries WHERE at < $1`,
    // Its own checkpoint and its partitions' (names `<subscriber>/…`; '/' + 1 is '0', and names are COLLATE "C").
    reset: `WITH forgotten AS (DELETE FROM ${s}.subscriber_progress WHERE subscriber = $1)
            DELETE FROM ${s}.checkpoints WHERE name = $1 OR (name >= $1 || '/' AND name < $1 || '0')`,
  };

  return {
    async loadProgress(subscriber, aggregates) {
      if (aggregates.length === 0) return [];
      const { rows } = await pool.query<{ domain: string; root: Buffer; next: string }>(sql.load, [
        subscriber,
        aggregates.map((a) => a.domain),
        aggregates.map((a) => bytes(a.root)),
      ]);
      const found = new Map(rows.map((row) => [aggregateKey(row), Number(row.next)]));
      return aggregates.map((a) => found.get(aggregateKey(a)) ?? 0);
    },

    async saveProgress(subscriber, records, checkpoint, checkpointName = subscriber) {
      // One row per aggregate (the furthest), in key order.
      const furthest = new Map<string, ProgressRecord>();
      for (const record of records) {
        const key = aggregateKey(record);
        if ((furthest.get(key)?.next ?? -1) < record.next) furthest.set(key, record);
      }
      const sorted = [...furthest].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
      const delivered = deliveryRows(subscriber, records);
      await pool.query(sql.save, [
        subscriber,
        sorted.map((r) => r.domain),
        sorted.map((r) => bytes(r.root)),
        sorted.map((r) => r.next),
        checkpoint ?? null,
        checkpointName,
        delivered.map((d) => d.domain),
        delivered.map((d) => bytes(d.root)),
        delivered.map((d) => d.from),
        delivered.map((d) => d.to),
        delivered.map((d) => d.at),
        delivered.map((d) => d.tookMs),
      ]);
    },

    async resetProgress(subscriber) {
      await pool.query(sql.reset, [subscriber]);
    },

    async listDeliveries({ domain, root }, range) {
      const { from, to } = overlapBounds(range);
      const { rows } = await pool.query<DeliveryRow>(sql.deliveries, [domain, bytes(root), to, from]);
      return rows.map((row) => ({
        subscriber: row.subscriber,
        domain: row.domain,
        root: new Uint8Array(row.root),
        from: Number(row.seq_from),
        to: Number(row.seq_to),
        at: Number(row.at),
        tookMs: Number(row.took_ms),
      }));
    },

    async pruneDeliveries(endedBefore) {
      await pool.query(sql.prune, [endedBefore]);
    },
  };
};
