import type Database from 'better-sqlite3';
import type { PartitionClaim, PartitionClaims, ProcessEntry } from '../port.js';

/**
 * The process registry and partition claims in SQLite (port.ts, PartitionClaims): a row per live process and a
 * row per (group, partition). A claim is one upsert whose update applies only when the claimer already holds it
 * or the claim has expired; SQLite's single writer makes each atomic.
 */
export const createSqliteClaims = (db: Database.Database): PartitionClaims => {
  const sql = {
    beat: db.prepare(
      `INSERT INTO processes (id, roles, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET roles = excluded.roles, expires_at = excluded.expires_at`,
    ),
    live: db.prepare('SELECT id, roles, expires_at FROM processes WHERE expires_at > ? ORDER BY id'),
    forgetExpired: db.prepare('DELETE FROM processes WHERE expires_at <= ?'),
    remove: db.prepare('DELETE FROM processes WHERE id = ?'),
    claim: db
      .prepare(
        `INSERT INTO partition_claims (group_name, part, owner, expires_at, epoch) VALUES (?, ?, ?, ?, 1)
         ON CONFLICT (group_name, part) DO UPDATE SET
           epoch = CASE WHEN owner = excluded.owner THEN epoch ELSE epoch + 1 END,
           owner = excluded.owner,
           expires_at = excluded.expires_at
         WHERE owner = excluded.owner OR expires_at <= ?
         RETURNING part`,
      )
      .pluck(),
    release: db.prepare(
      'UPDATE partition_claims SET expires_at = 0 WHERE group_name = ? AND part = ? AND owner = ?',
    ),
    list: db.prepare(
      'SELECT group_name, part, owner, expires_at, epoch FROM partition_claims ORDER BY group_name, part',
    ),
    listGroup: db.prepare(
      'SELECT group_name, part, owner, expires_at, epoch FROM partition_claims WHERE group_name = ? ORDER BY part',
    ),
  };

  interface ClaimRow {
    group_name: string;
    part: number;
    owner: string;
    expires_at: number;
    epoch: number;
  }
  const toClaim = (row: ClaimRow): PartitionClaim => ({
    group: row.group_name,
    partition: row.part,
    owner: row.owner,
    expiresAt: row.expires_at,
    epoch: row.epoch,
  });

  const beat = db.transaction((entry: ProcessEntry, now: number) => {
    sql.beat.run(entry.id, entry.roles.join(','), entry.expiresAt);
    sql.forgetExpired.run(now);
    return sql.live.all(now) as { id: string; roles: string; expires_at: number }[];
  });

  const claim = db.transaction(
    (group: string, owner: string, partitions: readonly number[], now: number, expiresAt: number) =>
      partitions.filter((partition) => sql.claim.get(group, partition, owner, expiresAt, now) !== undefined),
  );

  const release = db.transaction((group: string, owner: string, partitions: readonly number[]) => {
    for (const partition of partitions) sql.release.run(group, partition, owner);
  });

  return {
    async beatProcess(entry, now) {
      return beat(entry, now).map((row) => ({
        id: row.id,
        roles: row.roles === '' ? [] : row.roles.split(','),
        expiresAt: row.expires_at,
      }));
    },
    async removeProcess(id) {
      sql.remove.run(id);
    },
    async claimPartitions(group, owner, partitions, now, expiresAt) {
      return claim(group, owner, [...new Set(partitions)], now, expiresAt).sort((a, b) => a - b);
    },
    async releasePartitions(group, owner, partitions) {
      release(group, owner, partitions);
    },
    async listClaims(group) {
      const rows = (group === undefined ? sql.list.all() : sql.listGroup.all(group)) as ClaimRow[];
      return rows.map(toClaim);
    },
  };
};
