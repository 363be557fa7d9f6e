/**
 * The SQLite layout. Events are clustered by aggregate (WITHOUT ROWID, primary key domain+root+sequence), so
 * loading an aggregate is one range read; the unique index on position is the global log.
 */
export const SCHEMA_VERSION = 1;

export const schemaSql = `
CREATE TABLE IF NOT EXISTS evented_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS aggregates (
  domain TEXT NOT NULL,
  root BLOB NOT NULL,
  next INTEGER NOT NULL,
  PRIMARY KEY (domain, root)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
  domain TEXT NOT NULL,
  root BLOB NOT NULL,
  sequence INTEGER NOT NULL,
  position INTEGER NOT NULL,
  created_seconds INTEGER NOT NULL,
  created_nanos INTEGER NOT NULL,
  type_url TEXT,
  payload BLOB,
  synchronous INTEGER NOT NULL,
  PRIMARY KEY (domain, root, sequence)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS events_by_position ON events (position);
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
`;

export const EVENT_COLUMNS =
  'position, domain, root, sequence, created_seconds, created_nanos, type_url, payload, synchronous';

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
}

export interface SnapshotRow {
  sequence: number;
  type_url: string | null;
  state: Buffer | null;
}
