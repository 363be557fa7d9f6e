import {
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { UnavailableError, messageOf } from '../errors/index.js';
import { createHealthStatus, type HealthStatus } from './health.js';

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

/** Message size limits for every evented server and client: 64 MiB, well above any sane book. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export const grpcChannelOptions = {
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  // channelz (grpc-js's per-call statistics for a debugging service evented does not expose) costs
  // allocations and time on every call: off.
  'grpc.enable_channelz': 0,
};

/** Starts a gRPC server with the given services plus grpc.health.v1. */
export const startGrpcServer = async (options: {
  host: string;
  port: number;
  services: HostedService[];
  /** Names the component in error messages ("command handler"). */
  component: string;
}): Promise<RunningServer> => {
  const server = new Server(grpcChannelOptions);
  const health = createHealthStatus(options.services.map((s) => s.name));
  server.addService(health.service, health.implementation as unknown as UntypedServiceImplementation);
  for (const service of options.services) server.addService(service.definition, service.implementation);

  const requested = `${options.host}:${options.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(requested, ServerCredentials.createInsecure(), (error, boundPort) => {
      if (error) {
        const inUse = /EADDRINUSE|address already in use|No address added/i.test(error.message);
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
      } else resolve(boundPort);
    });
  });

  let closing: Promise<void> | undefined;
  return {
    address: `${options.host}:${port}`,
    port,
    health,
    close(graceMs = 5000) {
      closing ??= new Promise<void>((resolve) => {
        health.shutdown();
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
