import type { Pool } from 'pg';
import type { DelivererReport, SubscriberPause, SubscriberPauses } from '../port.js';

interface PauseRow {
  subscriber: string;
  holder: string;
  reason: string;
  since: string;
  expires_at: string;
}

const toPause = (row: PauseRow): SubscriberPause => ({
  subscriber: row.subscriber,
  holder: row.holder,
  reason: row.reason,
  since: Number(row.since),
  expiresAt: Number(row.expires_at),
});

/**
 * Subscriber pauses in PostgreSQL: one row per paused subscriber, taken by one statement that inserts it, or
 * replaces it when it expired or is the same holder's (so two processes racing for it cannot both win), and one
 * row per (subscriber, deliverer) for what each delivering process last said.
 */
export const createPostgresPauses = (pool: Pool, s: string): SubscriberPauses => {
  const pauseColumns = 'subscriber, holder, reason, since, expires_at';
  const sql = {
    take: `INSERT INTO ${s}.subscriber_pauses AS stored (${pauseColumns}) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (subscriber) DO UPDATE
             SET holder = excluded.holder, reason = excluded.reason, since = excluded.since,
                 expires_at = excluded.expires_at
             WHERE stored.expires_at < excluded.since OR stored.holder = excluded.holder
           RETURNING ${pauseColumns}`,
    read: `SELECT ${pauseColumns} FROM ${s}.subscriber_pauses WHERE subscriber = $1`,
    renew: `UPDATE ${s}.subscriber_pauses SET expires_at = $3 WHERE subscriber = $1 AND holder = $2`,
    end: `DELETE FROM ${s}.subscriber_pauses WHERE subscriber = $1 AND holder = $2`,
    report: `INSERT INTO ${s}.subscriber_deliverers (subscriber, deliverer, paused_for, at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (subscriber, deliverer) DO UPDATE SET paused_for = excluded.paused_for, at = excluded.at`,
    forget: `DELETE FROM ${s}.subscriber_deliverers WHERE subscriber = $1 AND deliverer = $2`,
    list: `SELECT subscriber, deliverer, paused_for, at FROM ${s}.subscriber_deliverers WHERE subscriber = $1
           ORDER BY deliverer`,
  };

  const readPause = async (subscriber: string): Promise<SubscriberPause | undefined> => {
    const { rows } = await pool.query<PauseRow>(sql.read, [subscriber]);
    return rows[0] && toPause(rows[0]);
  };

  return {
    async takePause(pause) {
      const values = [pause.subscriber, pause.holder, pause.reason, pause.since, pause.expiresAt];
      // Refused: the other holder's pause is answered, unless it ended meanwhile (then take it again).
      for (;;) {
        const { rows } = await pool.query<PauseRow>(sql.take, values);
        if (rows[0]) return toPause(rows[0]);
        const other = await readPause(pause.subscriber);
        if (other) return other;
      }
    },
    async renewPause(subscriber, holder, expiresAt) {
      const { rowCount } = await pool.query(sql.renew, [subscriber, holder, expiresAt]);
      return (rowCount ?? 0) > 0;
    },
    async endPause(subscriber, holder) {
      await pool.query(sql.end, [subscriber, holder]);
    },
    readPause,
    async reportDeliverer(report) {
      await pool.query(sql.report, [
        report.subscriber,
        report.deliverer,
        report.pausedFor ?? null,
        report.at,
      ]);
    },
    async forgetDeliverer(subscriber, deliverer) {
      await pool.query(sql.forget, [subscriber, deliverer]);
    },
    async listDeliverers(subscriber) {
      const { rows } = await pool.query<{
        subscriber: string;
        deliverer: string;
        paused_for: string | null;
        at: string;
      }>(sql.list, [subscriber]);
      return rows.map((row): DelivererReport => ({
        subscriber: row.subscriber,
        deliverer: row.deliverer,
        pausedFor: row.paused_for ?? undefined,
        at: Number(row.at),
      }));
    },
  };
};
