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
import { startDelivery, type Delivery, type DeliveryStatus } from './delivery.js';
import { sagaGateway } from './gateway.js';
import { adminService } from '../admin/service.js';
import type { Role } from '../config/roles.js';
import { checkRoles } from './roles.js';

/**
 * The replay rate a dry run assumes for a projector or saga not yet measured (no replay of it since the runtime
 * started): a subscriber that takes a 10,000-event batch in 0.4 s. Its own rate decides; once it has been
 * replayed, a dry run estimates from that.
 */
const DRY_RUN_EVENTS_PER_SECOND = 25_000;

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

export const openEventStore = async (config: StoreConfig, projectDir: string): Promise<EventStore> => {
  switch (config.kind) {
    case 'sqlite':
      return createSqliteEventStore({
        path: isAbsolute(config.path) ? config.path : join(projectDir, config.path),
        synchronous: config.synchronous,
      });
    case 'postgres':
      return createPostgresEventStore({ url: config.url, poolSize: config.poolSize, schema: config.schema });
    case 'mongodb':
      return createMongoEventStore({ url: config.url, database: config.database });
  }
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

  try {
    // 0. A split that could not work is refused before anything opens (what the caller opened is closed).
    checkRoles(config, roles);

    // 1. The store: the single source of truth.
    const store = options.store ?? (await openEventStore(config.store, options.projectDir));
    stops.push(() => store.close());

    // Messages that carry books (requests to the command handler and the coordinators, business logic's
    // answers) may be as large as the largest book allowed; the other servers take gRPC's default.
    const bookRequestBytes = Math.max(MAX_MESSAGE_BYTES, config.commandHandler.maxBookBytes + 1024 * 1024);

    // 2. A client per domain's business logic (connections are lazy: a business logic may start later).
    const domains = holds('command') ? config.domains : {};
    const businessLogic = new Map<string, BusinessLogic>();
    for (const [domain, { businessLogic: address }] of Object.entries(domains)) {
      const logic = connectBusinessLogic(domain, address, bookRequestBytes);
      businessLogic.set(domain, logic);
      stops.push(() => logic.close());
    }

    // 3. The command handler; synchronous pages go through the synchronous projectors and sagas (step 4).
    // Built in step 4; the command handler reaches it only after the runtime has started.
    const late: { delivery?: Delivery } = {};
    const handler = holds('command')
      ? createCommandHandler({
          store,
          businessLogic,
          ...config.commandHandler,
          synchronous: (book) => late.delivery!.synchronous(book),
        })
      : undefined;

    // 4. Delivery: the bus, projector and saga coordinators, and the outbox relay. Sagas' output goes to the
    // command handler of this process, else to those at commandHandler.address (see roles.ts).
    const gateway = holds('sagas') ? sagaGateway(handler, config) : undefined;
    if (gateway) stops.push(() => gateway.close());
    const delivery = await startDelivery({ config, roles, store, bus: options.bus, gateway, logger });
    late.delivery = delivery;
    stops.push(() => delivery.close());

    // 5. The servers of this process's roles, each stopped (draining its calls for up to `graceMs`) in reverse
    // order.
    let graceMs = 5000;
    /** What `evented status` lists: each server's name and address. */
    const servers: Record<string, string> = {};
    const listen = async (
      component: string,
      at: { host: string; port: number },
      services: HostedService[],
      maxReceiveMessageBytes = DEFAULT_RECEIVE_BYTES,
    ): Promise<RunningServer> => {
      const server = await startGrpcServer({
        component,
        host: at.host,
        port: at.port,
        services,
        maxReceiveMessageBytes,
        connections: config.connections,
        logger,
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
    ): Promise<RunningServer | undefined> =>
      service && (await listen(component, at, [service], maxReceiveMessageBytes));
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
          );

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
              projectDir: realProjectDir(options.projectDir),
              version: options.version ?? '',
              roles,
              store,
              bus: delivery.bus && { kind: delivery.bus.kind, location: delivery.bus.location },
              relay: () => delivery.status().relay,
              servers: listed,
              businessLogic: Object.fromEntries(
                Object.entries(domains).map(([domain, { businessLogic }]) => [domain, businessLogic]),
              ),
              projectors: new Map([...delivery.projectors].map(([name, it]) => [name, it.coordinator])),
              sagas: new Map([...delivery.sagas].map(([name, it]) => [name, it.coordinator])),
              elsewhere: {
                projectors: holds('projectors') ? [] : Object.keys(config.projectors),
                sagas: holds('sagas') ? [] : Object.keys(config.sagas),
              },
              estimatedEventsPerSecond: DRY_RUN_EVENTS_PER_SECOND,
              pollMs: config.relay.idlePollMs,
            },
            stopping.signal,
            logger.child({ component: 'admin' }),
          )
        : undefined,
    );
    stops.push(() => stopping.abort());
    // A process without a server of its own (the relay alone) still answers health checks: Kubernetes' probes.
    const healthServer =
      Object.keys(servers).length === 0 ? await listen('health service', config.health, []) : undefined;

    logger.info(
      {
        roles,
        store: store.location,
        bus: delivery.bus?.location,
        commandHandler: commandServer?.address,
        queryHandler: queryServer?.address,
        admin: adminServer?.address,
        health: healthServer?.address,
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
