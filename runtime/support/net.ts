import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, then let go. It is drawn from below the kernel's range of
 * ephemeral ports (the ports it hands to `listen(0)` and to outgoing connections), so a port chosen here and taken
 * a little later is not meanwhile given by the kernel to some other process — a broker node or agent that asks for
 * any port. Where no port below that range is free (or the range cannot be read), the system picks one.
 */
export const freePort = async (): Promise<number> => {
  const [low] = ephemeralRange();
  const floor = 10_000;
  if (low - floor >= 1000) {
    for (let attempt = 0; attempt < 20; attempt++) {
      const port = floor + Math.floor(Math.random() * (low - floor));
      if (!handedOut.has(port) && (await canListen('127.0.0.1', port))) return handOut(port);
    }
  }
  return handOut(await systemPort());
};

/**
 * The ports freePort gave lately in this process: none is given twice while it may still be about to be taken
 * (the several servers of one configuration, chosen one after another, would otherwise meet on one port now and
 * then). The oldest are forgotten past RECENT_PORTS.
 */
const handedOut = new Set<number>();
const RECENT_PORTS = 2000;
const handOut = (port: number): number => {
  handedOut.add(port);
  if (handedOut.size > RECENT_PORTS) handedOut.delete(handedOut.values().next().value!);
  return port;
};

/** The kernel's ephemeral port range (Linux's ip_local_port_range; elsewhere the IANA range). */
const ephemeralRange = (): [number, number] => {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low!, high!];
  } catch {
    // not Linux: the IANA dynamic range
  }
  return [49152, 65535];
};

const systemPort = (): Promise<number> =>
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
