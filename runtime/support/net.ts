import { connect, createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago: the system picks it (listen on port 0), then it is let go. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/** True when this process could listen on host:port now (nothing else has it); the port is let go at once. */
export const canListen = (host: string, port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export const isListening = (port: number, timeoutMs = 1000): Promise<boolean> =>
  acceptsConnections(`127.0.0.1:${port}`, timeoutMs);

/** True when something accepts TCP connections at `address` (host:port). */
export const acceptsConnections = (address: string, timeoutMs = 1000): Promise<boolean> =>
  new Promise((resolve) => {
    const colon = address.lastIndexOf(':');
    const socket = connect({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)) });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
