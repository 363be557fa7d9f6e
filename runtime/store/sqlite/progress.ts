import type Database from 'better-sqlite3';
import { deliveryRows, overlapBounds } from '../deliveries.js';
import type { AggregateRef, ProgressRecord, SubscriberProgress } from '../port.js';

interface DeliveryRow {
  subscriber: string;
  domain: string;
  root: Buffer;
  seq_from: number;
  seq_to: number;
  at: number;
  took_ms: number;
}

/**
 * Subscriber progress in SQLite: one row per (subscriber, aggregate), saved with the checkpoint and the delivery
 * log's rows in one transaction.
 */
export const createSqliteProgress = (db: Database.Database): SubscriberProgress => {
  const sql = {
    get: db
      .prepare('SELECT next FROM subscriber_progress WHERE subscriber = ? AND domain = ? AND root = ?')
      .pluck(),
    put: db.prepare(
      `INSERT INTO subscriber_progress (subscriber, domain, root, next) VALUES (?, ?, ?, ?)
       ON CONFLICT (subscriber, domain, root) DO UPDATE SET next = max(next, excluded.next)`,
    ),
    checkpoint: db.prepare(
      `INSERT INTO checkpoints (name, position) VALUES (?, ?)
       ON CONFLICT (name) DO UPDATE SET position = max(position, excluded.position)`,
    ),
    deliver: db.prepare(
      'INSERT INTO deliveries (subscriber, domain, root, seq_from, seq_to, at, took_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    deliveries: db.prepare(
      `SELECT subscriber, domain, root, seq_from, seq_to, at, took_ms FROM deliveries
       WHERE domain = ? AND root = ? AND seq_from < ? AND seq_to > ?`,
    ),
    prune: db.prepare('DELETE FROM deliveries WHERE at < ?'),
    deleteProgress: db.prepare('DELETE FROM subscriber_progress WHERE subscriber = ?'),
    // Its own and its partitions' ('/' + 1 is '0': every name with the prefix `<subscriber>/` sorts in between).
    deleteCheckpoint: db.prepare(
      `DELETE FROM checkpoints WHERE name = ? OR (name >= ? || '/' AND name < ? || '0')`,
    ),
  };

  const save = db.transaction(
    (subscriber: string, records: readonly ProgressRecord[], checkpoint?: number, name = subscriber) => {
      for (const record of records) sql.put.run(subscriber, record.domain, record.root, record.next);
      for (const row of deliveryRows(subscriber, records))
        sql.deliver.run(subscriber, row.domain, row.root, row.from, row.to, row.at, row.tookMs);
      if (checkpoint !== undefined) sql.checkpoint.run(name, checkpoint);
    },
  );

  const reset = db.transaction((subscriber: string) => {
    sql.deleteProgress.run(subscriber);
    sql.deleteCheckpoint.run(subscriber, subscriber, subscriber);
  });

  return {
    async loadProgress(subscriber: string, aggregates: readonly AggregateRef[]) {
      return aggregates.map(
        ({ domain, root }) => (sql.get.get(subscriber, domain, root) as number | undefined) ?? 0,
      );
    },
    async saveProgress(subscriber, records, checkpoint, checkpointName) {
      save(subscriber, records, checkpoint, checkpointName);
    },
    async resetProgress(subscriber) {
      reset(subscriber);
    },
    async listDeliveries({ domain, root }, range) {
      const { from, to } = overlapBounds(range);
      return (sql.deliveries.all(domain, root, to, from) as DeliveryRow[]).map((row) => ({
        subscriber: row.subscriber,
        domain: row.domain,
        root: new Uint8Array(row.root),
        from: row.seq_from,
        to: row.seq_to,
        at: row.at,
        tookMs: row.took_ms,
      }));
    },
    async pruneDeliveries(endedBefore) {
      sql.prune.run(endedBefore);
    },
  };
};
