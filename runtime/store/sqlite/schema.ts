/**
 * The SQLite layout. Events are clustered by global position (the rowid): appends go to the end of the table,
 * and the global log (relay, catch-up, replay, tail) is one sequential read. The unique index on
 * (domain, root, sequence) enforces the sequence rule and serves aggregate loads (most of which the aggregate
 * cache answers anyway). Version 1 clustered by aggregate, which made every log read a random lookup per event.
 *
 * Tables added later without changing what earlier ones hold (dead_letters, leases, subscriber_pauses, subscriber_deliverers, processes, partition_claims, deliveries, command_log) are created on open, like the rest,
 * so a file of the same version gains them the first time this evented opens it: no new version, and an older
 * evented of version 2 still opens the file (it never reads them). The same for columns added later: the events'
 * origin (`correlation_id`, `origin`: see store/origin.ts) is added on open to a file that lacks it
 * (ORIGIN_COLUMNS), its older events reading back without one.
 */
export const SCHEMA_VERSION = 2;

export const schemaSql = `
CREATE TABLE IF NOT EXISTS evented_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS aggregates (
  domain TEXT NOT NULL,
  root BLOB NOT NULL,
  next INTEGER NOT NULL,
  PRIMARY KEY (domain, root)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
  position INTEGER PRIMARY KEY,
  domain TEXT NOT NULL,
  root BLOB NOT NULL,
  sequence INTEGER NOT NULL,
  created_seconds INTEGER NOT NULL,
  created_nanos INTEGER NOT NULL,
  type_url TEXT,
  payload BLOB,
  synchronous INTEGER NOT NULL,
  correlation_id TEXT,
  origin BLOB
);
CREATE UNIQUE INDEX IF NOT EXISTS events_by_aggregate ON events (domain, root, sequence);
CREATE TABLE IF NOT EXISTS snapshots (
  domain TEXT NOT NULL,
  root BLOB NOT NULL,
  sequence INTEGER NOT NULL,
  type_url TEXT,
  state BLOB,
  PRIMARY KEY (domain, root)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS applied_keys (
  key TEXT PRIMARY KEY,
  domain TEXT NOT NULL,
  root BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS subscriber_progress (
  subscriber TEXT NOT NULL,
  domain TEXT NOT NULL,
  root BLOB NOT NULL,
  next INTEGER NOT NULL,
  PRIMARY KEY (subscriber, domain, root)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
  name TEXT PRIMARY KEY,
  position INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  subscriber TEXT NOT NULL,
  domain TEXT NOT NULL,
  root BLOB NOT NULL,
  sequence INTEGER NOT NULL,
  position INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  decided_at INTEGER,
  decided_by TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS dead_letters_by_event ON dead_letters (subscriber, domain, root, sequence);
CREATE INDEX IF NOT EXISTS dead_letters_by_state ON dead_letters (state, subscriber);
CREATE TABLE IF NOT EXISTS leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  since INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  fencing INTEGER NOT NULL,
  payload TEXT NOT NULL,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  started TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS subscriber_pauses (
  subscriber TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  reason TEXT NOT NULL,
  since INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS subscriber_deliverers (
  subscriber TEXT NOT NULL,
  deliverer TEXT NOT NULL,
  paused_for TEXT,
  at INTEGER NOT NULL,
  PRIMARY KEY (subscriber, deliverer)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS processes (
  id TEXT PRIMARY KEY,
  roles TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS partition_claims (
  group_name TEXT NOT NULL,
  part INTEGER NOT NULL,
  owner TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  epoch INTEGER NOT NULL,
  PRIMARY KEY (group_name, part)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deliveries (
  subscriber TEXT NOT NULL,
  domain TEXT NOT NULL,
  root BLOB NOT NULL,
  seq_from INTEGER NOT NULL,
  seq_to INTEGER NOT NULL,
  at INTEGER NOT NULL,
  took_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_by_aggregate ON deliveries (domain, root, seq_from);
CREATE INDEX IF NOT EXISTS deliveries_by_time ON deliveries (at);
CREATE TABLE IF NOT EXISTS command_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  domain TEXT NOT NULL,
  root BLOB NOT NULL,
  command BLOB NOT NULL,
  command_type TEXT NOT NULL,
  decided_on INTEGER NOT NULL,
  at INTEGER NOT NULL,
  correlation_id TEXT NOT NULL,
  command_id TEXT NOT NULL,
  event_count INTEGER,
  error_code INTEGER,
  error_message TEXT
);
CREATE INDEX IF NOT EXISTS command_log_by_aggregate ON command_log (domain, root, id);
`;

/** Columns of `events` added after version 2 was released, added on open when missing (see openDatabase). */
export const ORIGIN_COLUMNS = { correlation_id: 'TEXT', origin: 'BLOB' } as const;

/** After the columns exist: the lookup of a correlation's events (rowid order is position order). */
export const originIndexSql =
  'CREATE INDEX IF NOT EXISTS events_by_correlation ON events (correlation_id) WHERE correlation_id IS NOT NULL';

export const EVENT_COLUMNS =
  'position, domain, root, sequence, created_seconds, created_nanos, type_url, payload, synchronous, correlation_id, origin';

export interface EventRow {
  position: number;
  domain: string;
  root: Buffer;
  sequence: number;
  created_seconds: number;
  created_nanos: number;
  type_url: string | null;
  payload: Buffer | null;
  synchronous: number;
  correlation_id: string | null;
  origin: Buffer | null;
}

export interface SnapshotRow {
  sequence: number;
  type_url: string | null;
  state: Buffer | null;
}
