import { realpathSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { format } from 'node:util';
import { setLogger as setGrpcLogger } from '@grpc/grpc-js';
import { pino, type Logger } from 'pino';
import { DEFAULT_HEALTH_PORT, type ResolvedConfig, type StoreConfig } from '../config/schema.js';
import { connectBusinessLogic, type BusinessLogic } from '../command/business-logic.js';
import { createCommandHandler } from '../command/handler.js';
import { businessCoordinatorService } from '../command/service.js';
import { eventQueryService } from '../query/service.js';
import {
  DEFAULT_RECEIVE_BYTES,
  MAX_MESSAGE_BYTES,
  startGrpcServer,
  type HostedService,
  type RunningServer,
} from '../grpc/server.js';
import type { EventStore } from '../store/port.js';
import type { EventBus } from '../bus/port.js';
import { createSqliteEventStore } from '../store/sqlite/index.js';
import { createPostgresEventStore } from '../store/postgres/index.js';
import { createMongoEventStore } from '../store/mongodb/index.js';
import { projectorCoordinatorService } from '../projector/service.js';
import { sagaCoordinatorService } from '../saga/service.js';
import { startDelivery, type Delivery, type DeliveryStatus } from './delivery.js';
import { sagaGateway } from './gateway.js';
import { adminService } from '../admin/service.js';
import type { TracedSubscriber } from '../admin/trace.js';
import type { Role } from '../config/roles.js';
import { checkRoles } from './roles.js';
import { valueOf } from '../config/from-env.js';
import { loadSecurity, loadToken, type RuntimeSecurity } from '../config/security.js';
import type { ClientTls } from '../grpc/client-credentials.js';
import { startTracing } from '../tracing/index.js';
import { holdsEveryRole } from '../config/roles.js';
import { createPrometheusMetrics } from '../metrics/prometheus.js';
import { measuredBusinessLogic, measuredCommandHandler, type CommandCounts } from '../metrics/command.js';
import { startMetricsServer } from '../metrics/server.js';
import { startConsoleServer, type ConsoleServer } from '../console/server.js';

/**
 * The replay rate a dry run assumes for a projector or saga not yet measured (no replay of it since the runtime
 * started): a subscriber that takes a 10,000-event batch in 0.4 s. Its own rate decides; once it has been
 * replayed, a dry run estimates from that.
 */
const DRY_RUN_EVENTS_PER_SECOND = 25_000;

/** Where a process without a server of its own answers health checks when `health` does not say. */
const DEFAULT_HEALTH = { host: '127.0.0.1', port: DEFAULT_HEALTH_PORT };

/**
 * The composition root: the only place that chooses adapters. It turns a resolved configuration into running
 * services, in dependency order (store, business logic clients, command handler, delivery: bus, coordinators,
 * relay; then the gRPC servers), and stops them in reverse. A process starts what its roles hold (roles.ts):
 * every role by default.
 */

export interface RuntimeOptions {
  /** The project folder: relative paths in the configuration are relative to it. */
  projectDir: string;
  logger?: Logger;
  /** Shown by `evented status`. */
  version?: string;
  /**
   * A store and a bus opened (and checked) by the caller, for the runtime to use and close; by default it opens
   * them itself. `evented up` opens them before it starts the user's processes, so that a wrong URL fails at once.
   */
  store?: EventStore;
  bus?: EventBus;
  /** The roles this process holds; by default the configuration's `roles` (every role unless it says otherwise). */
  roles?: readonly Role[];
  /** Where values the configuration takes from the environment are read (`{ env: NAME }`). Default: this process's. */
  env?: NodeJS.ProcessEnv;
}

export interface Runtime {
  /** What this process runs. */
  readonly roles: readonly Role[];
  readonly store: { kind: string; location: string };
  /** With the role command. */
  readonly commandHandler: { address: string } | undefined;
  /** With the role query. */
  readonly queryHandler: { address: string } | undefined;
  /** With the role projectors (sagas), when projectors (sagas) are configured. */
  readonly projectorCoordinator: { address: string } | undefined;
  readonly sagaCoordinator: { address: string } | undefined;
  /** evented.Admin: status, tail, replay (what the CLI talks to). With the role admin. */
  readonly admin: { address: string } | undefined;
  /**
   * grpc.health.v1 alone (`health` in the configuration), in a process whose roles bind no server of their own
   * (the relay alone): so that every process answers health checks.
   */
  readonly health: { address: string } | undefined;
  /** The Prometheus endpoint (`metrics` in the configuration): host:port, and the URL to scrape. */
  readonly metrics: { address: string; url: string } | undefined;
  /** The web console (`console` in the configuration; role admin): host:port, and the URL to open. */
  readonly console: { address: string; url: string } | undefined;
  /** The bus, the relay and every projector and saga of this process: state, position, counts. */
  deliveryStatus(): DeliveryStatus;
  /** Resolves once every projector and saga has caught up with the store as it was when they started. */
  caughtUp(): Promise<void>;
  /** Drains in-flight calls (up to `graceMs`), then closes everything. Safe to call twice. */
  close(graceMs?: number): Promise<void>;
}

/** A runtime holding every role (what `evented up` runs): its servers, bus and relay are all there. */
export interface WholeRuntime extends Runtime {
  readonly commandHandler: { address: string };
  readonly queryHandler: { address: string };
  readonly admin: { address: string };
  deliveryStatus(): DeliveryStatus & {
    bus: NonNullable<DeliveryStatus['bus']>;
    relay: NonNullable<DeliveryStatus['relay']>;
  };
}

/** `runtime`, known to hold every role; throws (a bug of the caller) if it does not. */
export const asWholeRuntime = (runtime: Runtime): WholeRuntime => {
  const { bus, relay } = runtime.deliveryStatus();
  if (!runtime.commandHandler || !runtime.queryHandler || !runtime.admin || !bus || !relay) {
    throw new Error(`this runtime holds only the roles ${runtime.roles.join(', ')}, not every role`);
  }
  return runtime as WholeRuntime;
};

/** The project folder as the CLI will compare it: absolute, links resolved (as given, if it cannot be). */
const realProjectDir = (projectDir: string): string => {
  try {
    return realpathSync(resolve(projectDir));
  } catch {
    return resolve(projectDir);
  }
};

/** `env`: where a `store.url` of `{ env: NAME }` is read. */
export const openEventStore = async (
  config: StoreConfig,
  projectDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<EventStore> => {
  switch (config.kind) {
    case 'sqlite':
      return createSqliteEventStore({
        path: isAbsolute(config.path) ? config.path : join(projectDir, config.path),
        synchronous: config.synchronous,
      });
    case 'postgres':
      return createPostgresEventStore({
        url: valueOf(config.url, 'store.url', env),
        poolSize: config.poolSize,
        schema: config.schema,
      });
    case 'mongodb':
      return createMongoEventStore({ url: valueOf(config.url, 'store.url', env), database: config.database });
  }
};

/** Every projector and saga the configuration names (a trace shows them all, wherever they run). */
const tracedSubscribers = (config: ResolvedConfig): TracedSubscriber[] => [
  ...Object.entries(config.projectors).map(([name, { domains }]) => ({
    kind: 'projector' as const,
    name,
    domains,
  })),
  ...Object.entries(config.sagas).map(([name, { domains }]) => ({ kind: 'saga' as const, name, domains })),
];

/**
 * How `evented status` reaches each component, by the name it lists it under: the runtime's own servers with
 * their certificate pinned (they are reached at the address they bound), the user's services as configured.
 */
const probeTlsOf = (
  config: ResolvedConfig,
  security: RuntimeSecurity,
): ((component: string) => ClientTls | undefined) => {
  const targets = new Map<string, ClientTls | undefined>([
    ...Object.entries(config.domains).map(
      ([domain, { tls }]) => [`business logic ${domain}`, security.target(tls, `domains.${domain}`)] as const,
    ),
    ...Object.entries(config.projectors).map(
      ([name, { tls }]) => [`projector ${name}`, security.target(tls, `projectors.${name}`)] as const,
    ),
    ...Object.entries(config.sagas).map(
      ([name, { tls }]) => [`saga ${name}`, security.target(tls, `sagas.${name}`)] as const,
    ),
  ]);
  return (component) => (targets.has(component) ? targets.get(component) : security.self);
};

export const startRuntime = async (config: ResolvedConfig, options: RuntimeOptions): Promise<Runtime> => {
  const logger = options.logger ?? pino({ level: config.log.level }, pino.destination(2));
  // grpc-js prints its own errors straight to stderr ("E No address added…" above our "port in use" line):
  // they go to our logger instead, at debug, since the runtime reports what matters itself.
  const grpcLog = (...args: unknown[]): void => logger.debug({ component: 'grpc-js' }, format(...args));
  setGrpcLogger({ error: grpcLog, info: grpcLog, debug: grpcLog });
  const roles = options.roles ?? config.roles;
  const holds = (role: Role): boolean => roles.includes(role);
  const stops: (() => Promise<void> | void)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop();
    stops.length = 0;
  };

  const env = options.env ?? process.env;
  // TLS files and the token are read and checked before anything opens: a wrong path is one line, at once.
  const security = loadSecurity(config, options.projectDir, env);
  const consoleToken =
    config.console.token && loadToken(config.console.token, options.projectDir, env, 'console.token');
  // Metrics off: no registry, and the services are given nothing to call (see metrics/port.ts).
  const prometheus = config.metrics?.enabled
    ? createPrometheusMetrics({ domains: Object.keys(config.domains) })
    : undefined;
  const metrics = prometheus?.metrics;
  /** What `evented status` and the live view of `evented up` count: commands handled, events appended. */
  const counts: CommandCounts = { commandsHandled: 0, eventsAppended: 0 };
  try {
    // 0. A split that could not work is refused before anything opens (what the caller opened is closed).
    checkRoles(config, roles);

    // Traces, when the OTEL_* variables ask for them: started first and flushed last, after every server drained.
    const tracing = await startTracing({
      env,
      project: config.name,
      roles,
      everyRole: holdsEveryRole(roles),
      version: options.version,
      logger,
    });
    stops.push(() => tracing.shutdown());

    // 1. The store: the single source of truth.
    const store = options.store ?? (await openEventStore(config.store, options.projectDir, env));
    stops.push(() => store.close());

    // Messages that carry books (requests to the command handler and the coordinators, business logic's
    // answers) may be as large as the largest book allowed; the other servers take gRPC's default.
    const bookRequestBytes = Math.max(MAX_MESSAGE_BYTES, config.commandHandler.maxBookBytes + 1024 * 1024);

    // 2. A client per domain's business logic (connections are lazy: a business logic may start later).
    const domains = holds('command') ? config.domains : {};
    const businessLogic = new Map<string, BusinessLogic>();
    for (const [domain, { businessLogic: address, tls }] of Object.entries(domains)) {
      const logic = connectBusinessLogic(
        domain,
        address,
        bookRequestBytes,
        security.target(tls, `domains.${domain}`),
      );
      businessLogic.set(domain, metrics ? measuredBusinessLogic(logic, metrics) : logic);
      stops.push(() => logic.close());
    }

    // 3. The command handler; synchronous pages go through the synchronous projectors and sagas (step 4).
    // Built in step 4; the command handler reaches it only after the runtime has started.
    const late: { delivery?: Delivery; console?: ConsoleServer } = {};
    const handler = holds('command')
      ? measuredCommandHandler(
          createCommandHandler({
            store,
            businessLogic,
            ...config.commandHandler,
            commandLog: config.commandLog,
            synchronous: (book) => late.delivery!.synchronous(book),
            metrics,
          }),
          counts,
          metrics,
        )
      : undefined;

    // 4. Delivery: the bus, projector and saga coordinators, and the outbox relay. Sagas' output goes to the
    // command handler of this process, else to those at commandHandler.address (see roles.ts).
    const gateway = holds('sagas') ? sagaGateway(handler, config, security.target) : undefined;
    if (gateway) stops.push(() => gateway.close());
    const delivery = await startDelivery({
      config,
      roles,
      store,
      bus: options.bus,
      gateway,
      logger,
      tlsOf: security.target,
      env,
    });
    late.delivery = delivery;
    stops.push(() => delivery.close());
    prometheus?.observe({
      head: () => store.headPosition(),
      relay: () => delivery.status().relay,
      subscribers: () => {
        const { projectors, sagas } = delivery.status();
        return [
          ...projectors.map((it) => ({ kind: 'projector' as const, ...it })),
          ...sagas.map((it) => ({ kind: 'saga' as const, ...it })),
        ];
      },
      openDeadLetters: () => store.countOpenDeadLetters(),
    });

    // 5. The servers of this process's roles, each stopped (draining its calls for up to `graceMs`) in reverse
    // order.
    let graceMs = 5000;
    /** What `evented status` lists: each server's name and address. */
    const servers: Record<string, string> = {};
    /** Every server speaks TLS when `tls` is configured; `guarded` ones also require the token. */
    const listen = async (
      component: string,
      at: { host: string; port: number },
      services: HostedService[],
      maxReceiveMessageBytes = DEFAULT_RECEIVE_BYTES,
      guarded = false,
    ): Promise<RunningServer> => {
      const server = await startGrpcServer({
        component,
        host: at.host,
        port: at.port,
        services,
        maxReceiveMessageBytes,
        connections: config.connections,
        logger,
        tls: security.server,
        token: guarded ? security.token : undefined,
      });
      stops.push(() => server.close(graceMs));
      servers[component] = server.address;
      return server;
    };
    /** A server for `service`; none for a role this process does not hold (no service). */
    const serve = async (
      component: string,
      at: { host: string; port: number },
      service: HostedService | undefined,
      maxReceiveMessageBytes?: number,
      guarded = false,
    ): Promise<RunningServer | undefined> =>
      service && (await listen(component, at, [service], maxReceiveMessageBytes, guarded));
    const commandServer = await serve(
      'command handler',
      config.commandHandler,
      handler && businessCoordinatorService(handler, logger.child({ component: 'command-handler' })),
      bookRequestBytes,
    );
    const queryServer = await serve(
      'query handler',
      config.queryHandler,
      holds('query')
        ? eventQueryService(
            store,
            config.queryHandler.bookBytes,
            logger.child({ component: 'query-handler' }),
          )
        : undefined,
    );
    const projectorServer =
      delivery.projectors.size === 0
        ? undefined
        : await serve(
            'projector coordinator',
            config.projectorCoordinator,
            projectorCoordinatorService(
              delivery.projectors,
              store,
              config.commandHandler,
              logger.child({ component: 'projectors' }),
            ),
            bookRequestBytes,
            true,
          );
    const sagaServer =
      delivery.sagas.size === 0
        ? undefined
        : await serve(
            'saga coordinator',
            config.sagaCoordinator,
            sagaCoordinatorService(
              delivery.sagas,
              store,
              config.commandHandler,
              logger.child({ component: 'sagas' }),
            ),
            bookRequestBytes,
            true,
          );

    // The metrics endpoint, where the configuration puts it (every role: each process exports its own).
    const metricsServer =
      prometheus &&
      config.metrics &&
      (await startMetricsServer({ ...config.metrics, registry: prometheus.registry }));
    if (metricsServer) stops.push(() => metricsServer.close());

    // The admin service last: what it reports is all up. Its own entry is not in `servers`, which it lists.
    const stopping = new AbortController();
    const listed = { ...servers };
    const adminServer = await serve(
      'admin service',
      config.admin,
      holds('admin')
        ? adminService(
            {
              name: config.name,
              processId: delivery.processId,
              projectDir: realProjectDir(options.projectDir),
              version: options.version ?? '',
              roles,
              store,
              bus: delivery.bus && { kind: delivery.bus.kind, location: delivery.bus.location },
              relay: () => delivery.status().relay,
              servers: listed,
              metricsUrl: metricsServer?.url,
              consoleUrl: () => late.console?.url,
              metrics,
              activity: () => counts,
              businessLogic: Object.fromEntries(
                Object.entries(domains).map(([domain, { businessLogic }]) => [domain, businessLogic]),
              ),
              projectors: new Map([...delivery.projectors].map(([name, it]) => [name, it.coordinator])),
              sagas: new Map([...delivery.sagas].map(([name, it]) => [name, it.coordinator])),
              replayOnly: delivery.replayOnly,
              elsewhere: {
                projectors: holds('projectors') ? [] : Object.keys(config.projectors),
                sagas: holds('sagas') ? [] : Object.keys(config.sagas),
              },
              estimatedEventsPerSecond: DRY_RUN_EVENTS_PER_SECOND,
              pollMs: config.relay.idlePollMs,
              subscribers: tracedSubscribers(config),
              probeTls: probeTlsOf(config, security),
            },
            stopping.signal,
            logger.child({ component: 'admin' }),
          )
        : undefined,
      DEFAULT_RECEIVE_BYTES,
      true,
    );
    stops.push(() => stopping.abort());
    // The web console, a client of the admin service just started (and of the query handler): stopped before it.
    const consoleServer =
      adminServer && config.console.enabled
        ? await startConsoleServer({
            host: config.console.host,
            port: config.console.port,
            admin: adminServer.address,
            query: queryServer?.address ?? `${config.queryHandler.host}:${config.queryHandler.port}`,
            tls: security.self,
            token: security.token,
            bearer: consoleToken,
            projectDir: options.projectDir,
            project: config.name,
            version: options.version ?? '',
            logger: logger.child({ component: 'console' }),
          })
        : undefined;
    if (consoleServer) {
      late.console = consoleServer;
      stops.push(() => consoleServer.close());
    }
    // Health alone, in plaintext, for what a probe could not ask otherwise: servers that speak TLS (Kubernetes'
    // probes do not) and a process without a server of its own (the relay alone). At `health`, else (the relay
    // alone) 127.0.0.1:1319. Closed first, so that probes see the process go before its servers drain.
    const noServer = Object.keys(servers).length === 0;
    const healthAt =
      config.tls !== undefined || noServer
        ? (config.health ?? (noServer ? DEFAULT_HEALTH : undefined))
        : undefined;
    const healthServer =
      healthAt &&
      (await startGrpcServer({
        component: 'health server',
        host: healthAt.host,
        port: healthAt.port,
        services: [],
        connections: config.connections,
        logger,
      }));
    if (healthServer) stops.push(() => healthServer.close(graceMs));

    logger.info(
      {
        roles,
        store: store.location,
        bus: delivery.bus?.location,
        commandHandler: commandServer?.address,
        queryHandler: queryServer?.address,
        admin: adminServer?.address,
        health: healthServer?.address,
        metrics: metricsServer?.url,
        console: consoleServer?.url,
      },
      'evented runtime started',
    );
    let closing: Promise<void> | undefined;
    const addressOf = (server: RunningServer | undefined) => server && { address: server.address };
    return {
      roles,
      store: { kind: store.kind, location: store.location },
      commandHandler: addressOf(commandServer),
      queryHandler: addressOf(queryServer),
      projectorCoordinator: addressOf(projectorServer),
      sagaCoordinator: addressOf(sagaServer),
      admin: addressOf(adminServer),
      health: addressOf(healthServer),
      metrics: metricsServer && { address: metricsServer.address, url: metricsServer.url },
      console: consoleServer && { address: consoleServer.address, url: consoleServer.url },
      deliveryStatus: () => delivery.status(),
      caughtUp: () => delivery.caughtUp(),
      close(grace = 5000) {
        graceMs = grace;
        closing ??= stopAll().then(() => logger.info('evented runtime stopped'));
        return closing;
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
};
