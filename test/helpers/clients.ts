import { Client, credentials, Metadata, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { afterAll, expect } from 'vitest';
import {
  AdminClient,
  BusinessCoordinatorClient,
  EventQueryClient,
  ProjectorCoordinatorClient,
  SagaCoordinatorClient,
  type AggregateRoot,
  type CommandBook,
  type CommandLogRequest,
  type LoggedCommand,
  type DeadLetter,
  type DeadLetterList,
  type DeadLetterQuery,
  type DeadLetterRequest,
  type LoggedEvent,
  type TailRequest,
  type ReplayProgress,
  type ReplayRequest,
  type RuntimeStatus,
  type EventBook,
  type Projection,
  type Query,
  type SynchronousProcessingResponse,
} from '../../runtime/protocol/gen/evented/evented.js';
import { channelCredentials, withToken, type ClientTls } from '../../runtime/grpc/client-credentials.js';

/** Promise-shaped gRPC clients for the runtime's services, closed after the test file. */

const open: { close(): void }[] = [];
afterAll(() => {
  for (const client of open.splice(0)) client.close();
});

export interface CommandClient {
  /**
   * With `idempotencyKey`, as the metadata `evented-idempotency-key`: applied at most once, however often sent.
   * `metadata`: more of it, as it is (`evented-correlation-id`, …).
   */
  handle(
    book: CommandBook,
    timeoutMs?: number,
    idempotencyKey?: string,
    metadata?: Record<string, string>,
  ): Promise<SynchronousProcessingResponse>;
  record(
    book: EventBook,
    timeoutMs?: number,
    idempotencyKey?: string,
    metadata?: Record<string, string>,
  ): Promise<SynchronousProcessingResponse>;
  close(): void;
}

/** `maxReceiveMessageBytes`: for responses that echo large books (gRPC's default is 4 MiB); `tls`: over TLS. */
export const commandClient = (
  address: string,
  options: { maxReceiveMessageBytes?: number; tls?: ClientTls } = {},
): CommandClient => {
  const secure = channelCredentials(options.tls, address);
  const client = new BusinessCoordinatorClient(address, secure.credentials, {
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes ?? 4 * 1024 * 1024,
    ...secure.options,
  });
  open.push(client);
  const call =
    <Req>(method: 'handle' | 'record') =>
    (
      request: Req,
      timeoutMs = 10_000,
      idempotencyKey?: string,
      more: Record<string, string> = {},
    ): Promise<SynchronousProcessingResponse> => {
      const metadata = new Metadata();
      if (idempotencyKey !== undefined) metadata.set('evented-idempotency-key', idempotencyKey);
      for (const [key, value] of Object.entries(more)) metadata.set(key, value);
      return new Promise((resolve, reject) =>
        (
          client[method] as (
            r: Req,
            m: Metadata,
            o: object,
            cb: (e: ServiceError | null, r: SynchronousProcessingResponse) => void,
          ) => void
        )(request, metadata, { deadline: Date.now() + timeoutMs }, (err, response) =>
          err ? reject(err) : resolve(response),
        ),
      );
    };
  return {
    handle: call<CommandBook>('handle'),
    record: call<EventBook>('record'),
    close: () => client.close(),
  };
};

/** The coordinators' public services, as another runtime's command handler (or anyone on the port) calls them. */
export interface CoordinatorClient<SyncResponse> {
  handle(book: EventBook): Promise<unknown>;
  handleSync(book: EventBook): Promise<SyncResponse>;
}

const coordinatorClient = <SyncResponse>(client: ProjectorCoordinatorClient | SagaCoordinatorClient) => {
  open.push(client);
  const call =
    (method: 'handle' | 'handleSync') =>
    (book: EventBook): Promise<never> =>
      new Promise((resolve, reject) =>
        (
          client[method] as (
            r: EventBook,
            m: Metadata,
            o: object,
            cb: (e: ServiceError | null, r: never) => void,
          ) => void
        )(book, new Metadata(), { deadline: Date.now() + 20_000 }, (err, response) =>
          err ? reject(err) : resolve(response),
        ),
      );
  return { handle: call('handle'), handleSync: call('handleSync') } as CoordinatorClient<SyncResponse>;
};

export const projectorCoordinatorClient = (address: string): CoordinatorClient<Projection> =>
  coordinatorClient(new ProjectorCoordinatorClient(address, credentials.createInsecure()));

export const sagaCoordinatorClient = (address: string): CoordinatorClient<SynchronousProcessingResponse> =>
  coordinatorClient(new SagaCoordinatorClient(address, credentials.createInsecure()));

const collect = <T>(stream: ClientReadableStream<T>): Promise<T[]> =>
  new Promise((resolve, reject) => {
    const items: T[] = [];
    stream.on('data', (item: T) => items.push(item));
    stream.on('error', reject);
    stream.on('end', () => resolve(items));
  });

/** What a stream delivered before it ended, and the error it ended with (undefined when it ended cleanly). */
export interface Settled<T> {
  items: T[];
  error: ServiceError | undefined;
}

const settle = <T>(stream: ClientReadableStream<T>): Promise<Settled<T>> =>
  new Promise((resolve) => {
    const items: T[] = [];
    stream.on('data', (item: T) => items.push(item));
    stream.on('error', (error: ServiceError) => resolve({ items, error }));
    stream.on('end', () => resolve({ items, error: undefined }));
  });

export interface QueryClient {
  getEvents(query: Partial<Query>): Promise<EventBook[]>;
  getAggregateRoots(): Promise<AggregateRoot[]>;
  synchronize(queries: Partial<Query>[]): Promise<EventBook[]>;
  /** Synchronize, keeping the books that arrived before an error. */
  synchronizeSettled(queries: Partial<Query>[]): Promise<Settled<EventBook>>;
  readonly client: EventQueryClient;
}

const fullQuery = (query: Partial<Query>): Query => ({
  domain: '',
  root: undefined,
  lowerBound: 0,
  upperBound: 0,
  ...query,
});

/** Streams fail with DEADLINE_EXCEEDED rather than hang a test until its timeout. */
const deadline = () => ({ deadline: Date.now() + 20_000 });

export const queryClient = (address: string): QueryClient => {
  const client = new EventQueryClient(address, credentials.createInsecure());
  open.push(client);
  return {
    client,
    getEvents: (query) => collect(client.getEvents(fullQuery(query), deadline())),
    getAggregateRoots: () => collect(client.getAggregateRoots({}, deadline())),
    synchronize: (queries) => {
      const stream = client.synchronize(deadline());
      const result = collect(stream);
      for (const query of queries) stream.write(fullQuery(query));
      stream.end();
      return result;
    },
    synchronizeSettled: (queries) => {
      const stream = client.synchronize(deadline());
      const result = settle(stream);
      for (const query of queries) stream.write(fullQuery(query));
      stream.end();
      return result;
    },
  };
};

/** The status code and message of a rejected call, for `await expect(...).rejects.toMatchObject(...)`. */
export const failure = (code: number, details?: RegExp | string) =>
  details === undefined
    ? { code }
    : { code, details: typeof details === 'string' ? details : expect.stringMatching(details) };

/** Like failure(), for a message that contains `text` (for example before a hint). */
export const failureContaining = (code: number, text: string) => ({
  code,
  details: expect.stringContaining(text),
});

/** How a raw call ended: its status, and the messages (undecoded) it got before. */
export interface RawOutcome {
  code: number;
  details: string;
  messages: Buffer[];
}

/**
 * Calls `path` with `request` exactly as given, undecoded both ways (identity serializers), as a client that
 * does not use our generated code could: for requests that are not what the method takes. Over TLS with `tls`,
 * with the runtime's `token`.
 */
export const rawCall = (
  address: string,
  path: string,
  request: Uint8Array,
  kind: 'unary' | 'serverStream' | 'bidi',
  security: { tls?: ClientTls; token?: string } = {},
): Promise<RawOutcome> => {
  const secure = channelCredentials(security.tls, address);
  const client = new Client(address, secure.credentials, secure.options);
  const metadata = (): Metadata => withToken(security.token);
  open.push(client);
  const identity = (bytes: Buffer): Buffer => bytes;
  const options = { deadline: Date.now() + 20_000 };
  return new Promise((resolve) => {
    const messages: Buffer[] = [];
    const end = (error: ServiceError | null): void =>
      resolve({ code: error?.code ?? 0, details: error?.details ?? '', messages });
    if (kind === 'unary') {
      client.makeUnaryRequest(
        path,
        identity,
        identity,
        Buffer.from(request),
        metadata(),
        options,
        (err, m) => {
          if (m) messages.push(m);
          end(err);
        },
      );
      return;
    }
    const stream =
      kind === 'serverStream'
        ? client.makeServerStreamRequest(path, identity, identity, Buffer.from(request), metadata(), options)
        : client.makeBidiStreamRequest(path, identity, identity, metadata(), options);
    stream.on('data', (message: Buffer) => messages.push(message));
    stream.on('error', end);
    stream.on('end', () => end(null));
    if (kind === 'bidi') {
      const bidi = stream as unknown as { write(b: Buffer): void; end(): void };
      bidi.write(Buffer.from(request));
      bidi.end();
    }
  });
};

export interface AdminCalls {
  /** The runtime's dead letters (ListDeadLetters): rejects when the call fails, never answers "none" instead. */
  deadLetters(query?: Partial<DeadLetterQuery>): Promise<DeadLetter[]>;
  retry(request: Partial<DeadLetterRequest>): Promise<DeadLetter[]>;
  skip(ids: number[]): Promise<DeadLetter[]>;
  /** A whole replay (or rebuild): every progress message, the last one `done`. */
  replay(request: Partial<ReplayRequest>): Promise<ReplayProgress[]>;
  /** What `evented status` shows. */
  status(): Promise<RuntimeStatus>;
  /** The stored events a Tail without `follow` sends. */
  tail(request: Partial<TailRequest>): Promise<LoggedEvent[]>;
  /** The decision log as ListCommands sends it, and CountCommands. */
  commands(request?: Partial<CommandLogRequest>): Promise<LoggedCommand[]>;
  countCommands(request?: Partial<CommandLogRequest>): Promise<number>;
}

/** The admin service (evented.Admin) of the runtime at `address`, as the CLI uses it. */
export const adminCalls = (address: string): AdminCalls => {
  const client = new AdminClient(address, credentials.createInsecure());
  open.push(client);
  const call =
    <Req, Res>(method: 'listDeadLetters' | 'retryDeadLetters' | 'skipDeadLetters', base: Req) =>
    (request: Partial<Req>): Promise<Res> =>
      new Promise((resolve, reject) =>
        (
          client[method] as (
            r: Req,
            m: Metadata,
            o: object,
            cb: (e: ServiceError | null, r: Res) => void,
          ) => void
        ).call(client, { ...base, ...request }, new Metadata(), deadline(), (err, response) =>
          err ? reject(err) : resolve(response),
        ),
      );
  const list = call<DeadLetterQuery, DeadLetterList>('listDeadLetters', { subscriber: '', state: '' });
  const request: DeadLetterRequest = { ids: [], subscriber: '', aggregate: undefined };
  const retry = call<DeadLetterRequest, DeadLetterList>('retryDeadLetters', request);
  const skip = call<DeadLetterRequest, DeadLetterList>('skipDeadLetters', request);
  const commandLog = (partial: Partial<CommandLogRequest>): CommandLogRequest => ({
    domain: '',
    after: 0,
    limit: 0,
    last: 0,
    withHistory: false,
    ...partial,
  });
  return {
    commands: (partial = {}) => collect(client.listCommands(commandLog(partial), deadline())),
    countCommands: (partial = {}) =>
      new Promise((resolve, reject) =>
        client.countCommands(commandLog(partial), new Metadata(), deadline(), (err, count) =>
          err ? reject(err) : resolve(count.commands),
        ),
      ),
    deadLetters: async (query = {}) => (await list(query)).letters,
    retry: async (partial) => (await retry(partial)).letters,
    skip: async (ids) => (await skip({ ids })).letters,
    status: () =>
      new Promise((resolve, reject) =>
        client.status({}, new Metadata(), deadline(), (err, status) => (err ? reject(err) : resolve(status))),
      ),
    tail: (partial) =>
      collect(
        client.tail(
          { after: 0, domain: '', follow: false, last: 0, correlation: '', before: 0, type: '', ...partial },
          deadline(),
        ),
      ),
    replay: (partial) =>
      collect(
        client.replay(
          { subscriber: '', saga: false, after: 0, domain: '', rebuild: false, dryRun: false, ...partial },
          deadline(),
        ),
      ),
  };
};
