import { configSchema, type ResolvedConfig } from '../config/schema.js';
import { ConfigError } from '../errors/index.js';
import { isServeBusFlag, SERVE_BUS_FLAG, SERVE_STORE_FLAG, storeServerKind } from './flags.js';

/**
 * What `evented serve --store/--bus/--port-offset` change in the configuration it read: the store and the broker
 * it shares with other processes, and where its servers listen. `evented up --instances N` runs its instances
 * this way (each on the store and broker `up` chose, instance k's ports `port-offset` 10·(k−1) above the
 * configured ones); a developer can start a second `evented serve` by hand the same way.
 */

export interface ServeFlags {
  /** "sqlite" (evented.yaml's SQLite, else the default file) or a postgres:// or mongodb:// URL. */
  store?: string | undefined;
  /** "memory" or an amqp:// URL. */
  bus?: string | undefined;
  /** Added to every configured port that is not 0 (0 stays "any free port"). */
  portOffset?: number | undefined;
}

/**
 * The store a --store flag names: "sqlite" is the configuration's SQLite (else the default file); a URL replaces
 * the configuration's URL and keeps its other settings (schema, poolSize, database) when it names the same kind
 * of server, so that processes given one URL still share one schema.
 */
export const storeFromFlag = (request: string, config: ResolvedConfig): ResolvedConfig['store'] => {
  if (request === 'sqlite')
    return config.store.kind === 'sqlite' ? config.store : configSchema.parse({}).store;
  const kind = storeServerKind(request);
  if (kind === undefined) throw new ConfigError(`--store ${request}: expected ${SERVE_STORE_FLAG}`);
  if (config.store.kind === kind) return { ...config.store, url: request } as ResolvedConfig['store'];
  return configSchema.parse({ store: { kind, url: request } }).store;
};

const busOf = (request: string): ResolvedConfig['bus'] => {
  if (!isServeBusFlag(request)) throw new ConfigError(`--bus ${request}: expected ${SERVE_BUS_FLAG}`);
  return configSchema.parse({
    bus: request === 'memory' ? { kind: 'memory' } : { kind: 'amqp', url: request },
  }).bus;
};

const moved = <T extends { port: number }>(server: T, offset: number): T =>
  server.port === 0 ? server : { ...server, port: server.port + offset };

/** The configuration with the flags applied; a port pushed past 65535 is a configuration error. */
export const applyServeFlags = (config: ResolvedConfig, flags: ServeFlags): ResolvedConfig => {
  let result = config;
  if (flags.store !== undefined) result = { ...result, store: storeFromFlag(flags.store, config) };
  if (flags.bus !== undefined) result = { ...result, bus: busOf(flags.bus) };
  const offset = flags.portOffset ?? 0;
  if (offset === 0) return result;
  result = {
    ...result,
    commandHandler: moved(result.commandHandler, offset),
    queryHandler: moved(result.queryHandler, offset),
    projectorCoordinator: moved(result.projectorCoordinator, offset),
    sagaCoordinator: moved(result.sagaCoordinator, offset),
    admin: moved(result.admin, offset),
    health: result.health && moved(result.health, offset),
    metrics: result.metrics && moved(result.metrics, offset),
    console: moved(result.console, offset),
  };
  const highest = Math.max(
    ...[result.commandHandler, result.queryHandler, result.projectorCoordinator, result.sagaCoordinator]
      .concat(result.admin, result.health ?? [], result.metrics ?? [], result.console)
      .map((server) => server.port),
  );
  if (highest > 65535) {
    throw new ConfigError(`--port-offset ${offset}: a port would be ${highest}, past 65535`, {
      hint: 'use a smaller offset, or lower ports in evented.yaml',
    });
  }
  return result;
};
