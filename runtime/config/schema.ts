import { z } from 'zod';
import { DEFAULT_PARTITIONS, MAX_PARTITIONS } from '../bus/partition.js';
import { deploy } from './deploy.js';
import { ROLES } from './roles.js';

/** How long a partition claim lasts without renewal, by default (delivery.claimTtlMs). */
export const DEFAULT_CLAIM_TTL_MS = 3000;

/**
 * The configuration schema: the one source of truth for every key, shared by `evented.yaml`, Consul KV and
 * the runtime. `UserConfig` is what a user writes (everything optional); `ResolvedConfig` is what the
 * runtime gets (every default applied).
 */

const port = z.number().int().min(0).max(65535);
const host = z.string().min(1);
/** host:port of a gRPC service. */
const address = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port, for example 127.0.0.1:1737');
/** A file: relative to the project folder, or absolute (a PEM certificate or key, a token). */
const filePath = z.string().min(1);
const envName = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]*$/,
    'expected the name of an environment variable, for example EVENTED_STORE_URL',
  );
/**
 * A value the runtime reads from its environment when it starts (`{ env: EVENTED_STORE_URL }`), so that a secret —
 * a URL with a password — is never written in evented.yaml, a ConfigMap or Consul (see config/from-env.ts).
 */
const fromEnv = z.strictObject({ env: envName });
/** A server's URL, written out or read from the environment. */
const serverUrl = (pattern: RegExp, expected: string) =>
  z.union([z.string().regex(pattern, expected), fromEnv], {
    error: `${expected}, or { env: NAME } to read it from an environment variable`,
  });

const domainName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, "use letters, digits, '_', '.', '-' (at most 128)");

const sqliteStore = z.strictObject({
  kind: z.literal('sqlite'),
  /** The database file, relative to the project folder. */
  path: z.string().min(1).default('.evented/events.db'),
  synchronous: z.enum(['full', 'normal']).default('full'),
});

const postgresStore = z.strictObject({
  kind: z.literal('postgres'),
  url: serverUrl(
    /^postgres(ql)?:\/\//,
    'expected a PostgreSQL URL, for example postgres://user@127.0.0.1:5432/evented',
  ),
  /** Connections each runtime may open. */
  poolSize: z.number().int().positive().default(10),
  /** The schema holding evented's tables (created on first use). */
  schema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, "use lowercase letters, digits and '_' (at most 63)")
    .default('evented'),
});

const mongodbStore = z.strictObject({
  kind: z.literal('mongodb'),
  url: serverUrl(
    /^mongodb(\+srv)?:\/\//,
    'expected a MongoDB URL, for example mongodb://127.0.0.1:27017/?replicaSet=rs0',
  ),
  /** The database holding evented's collections. */
  database: z.string().min(1).default('evented'),
});

const store = z.discriminatedUnion('kind', [sqliteStore, postgresStore, mongodbStore]);

const commandHandler = z.strictObject({
  host: host.default('127.0.0.1'),
  port: port.default(1313),
  /**
   * Where this deployment's command handlers are reachable (host:port: a process holding the role command, or a
   * load balancer in front of several), for processes without that role: their sagas' output goes there.
   */
  address: address.optional(),
  /** How long business logic may take for one command. */
  businessLogicTimeoutMs: z.number().int().positive().default(5000),
  /** How many times a command is decided again after losing a race with another writer. */
  conflictRetries: z.number().int().min(0).max(100).default(5),
  /** The largest command, event or snapshot payload accepted: its typeUrl and value together, in bytes. */
  maxPayloadBytes: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  /** The largest book accepted (a Record, a command, what business logic returns), encoded, in bytes. */
  maxBookBytes: z
    .number()
    .int()
    .positive()
    .default(16 * 1024 * 1024),
  /** The most pages (events or commands) one book may have. */
  maxPagesPerBook: z.number().int().positive().default(10_000),
  /** Aggregates kept in memory; 0 turns the cache off. */
  cachedAggregates: z.number().int().min(0).default(10_000),
  /** Bytes of encoded aggregates kept in memory, over all of them; 0 turns the cache off. */
  cachedBytes: z
    .number()
    .int()
    .min(0)
    .default(64 * 1024 * 1024),
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

/**
 * TLS of the runtime's gRPC servers: with this section, every one of them speaks TLS only (a client without TLS
 * is refused). Kubernetes mounts a `kubernetes.io/tls` Secret as files: tls.crt, tls.key, ca.crt.
 */
const tls = z.strictObject({
  /** The certificate chain (PEM). Also the client certificate the runtime presents to a target it calls over TLS. */
  cert: filePath,
  /** Its private key (PEM). */
  key: filePath,
  /** Mutual TLS: a client must present a certificate signed by one of these CAs (PEM), or it is refused. */
  clientCa: filePath.optional(),
  /** The CAs (PEM) a target called with `tls: true` must be signed by; without it, the system's CAs. */
  ca: filePath.optional(),
});

/**
 * How the runtime calls one of the user's services or another runtime: in plaintext (the default: absent or
 * `false`), or over TLS (`true`: verified with `tls.ca`, presenting `tls.cert`), or over TLS with its own CA file
 * or the name its certificate carries when the address does not (`{ ca, serverName }`).
 */
const targetTls = z
  .union(
    [z.boolean(), z.strictObject({ ca: filePath.optional(), serverName: z.string().min(1).optional() })],
    {
      error: 'expected true, false, or { ca: FILE, serverName: NAME }',
    },
  )
  .optional();

/**
 * The token the admin service and the projector and saga coordinators require of every call (gRPC metadata
 * `authorization: Bearer TOKEN`; health checks stay open): from a file or an environment variable, never written
 * here.
 */
const token = z
  .strictObject({
    /** A file holding the token (Kubernetes: a mounted Secret). */
    file: filePath.optional(),
    /** An environment variable holding it. */
    env: envName.optional(),
  })
  .refine((it) => (it.file === undefined) !== (it.env === undefined), {
    message: 'give the token either as file (a file holding it) or as env (a variable holding it)',
  });

const domain = z.strictObject({
  /** Where the domain's business logic listens (evented.BusinessLogic). */
  businessLogic: address,
  tls: targetTls,
});

/**
 * The largest bus message when `bus.maxMessageBytes` is not set: 4 MiB, far below RabbitMQ's 128 MiB, and what a
 * consumer may hold is `prefetch` messages (64 × 4 MiB at most). Events of usual sizes never come near it: a
 * round of 1,000 events of 1 KB is 1 MB. It is also the size of one projector call (projector/call-size.ts).
 */
export const DEFAULT_BUS_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * The largest bus message: a round of the relay is cut into messages below it (a single larger event travels
 * alone). Optional, so that a bus chosen on the command line keeps the default (DEFAULT_BUS_MESSAGE_BYTES).
 */
const maxMessageBytes = z
  .number()
  .int()
  .min(64 * 1024)
  .optional();

const memoryBus = z.strictObject({ kind: z.literal('memory'), maxMessageBytes });

const amqpBus = z.strictObject({
  kind: z.literal('amqp'),
  url: serverUrl(/^amqps?:\/\//, 'expected an AMQP URL, for example amqp://guest:guest@127.0.0.1:5672'),
  /** The topic exchange events are published to (routing key: the domain). */
  exchange: z.string().min(1).default('evented'),
  /** How many messages a consumer may hold ahead of the one it is handling. */
  prefetch: z.number().int().positive().default(64),
  /** Keep it below the broker's max_message_size (RabbitMQ: 128 MiB by default). */
  maxMessageBytes,
});

const bus = z.discriminatedUnion('kind', [memoryBus, amqpBus]);

const relay = z.strictObject({
  /** Events read from the global log and published per round. */
  batchSize: z.number().int().positive().default(1000),
  /** How often to look for events written by another process when nothing woke the relay. */
  idlePollMs: z.number().int().positive().default(200),
  /**
   * One relay publishes per store: the one holding the store's relay lease, renewed every third of this. When its
   * holder stops renewing, another relay takes over after this long at most (PostgreSQL: at once when the holder
   * dies, its lock connection closing; SQLite: at once when the holder was a process of this machine that is gone).
   */
  leaseTtlMs: z.number().int().min(300).max(600_000).default(5000),
});

const delivery = z.strictObject({
  /** Attempts for an event a projector or saga keeps failing on, before it goes to the dead-letter queue. */
  maxAttempts: z.number().int().positive().default(5),
  /** First delay between such attempts; doubles each time. */
  retryDelayMs: z.number().int().min(0).default(200),
  /**
   * Longest wait between attempts to reach a projector, saga or other command handler that is down: one that is
   * back is reached within it (each attempt dials anew; see grpc/redialing-client.ts).
   */
  maxBackoffMs: z.number().int().positive().default(5000),
  /** Deadline of one call to a projector or saga. */
  callTimeoutMs: z.number().int().positive().default(10_000),
  /**
   * Each projector's and saga's stream is split into this many partitions by a hash of the aggregate (an
   * aggregate is always in one partition, so its order is kept); the processes holding the projectors and sagas
   * roles share the partitions out. Change it only with every process stopped.
   */
  partitions: z.number().int().min(1).max(MAX_PARTITIONS).default(DEFAULT_PARTITIONS),
  /**
   * How long a process's claim on a partition lasts without being renewed (it renews every third of it): the
   * partitions of a process that died are taken over after this.
   */
  claimTtlMs: z.number().int().min(300).max(600_000).default(DEFAULT_CLAIM_TTL_MS),
  /**
   * How long the delivery log keeps which projector or saga applied which events, and when (what `evented trace`
   * shows); older entries are deleted from time to time. 0 turns the log off.
   */
  deliveryLogRetentionHours: z
    .number()
    .min(0)
    .max(24 * 366)
    .default(24),
});

const connections = z.strictObject({
  /** Connections each of the runtime's gRPC servers keeps open at once; more are closed as they arrive. */
  maxPerServer: z.number().int().positive().default(1000),
  /** A connection with no call in flight for this long is closed (the client reconnects when it needs to). */
  idleTimeoutMs: z.number().int().positive().default(120_000),
});

const subscriber = z.strictObject({
  /** Where it listens (evented.Projector or evented.Saga). */
  address,
  /** The domains whose events it receives. */
  domains: z.array(domainName).min(1),
  /** Also run it inside command calls, for pages marked synchronous (its result comes back in the response). */
  synchronous: z.boolean().default(false),
  /**
   * Calls one process may have in flight to it at once, each for a different partition (so for different
   * aggregates). 1 (the default) keeps one call at a time per process; more needs a service that accepts
   * concurrent calls.
   */
  concurrency: z.number().int().min(1).max(MAX_PARTITIONS).default(1),
  tls: targetTls,
});

const subscriberName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "use letters, digits, '_', '.', '-' (at most 64)");

const server = (defaultPort: number) =>
  z.strictObject({ host: host.default('127.0.0.1'), port: port.default(defaultPort) });

/** Where a process serves its metrics unless `metrics.port` says otherwise (1313–1317 are the runtime's). */
export const DEFAULT_METRICS_PORT = 1318;

/** Where the web console listens unless `console.port` says otherwise. */
export const DEFAULT_CONSOLE_PORT = 1317;

/**
 * Where the plaintext health server listens unless `health.port` says otherwise (a process whose servers speak
 * TLS, or the relay alone): above the console's and the metrics' ports.
 */
export const DEFAULT_HEALTH_PORT = 1319;

/** Loopback names and addresses: what only this machine can reach. */
export const isLoopbackHost = (host: string): boolean => {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
};

/**
 * The Prometheus endpoint (GET /metrics over HTTP) of each runtime process: present, it is on (`metrics: {}` is
 * enough). It has no authentication, so a host other than loopback needs `allowRemote: true`.
 */
const metrics = z
  .strictObject({
    enabled: z.boolean().default(true),
    host: host.default('127.0.0.1'),
    port: port.default(DEFAULT_METRICS_PORT),
    /** Serve it on a host other than loopback (0.0.0.0, a LAN address): anyone who reaches it may read it. */
    allowRemote: z.boolean().default(false),
  })
  .refine((it) => !it.enabled || it.allowRemote || isLoopbackHost(it.host), {
    message:
      'the metrics endpoint has no authentication: to serve it on a host other than loopback (127.0.0.1, ::1), also set metrics.allowRemote: true',
    path: ['host'],
  });

/**
 * The web console (runtime/console/): served over HTTP by the process holding the role admin, on loopback unless
 * told otherwise. On any other host every request must carry `authorization: Bearer TOKEN` with `token` (read
 * from a file or the environment, like the runtime's own token): a console on a network needs one.
 */
const consoleSection = z
  .strictObject({
    /** Serve it (only a process holding the role admin does). */
    enabled: z.boolean().default(true),
    host: host.default('127.0.0.1'),
    port: port.default(DEFAULT_CONSOLE_PORT),
    /** Required on a host other than loopback. */
    token: token.optional(),
  })
  .refine((it) => !it.enabled || it.token !== undefined || isLoopbackHost(it.host), {
    message:
      'the console changes state (retry, skip, replay): to serve it on a host other than loopback (127.0.0.1, ::1), also set console.token (file: FILE or env: NAME), which every request must then carry',
    path: ['token'],
  });

const otherCommandHandler = z.strictObject({
  domain: domainName,
  /** Another runtime's command handler (evented.BusinessCoordinator) serving that domain. */
  address,
  tls: targetTls,
});

/** A user's own service that `evented up` starts beside the framework (business logic, projector, saga, …). */
const userProcess = z.strictObject({
  /** The command line, run by a shell in `cwd`. */
  command: z.string().min(1),
  /** Relative to the project folder. */
  cwd: z.string().min(1).default('.'),
  env: z.record(z.string(), z.string()).default({}),
  /** host:port the process listens on: `evented up` waits for it to accept connections before going on. */
  readyOn: address.optional(),
});

const processName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "use letters, digits, '_', '.', '-' (at most 64)");

/**
 * The most domains one runtime serves. Start-up is linear in them (about 3 s for 64,000 on a 2-core machine), and
 * a runtime with more is better split: beyond this, the configuration is refused rather than loaded for minutes.
 */
export const MAX_DOMAINS = 100_000;

export const configSchema = z.strictObject({
  /** The project's name, shown by `evented status`. */
  name: z.string().min(1).default('evented'),
  log: z
    .strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info') })
    .prefault({}),
  store: store.prefault({ kind: 'sqlite' }),
  commandHandler: commandHandler.prefault({}),
  /**
   * The decision log: every command business logic accepted or refused, kept in the store with the state it was
   * decided on and its outcome (what `evented verify` decides again). Off by default: a row more per command.
   */
  commandLog: z.boolean().default(false),
  queryHandler: queryHandler.prefault({}),
  domains: z
    .record(domainName, domain)
    .refine((domains) => Object.keys(domains).length <= MAX_DOMAINS, {
      message: `more than ${MAX_DOMAINS} domains: split them over several runtimes (see otherCommandHandlers)`,
    })
    .default({}),
  bus: bus.prefault({ kind: 'memory' }),
  relay: relay.prefault({}),
  delivery: delivery.prefault({}),
  /** What every gRPC server of the runtime allows its clients. */
  connections: connections.prefault({}),
  projectorCoordinator: server(1315).prefault({}),
  sagaCoordinator: server(1748).prefault({}),
  /** The admin service (evented.Admin): what the CLI's status, tail, replay and rebuild talk to. */
  admin: server(1316).prefault({}),
  /** What a process of `evented serve` runs (its --role flag wins); `evented up` runs every role. */
  roles: z
    .array(z.enum(ROLES, { error: `expected one of ${ROLES.join(', ')}` }))
    .min(1, 'a process holds at least one role')
    .default([...ROLES]),
  projectors: z.record(subscriberName, subscriber).default({}),
  sagas: z.record(subscriberName, subscriber).default({}),
  /** Domains whose commands are handled by another runtime (where sagas send their output). */
  otherCommandHandlers: z.array(otherCommandHandler).default([]),
  /** The user's own services, started (in this order) by `evented up` and stopped by `evented down`. */
  processes: z.record(processName, userProcess).default({}),
  tls: tls.optional(),
  token: token.optional(),
  /**
   * A plaintext server answering grpc.health.v1 only, for the whole process, for what a probe could not ask
   * otherwise: a runtime whose servers speak TLS (Kubernetes' `grpc:` probes do not) and a process that holds no
   * server of its own (the relay alone; 127.0.0.1:1319 when this is not set). Otherwise not started.
   */
  health: server(DEFAULT_HEALTH_PORT).optional(),
  /** Prometheus metrics at http://HOST:PORT/metrics, one endpoint per process; off without this section. */
  metrics: metrics.optional(),
  /** The web console at http://HOST:PORT/ (role admin; on by default, on 127.0.0.1:1317). */
  console: consoleSection.prefault({}),
  /** How `evented deploy kubernetes` renders this project (see config/deploy.ts). */
  deploy: deploy.optional(),
});

export type UserConfig = z.input<typeof configSchema>;
export type ResolvedConfig = z.output<typeof configSchema>;
export type StoreConfig = ResolvedConfig['store'];
export type BusConfig = ResolvedConfig['bus'];
export type UserProcessConfig = ResolvedConfig['processes'][string];
export type TlsConfig = NonNullable<ResolvedConfig['tls']>;
/** How the runtime calls one target (see targetTls). */
export type TargetTlsConfig = NonNullable<ResolvedConfig['domains'][string]['tls']>;
export type TokenConfig = NonNullable<ResolvedConfig['token']>;
export type DeployConfig = NonNullable<ResolvedConfig['deploy']>;
export type MetricsConfig = NonNullable<ResolvedConfig['metrics']>;
export type ConsoleConfig = ResolvedConfig['console'];
