import { hostname } from 'node:os';
import type Database from 'better-sqlite3';
import { identify, isSameProcess } from '../../support/signals.js';
import { checkLeaseRequest, decideLease, noLeaseLostNews } from '../lease.js';
import type { Lease, LeaseStore } from '../port.js';

/**
 * Leases in SQLite: one row per lease, read and written in one IMMEDIATE transaction (so two processes on the
 * file decide one after the other), expiring on this process's clock: the processes sharing a file are on one
 * machine. The row also records the process that wrote it (host, pid, start time), so that a lease whose holder
 * is a process of this machine that is gone (kill -9) is taken at once, without waiting for its expiry.
 */

interface LeaseRow extends Lease {
  host: string;
  pid: number;
  started: string;
}

const COLUMNS = 'name, holder, since, expires_at AS expiresAt, fencing, payload, host, pid, started';

export const createSqliteLeases = (db: Database.Database): LeaseStore => {
  const host = hostname();
  const self = identify(process.pid);
  const sql = {
    get: db.prepare(`SELECT ${COLUMNS} FROM leases WHERE name = ?`),
    put: db.prepare(
      `INSERT INTO leases (name, holder, since, expires_at, fencing, payload, host, pid, started)
       VALUES (@name, @holder, @since, @expiresAt, @fencing, @payload, @host, @pid, @started)
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, since = excluded.since,
         expires_at = excluded.expires_at, fencing = excluded.fencing, payload = excluded.payload,
         host = excluded.host, pid = excluded.pid, started = excluded.started`,
    ),
    release: db.prepare('UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ?'),
    list: db.prepare(`SELECT ${COLUMNS} FROM leases WHERE expires_at > ? ORDER BY name`),
  };

  /**
   * Whether the row's writer was a process of this machine that no longer runs (its pid is gone, or is another
   * process's now). Unknown when its start time could not be read: then only the expiry frees the lease.
   */
  const holderGone = (row: LeaseRow): boolean =>
    row.host === host &&
    row.pid !== process.pid &&
    row.started !== '' &&
    !isSameProcess({ pid: row.pid, startTime: row.started });

  const toLease = ({ name, holder, since, expiresAt, fencing, payload }: LeaseRow): Lease => ({
    name,
    holder,
    since,
    expiresAt,
    fencing,
    payload,
  });

  const acquire = db.transaction((name: string, owner: string, ttlMs: number, payload: string) => {
    const row = sql.get.get(name) as LeaseRow | undefined;
    const now = Date.now();
    const gone = row !== undefined && row.expiresAt > now && row.holder !== owner && holderGone(row);
    const decided = decideLease(row && toLease(row), { name, owner, ttlMs, payload, now }, gone);
    if (decided.write)
      sql.put.run({ ...decided.lease, host, pid: process.pid, started: self?.startTime ?? '' });
    return { held: decided.held, lease: decided.lease };
  });

  return {
    async acquireLease(name, owner, ttlMs, payload = '') {
      checkLeaseRequest(name, owner, ttlMs, payload);
      return acquire.immediate(name, owner, ttlMs, payload);
    },
    async releaseLease(name, owner) {
      sql.release.run(name, owner);
    },
    async listLeases() {
      return (sql.list.all(Date.now()) as LeaseRow[]).map(toLease);
    },
    onLeaseLost: noLeaseLostNews,
  };
};
