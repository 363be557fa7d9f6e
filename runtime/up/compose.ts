import { realpathSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { format } from 'node:util';
import { setLogger as setGrpcLogger } from '@grpc/grpc-js';
import { pino, type Logger } from 'pino';
import type { ResolvedConfig, StoreConfig } from '../config/schema.js';
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
import { reconnectPolicy, startDelivery, type Delivery, type DeliveryStatus } from './delivery.js';
import { createCommandGateway } from './gateway.js';
import { adminService } from '../admin/service.js';
import { valueOf } from '../config/from-env.js';
import { loadSecurity, type RuntimeSecurity } from '../config/security.js';
import type { ClientTls } from '../grpc/client-credentials.js';

/**
 * The replay rate a dry run assumes for a projector or saga not yet measured (no replay of it since the runtime
 * started): a subscriber that takes a 10,000-event batch in 0.4 s. Its own rate decides; once it has been
 * replayed, a dry run estimates from that.
 */
const DRY_RUN_EVENTS_PER_SECOND = 25_000;

/**
 * The composition root: the only place that chooses adapters. It turns a resolved configuration into running
 * services, in dependency order (store, business logic clients, command handler, delivery: bus, coordinators,
 * relay; then the gRPC servers), and stops them in reverse.
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
  /** Where values the configuration takes from the environment are read (`{ env: NAME }`). Default: this process's. */
  env?: NodeJS.ProcessEnv;
}

export interface Runtime {
  readonly store: { kind: string; location: string };
  readonly commandHandler: { address: string };
  readonly queryHandler: { address: string };
  /** Bound only when projectors (sagas) are configured. */
  readonly projectorCoordinator: { address: string } | undefined;
  readonly sagaCoordinator: { address: string } | undefined;
  /** evented.Admin: status, tail, replay (what the CLI talks to). */
  readonly admin: { address: string };
  /** The bus, the relay and every projector and saga: state, position, counts. */
  deliveryStatus(): DeliveryStatus;
  /** Resolves once every projector and saga has caught up with the store as it was when they started. */
  caughtUp(): Promise<void>;
  /** Drains in-flight calls (up to `graceMs`), then closes everything. Safe to call twice. */
  close(graceMs?: number): Promise<void>;
}

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
  const stops: (() => Promise<void> | void)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) await stop();
    stops.length = 0;
  };

  const env = options.env ?? process.env;
  // TLS files and the token are read and checked before anything opens: a wrong path is one line, at once.
  const security = loadSecurity(config, options.projectDir, env);
  try {
    // 1. The store: the single source of truth.
    const store = options.store ?? (await openEventStore(config.store, options.projectDir, env));
    stops.push(() => store.close());

    // Messages that carry books (requests to the command handler and the coordinators, business logic's
    // answers) may be as large as the largest book allowed; the other servers take gRPC's default.
    const bookRequestBytes = Math.max(MAX_MESSAGE_BYTES, config.commandHandler.maxBookBytes + 1024 * 1024);

    // 2. A client per domain's business logic (connections are lazy: a business logic may start later).
    const businessLogic = new Map<string, BusinessLogic>();
    for (const [domain, { businessLogic: address, tls }] of Object.entries(config.domains)) {
      const logic = connectBusinessLogic(
        domain,
        address,
        bookRequestBytes,
        security.target(tls, `domains.${domain}`),
      );
      businessLogic.set(domain, logic);
      stops.push(() => logic.close());
    }

    // 3. The command handler; synchronous pages go through the synchronous projectors and sagas (step 4).
    // Built in step 4; the command handler reaches it only after the runtime has started.
    const late: { delivery?: Delivery } = {};
    const handler = createCommandHandler({
      store,
      businessLogic,
      ...config.commandHandler,
      synchronous: (book) => late.delivery!.synchronous(book),
    });

    // 4. Delivery: the bus, projector and saga coordinators, and the outbox relay.
    const gateway = createCommandGateway(
      handler,
      config.otherCommandHandlers.map((other, i) => ({
        ...other,
        tls: security.target(other.tls, `otherCommandHandlers[${i}]`),
      })),
      config.commandHandler.businessLogicTimeoutMs * 2,
      reconnectPolicy(config.delivery),
    );
    stops.push(() => gateway.close());
    const delivery = await startDelivery({
      config,
      store,
      bus: options.bus,
      gateway,
      logger,
      tlsOf: security.target,
      env,
    });
    late.delivery = delivery;
    stops.push(() => delivery.close());

    // 5. The servers, each stopped (draining its calls for up to `graceMs`) in reverse order.
    let graceMs = 5000;
    /** What `evented status` lists: each server's name and address. */
    const servers: Record<string, string> = {};
    /** Every server speaks TLS when `tls` is configured; `guarded` ones also require the token. */
    const serve = async (
      component: string,
      at: { host: string; port: number },
      service: HostedService,
      maxReceiveMessageBytes = DEFAULT_RECEIVE_BYTES,
      guarded = false,
    ): Promise<RunningServer> => {
      const server = await startGrpcServer({
        component,
        host: at.host,
        port: at.port,
        services: [service],
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
    const commandServer = await serve(
      'command handler',
      config.commandHandler,
      businessCoordinatorService(handler, logger.child({ component: 'command-handler' })),
      bookRequestBytes,
    );
    const queryServer = await serve(
      'query handler',
      config.queryHandler,
      eventQueryService(store, config.queryHandler.bookBytes, logger.child({ component: 'query-handler' })),
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

    // The admin service last: what it reports is all up. Its own entry is not in `servers`, which it lists.
    const stopping = new AbortController();
    const listed = { ...servers };
    const adminServer = await serve(
      'admin service',
      config.admin,
      adminService(
        {
          name: config.name,
          projectDir: realProjectDir(options.projectDir),
          version: options.version ?? '',
          store,
          bus: { kind: delivery.bus.kind, location: delivery.bus.location },
          relay: () => delivery.status().relay,
          servers: listed,
          businessLogic: Object.fromEntries(
            Object.entries(config.domains).map(([domain, { businessLogic }]) => [domain, businessLogic]),
          ),
          projectors: new Map([...delivery.projectors].map(([name, it]) => [name, it.coordinator])),
          sagas: new Map([...delivery.sagas].map(([name, it]) => [name, it.coordinator])),
          estimatedEventsPerSecond: DRY_RUN_EVENTS_PER_SECOND,
          pollMs: config.relay.idlePollMs,
          probeTls: probeTlsOf(config, security),
        },
        stopping.signal,
        logger.child({ component: 'admin' }),
      ),
      DEFAULT_RECEIVE_BYTES,
      true,
    );
    stops.push(() => stopping.abort());

    // Health alone, in plaintext, for probes that speak no TLS (Kubernetes'): closed first, so that they see
    // the process go before its servers drain.
    if (config.health !== undefined) {
      const health = await startGrpcServer({
        component: 'health server',
        host: config.health.host,
        port: config.health.port,
        services: [],
        connections: config.connections,
        logger,
      });
      stops.push(() => health.close(graceMs));
    }

    logger.info(
      {
        store: store.location,
        bus: delivery.bus.location,
        commandHandler: commandServer.address,
        queryHandler: queryServer.address,
        admin: adminServer.address,
      },
      'evented runtime started',
    );
    let closing: Promise<void> | undefined;
    return {
      store: { kind: store.kind, location: store.location },
      commandHandler: { address: commandServer.address },
      queryHandler: { address: queryServer.address },
      projectorCoordinator: projectorServer && { address: projectorServer.address },
      sagaCoordinator: sagaServer && { address: sagaServer.address },
      admin: { address: adminServer.address },
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
