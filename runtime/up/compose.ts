import { isAbsolute, join } from 'node:path';
import { format } from 'node:util';
import { setLogger as setGrpcLogger } from '@grpc/grpc-js';
import { pino, type Logger } from 'pino';
import type { ResolvedConfig, StoreConfig } from '../config/schema.js';
import { connectBusinessLogic, type BusinessLogic } from '../command/business-logic.js';
import { createCommandHandler } from '../command/handler.js';
import { businessCoordinatorService } from '../command/service.js';
import { eventQueryService } from '../query/service.js';
import { startGrpcServer, type RunningServer } from '../grpc/server.js';
import type { EventStore } from '../store/port.js';
import { createSqliteEventStore } from '../store/sqlite/index.js';

/**
 * The composition root: the only place that chooses adapters. It turns a resolved configuration into running
 * services, in dependency order (store, business logic clients, command handler, query handler), and stops
 * them in reverse.
 */

export interface RuntimeOptions {
  /** The project folder: relative paths in the configuration are relative to it. */
  projectDir: string;
  logger?: Logger;
}

export interface Runtime {
  readonly store: { kind: string; location: string };
  readonly commandHandler: { address: string };
  readonly queryHandler: { address: string };
  /** Drains in-flight calls (up to `graceMs`), then closes everything. Safe to call twice. */
  close(graceMs?: number): Promise<void>;
}

export const openEventStore = (config: StoreConfig, projectDir: string): EventStore => {
  switch (config.kind) {
    case 'sqlite':
      return createSqliteEventStore({
        path: isAbsolute(config.path) ? config.path : join(projectDir, config.path),
        synchronous: config.synchronous,
      });
  }
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

  try {
    // 1. The store: the single source of truth.
    const store = openEventStore(config.store, options.projectDir);
    stops.push(() => store.close());

    // 2. A client per domain's business logic (connections are lazy: a business logic may start later).
    const businessLogic = new Map<string, BusinessLogic>();
    for (const [domain, { businessLogic: address }] of Object.entries(config.domains)) {
      const logic = connectBusinessLogic(domain, address);
      businessLogic.set(domain, logic);
      stops.push(() => logic.close());
    }

    // 3. The command handler.
    const handler = createCommandHandler({ store, businessLogic, ...config.commandHandler });
    const commandServer: RunningServer = await startGrpcServer({
      component: 'command handler',
      host: config.commandHandler.host,
      port: config.commandHandler.port,
      services: [businessCoordinatorService(handler, logger.child({ component: 'command-handler' }))],
    });
    let graceMs = 5000;
    stops.push(() => commandServer.close(graceMs));

    // 4. The query handler.
    const queryServer = await startGrpcServer({
      component: 'query handler',
      host: config.queryHandler.host,
      port: config.queryHandler.port,
      services: [
        eventQueryService(store, config.queryHandler.bookBytes, logger.child({ component: 'query-handler' })),
      ],
    });
    stops.push(() => queryServer.close(graceMs));

    logger.info(
      { store: store.location, commandHandler: commandServer.address, queryHandler: queryServer.address },
      'evented runtime started',
    );
    let closing: Promise<void> | undefined;
    return {
      store: { kind: store.kind, location: store.location },
      commandHandler: { address: commandServer.address },
      queryHandler: { address: queryServer.address },
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
