import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { messageOf, UnavailableError } from '../errors/index.js';

/**
 * The HTTP endpoint Prometheus scrapes: GET /metrics, in Prometheus's text format; anything else is 404. It has
 * no authentication (as is usual for /metrics), which is why it listens on loopback unless evented.yaml says
 * otherwise explicitly (metrics.allowRemote).
 */

export interface MetricsServer {
  /** host:port it listens on. */
  readonly address: string;
  /** What to point Prometheus at. */
  readonly url: string;
  close(): Promise<void>;
}

export const startMetricsServer = async (options: {
  host: string;
  port: number;
  registry: Registry;
}): Promise<MetricsServer> => {
  const { registry } = options;
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${messageOf(err)}\n`),
    );
  });
  const requested = `${options.host}:${options.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const inUse = error.code === 'EADDRINUSE';
      reject(
        new UnavailableError(
          `the metrics endpoint cannot listen on ${requested}: ${inUse ? 'the port is already in use' : messageOf(error)}`,
          {
            hint: inUse
              ? 'stop the other process, or set metrics.port to another port in evented.yaml (metrics.enabled: false turns it off)'
              : undefined,
            cause: error,
          },
        ),
      );
    });
    server.listen({ host: options.host.replace(/^\[(.*)\]$/, '$1'), port: options.port }, () =>
      resolve((server.address() as AddressInfo).port),
    );
  });
  // Scrapes keep their connection open: without this, close() would wait for Prometheus to let go.
  server.keepAliveTimeout = 5000;
  const host =
    options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host;
  const address = `${host}:${port}`;
  return {
    address,
    url: `http://${address}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
};
