import { join } from 'node:path';
import { pino } from 'pino';
import { ConfigError, UnavailableError } from '../errors/index.js';
import { configSchema, type ResolvedConfig } from '../config/schema.js';
import { shownUrl } from '../config/from-env.js';
import { readConfigFile } from '../config/sources/file.js';
import { readConfigFromConsul, writeConfigToConsul } from '../config/sources/consul.js';
import { startEmbeddedMongo } from '../infra/mongo/embedded-mongo.js';
import {
  resolveBus,
  resolveConfigSource,
  type Choice,
  type StartedInfra,
  type StartingInfra,
} from '../infra/resolve.js';
import type { StopRecord } from '../infra/stop-record.js';
import type { EventBus } from '../bus/port.js';
import type { EventStore } from '../store/port.js';
import { asWholeRuntime, openEventStore, startRuntime, type WholeRuntime } from './compose.js';
import { watchInstancePartitions } from './instance-partitions.js';
import { ROLES } from '../config/roles.js';
import { openCheckedEventBus } from './delivery.js';
import { STORE_FLAG, storeServerKind } from './flags.js';
import { storeFromFlag } from './serve-flags.js';
import { checkPortsFree } from './ports.js';
import { logsFolder, spawnUserProcess, waitUntilReady, type UserProcess } from './processes.js';
import {
  refuseInstancesOn,
  spawnInstance,
  waitUntilServing,
  type InstanceConfigSource,
  type InstanceShared,
  type ServeCommand,
} from './instances.js';

/**
 * `evented up` as a function: resolves each concern (store, bus, configuration) down the ladder, starts what
 * the choice needs, then the user's processes from evented.yaml, then the runtime, and reports every step as
 * an EnvironmentEvent. `close()` stops everything it started, in reverse order.
 *
 * Order: infrastructure (broker, Consul) → the store opened and the broker reached (a wrong URL fails here, before
 * anything of the user's has started) → the user's processes, each waited for on its readyOn address → the
 * runtime, on that store and bus. User processes come before the runtime so that business logic, projectors and sagas are up before
 * the first command can arrive, and so that a process that cannot start is reported on its own, with its log,
 * before anything talks to it (the runtime connects lazily, so the other order would work too, but a dead
 * projector would then show up as delivery retries instead of as one clear line).
 */

export type ComponentStateName = 'starting' | 'ready' | 'failed' | 'stopping' | 'stopped';

export interface ComponentState {
  name: string;
  /** "sqlite", "memory", "amqp", "rabbitmq-server", "docker", "process", "grpc", … */
  kind: string;
  state: ComponentStateName;
  address?: string;
  /** For a user process: the leader of its own process group. */
  pid?: number;
  log?: string;
  /** Why it failed or stopped, or what it is doing while starting. */
  detail?: string;
  /** An instance of `up --instances N`: the roles it holds. */
  roles?: string[];
  /** An instance of `up --instances N`: its servers, by what they serve (commands, queries, admin, …). */
  servers?: Record<string, string>;
  /** An instance of `up --instances N`: the partitions it holds now ("accounts 0-4,10; transfers 0-4,10"). */
  partitions?: string;
  /**
   * How another process can stop it, reported as soon as it is started (before it is ready): a front end that
   * writes it down (the CLI's .evented/runtime.json) lets `evented down` end it even after `up` was killed.
   * Absent for what lives inside this process (the runtime's servers) or outside our control (a URL).
   */
  stop?: StopRecord;
}

export type EnvironmentEvent =
  | { type: 'choice'; choice: Choice }
  | { type: 'component'; component: ComponentState }
  | { type: 'progress'; message: string };

export interface EnvironmentOptions {
  projectDir: string;
  /** --store: "sqlite" (the default), "mongo" (an embedded MongoDB) or a database URL. */
  store?: string;
  /** --bus: "memory", "rabbitmq" or an amqp:// URL. Default: evented.yaml's bus (the memory bus). */
  bus?: string;
  /** --config: a file, "consul" or an http:// URL of a Consul agent. Default: evented.yaml. */
  config?: string;
  /** The environment the user's processes and the ladder see (EVENTED_AMQP_URL, CONSUL_HTTP_ADDR, PATH). */
  env: NodeJS.ProcessEnv;
  /** How long each user process may take to accept connections. Default 60 s. */
  readyTimeoutMs?: number;
  signal?: AbortSignal;
  /** Shown by `evented status`. */
  version?: string;
  /**
   * How many runtime processes (default 1: the runtime runs inside this process). With more, each is an `evented
   * serve` child holding every role (see instances.ts), started through `serve`, on a shared bus.
   */
  instances?: number;
  /** How to start `evented serve` (needed when instances > 1). */
  serve?: ServeCommand;
  report(event: EnvironmentEvent): void;
}

export interface Environment {
  readonly config: ResolvedConfig;
  /** The runtime, when it runs in this process (one instance); undefined with `instances` > 1. */
  readonly runtime: WholeRuntime | undefined;
  /** The store the runtime uses. */
  readonly store: { kind: string; location: string };
  /** Where commands and queries go: the runtime's own, or the first instance's. */
  readonly commandHandler: string;
  readonly queryHandler: string;
  /** Every component, in start order, as it is now. */
  components(): ComponentState[];
  readonly admin: string;
  /** The URL Prometheus scrapes (the first instance's), when metrics are on. */
  readonly metrics: string | undefined;
  /** The web console's URL (the first instance's), when it is on. */
  readonly console: string | undefined;
  /** Stops everything it started, in reverse order. Safe to call twice. */
  close(): Promise<void>;
}

const RUNTIME_COMPONENTS = [
  'command handler',
  'query handler',
  'projector coordinator',
  'saga coordinator',
  'admin',
  'metrics',
  'console',
];

export const startEnvironment = async (options: EnvironmentOptions): Promise<Environment> => {
  const { projectDir, env, report } = options;
  const instances = options.instances ?? 1;
  const components = new Map<string, ComponentState>();
  const set = (component: ComponentState): void => {
    components.set(component.name, component);
    report({ type: 'component', component: { ...component } });
  };
  const update = (name: string, change: Partial<ComponentState>): void => {
    const current = components.get(name);
    if (current) set({ ...current, ...change });
  };
  /**
   * What to stop, in start order. The user's processes do not depend on each other (each was only waited for
   * before the next started), so a run of them is stopped together: a stop is mostly waiting for a process to
   * finish its own shutdown. Everything else is stopped one by one, in reverse order.
   */
  const stops: { name: string; parallel?: boolean; stop(): Promise<void> }[] = [];
  const stopOne = async ({ name, stop }: { name: string; stop(): Promise<void> }): Promise<void> => {
    update(name, { state: 'stopping' });
    await stop().catch(() => undefined);
    const current = components.get(name);
    if (current && current.state !== 'failed') update(name, { state: 'stopped' });
  };
  const stopAll = async (): Promise<void> => {
    const reversed = stops.splice(0).reverse();
    while (reversed.length > 0) {
      const next = reversed[0]!;
      const run = next.parallel ? reversed.findIndex((s) => !s.parallel) : 1;
      await Promise.all(reversed.splice(0, run === -1 ? reversed.length : run).map(stopOne));
    }
  };
  const checkAborted = (): void => {
    if (options.signal?.aborted) throw new UnavailableError('interrupted while starting');
  };
  const ladder = {
    projectDir,
    env,
    progress: (message: string) => report({ type: 'progress', message }),
    starting: (infra: StartingInfra) =>
      set({ name: infra.name, kind: infra.kind, state: 'starting', stop: infra.record }),
  };
  const track = (infra: StartedInfra): void => {
    set({
      name: infra.name,
      kind: infra.kind,
      state: 'ready',
      address: infra.address,
      pid: infra.pid,
      log: infra.log,
      stop: infra.record,
    });
    stops.push({ name: infra.name, stop: () => infra.stop() });
  };

  try {
    // 1. The configuration: evented.yaml, or Consul KV (an agent found or started down the ladder).
    const source = await resolveConfigSource(options.config, ladder);
    report({ type: 'choice', choice: source.choice });
    if (source.started) track(source.started);
    let config = await readConfiguration(source.value, projectDir, options.signal);
    refuseInstancesOn(instances, options.bus, config);
    checkAborted();

    // 2. The store: SQLite in-process, a database server at a URL, or this project's own MongoDB.
    const store = chooseStore(options.store, config);
    report({ type: 'choice', choice: store.choice });
    if (store.value !== EMBEDDED_MONGO) config = { ...config, store: store.value };

    // 3. Nothing of ours may be listening already: one clear line now, rather than half an environment later.
    await checkPortsFree(config, instances);
    if (store.value === EMBEDDED_MONGO) {
      const mongo = await startEmbeddedMongo({ ...ladder, signal: options.signal });
      track(mongo);
      config = { ...config, store: configSchema.parse({ store: { kind: 'mongodb', url: mongo.url } }).store };
    }
    checkAborted();

    // 4. The bus: in-process, or RabbitMQ found or started down the ladder.
    const bus = await resolveBus(options.bus, config.bus, ladder);
    report({ type: 'choice', choice: bus.choice });
    if (bus.started) track(bus.started);
    const resolved: ResolvedConfig = { ...config, bus: bus.value };
    checkAborted();

    // 5. The store opened and the broker reached now, before any of the user's processes starts: a wrong URL or
    // a missing database is one line at once, not after every process has been started and stopped again.
    const log = join(logsFolder(projectDir), 'runtime.log');
    const logger = pino(
      { level: resolved.log.level },
      pino.destination({ dest: log, append: true, mkdir: true, sync: true }),
    );
    const opened: { store?: EventStore; bus?: EventBus; handedOver?: boolean } = {};
    stops.push({
      name: 'store',
      stop: async () => {
        if (opened.handedOver) return; // the runtime closes them
        await opened.bus?.close();
        await opened.store?.close();
      },
    });
    opened.store = await openEventStore(resolved.store, projectDir, options.env);
    opened.bus = await openCheckedEventBus(
      resolved.bus,
      logger.child({ component: 'event-bus' }),
      options.env,
    );
    checkAborted();

    // 6. The user's processes, in evented.yaml order, each ready before the next starts.
    for (const [name, process] of Object.entries(resolved.processes)) {
      const child: UserProcess = spawnUserProcess(name, process, projectDir, env);
      set({
        name,
        kind: 'process',
        state: 'starting',
        address: process.readyOn,
        pid: child.pid,
        log: child.log,
        stop: child.record,
      });
      stops.push({ name, parallel: true, stop: () => child.stop() });
      try {
        await waitUntilReady(child, process.command, options.readyTimeoutMs ?? 60_000, options.signal);
      } catch (err) {
        update(name, { state: 'failed', detail: (err as Error).message });
        throw err;
      }
      update(name, { state: 'ready' });
      void child.ended.then((how) => {
        const current = components.get(name);
        if (current?.state === 'ready')
          update(name, { state: 'failed', detail: `${how}; its log: ${child.log}` });
      });
    }
    checkAborted();

    // 7. The runtime: N instances (evented serve), or in this process on the store and bus opened in step 5.
    if (instances > 1) {
      const started = await startInstances(instances, {
        ...options,
        source: instanceSource(source.value, resolved),
        shared: sharedWithInstances(options, resolved),
        set,
        update,
        stops,
        components,
      });
      // Which partitions each holds, as they move (stopped before the store closes: stops run in reverse).
      const stopWatching = watchInstancePartitions({
        store: opened.store,
        instances: () => [...components.values()].filter((c) => c.kind === 'instance'),
        update,
      });
      stops.push({ name: 'partitions', stop: async () => stopWatching() });
      let closing: Promise<void> | undefined;
      return {
        config: resolved,
        runtime: undefined,
        store: { kind: opened.store.kind, location: opened.store.location },
        commandHandler: started.commands ?? '',
        queryHandler: started.queries ?? '',
        admin: started.admin ?? '',
        metrics: started.metrics,
        console: started.console,
        components: () => [...components.values()].map((c) => ({ ...c })),
        close: () => (closing ??= stopAll()),
      };
    }
    for (const name of runtimeComponents(resolved))
      set({ name, kind: name === 'metrics' || name === 'console' ? 'http' : 'grpc', state: 'starting' });
    let runtime: WholeRuntime;
    try {
      opened.handedOver = true;
      // Every role, in this one process, whatever `roles` evented.yaml gives `evented serve`.
      runtime = asWholeRuntime(
        await startRuntime(resolved, {
          projectDir,
          logger,
          version: options.version,
          store: opened.store,
          bus: opened.bus,
          roles: ROLES,
          env: options.env,
        }),
      );
    } catch (err) {
      for (const name of runtimeComponents(resolved))
        update(name, { state: 'failed', detail: (err as Error).message });
      throw err;
    }
    const admin = runtime.admin.address;
    const addresses: Record<string, string | undefined> = {
      'command handler': runtime.commandHandler.address,
      'query handler': runtime.queryHandler.address,
      'projector coordinator': runtime.projectorCoordinator?.address,
      'saga coordinator': runtime.sagaCoordinator?.address,
      admin,
      metrics: runtime.metrics?.url,
      console: runtime.console?.url,
    };
    const started = runtimeComponents(resolved);
    stops.push({
      name: started[0]!,
      stop: async () => {
        for (const name of started.slice(1)) update(name, { state: 'stopping' });
        await runtime.close();
        for (const name of started.slice(1)) update(name, { state: 'stopped' });
      },
    });
    for (const name of started) update(name, { state: 'ready', address: addresses[name], log });

    let closing: Promise<void> | undefined;
    return {
      config: resolved,
      runtime,
      store: runtime.store,
      commandHandler: runtime.commandHandler.address,
      queryHandler: runtime.queryHandler.address,
      admin,
      metrics: runtime.metrics?.url,
      console: runtime.console?.url,
      components: () => [...components.values()].map((c) => ({ ...c })),
      close: () => (closing ??= stopAll()),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
};

/** `--store mongo`: started once the ports are known to be free, then a mongodb store at its URL. */
const EMBEDDED_MONGO = 'embedded mongo';

const chooseStore = (
  request: string | undefined,
  config: ResolvedConfig,
): { value: ResolvedConfig['store'] | typeof EMBEDDED_MONGO; choice: Choice } => {
  const choice = (chosen: string, why: string, instead: string): Choice => ({
    concern: 'store',
    chosen,
    why,
    instead,
  });
  const toServer = '--store mongo for an embedded MongoDB, --store postgres://… or mongodb://… for a server';
  if (request === undefined) {
    const store = config.store;
    if (store.kind === 'sqlite') {
      return { value: store, choice: choice(`SQLite at ${store.path}`, 'the embedded default', toServer) };
    }
    return {
      value: store,
      choice: choice(`${store.kind} at ${shownUrl(store.url)}`, 'evented.yaml sets store', '--store sqlite'),
    };
  }
  if (request === 'sqlite') {
    const value = config.store.kind === 'sqlite' ? config.store : configSchema.parse({}).store;
    const path = value.kind === 'sqlite' ? value.path : '';
    return { value, choice: choice(`SQLite at ${path}`, '--store sqlite', toServer) };
  }
  if (request === 'mongo') {
    return {
      value: EMBEDDED_MONGO,
      choice: choice(
        "this project's own MongoDB, data in .evented/mongo",
        '--store mongo',
        '--store sqlite, or --store mongodb://… for a server',
      ),
    };
  }
  const kind = storeServerKind(request);
  if (kind === undefined) throw new ConfigError(`--store ${request}: expected ${STORE_FLAG}`);
  const value = storeFromFlag(request, config);
  return {
    value,
    choice: choice(`${kind} at ${shownUrl(request)}`, '--store gives its URL', '--store sqlite'),
  };
};

/** The runtime's components shown by `up`: the admin service only once the runtime has one. */
const runtimeComponents = (config: ResolvedConfig): string[] =>
  RUNTIME_COMPONENTS.filter(
    (name) =>
      (name !== 'projector coordinator' || Object.keys(config.projectors).length > 0) &&
      (name !== 'saga coordinator' || Object.keys(config.sagas).length > 0) &&
      (name !== 'metrics' || config.metrics?.enabled === true) &&
      (name !== 'console' || config.console.enabled),
  );

const readConfiguration = async (
  source: { kind: 'file'; path: string } | { kind: 'consul'; url: string; private: boolean },
  projectDir: string,
  signal: AbortSignal | undefined,
): Promise<ResolvedConfig> => {
  // A large file is parsed in pieces, so that Ctrl-C or SIGTERM stops `up` while it loads.
  if (source.kind === 'file') return readConfigFile(source.path, { signal });
  const yaml = join(projectDir, 'evented.yaml');
  // A private agent (started just now) holds nothing yet: it gets evented.yaml, as `evented load-config` would.
  if (source.private) {
    const written = await writeConfigToConsul(yaml, { url: source.url });
    return readConfigFromConsul(source.url, undefined, written.name);
  }
  const name = await readConfigFile(yaml).then(
    (config) => config.name,
    () => undefined,
  );
  return readConfigFromConsul(source.url, undefined, name);
};

/** Where the instances read the configuration `up` read. */
const instanceSource = (
  source: { kind: 'file'; path: string } | { kind: 'consul'; url: string },
  config: ResolvedConfig,
): InstanceConfigSource =>
  source.kind === 'file' ? source : { kind: 'consul', url: source.url, name: config.name };

/** The store and bus `up` chose, for the instances, when they are not what the configuration says. */
const sharedWithInstances = (
  options: { store?: string | undefined; bus?: string | undefined },
  config: ResolvedConfig,
): InstanceShared => {
  const urlOf = (value: { kind: string; url?: unknown }): string | undefined =>
    typeof value.url === 'string' ? value.url : undefined;
  return {
    store:
      options.store === undefined
        ? undefined
        : config.store.kind === 'sqlite'
          ? 'sqlite'
          : urlOf(config.store),
    bus: options.bus === undefined ? undefined : urlOf(config.bus),
  };
};

/**
 * Starts the N instances at once and waits until each serves; then watches them: one that ends while `up` runs is
 * shown failed (how it ended, its log) and left so — not restarted, so that a developer sees the failover happen
 * and the other instances carry on; `evented down` and `up` again bring it back.
 */
const startInstances = async (
  count: number,
  options: EnvironmentOptions & {
    source: InstanceConfigSource;
    shared: InstanceShared;
    set(component: ComponentState): void;
    update(name: string, change: Partial<ComponentState>): void;
    stops: { name: string; parallel?: boolean; stop(): Promise<void> }[];
    components: Map<string, ComponentState>;
  },
): Promise<Record<string, string | undefined>> => {
  const { set, update, stops, components } = options;
  const serve = options.serve;
  if (serve === undefined) throw new ConfigError('--instances: this front end cannot start evented serve');
  const started = Array.from({ length: count }, (_, i) => {
    const instance = spawnInstance(i + 1, { ...options, serve, env: options.env });
    const { process } = instance;
    set({
      name: instance.name,
      kind: 'instance',
      state: 'starting',
      pid: process.pid,
      log: process.log,
      stop: process.record,
      roles: [...ROLES],
    });
    stops.push({ name: instance.name, parallel: true, stop: () => process.stop() });
    return instance;
  });
  const servers = await Promise.all(
    started.map(async (instance) => {
      try {
        return await waitUntilServing(instance, options.readyTimeoutMs ?? 60_000, options.signal);
      } catch (err) {
        update(instance.name, { state: 'failed', detail: (err as Error).message });
        throw err;
      }
    }),
  );
  started.forEach((instance, i) => {
    update(instance.name, { state: 'ready', address: servers[i]!.commands, servers: servers[i] });
    void instance.process.ended.then((how) => {
      if (components.get(instance.name)?.state === 'ready')
        update(instance.name, { state: 'failed', detail: `${how}; its log: ${instance.process.log}` });
    });
  });
  return servers[0]!;
};
