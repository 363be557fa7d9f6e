import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { messageOf, UnavailableError } from '../errors/index.js';
import type { ClientTls } from '../grpc/client-credentials.js';
import { loadPayloadRegistry, type PayloadRegistry } from '../protocol/payload-types.js';
import { connectConsoleClients } from './clients.js';
import { createReplays } from './replays.js';
import { errorAnswer, handleApi, sendJson, type ApiContext } from './routes.js';
import { consoleGuard } from './security.js';
import { HEARTBEAT_MS } from './sse.js';
import { defaultBundleDir, serveStatic } from './static-files.js';

/**
 * The web console, served by the process holding the role admin: the pages (the built bundle) and
 * their HTTP API (api.ts), every answer built from the Admin and Query APIs over gRPC, as the CLI's are. It
 * listens on loopback unless evented.yaml says otherwise (then with a token); every request's Host is checked,
 * and actions need this server's Origin and the per-run token (security.ts).
 */

export interface ConsoleServer {
  /** host:port it listens on. */
  readonly address: string;
  /** What to open in a browser: http://HOST:PORT/. */
  readonly url: string;
  /** Ends the streams, then stops listening. */
  close(): Promise<void>;
}

export interface ConsoleServerOptions {
  host: string;
  port: number;
  /** This process's evented.Admin, and the query handler (evented.EventQuery), as host:port. */
  admin: string;
  query: string;
  /** How the runtime reaches its own servers when they speak TLS (their certificate pinned). */
  tls: ClientTls | undefined;
  /** The runtime's token (its admin service requires it). */
  token: string | undefined;
  /** console.token: required of every /api request when the console is not on loopback. */
  bearer: string | undefined;
  /** The project folder: its proto/ decodes payloads. */
  projectDir: string;
  project: string;
  version: string;
  logger: Logger;
  /** Where the built pages are; by default the package's dist/console/. */
  bundleDir?: string;
  /** How often /api/status/stream reads the status (default every second). */
  statusIntervalMs?: number;
  /** How often a stream sends a heartbeat comment (default every 15 s). */
  heartbeatMs?: number;
}

/** host:port with an IPv6 host in brackets. */
const hostPort = (host: string, port: number): string =>
  `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;

/** Headers on every answer: no framing (a confirmation cannot be clickjacked), no sniffing, no referrer. */
const SAFETY_HEADERS = {
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const listen = (server: ReturnType<typeof createServer>, host: string, port: number): Promise<number> =>
  new Promise<number>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const inUse = error.code === 'EADDRINUSE';
      reject(
        new UnavailableError(
          `the console cannot listen on ${hostPort(host, port)}: ${inUse ? 'the port is already in use' : messageOf(error)}`,
          {
            hint: inUse
              ? 'stop the other process, or set console.port to another port in evented.yaml (console.enabled: false turns it off)'
              : undefined,
            cause: error,
          },
        ),
      );
    });
    server.listen({ host: host.replace(/^\[(.*)\]$/, '$1'), port }, () =>
      resolve((server.address() as AddressInfo).port),
    );
  });

export const startConsoleServer = async (options: ConsoleServerOptions): Promise<ConsoleServer> => {
  const { logger } = options;
  const stopping = new AbortController();
  const clients = connectConsoleClients(options);
  const bundleDir = options.bundleDir ?? defaultBundleDir();
  const runToken = randomBytes(24).toString('hex');
  let payloads: PayloadRegistry | undefined | null = null;
  const late: { context?: ApiContext; guard?: ReturnType<typeof consoleGuard> } = {};

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    for (const [name, value] of Object.entries(SAFETY_HEADERS)) response.setHeader(name, value);
    const { context, guard } = late;
    if (!context || !guard) return void response.writeHead(503).end();
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://console');
    } catch {
      return sendJson(response, 400, { error: `not a path: ${request.url}` });
    }
    const path = url.pathname;
    const refused = guard.admit(request, path);
    const action = request.method === 'POST';
    const refusal = refused ?? (action ? guard.allowAction(request) : undefined);
    if (refusal) {
      if (action) {
        logger.warn(
          {
            peer: request.socket.remoteAddress,
            path,
            origin: request.headers.origin,
            host: request.headers.host,
          },
          `console: refused ${request.method} ${path}: ${refusal.body.error}`,
        );
      }
      return sendJson(response, refusal.status, refusal.body);
    }
    if (path === '/api' || path.startsWith('/api/')) {
      void handleApi(context, request, response, path, url.searchParams);
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return sendJson(response, 405, { error: `${request.method} ${path}: the pages are read with GET` });
    }
    serveStatic(bundleDir, path, response, request.method === 'HEAD').catch((err: unknown) => {
      const { status, body } = errorAnswer(err);
      if (!response.headersSent) sendJson(response, status, body);
    });
  });
  // An idle keep-alive connection would hold close() up.
  server.keepAliveTimeout = 5000;

  let port: number;
  try {
    port = await listen(server, options.host, options.port);
  } catch (err) {
    clients.close();
    throw err;
  }
  const address = hostPort(options.host, port);
  const url = `http://${address}/`;
  late.guard = consoleGuard({ host: options.host, port, runToken, bearer: options.bearer });
  late.context = {
    clients,
    payloads: () => {
      if (payloads === null) {
        try {
          payloads = loadPayloadRegistry(options.projectDir);
        } catch (err) {
          // Payloads then show as type and size; the rest of the console works.
          logger.warn({ err: messageOf(err) }, 'console: the project’s .proto files cannot be read');
          payloads = undefined;
        }
      }
      return payloads;
    },
    session: { project: options.project, version: options.version, token: runToken, url },
    replays: createReplays(clients.replay, stopping.signal),
    stopping: stopping.signal,
    logger,
    statusIntervalMs: options.statusIntervalMs ?? 1000,
    heartbeatMs: options.heartbeatMs ?? HEARTBEAT_MS,
  };
  logger.info({ url }, 'console listening');
  let closing: Promise<void> | undefined;
  return {
    address,
    url,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        stopping.abort();
        server.close(() => resolve());
        server.closeAllConnections();
        clients.close();
      })),
  };
};
