import type { Pool } from 'pg';
import type { PartitionClaim, PartitionClaims } from '../port.js';

/**
 * The process registry and partition claims in PostgreSQL (port.ts, PartitionClaims). A claim is one upsert per
 * partition whose update applies only when the claimer already holds it or the claim has expired: PostgreSQL
 * locks the row for the upsert, so of two processes claiming one partition exactly one gets it.
 */

/** bigint columns arrive as strings. */
interface ClaimRow {
  group_name: string;
  part: number;
  owner: string;
  expires_at: string;
  epoch: string;
}

const toClaim = (row: ClaimRow): PartitionClaim => ({
  group: row.group_name,
  partition: row.part,
  owner: row.owner,
  expiresAt: Number(row.expires_at),
  epoch: Number(row.epoch),
});

export const createPostgresClaims = (pool: Pool, s: string): PartitionClaims => {
  const sql = {
    beat: `WITH beat AS (
             INSERT INTO ${s}.processes (id, roles, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET roles = excluded.roles, expires_at = excluded.expires_at
           ), forgotten AS (DELETE FROM ${s}.processes WHERE expires_at <= $4 AND id <> $1)
           SELECT id, roles, expires_at FROM ${s}.processes WHERE expires_at > $4 AND id <> $1
           UNION ALL SELECT $1, $2, $3::bigint WHERE $3::bigint > $4
           ORDER BY id`,
    remove: `DELETE FROM ${s}.processes WHERE id = $1`,
    // In partition order, so that two claimers of overlapping partitions wait for each other, never deadlock.
    claim: `INSERT INTO ${s}.partition_claims AS held (group_name, part, owner, expires_at, epoch)
            SELECT $1, part, $2, $4, 1 FROM unnest($3::int[]) AS part ORDER BY part
            ON CONFLICT (group_name, part) DO UPDATE SET
              epoch = CASE WHEN held.owner = excluded.owner THEN held.epoch ELSE held.epoch + 1 END,
              owner = excluded.owner,
              expires_at = excluded.expires_at
            WHERE held.owner = excluded.owner OR held.expires_at <= $5
            RETURNING part`,
    release: `UPDATE ${s}.partition_claims SET expires_at = 0
              WHERE group_name = $1 AND owner = $2 AND part = ANY($3::int[])`,
    list: `SELECT group_name, part, owner, expires_at, epoch FROM ${s}.partition_claims
           WHERE $1::text IS NULL OR group_name = $1 ORDER BY group_name, part`,
  };

  return {
    async beatProcess(entry, now) {
      const { rows } = await pool.query<{ id: string; roles: string; expires_at: string }>(sql.beat, [
        entry.id,
        entry.roles.join(','),
        entry.expiresAt,
        now,
      ]);
      return rows.map((row) => ({
        id: row.id,
        roles: row.roles === '' ? [] : row.roles.split(','),
        expiresAt: Number(row.expires_at),
      }));
    },
    async removeProcess(id) {
      await pool.query(sql.remove, [id]);
    },
    async claimPartitions(group, owner, partitions, now, expiresAt) {
      if (partitions.length === 0) return [];
      const { rows } = await pool.query<{ part: number }>(sql.claim, [
        group,
        owner,
        [...new Set(partitions)],
        expiresAt,
        now,
      ]);
      return rows.map((row) => row.part).sort((a, b) => a - b);
    },
    async releasePartitions(group, owner, partitions) {
      if (partitions.length === 0) return;
      await pool.query(sql.release, [group, owner, [...partitions]]);
    },
    async listClaims(group) {
      const { rows } = await pool.query<ClaimRow>(sql.list, [group ?? null]);
      return rows.map(toClaim);
    },
  };
};
