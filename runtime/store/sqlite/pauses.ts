import type Database from 'better-sqlite3';
import type { DelivererReport, SubscriberPause, SubscriberPauses } from '../port.js';

interface PauseRow {
  subscriber: string;
  holder: string;
  reason: string;
  since: number;
  expires_at: number;
}

interface DelivererRow {
  subscriber: string;
  deliverer: string;
  paused_for: string | null;
  at: number;
}

const toPause = (row: PauseRow): SubscriberPause => ({
  subscriber: row.subscriber,
  holder: row.holder,
  reason: row.reason,
  since: row.since,
  expiresAt: row.expires_at,
});

/**
 * Subscriber pauses in SQLite: one row per paused subscriber, taken by one statement (an upsert that replaces
 * only an expired pause or the holder's own), and one row per (subscriber, deliverer).
 */
export const createSqlitePauses = (db: Database.Database): SubscriberPauses => {
  const pauseColumns = 'subscriber, holder, reason, since, expires_at';
  const sql = {
    take: db.prepare<[string, string, string, number, number], PauseRow>(
      `INSERT INTO subscriber_pauses (${pauseColumns}) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (subscriber) DO UPDATE
         SET holder = excluded.holder, reason = excluded.reason, since = excluded.since,
             expires_at = excluded.expires_at
         WHERE subscriber_pauses.expires_at < excluded.since OR subscriber_pauses.holder = excluded.holder
       RETURNING ${pauseColumns}`,
    ),
    read: db.prepare<[string], PauseRow>(
      `SELECT ${pauseColumns} FROM subscriber_pauses WHERE subscriber = ?`,
    ),
    renew: db.prepare('UPDATE subscriber_pauses SET expires_at = ? WHERE subscriber = ? AND holder = ?'),
    end: db.prepare('DELETE FROM subscriber_pauses WHERE subscriber = ? AND holder = ?'),
    report: db.prepare(
      `INSERT INTO subscriber_deliverers (subscriber, deliverer, paused_for, at) VALUES (?, ?, ?, ?)
       ON CONFLICT (subscriber, deliverer) DO UPDATE SET paused_for = excluded.paused_for, at = excluded.at`,
    ),
    forget: db.prepare('DELETE FROM subscriber_deliverers WHERE subscriber = ? AND deliverer = ?'),
    list: db.prepare<[string], DelivererRow>(
      'SELECT subscriber, deliverer, paused_for, at FROM subscriber_deliverers WHERE subscriber = ? ORDER BY deliverer',
    ),
  };

  // One transaction: the refusal answers the pause that refused it.
  const take = db.transaction((pause: SubscriberPause): SubscriberPause => {
    const taken = sql.take.get(pause.subscriber, pause.holder, pause.reason, pause.since, pause.expiresAt);
    return toPause(taken ?? sql.read.get(pause.subscriber)!);
  });

  return {
    async takePause(pause) {
      return take.immediate(pause);
    },
    async renewPause(subscriber, holder, expiresAt) {
      return sql.renew.run(expiresAt, subscriber, holder).changes > 0;
    },
    async endPause(subscriber, holder) {
      sql.end.run(subscriber, holder);
    },
    async readPause(subscriber) {
      const row = sql.read.get(subscriber);
      return row && toPause(row);
    },
    async reportDeliverer(report) {
      sql.report.run(report.subscriber, report.deliverer, report.pausedFor ?? null, report.at);
    },
    async forgetDeliverer(subscriber, deliverer) {
      sql.forget.run(subscriber, deliverer);
    },
    async listDeliverers(subscriber) {
      return sql.list.all(subscriber).map((row): DelivererReport => ({
        subscriber: row.subscriber,
        deliverer: row.deliverer,
        pausedFor: row.paused_for ?? undefined,
        at: row.at,
      }));
    },
  };
};
