import type { IncomingMessage, ServerResponse } from 'node:http';
import { status as Status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { isServiceError } from '../grpc/unary.js';
import { messageOf } from '../errors/index.js';
import type { PayloadRegistry } from '../protocol/payload-types.js';
import type { ApiError, DeadLetterDetailView, EventList, Session } from './api.js';
import type { ConsoleClients } from './clients.js';
import type { Replays } from './replays.js';
import { openEventStream } from './sse.js';
import { createStatusReader } from './status-view.js';
import { aggregateView, deadLetterView, eventView, traceView } from '../protocol/json-views.js';
import {
  DEFAULT_LIMIT,
  deadLetterRequestOf,
  HttpError,
  idOf,
  integerParam,
  MAX_LIMIT,
  readJson,
  replayActionOf,
  rootBytes,
  tailFilter,
  traceRequestOf,
} from './requests.js';

/**
 * The console's HTTP API (api.ts): each route asks the Admin or Query API and answers the pages' views. Bad input
 * is a 400 saying what was wrong; a refusal of the runtime keeps its message and gets the HTTP status closest to
 * its gRPC one.
 */

export interface ApiContext {
  clients: ConsoleClients;
  /** The project's payload types, read once on first use (undefined: no .proto files). */
  payloads(): PayloadRegistry | undefined;
  session: Session;
  replays: Replays;
  stopping: AbortSignal;
  logger: Logger;
  /** How often the status stream reads the status. */
  statusIntervalMs: number;
  /** How often a stream sends a heartbeat comment. */
  heartbeatMs: number;
}

const HTTP_OF_GRPC: Partial<Record<Status, number>> = {
  [Status.INVALID_ARGUMENT]: 400,
  [Status.OUT_OF_RANGE]: 400,
  [Status.NOT_FOUND]: 404,
  [Status.ALREADY_EXISTS]: 409,
  [Status.FAILED_PRECONDITION]: 409,
  [Status.ABORTED]: 409,
  [Status.UNAUTHENTICATED]: 502,
  [Status.PERMISSION_DENIED]: 502,
  [Status.UNAVAILABLE]: 503,
  [Status.DEADLINE_EXCEEDED]: 504,
};

export const sendJson = (response: ServerResponse, status: number, body: unknown): void => {
  const text = JSON.stringify(body);
  response
    .writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
    })
    .end(text);
};

/** An error as the pages get it: its status and one line. */
export const errorAnswer = (err: unknown): { status: number; body: ApiError } => {
  if (err instanceof HttpError) return { status: err.status, body: err.body };
  if (isServiceError(err)) {
    return { status: HTTP_OF_GRPC[err.code] ?? 500, body: { error: err.details || Status[err.code] } };
  }
  return { status: 500, body: { error: messageOf(err) } };
};

/** `console 127.0.0.1:53412`: who asked, as the runtime's audit log names it. */
export const callerOf = (request: IncomingMessage): string => {
  const address = request.socket.remoteAddress ?? 'unknown';
  const host = address.includes(':') ? `[${address}]` : address;
  return `console ${host}:${request.socket.remotePort ?? 0}`;
};

const collect = async <T>(items: AsyncIterable<T>): Promise<T[]> => {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
};

/** The store's highest position: the last event of the log, or 0. */
const headOf = async (context: ApiContext, signal: AbortSignal): Promise<number> => {
  const [last] = await collect(context.clients.tail({ last: 1 }, signal));
  return last?.position ?? 0;
};

const listEvents = async (context: ApiContext, query: URLSearchParams): Promise<EventList> => {
  const filter = tailFilter(query, true);
  const limit = integerParam('limit', query.get('limit'), 1, MAX_LIMIT) ?? DEFAULT_LIMIT;
  const signal = context.stopping;
  const head = await headOf(context, signal);
  // One more than asked: whether there are older ones.
  const found = await collect(context.clients.tail({ ...filter, last: limit + 1 }, signal));
  const payloads = context.payloads();
  return {
    events: found
      .slice(-limit)
      .reverse()
      .map((event) => eventView(event, payloads)),
    head,
    more: found.length > limit,
  };
};

const streamEvents = async (
  context: ApiContext,
  request: IncomingMessage,
  response: ServerResponse,
  query: URLSearchParams,
): Promise<void> => {
  const filter = tailFilter(query, false);
  const head = await headOf(context, context.stopping);
  const stream = openEventStream(request, response, context.stopping, context.heartbeatMs);
  try {
    for await (const event of context.clients.tail({ ...filter, after: head, follow: true }, stream.signal)) {
      stream.send('event', eventView(event, context.payloads()));
    }
  } catch (err) {
    if (!stream.signal.aborted) stream.send('api-error', errorAnswer(err).body);
  } finally {
    stream.end();
  }
};

const streamStatus = async (
  context: ApiContext,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> => {
  const reader = createStatusReader(() => context.clients.status());
  const stream = openEventStream(request, response, context.stopping, context.heartbeatMs);
  while (!stream.signal.aborted) {
    try {
      stream.send('status', await reader.read());
    } catch (err) {
      stream.send('api-error', errorAnswer(err).body);
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, context.statusIntervalMs);
      function done(): void {
        clearTimeout(timer);
        stream.signal.removeEventListener('abort', done);
        resolve();
      }
      stream.signal.addEventListener('abort', done, { once: true });
    });
  }
};

const streamReplays = (context: ApiContext, request: IncomingMessage, response: ServerResponse): void => {
  const stream = openEventStream(request, response, context.stopping, context.heartbeatMs);
  for (const view of context.replays.list().reverse()) stream.send('replay', view);
  const stop = context.replays.listen((view) => stream.send('replay', view));
  stream.signal.addEventListener('abort', stop, { once: true });
};

const aggregate = async (context: ApiContext, domain: string, root: string) => {
  const bytes = rootBytes(root);
  const [books, snapshot] = await Promise.all([
    context.clients.aggregate(domain, bytes),
    context.clients.snapshot(domain, bytes),
  ]);
  const count = books.reduce((sum, book) => sum + book.pages.length, 0);
  if (count === 0) {
    throw new HttpError(404, {
      error: `no events of aggregate ${domain}/${root}`,
      hint: 'check the domain and the root (the Events page links to aggregates that exist)',
    });
  }
  // Each event's global position, from the log: its last `count` events of this aggregate.
  const logged = await collect(
    context.clients.tail({ domain, root: { value: bytes }, last: count }, context.stopping),
  );
  const positions = new Map(logged.map((event) => [event.page?.num ?? 0, event.position]));
  return aggregateView(domain, root, books, positions, snapshot, context.payloads());
};

/** Answers one /api request; `path` is its path, `query` its query string. */
export const handleApi = async (
  context: ApiContext,
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
  query: URLSearchParams,
): Promise<void> => {
  const method = request.method ?? 'GET';
  const segments = path.split('/').slice(2); // '', 'api', …
  const [first, second, ...rest] = segments;
  const read = method === 'GET' || method === 'HEAD';
  const json = (body: unknown, status = 200): void => sendJson(response, status, body);
  try {
    if (read && first === 'session' && second === undefined) return json(context.session);
    if (read && first === 'status' && second === undefined) {
      return json(await statusReader(context).read());
    }
    if (read && first === 'status' && second === 'stream')
      return await streamStatus(context, request, response);
    if (read && first === 'events' && second === undefined) return json(await listEvents(context, query));
    if (read && first === 'events' && second === 'stream') {
      return await streamEvents(context, request, response, query);
    }
    if (read && first === 'aggregates' && second !== undefined && rest.length === 1) {
      return json(await aggregate(context, decodeURIComponent(second), decodeURIComponent(rest[0]!)));
    }
    if (read && first === 'trace' && second !== undefined) {
      const target = decodeURIComponent([second, ...rest].join('/'));
      return json(traceView(await context.clients.trace(traceRequestOf(target))));
    }
    if (first === 'dead-letters') {
      if (read && second === undefined) {
        const list = await context.clients.listDeadLetters({
          subscriber: query.get('subscriber') ?? '',
          state: query.get('state') ?? '',
        });
        return json({ letters: list.letters.map(deadLetterView) });
      }
      if (read && second !== undefined && rest.length === 0) {
        const detail = await context.clients.getDeadLetter(idOf(second));
        const view: DeadLetterDetailView = {
          letter: deadLetterView(detail.letter!),
          ...(detail.event && { event: eventView(detail.event, context.payloads()) }),
        };
        return json(view);
      }
      if (method === 'POST' && (second === 'retry' || second === 'skip') && rest.length === 0) {
        const deadLetters = deadLetterRequestOf(await readJson(request));
        const caller = callerOf(request);
        const list =
          second === 'retry'
            ? await context.clients.retryDeadLetters(deadLetters, caller)
            : await context.clients.skipDeadLetters(deadLetters, caller);
        return json({ letters: list.letters.map(deadLetterView) });
      }
    }
    if (first === 'replays') {
      if (read && second === undefined) return json({ replays: context.replays.list() });
      if (read && second === 'stream') return streamReplays(context, request, response);
      if (method === 'POST' && second === undefined) {
        const action = replayActionOf(await readJson(request));
        return json(context.replays.start(action, callerOf(request)), 202);
      }
    }
    throw new HttpError(404, {
      error: `no such API: ${method} ${path}`,
      hint: 'see runtime/console/api.ts for the routes',
    });
  } catch (err) {
    const { status, body } = errorAnswer(err);
    if (status >= 500) context.logger.warn({ path, err: messageOf(err) }, 'console: request failed');
    if (!response.headersSent) json(body, status);
    else response.end();
  }
};

/** GET /api/status's readings, kept between requests so that its rates span two of them. */
const readers = new WeakMap<ApiContext, ReturnType<typeof createStatusReader>>();
const statusReader = (context: ApiContext): ReturnType<typeof createStatusReader> => {
  let reader = readers.get(context);
  if (!reader) {
    reader = createStatusReader(() => context.clients.status());
    readers.set(context, reader);
  }
  return reader;
};
