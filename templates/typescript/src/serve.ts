import {
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { startTracing, stopTracing, traced } from './tracing.js';

/**
 * Starts a gRPC server for one service and stops it cleanly on SIGINT/SIGTERM. With OTEL_* set (see
 * tracing.ts), each call is a span continuing evented's trace, and buffered spans are exported before it exits.
 */
export const serve = async (
  name: string,
  definition: ServiceDefinition,
  implementation: UntypedServiceImplementation,
  address: string,
): Promise<Server> => {
  await startTracing(name.replaceAll(' ', '-'));
  const server = new Server();
  server.addService(definition, traced(name, implementation));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  console.log(`${name} listening on ${address.replace(/:\d+$/, `:${port}`)}`);
  const stop = (): void => server.tryShutdown(() => void stopTracing().then(() => process.exit(0)));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return server;
};

/** The address to listen on: --port N, or $PORT, or the default port, on 127.0.0.1 unless $HOST says otherwise. */
export const listenAddress = (defaultPort: number): string => {
  const flag = process.argv.indexOf('--port');
  const port = flag >= 0 ? process.argv[flag + 1] : process.env.PORT;
  return `${process.env.HOST ?? '127.0.0.1'}:${port ?? defaultPort}`;
};
