import type Database from 'better-sqlite3';
import type { DeadLetter, DeadLetterFilter, DeadLetterState, DeadLetterStore } from '../port.js';

/**
 * Dead letters in SQLite: one row per (subscriber, aggregate, sequence), its id the row id. A put is one
 * upsert (a new letter, an open one left alone, a closed one opened again) and one read, in one transaction.
 */

interface Row {
  id: number;
  subscriber: string;
  domain: string;
  root: Buffer;
  sequence: number;
  position: number;
  attempts: number;
  last_error: string;
  state: DeadLetterState;
  created_at: number;
  updated_at: number;
  decided_at: number | null;
  decided_by: string | null;
}

const toLetter = (row: Row): DeadLetter => ({
  id: row.id,
  subscriber: row.subscriber,
  domain: row.domain,
  root: row.root,
  sequence: row.sequence,
  position: row.position,
  attempts: row.attempts,
  lastError: row.last_error,
  state: row.state,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  decidedAt: row.decided_at ?? undefined,
  decidedBy: row.decided_by ?? undefined,
});

export const createSqliteDeadLetters = (db: Database.Database): DeadLetterStore => {
  const sql = {
    put: db.prepare(
      `INSERT INTO dead_letters
         (subscriber, domain, root, sequence, position, attempts, last_error, state, created_at, updated_at)
       VALUES (@subscriber, @domain, @root, @sequence, @position, @attempts, @lastError, 'open', @at, @at)
       ON CONFLICT (subscriber, domain, root, sequence) DO UPDATE SET
         state = 'open', attempts = excluded.attempts, last_error = excluded.last_error,
         updated_at = excluded.updated_at, decided_at = NULL, decided_by = NULL
       WHERE dead_letters.state <> 'open'`,
    ),
    byEvent: db.prepare(
      'SELECT * FROM dead_letters WHERE subscriber = ? AND domain = ? AND root = ? AND sequence = ?',
    ),
    byId: db.prepare('SELECT * FROM dead_letters WHERE id = ?'),
    attempt: db.prepare(
      `UPDATE dead_letters SET attempts = ?, last_error = ?, updated_at = ? WHERE id = ? AND state = 'open'`,
    ),
    close: db.prepare(
      `UPDATE dead_letters SET state = ?, decided_at = ?, decided_by = ?, updated_at = ?
       WHERE id = ? AND state = 'open'`,
    ),
    countOpen: db.prepare(
      `SELECT subscriber, count(*) AS count FROM dead_letters WHERE state = 'open' GROUP BY subscriber`,
    ),
  };

  const put = db.transaction((letter: Parameters<DeadLetterStore['putDeadLetter']>[0]): DeadLetter => {
    sql.put.run(letter);
    return toLetter(sql.byEvent.get(letter.subscriber, letter.domain, letter.root, letter.sequence) as Row);
  });

  const list = (filter: DeadLetterFilter): DeadLetter[] => {
    const where: string[] = ['id > ?'];
    const values: unknown[] = [filter.afterId ?? 0];
    if (filter.subscriber !== undefined) {
      where.push('subscriber = ?');
      values.push(filter.subscriber);
    }
    if (filter.state !== undefined) {
      where.push('state = ?');
      values.push(filter.state);
    }
    if (filter.aggregate !== undefined) {
      where.push('domain = ? AND root = ?');
      values.push(filter.aggregate.domain, filter.aggregate.root);
    }
    values.push(filter.limit ?? -1);
    // Filters vary; the statement is prepared per call (better-sqlite3 caches nothing, but letters are few).
    const statement = db.prepare(
      `SELECT * FROM dead_letters WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`,
    );
    return (statement.all(...values) as Row[]).map(toLetter);
  };

  return {
    async putDeadLetter(letter) {
      return put(letter);
    },
    async listDeadLetters(filter) {
      return list(filter);
    },
    async getDeadLetter(id) {
      const row = sql.byId.get(id) as Row | undefined;
      return row && toLetter(row);
    },
    async recordDeadLetterAttempt(id, { attempts, lastError, at }) {
      sql.attempt.run(attempts, lastError, at, id);
    },
    async closeDeadLetter(id, { state, at, by }) {
      return sql.close.run(state, at, by, at, id).changes === 1;
    },
    async countOpenDeadLetters() {
      const rows = sql.countOpen.all() as { subscriber: string; count: number }[];
      return new Map(rows.map((row) => [row.subscriber, row.count]));
    },
  };
};
