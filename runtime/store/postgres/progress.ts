import type { Pool } from 'pg';
import { aggregateKey } from '../batch-plan.js';
import type { ProgressRecord, SubscriberProgress } from '../port.js';

const bytes = (value: Uint8Array): Buffer => Buffer.from(value.buffer, value.byteOffset, value.byteLength);

/**
 * Subscriber progress in PostgreSQL: one row per (subscriber, aggregate). Progress and checkpoint are saved by
 * one statement (so together or not at all), and only ever move forward. Rows are written in key order, so
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
           )
           INSERT INTO ${s}.checkpoints AS stored (name, position) SELECT $6::text, $5::bigint WHERE $5::bigint IS NOT NULL
           ON CONFLICT (name) DO UPDATE SET position = greatest(stored.position, excluded.position)`,
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
      await pool.query(sql.save, [
        subscriber,
        sorted.map((r) => r.domain),
        sorted.map((r) => bytes(r.root)),
        sorted.map((r) => r.next),
        checkpoint ?? null,
        checkpointName,
      ]);
    },

    async resetProgress(subscriber) {
      await pool.query(sql.reset, [subscriber]);
    },
  };
};
