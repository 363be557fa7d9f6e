import pg from 'pg';
import { createKeyedLock } from '../../support/keyed-lock.js';
import { checkLeaseRequest, createLeaseLostListeners } from '../lease.js';
import type { Lease, LeaseStore } from '../port.js';

/**
 * Leases in PostgreSQL. Who may hold a lease is decided by a session advisory lock (`pg_try_advisory_lock` on a
 * key derived from the schema and the lease's name), taken on a connection of its own — not the pool's — that
 * stays open while the lease is held: when the holder dies (kill -9, a lost network), the server ends its session
 * and frees the lock at once, and the next owner to ask takes it. A row per lease (holder, since, expiry, fencing)
 * says who holds it, for `status`; its times are the server's (`now()`).
 *
 * The lease also lapses like everyone else's when its holder stops renewing for its ttl: this instance then
 * unlocks it, and an owner asking for a lease whose holder's session still holds the lock after its expiry (a
 * frozen process, a network partition that leaves the connection open) ends that session. The holder hears at
 * once of a lock connection that drops (onLeaseLost).
 */

interface Held {
  owner: string;
  /** Unlocks the lease when it is not renewed in time. */
  lapse: NodeJS.Timeout;
}

const LEASE_COLUMNS = `name, holder, (extract(epoch FROM since) * 1000)::bigint AS since,
  (extract(epoch FROM expires_at) * 1000)::bigint AS expires_at, fencing, payload`;

interface LeaseRow {
  name: string;
  holder: string;
  since: string;
  expires_at: string;
  fencing: string;
  payload: string;
}

const toLease = (row: LeaseRow): Lease => ({
  name: row.name,
  holder: row.holder,
  since: Number(row.since),
  expiresAt: Number(row.expires_at),
  fencing: Number(row.fencing),
  payload: row.payload,
});

export interface PostgresLeases extends LeaseStore {
  /** Ends the lock connection (the server frees every lock on it); no loss is announced. */
  close(): Promise<void>;
}

export const createPostgresLeases = (options: {
  url: string;
  pool: pg.Pool;
  /** The quoted schema, for SQL, and its name, for the lock keys. */
  s: string;
  schema: string;
}): PostgresLeases => {
  const { pool, s } = options;
  const lockKey = (name: string): string => `evented lease ${options.schema} ${name}`;
  const sql = {
    lock: 'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked',
    unlock: 'SELECT pg_advisory_unlock(hashtextextended($1, 0))',
    take: `INSERT INTO ${s}.leases AS stored (name, holder, since, expires_at, fencing, payload)
           VALUES ($1, $2, now(), now() + $3 * interval '1 millisecond', 1, $4)
           ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, since = excluded.since,
             expires_at = excluded.expires_at, fencing = stored.fencing + 1, payload = excluded.payload
           RETURNING ${LEASE_COLUMNS}`,
    renew: `UPDATE ${s}.leases SET expires_at = now() + $3 * interval '1 millisecond', payload = $4
            WHERE name = $1 AND holder = $2 RETURNING ${LEASE_COLUMNS}`,
    release: `UPDATE ${s}.leases SET expires_at = now() WHERE name = $1 AND holder = $2`,
    get: `SELECT ${LEASE_COLUMNS} FROM ${s}.leases WHERE name = $1`,
    list: `SELECT ${LEASE_COLUMNS} FROM ${s}.leases WHERE expires_at > now() ORDER BY name`,
    // The session still holding the lock of a lease that has lapsed: its holder has not renewed for a whole ttl
    // (frozen, or cut off by a network that has not closed its connection), and has stopped by its own clock.
    endLapsedHolder: `SELECT pg_terminate_backend(lock.pid) AS ended
           FROM pg_locks AS lock, ${s}.leases AS lease
           WHERE lease.name = $2 AND lease.expires_at <= now()
             AND lock.locktype = 'advisory' AND lock.granted AND lock.pid <> pg_backend_pid()
             AND lock.database = (SELECT oid FROM pg_database WHERE datname = current_database())
             AND ((lock.classid::bigint << 32) | lock.objid::bigint) = hashtextextended($1, 0)`,
  };
  const held = new Map<string, Held>();
  const { onLeaseLost, lost } = createLeaseLostListeners();
  /** One acquire or release per lease at a time: a session advisory lock taken twice must be unlocked twice. */
  const serial = createKeyedLock();
  let connection: Promise<pg.Client> | undefined;
  let closed = false;

  /** Forgets every lease of a connection that is gone (the server has freed their locks) and says so. */
  const dropConnection = (client: pg.Client): void => {
    void connection?.then((current) => {
      if (current !== client) return;
      connection = undefined;
      const names = [...held.keys()];
      for (const name of names) clearTimeout(held.get(name)!.lapse);
      held.clear();
      if (!closed) for (const name of names) lost(name);
    });
  };

  const lockConnection = (): Promise<pg.Client> => {
    connection ??= (async () => {
      const client = new pg.Client({ connectionString: options.url, keepAlive: true });
      client.on('error', () => dropConnection(client));
      client.on('end', () => dropConnection(client));
      try {
        await client.connect();
      } catch (err) {
        connection = undefined;
        throw err;
      }
      return client;
    })();
    return connection;
  };

  const current = async (name: string): Promise<Lease | undefined> => {
    const { rows } = await pool.query<LeaseRow>(sql.get, [name]);
    return rows[0] && toLease(rows[0]);
  };

  /** Unlocks a lease this instance holds (its ttl passed without a renewal, or its owner released it). */
  const unlock = async (name: string): Promise<void> => {
    const entry = held.get(name);
    if (entry === undefined) return;
    clearTimeout(entry.lapse);
    held.delete(name);
    const client = await connection;
    if (client) await onLock(client, sql.unlock, [lockKey(name)]);
  };

  const lapseAfter = (name: string, ttlMs: number): NodeJS.Timeout => {
    const timer = setTimeout(() => {
      void serial
        .run(name, () => unlock(name))
        .catch(() => undefined)
        .then(() => lost(name));
    }, ttlMs);
    timer.unref();
    return timer;
  };

  /**
   * A query on the lock connection. When one fails, the connection is ended: the server then frees every lock of
   * its session, so that a lock can never outlive what this instance knows of it (a later try would take it on a
   * new session while the old one kept it).
   */
  const onLock = async <R extends pg.QueryResultRow>(
    client: pg.Client,
    text: string,
    values: unknown[],
  ): Promise<pg.QueryResult<R>> => {
    try {
      return await client.query<R>(text, values);
    } catch (err) {
      dropConnection(client);
      await client.end().catch(() => undefined);
      throw err;
    }
  };

  const acquire = async (name: string, owner: string, ttlMs: number, payload: string) => {
    const mine = held.get(name);
    if (mine !== undefined && mine.owner !== owner) return { held: false, lease: await current(name) };
    const client = await lockConnection();
    if (mine !== undefined) {
      // Renewed on the lock connection: a renewal that succeeds proves the lock is still this session's.
      const { rows } = await onLock<LeaseRow>(client, sql.renew, [name, owner, ttlMs, payload]);
      if (rows[0] !== undefined) {
        clearTimeout(mine.lapse);
        mine.lapse = lapseAfter(name, ttlMs);
        return { held: true, lease: toLease(rows[0]) };
      }
      await unlock(name); // someone changed the row by hand: the lease is not ours to keep
      return { held: false, lease: await current(name) };
    }
    const { rows: locked } = await onLock<{ locked: boolean }>(client, sql.lock, [lockKey(name)]);
    if (!locked[0]!.locked) {
      // A holder that has not renewed for its ttl is ended, so that the next ask takes the lease: the server
      // would otherwise keep its lock as long as its connection looks open (hours, across a network partition).
      await pool.query(sql.endLapsedHolder, [lockKey(name), name]);
      return { held: false, lease: await current(name) };
    }
    const { rows } = await onLock<LeaseRow>(client, sql.take, [name, owner, ttlMs, payload]);
    held.set(name, { owner, lapse: lapseAfter(name, ttlMs) });
    return { held: true, lease: toLease(rows[0]!) };
  };

  return {
    async acquireLease(name, owner, ttlMs, payload = '') {
      checkLeaseRequest(name, owner, ttlMs, payload);
      return serial.run(name, () => acquire(name, owner, ttlMs, payload));
    },

    async releaseLease(name, owner) {
      await serial.run(name, async () => {
        if (held.get(name)?.owner !== owner) return;
        await pool.query(sql.release, [name, owner]);
        await unlock(name);
      });
    },

    async listLeases() {
      return (await pool.query<LeaseRow>(sql.list)).rows.map(toLease);
    },

    onLeaseLost,

    async close() {
      closed = true;
      for (const { lapse } of held.values()) clearTimeout(lapse);
      held.clear();
      const client = await connection?.catch(() => undefined);
      connection = undefined;
      await client?.end().catch(() => undefined);
    },
  };
};
