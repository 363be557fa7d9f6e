import { z } from 'zod';

/**
 * The configuration schema: the one source of truth for every key, shared by `evented.yaml`, Consul KV and
 * the runtime. `UserConfig` is what a user writes (everything optional); `ResolvedConfig` is what the
 * runtime gets (every default applied).
 */

const port = z.number().int().min(0).max(65535);
const host = z.string().min(1);
/** host:port of a gRPC service. */
const address = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port, for example 127.0.0.1:1737');
const domainName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, "use letters, digits, '_', '.', '-' (at most 128)");

const sqliteStore = z.strictObject({
  kind: z.literal('sqlite'),
  /** The database file, relative to the project folder. */
  path: z.string().min(1).default('.evented/events.db'),
  synchronous: z.enum(['full', 'normal']).default('full'),
});

const store = z.discriminatedUnion('kind', [sqliteStore]);

const commandHandler = z.strictObject({
  host: host.default('127.0.0.1'),
  port: port.default(1313),
  /** How long business logic may take for one command. */
  businessLogicTimeoutMs: z.number().int().positive().default(5000),
  /** How many times a command is decided again after losing a race with another writer. */
  conflictRetries: z.number().int().min(0).max(100).default(5),
  /** The largest command, event or snapshot payload accepted. */
  maxPayloadBytes: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  /** Aggregates kept in memory; 0 turns the cache off. */
  cachedAggregates: z.number().int().min(0).default(10_000),
});

const queryHandler = z.strictObject({
  host: host.default('127.0.0.1'),
  port: port.default(1314),
  /** About how large each streamed EventBook may grow. */
  bookBytes: z
    .number()
    .int()
    .positive()
    .default(64 * 1024),
});

const domain = z.strictObject({
  /** Where the domain's business logic listens (evented.BusinessLogic). */
  businessLogic: address,
});

export const configSchema = z.strictObject({
  /** The project's name, shown by `evented status`. */
  name: z.string().min(1).default('evented'),
  log: z
    .strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info') })
    .prefault({}),
  store: store.prefault({ kind: 'sqlite' }),
  commandHandler: commandHandler.prefault({}),
  queryHandler: queryHandler.prefault({}),
  domains: z.record(domainName, domain).default({}),
});

export type UserConfig = z.input<typeof configSchema>;
export type ResolvedConfig = z.output<typeof configSchema>;
export type StoreConfig = ResolvedConfig['store'];
