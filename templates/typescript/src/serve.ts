import {
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';

/** Starts a gRPC server for one service and stops it cleanly on SIGINT/SIGTERM. */
export const serve = async (
  name: string,
  definition: ServiceDefinition,
  implementation: UntypedServiceImplementation,
  address: string,
): Promise<Server> => {
  const server = new Server();
  server.addService(definition, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  console.log(`${name} listening on ${address.replace(/:\d+$/, `:${port}`)}`);
  const stop = (): void => server.tryShutdown(() => process.exit(0));
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
