import type { ServerUnaryCall, ServerWritableStream, sendUnaryData } from '@grpc/grpc-js';
import { status as Status } from '@grpc/grpc-js';
import {
  HealthCheckResponse_ServingStatus as Serving,
  HealthService,
  type HealthCheckRequest,
  type HealthCheckResponse,
  type HealthServer,
} from '../protocol/gen/grpc/health/v1/health.js';

/**
 * grpc.health.v1 for every evented server. The empty service name ("") stands for the whole server, as
 * grpc_health_probe and Kubernetes probes expect; each evented service is also listed by its full name.
 */
export interface HealthStatus {
  set(service: string, serving: boolean): void;
  /** Marks everything NOT_SERVING (at the start of a shutdown). */
  shutdown(): void;
  readonly service: typeof HealthService;
  readonly implementation: HealthServer;
}

export const createHealthStatus = (services: string[]): HealthStatus => {
  const statuses = new Map<string, Serving>([
    ['', Serving.SERVING],
    ...services.map((s) => [s, Serving.SERVING] as const),
  ]);
  const watchers = new Set<{
    service: string;
    call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>;
  }>();

  const notify = (service: string): void => {
    for (const watcher of watchers) {
      if (watcher.service === service)
        watcher.call.write({ status: statuses.get(service) ?? Serving.SERVICE_UNKNOWN });
    }
  };

  const implementation: HealthServer = {
    check(
      call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
      callback: sendUnaryData<HealthCheckResponse>,
    ) {
      const status = statuses.get(call.request.service);
      if (status === undefined)
        callback({ code: Status.NOT_FOUND, details: `unknown service "${call.request.service}"` });
      else callback(null, { status });
    },
    watch(call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) {
      const watcher = { service: call.request.service, call };
      watchers.add(watcher);
      call.write({ status: statuses.get(watcher.service) ?? Serving.SERVICE_UNKNOWN });
      call.on('cancelled', () => watchers.delete(watcher));
      call.on('close', () => watchers.delete(watcher));
    },
  };

  return {
    set(service, serving) {
      statuses.set(service, serving ? Serving.SERVING : Serving.NOT_SERVING);
      notify(service);
    },
    shutdown() {
      for (const service of statuses.keys()) {
        statuses.set(service, Serving.NOT_SERVING);
        notify(service);
      }
      for (const watcher of watchers) watcher.call.end();
      watchers.clear();
    },
    service: HealthService,
    implementation,
  };
};
