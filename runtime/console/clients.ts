import {
  status as Status,
  type ClientReadableStream,
  type ClientUnaryCall,
  type Metadata,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  AdminClient,
  EventQueryClient,
  type DeadLetterDetail,
  type DeadLetterList,
  type DeadLetterQuery,
  type DeadLetterRequest,
  type EventBook,
  type LoggedEvent,
  type ReplayProgress,
  type ReplayRequest,
  type RuntimeStatus,
  type Snapshot,
  type TailRequest,
  type TraceRequest,
  type TraceTree,
} from '../protocol/gen/evented/evented.js';
import { channelCredentials, withToken, type ClientTls } from '../grpc/client-credentials.js';
import { isServiceError } from '../grpc/unary.js';
import { CALLER_METADATA } from '../admin/audit.js';

/**
 * The console's way to the runtime: a gRPC client of this process's own evented.Admin and of the query handler
 * (evented.EventQuery), as the CLI is one. Through them, the console can show and do nothing the CLI cannot.
 * Calls that change state carry `evented-caller: console <address of the browser>`, which the admin service logs
 * with them (admin/audit.ts) and stores with dead-letter decisions.
 */
export interface ConsoleClients {
  status(): Promise<RuntimeStatus>;
  tail(request: Partial<TailRequest>, signal: AbortSignal): AsyncIterable<LoggedEvent>;
  replay(request: ReplayRequest, caller: string, signal: AbortSignal): AsyncIterable<ReplayProgress>;
  listDeadLetters(query: DeadLetterQuery): Promise<DeadLetterList>;
  getDeadLetter(id: number): Promise<DeadLetterDetail>;
  retryDeadLetters(request: DeadLetterRequest, caller: string): Promise<DeadLetterList>;
  skipDeadLetters(request: DeadLetterRequest, caller: string): Promise<DeadLetterList>;
  trace(request: TraceRequest): Promise<TraceTree>;
  /** One aggregate's latest snapshot (Admin.GetSnapshot): without state when it has none. */
  snapshot(domain: string, root: Uint8Array): Promise<Snapshot>;
  /** One aggregate's events, in sequence order (EventQuery.GetEvents). */
  aggregate(domain: string, root: Uint8Array): Promise<EventBook[]>;
  close(): void;
}

/** Reads answer within this; retry and skip deliver events, and take as long as that takes. */
const READ_TIMEOUT_MS = 10_000;

type Unary<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: { deadline?: number },
  callback: (err: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

export const connectConsoleClients = (options: {
  admin: string;
  query: string;
  /** How the runtime reaches its own servers (their certificate pinned), when they speak TLS. */
  tls: ClientTls | undefined;
  /** The runtime's token, which its admin service requires. */
  token: string | undefined;
}): ConsoleClients => {
  const adminCredentials = channelCredentials(options.tls, options.admin);
  const admin = new AdminClient(options.admin, adminCredentials.credentials, adminCredentials.options);
  const queryCredentials = channelCredentials(options.tls, options.query);
  const query = new EventQueryClient(options.query, queryCredentials.credentials, queryCredentials.options);
  const metadata = (caller?: string): Metadata => {
    const m = withToken(options.token);
    if (caller !== undefined) m.set(CALLER_METADATA, caller);
    return m;
  };
  const call = <Req, Res>(
    method: Unary<Req, Res>,
    request: Req,
    caller?: string,
    timeoutMs: number | undefined = READ_TIMEOUT_MS,
  ): Promise<Res> =>
    new Promise((resolve, reject) => {
      const deadline = timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs };
      method.call(admin, request, metadata(caller), deadline, (err, response) =>
        err ? reject(err) : resolve(response),
      );
    });
  return {
    status: () => call(admin.status, {}),
    tail: (request, signal) =>
      streamOf(
        admin.tail(
          { after: 0, domain: '', follow: false, last: 0, correlation: '', before: 0, type: '', ...request },
          metadata(),
        ),
        signal,
      ),
    replay: (request, caller, signal) => streamOf(admin.replay(request, metadata(caller)), signal),
    listDeadLetters: (request) => call(admin.listDeadLetters, request),
    getDeadLetter: (id) => call(admin.getDeadLetter, { id }),
    retryDeadLetters: (request, caller) => call(admin.retryDeadLetters, request, caller, undefined),
    skipDeadLetters: (request, caller) => call(admin.skipDeadLetters, request, caller, undefined),
    trace: (request) => call(admin.trace, request),
    snapshot: (domain, root) => call(admin.getSnapshot, { domain, root: { value: root } }),
    aggregate: async (domain, root) => {
      const books: EventBook[] = [];
      const stream = query.getEvents(
        { domain, root: { value: root }, lowerBound: 0, upperBound: 0 },
        { deadline: Date.now() + READ_TIMEOUT_MS },
      );
      for await (const book of stream as AsyncIterable<EventBook>) books.push(book);
      return books;
    },
    close: () => {
      admin.close();
      query.close();
    },
  };
};

/** A server stream as an async iterable that ends quietly when `signal` cancels it. */
async function* streamOf<T>(stream: ClientReadableStream<T>, signal: AbortSignal): AsyncGenerator<T> {
  const cancel = (): void => stream.cancel();
  if (signal.aborted) cancel();
  else signal.addEventListener('abort', cancel, { once: true });
  try {
    for await (const item of stream as AsyncIterable<T>) yield item;
  } catch (err) {
    if (signal.aborted && isServiceError(err) && err.code === Status.CANCELLED) return;
    throw err;
  } finally {
    signal.removeEventListener('abort', cancel);
    stream.cancel();
  }
}
