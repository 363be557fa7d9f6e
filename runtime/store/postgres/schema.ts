import { ValidationError } from '../../errors/index.js';

/**
 * The PostgreSQL layout, in a schema of its own (default "evented"), created on open. Events are keyed by
 * (domain, root, sequence), so a duplicate or a gap in an aggregate cannot be stored; the unique index on
 * position is the global log. `log_head` is a single row holding the last position given out: the append
 * transaction moves it (see index.ts for why that makes the log safe to read while writers race). Tables added
 * later without changing earlier ones (dead_letters, leases, subscriber_pauses, subscriber_deliverers, processes, partition_claims, deliveries, command_log) are created on open like the rest: same version.
 * So are the events' origin columns (`correlation_id`, `origin`: see store/origin.ts), added to a schema made
 * before them (ADD COLUMN IF NOT EXISTS); its older events read back without an origin.
 */
export const SCHEMA_VERSION = 1;

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** The schema name quoted for SQL, after checking that it is a plain identifier. */
export const quoteSchema = (schema: string): string => {
  if (!IDENTIFIER.test(schema))
    throw new ValidationError(
      `PostgreSQL schema "${schema}" is not a plain identifier: use lowercase letters, digits and '_' (at most 63)`,
    );
  return `"${schema}"`;
};

export const schemaSql = (s: string): string => `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE IF NOT EXISTS ${s}.evented_schema (version integer NOT NULL);
CREATE TABLE IF NOT EXISTS ${s}.log_head (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  position bigint NOT NULL
);
INSERT INTO ${s}.log_head (id, position) VALUES (true, 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS ${s}.aggregates (
  domain text COLLATE "C" NOT NULL,
  root bytea NOT NULL,
  next bigint NOT NULL,
  PRIMARY KEY (domain, root)
);
CREATE TABLE IF NOT EXISTS ${s}.events (
  domain text COLLATE "C" NOT NULL,
  root bytea NOT NULL,
  sequence bigint NOT NULL,
  position bigint NOT NULL,
  created_seconds bigint NOT NULL,
  created_nanos integer NOT NULL,
  type_url text,
  payload bytea,
  synchronous boolean NOT NULL,
  PRIMARY KEY (domain, root, sequence)
);
CREATE UNIQUE INDEX IF NOT EXISTS events_by_position ON ${s}.events (position);
DO $$ BEGIN
  -- Checked first: ALTER TABLE locks the table against readers even when the columns are there already.
  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = '${s}.events'::regclass AND attname = 'origin') THEN
    ALTER TABLE ${s}.events ADD COLUMN IF NOT EXISTS correlation_id text COLLATE "C";
    ALTER TABLE ${s}.events ADD COLUMN IF NOT EXISTS origin bytea;
  END IF;
END $$;
CREATE INDEX IF NOT EXISTS events_by_correlation ON ${s}.events (correlation_id, position)
  WHERE correlation_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS ${s}.snapshots (
  domain text COLLATE "C" NOT NULL,
  root bytea NOT NULL,
  sequence bigint NOT NULL,
  type_url text,
  state bytea,
  PRIMARY KEY (domain, root)
);
CREATE TABLE IF NOT EXISTS ${s}.applied_keys (
  key text COLLATE "C" PRIMARY KEY,
  domain text NOT NULL,
  root bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS ${s}.subscriber_progress (
  subscriber text COLLATE "C" NOT NULL,
  domain text COLLATE "C" NOT NULL,
  root bytea NOT NULL,
  next bigint NOT NULL,
  PRIMARY KEY (subscriber, domain, root)
);
CREATE TABLE IF NOT EXISTS ${s}.deliveries (
  subscriber text COLLATE "C" NOT NULL,
  domain text COLLATE "C" NOT NULL,
  root bytea NOT NULL,
  seq_from bigint NOT NULL,
  seq_to bigint NOT NULL,
  at bigint NOT NULL,
  took_ms bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_by_aggregate ON ${s}.deliveries (domain, root, seq_from);
CREATE INDEX IF NOT EXISTS deliveries_by_time ON ${s}.deliveries (at);
CREATE TABLE IF NOT EXISTS ${s}.checkpoints (
  name text COLLATE "C" PRIMARY KEY,
  position bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS ${s}.dead_letters (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  subscriber text COLLATE "C" NOT NULL,
  domain text COLLATE "C" NOT NULL,
  root bytea NOT NULL,
  sequence bigint NOT NULL,
  position bigint NOT NULL,
  attempts integer NOT NULL,
  last_error text NOT NULL,
  state text NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  decided_at bigint,
  decided_by text,
  UNIQUE (subscriber, domain, root, sequence)
);
CREATE INDEX IF NOT EXISTS dead_letters_by_state ON ${s}.dead_letters (state, subscriber);
CREATE TABLE IF NOT EXISTS ${s}.leases (
  name text COLLATE "C" PRIMARY KEY,
  holder text NOT NULL,
  since timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  fencing bigint NOT NULL,
  payload text NOT NULL
);
CREATE TABLE IF NOT EXISTS ${s}.subscriber_pauses (
  subscriber text COLLATE "C" PRIMARY KEY,
  holder text NOT NULL,
  reason text NOT NULL,
  since bigint NOT NULL,
  expires_at bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS ${s}.subscriber_deliverers (
  subscriber text COLLATE "C" NOT NULL,
  deliverer text COLLATE "C" NOT NULL,
  paused_for text,
  at bigint NOT NULL,
  PRIMARY KEY (subscriber, deliverer)
);
CREATE TABLE IF NOT EXISTS ${s}.processes (
  id text COLLATE "C" PRIMARY KEY,
  roles text NOT NULL,
  expires_at bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS ${s}.command_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  domain text COLLATE "C" NOT NULL,
  root bytea NOT NULL,
  command bytea NOT NULL,
  command_type text NOT NULL,
  decided_on bigint NOT NULL,
  at bigint NOT NULL,
  correlation_id text NOT NULL,
  command_id text NOT NULL,
  event_count integer,
  error_code integer,
  error_message text
);
CREATE INDEX IF NOT EXISTS command_log_by_aggregate ON ${s}.command_log (domain, root, id);
CREATE TABLE IF NOT EXISTS ${s}.partition_claims (
  group_name text COLLATE "C" NOT NULL,
  part integer NOT NULL,
  owner text COLLATE "C" NOT NULL,
  expires_at bigint NOT NULL,
  epoch bigint NOT NULL,
  PRIMARY KEY (group_name, part)
);
`;

export const EVENT_COLUMNS =
  'position, domain, root, sequence, created_seconds, created_nanos, type_url, payload, synchronous, correlation_id, origin';

/** bigint columns arrive as strings (node-postgres does not guess at precision). */
export interface EventRow {
  position: string;
  domain: string;
  root: Buffer;
  sequence: string;
  created_seconds: string;
  created_nanos: number;
  type_url: string | null;
  payload: Buffer | null;
  synchronous: boolean;
  correlation_id: string | null;
  origin: Buffer | null;
}
