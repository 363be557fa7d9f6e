import type { Pool } from 'pg';
import type { DeadLetter, DeadLetterFilter, DeadLetterState, DeadLetterStore } from '../port.js';

const bytes = (value: Uint8Array): Buffer => Buffer.from(value.buffer, value.byteOffset, value.byteLength);

/**
 * Dead letters in PostgreSQL: one row per (subscriber, aggregate, sequence), its id from an identity column. A
 * put is one upsert that opens a closed letter again and leaves an open one alone, then the letter is read back.
 */

/** bigint columns arrive as strings. */
interface Row {
  id: string;
  subscriber: string;
  domain: string;
  root: Buffer;
  sequence: string;
  position: string;
  attempts: number;
  last_error: string;
  state: DeadLetterState;
  created_at: string;
  updated_at: string;
  decided_at: string | null;
  decided_by: string | null;
}

const toLetter = (row: Row): DeadLetter => ({
  id: Number(row.id),
  subscriber: row.subscriber,
  domain: row.domain,
  root: row.root,
  sequence: Number(row.sequence),
  position: Number(row.position),
  attempts: row.attempts,
  lastError: row.last_error,
  state: row.state,
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at),
  decidedAt: row.decided_at === null ? undefined : Number(row.decided_at),
  decidedBy: row.decided_by ?? undefined,
});

export const createPostgresDeadLetters = (pool: Pool, s: string): DeadLetterStore => {
  const sql = {
    put: `INSERT INTO ${s}.dead_letters AS stored
            (subscriber, domain, root, sequence, position, attempts, last_error, state, created_at, updated_at)
          VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $8)
          ON CONFLICT (subscriber, domain, root, sequence) DO UPDATE SET
            state = 'open', attempts = excluded.attempts, last_error = excluded.last_error,
            updated_at = excluded.updated_at, decided_at = NULL, decided_by = NULL
          WHERE stored.state <> 'open'`,
    byEvent: `SELECT * FROM ${s}.dead_letters
              WHERE subscriber = $1 AND domain = $2 AND root = $3 AND sequence = $4`,
    byId: `SELECT * FROM ${s}.dead_letters WHERE id = $1`,
    attempt: `UPDATE ${s}.dead_letters SET attempts = $2, last_error = $3, updated_at = $4
              WHERE id = $1 AND state = 'open'`,
    close: `UPDATE ${s}.dead_letters SET state = $2, decided_at = $3, decided_by = $4, updated_at = $3
            WHERE id = $1 AND state = 'open'`,
    countOpen: `SELECT subscriber, count(*) AS count FROM ${s}.dead_letters WHERE state = 'open'
                GROUP BY subscriber`,
    list: `SELECT * FROM ${s}.dead_letters
           WHERE id > $1 AND ($2::text IS NULL OR subscriber = $2) AND ($3::text IS NULL OR state = $3)
             AND ($4::text IS NULL OR (domain = $4 AND root = $5))
           ORDER BY id LIMIT $6`,
  };

  return {
    async putDeadLetter(letter) {
      const key = [letter.subscriber, letter.domain, bytes(letter.root), letter.sequence];
      await pool.query(sql.put, [...key, letter.position, letter.attempts, letter.lastError, letter.at]);
      // Read after the upsert has committed: the letter as it stands, whoever wrote it.
      const { rows } = await pool.query<Row>(sql.byEvent, key);
      return toLetter(rows[0]!);
    },
    async listDeadLetters(filter: DeadLetterFilter) {
      const { rows } = await pool.query<Row>(sql.list, [
        filter.afterId ?? 0,
        filter.subscriber ?? null,
        filter.state ?? null,
        filter.aggregate?.domain ?? null,
        filter.aggregate ? bytes(filter.aggregate.root) : null,
        filter.limit ?? null,
      ]);
      return rows.map(toLetter);
    },
    async getDeadLetter(id) {
      const { rows } = await pool.query<Row>(sql.byId, [id]);
      return rows[0] && toLetter(rows[0]);
    },
    async recordDeadLetterAttempt(id, { attempts, lastError, at }) {
      await pool.query(sql.attempt, [id, attempts, lastError, at]);
    },
    async closeDeadLetter(id, { state, at, by }) {
      return (await pool.query(sql.close, [id, state, at, by])).rowCount === 1;
    },
    async countOpenDeadLetters() {
      const { rows } = await pool.query<{ subscriber: string; count: string }>(sql.countOpen);
      return new Map(rows.map((row) => [row.subscriber, Number(row.count)]));
    },
  };
};
