import { credentials, Metadata, Server, ServerCredentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll } from 'vitest';
import {
  BusinessLogicClient,
  BusinessLogicService,
  type BusinessLogicServer,
  type ContextualCommand,
  type EventBook,
} from '../../runtime/protocol/gen/evented/evented.js';
import type { UserConfig } from '../../runtime/config/schema.js';
import { typescriptTemplate } from './paths.js';
import { startProcess, type TestProcess } from './processes.js';

/**
 * The bundled sample business logic (templates/typescript), as the separate process a user would run; `dir`: a
 * copy of the template (changed, say) instead.
 */
export const startSampleBusinessLogic = async (
  options: { snapshotEvery?: number; port?: number; env?: Record<string, string>; dir?: string } = {},
): Promise<{ address: string; process: TestProcess }> => {
  const process = startProcess(
    globalThis.process.execPath,
    ['--import', 'tsx', 'src/business-logic.ts', '--port', String(options.port ?? 0)],
    {
      cwd: options.dir ?? typescriptTemplate,
      env: { SNAPSHOT_EVERY: String(options.snapshotEvery ?? 10), ...options.env },
    },
  );
  const [, address] = await process.waitFor(/listening on (\S+)/);
  return { address: address!, process };
};

/** The sample projector (templates/typescript/src/projector.ts): keeps `readModel` (a JSON file). */
export const startSampleProjector = async (
  readModel: string,
  options: { port?: number } = {},
): Promise<{ address: string; process: TestProcess }> => {
  const process = startProcess(
    globalThis.process.execPath,
    ['--import', 'tsx', 'src/projector.ts', '--port', String(options.port ?? 0)],
    {
      cwd: typescriptTemplate,
      env: { READ_MODEL: readModel },
    },
  );
  const [, address] = await process.waitFor(/listening on (\S+)/);
  return { address: address!, process };
};

/** The sample transfers saga (templates/typescript/src/saga.ts). */
export const startSampleSaga = async (): Promise<{ address: string; process: TestProcess }> => {
  const process = startProcess(
    globalThis.process.execPath,
    ['--import', 'tsx', 'src/saga.ts', '--port', '0'],
    {
      cwd: typescriptTemplate,
    },
  );
  const [, address] = await process.waitFor(/listening on (\S+)/);
  return { address: address!, process };
};

/**
 * All three sample services, each its own process: the business logic, the projector keeping `readModel` and the
 * saga. Returns the configuration that wires them into a runtime (sections of evented.yaml, or of a UserConfig):
 * the domain account, the projector accounts and the saga transfers.
 */
export const startSampleServices = async (
  readModel: string,
): Promise<{ config: Required<Pick<UserConfig, 'domains' | 'projectors' | 'sagas'>> }> => {
  const [logic, projector, saga] = await Promise.all([
    startSampleBusinessLogic(),
    startSampleProjector(readModel),
    startSampleSaga(),
  ]);
  return {
    config: {
      domains: { account: { businessLogic: logic.address } },
      projectors: { accounts: { address: projector.address, domains: ['account'] } },
      sagas: { transfers: { address: saga.address, domains: ['account'] } },
    },
  };
};

/** A domain error for scripted business logic: answered with this gRPC status. */
export const grpcError = (code: status, details: string): Partial<ServiceError> => ({ code, details });

const servers = new Set<Server>();
const clients = new Set<BusinessLogicClient>();
afterAll(() => {
  for (const server of servers) server.forceShutdown();
  servers.clear();
  for (const client of clients) client.close();
  clients.clear();
});

/**
 * Business logic scripted by a test, served over real gRPC on loopback: for failure modes the sample does not
 * have (a slow answer, a wrong sequence, a crash). `decide` returns a book or throws a grpcError().
 * `credentials`: to serve over TLS.
 */
export const startScriptedBusinessLogic = async (
  decide: (command: ContextualCommand) => EventBook | Promise<EventBook>,
  options: { credentials?: ServerCredentials } = {},
): Promise<{ address: string; calls: ContextualCommand[]; stop(): void }> => {
  const calls: ContextualCommand[] = [];
  const server = new Server();
  const implementation: BusinessLogicServer = {
    handle(call, callback) {
      calls.push(call.request);
      Promise.resolve()
        .then(() => decide(call.request))
        .then(
          (book) => callback(null, book),
          (err: Partial<ServiceError>) =>
            callback({ code: err.code ?? status.INTERNAL, details: err.details ?? String(err) }),
        );
    },
  };
  server.addService(BusinessLogicService, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      '127.0.0.1:0',
      options.credentials ?? ServerCredentials.createInsecure(),
      (err, bound) => (err ? reject(err) : resolve(bound)),
    ),
  );
  servers.add(server);
  return {
    address: `127.0.0.1:${port}`,
    calls,
    stop: () => {
      server.forceShutdown();
      servers.delete(server);
    },
  };
};

/**
 * A real business logic behind a scripted one that forwards every command to it (over gRPC) and keeps what it
 * was sent in `calls`: to see exactly what evented gives business logic (the snapshot, the pages).
 * `before` runs before each call is forwarded.
 */
export const startForwardingBusinessLogic = async (
  target: string,
  before: (command: ContextualCommand) => Promise<void> | void = () => undefined,
): Promise<{ address: string; calls: ContextualCommand[]; stop(): void }> => {
  const client = new BusinessLogicClient(target, credentials.createInsecure());
  clients.add(client);
  return startScriptedBusinessLogic(async (command) => {
    await before(command);
    return new Promise<EventBook>((resolve, reject) =>
      client.handle(command, new Metadata(), { deadline: Date.now() + 10_000 }, (err, book) =>
        err ? reject(grpcError(err.code, err.details)) : resolve(book),
      ),
    );
  });
};
