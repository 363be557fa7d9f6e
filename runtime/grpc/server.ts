import { createServer, type AddressInfo } from 'node:net';
import {
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { UnavailableError, messageOf } from '../errors/index.js';
import { refuseUndecodable, withTolerantDecoding } from './decode.js';
import { createHealthStatus, type HealthStatus } from './health.js';
import { requireToken } from './token.js';

export interface HostedService {
  /** The full gRPC name, for health checks ("evented.BusinessCoordinator"). */
  name: string;
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

export interface RunningServer {
  /** host:port actually bound (port 0 picks a free one). */
  readonly address: string;
  readonly port: number;
  readonly health: HealthStatus;
  /** Stops accepting calls, lets in-flight calls finish for up to `graceMs`, then cancels the rest. */
  close(graceMs?: number): Promise<void>;
}

/**
 * The message size limit of evented's clients, and the least of the servers that take books (the command
 * handler, the coordinators): 64 MiB. Within it, a book is checked field by field (commandHandler.maxPayloadBytes,
 * maxBookBytes, maxPagesPerBook) and refused with a message that names the field; beyond it, grpc-js refuses
 * the request from its length prefix, before buffering it.
 */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export const grpcChannelOptions = {
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  // channelz (grpc-js's per-call statistics for a debugging service evented does not expose) costs
  // allocations and time on every call: off.
  'grpc.enable_channelz': 0,
};

/** What a server allows its clients (the `connections` section of the configuration). */
export interface ConnectionLimits {
  /** Connections kept open at once; one more is closed as it arrives. */
  maxPerServer: number;
  /** A connection without a call in flight for this long is closed (GOAWAY; clients reconnect on their next call). */
  idleTimeoutMs: number;
}

/** A server's TLS: its certificate chain and key (PEM), and for mutual TLS the CAs a client's certificate must have. */
export interface ServerTls {
  cert: Buffer;
  key: Buffer;
  clientCa?: Buffer;
}

const serverCredentials = (tls: ServerTls | undefined): ServerCredentials =>
  tls === undefined
    ? ServerCredentials.createInsecure()
    : ServerCredentials.createSsl(
        tls.clientCa ?? null,
        [{ cert_chain: tls.cert, private_key: tls.key }],
        tls.clientCa !== undefined,
      );

/** The largest request a server takes when not told otherwise: gRPC's own default. */
export const DEFAULT_RECEIVE_BYTES = 4 * 1024 * 1024;

/**
 * Starts a gRPC server with the given services plus grpc.health.v1. Requests larger than
 * `maxReceiveMessageBytes` are refused (RESOURCE_EXHAUSTED) from their length prefix, before they are buffered;
 * requests that do not decode get INVALID_ARGUMENT (decode.ts). The server listens through a plain TCP server of
 * its own, whose `maxConnections` bounds the connections open at once, and hands each connection to grpc-js —
 * which, with `tls`, makes the TLS handshake on it (a client that does not speak TLS is dropped). With `token`,
 * every call but health checks must carry it (token.ts).
 */
export const startGrpcServer = async (options: {
  host: string;
  port: number;
  services: HostedService[];
  /** Names the component in error messages ("command handler"). */
  component: string;
  maxReceiveMessageBytes?: number;
  connections?: ConnectionLimits;
  /** Told (at most once a minute) when connections are refused for being over `maxPerServer`. */
  logger?: Logger;
  tls?: ServerTls;
  /** Required of every call but health checks. */
  token?: string;
}): Promise<RunningServer> => {
  const server = new Server({
    ...grpcChannelOptions,
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes ?? DEFAULT_RECEIVE_BYTES,
    ...(options.connections && {
      'grpc.max_connection_idle_ms': options.connections.idleTimeoutMs,
      // The idle timeout closes with a GOAWAY, which a peer that does not read never takes: such a peer (or one
      // that does not speak HTTP/2 at all) leaves a ping unanswered, and the connection is dropped after this.
      'grpc.keepalive_time_ms': options.connections.idleTimeoutMs,
      'grpc.keepalive_timeout_ms': Math.min(options.connections.idleTimeoutMs, 20_000),
    }),
    // The token first: a caller without it learns nothing, not even whether its request decodes.
    interceptors: [
      ...(options.token === undefined ? [] : [requireToken(options.token, options.component)]),
      refuseUndecodable,
    ],
  });
  const health = createHealthStatus(options.services.map((s) => s.name));
  server.addService(
    withTolerantDecoding(health.service),
    health.implementation as unknown as UntypedServiceImplementation,
  );
  for (const service of options.services) {
    server.addService(withTolerantDecoding(service.definition), service.implementation);
  }

  const requested = `${options.host}:${options.port}`;
  const injector = server.createConnectionInjector(serverCredentials(options.tls));
  const listener = createServer((socket) => injector.injectConnection(socket));
  listener.maxConnections = options.connections?.maxPerServer ?? Number.MAX_SAFE_INTEGER;
  const port = await new Promise<number>((resolve, reject) => {
    listener.once('error', (error: NodeJS.ErrnoException) => {
      const inUse = error.code === 'EADDRINUSE';
      injector.destroy();
      reject(
        new UnavailableError(
          inUse
            ? `the ${options.component} cannot listen on ${requested}: the port is already in use`
            : `the ${options.component} cannot listen on ${requested}: ${messageOf(error)}`,
          {
            hint: inUse ? 'stop the other process or choose another port in evented.yaml' : undefined,
            cause: error,
          },
        ),
      );
    });
    // (an IPv6 address may be written in brackets, as in a URL: net takes it bare)
    listener.listen({ host: options.host.replace(/^\[(.*)\]$/, '$1'), port: options.port }, () =>
      resolve((listener.address() as AddressInfo).port),
    );
  });
  // Once listening, an error accepting one connection (too many open files) loses that connection only.
  listener.on('error', (error) =>
    options.logger?.warn({ err: error }, `the ${options.component} lost a connection`),
  );
  let warnedAt = 0;
  listener.on('drop', () => {
    if (Date.now() - warnedAt < 60_000) return;
    warnedAt = Date.now();
    options.logger?.warn(
      `the ${options.component} refused a connection: ${listener.maxConnections} are open (connections.maxPerServer)`,
    );
  });

  let closing: Promise<void> | undefined;
  return {
    address: `${options.host}:${port}`,
    port,
    health,
    close(graceMs = 5000) {
      closing ??= new Promise<void>((resolve) => {
        health.shutdown();
        listener.close();
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return closing;
    },
  };
};
