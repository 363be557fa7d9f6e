import type { Metadata } from '@grpc/grpc-js';
import {
  status as Status,
  type CallOptions,
  type ClientReadableStream,
  type ClientUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  AdminClient,
  type CommandCount,
  type CommandLogRequest,
  type DeadLetterDetail,
  type DeadLetterList,
  type DeadLetterQuery,
  type DeadLetterRequest,
  type LoggedCommand,
  type LoggedEvent,
  type ReplayProgress,
  type ReplayRequest,
  type RuntimeStatus,
  type TailRequest,
  type TraceRequest,
  type TraceTree,
} from '../../runtime/protocol/gen/evented/evented.js';
import { isServiceError } from '../../runtime/grpc/unary.js';
import { channelCredentials, withToken } from '../../runtime/grpc/client-credentials.js';
import { CliError, InterruptedError } from '../errors.js';
import type { RuntimeLocation } from './locate.js';
import type { ConnectionSecurity } from './security.js';

/**
 * The CLI's view of a running runtime: its admin service (evented.Admin) over gRPC. Errors come back as one
 * clear line: "nothing answers" says where it looked and how to point elsewhere; a refusal says what the runtime
 * said.
 */
export interface AdminConnection {
  readonly location: RuntimeLocation;
  /** What this connection presents (the command handler is reached with the same TLS). */
  readonly security: ConnectionSecurity;
  status(): Promise<RuntimeStatus>;
  tail(request: TailRequest, signal: AbortSignal): AsyncIterable<LoggedEvent>;
  replay(request: ReplayRequest, signal: AbortSignal): AsyncIterable<ReplayProgress>;
  listDeadLetters(query: DeadLetterQuery): Promise<DeadLetterList>;
  getDeadLetter(id: number): Promise<DeadLetterDetail>;
  /** Retry and skip deliver events and may take a while: no deadline, but `signal` cancels the call. */
  retryDeadLetters(request: DeadLetterRequest, signal: AbortSignal): Promise<DeadLetterList>;
  skipDeadLetters(request: DeadLetterRequest, signal: AbortSignal): Promise<DeadLetterList>;
  /** One correlation's causal tree, read from the store (evented trace). */
  trace(request: TraceRequest): Promise<TraceTree>;
  /** The decision log (evented verify): the commands the command handler decided, oldest first. */
  listCommands(request: CommandLogRequest, signal: AbortSignal): AsyncIterable<LoggedCommand>;
  countCommands(request: CommandLogRequest): Promise<CommandCount>;
  close(): void;
}

const STATUS_TIMEOUT_MS = 5000;

/** The metadata the runtime's audit log names the caller by (runtime/admin/audit.ts). */
export const CALLER_METADATA = 'evented-caller';

type Unary<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (err: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/**
 * A connection refused for TLS, as one line saying what to give: what grpc-js reports ("No connection
 * established. Last error: …") names the TLS failure in OpenSSL's or Node's words.
 */
export const tlsFailureOf = (details: string, address: string, code: string): CliError | undefined => {
  const refused = (message: string, hint: string): CliError => new CliError(message, hint, code);
  if (
    /certificate required|alert certificate unknown|alert bad certificate|alert unknown ca/i.test(details)
  ) {
    return refused(
      `the runtime at ${address} refused this CLI's client certificate, or wants one (mutual TLS)`,
      'pass --tls-cert and --tls-key: a certificate signed by the CA the runtime trusts (its tls.clientCa)',
    );
  }
  if (/ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate/i.test(details)) {
    return refused(
      `the certificate of the runtime at ${address} is not for that name: ${details.replace(/^.*Last error: (Error \[\w+\]: )?/, '').replace(/\. Resolution note:.*$/, '')}`,
      'pass --tls-server-name NAME, a name the certificate carries',
    );
  }
  if (
    /self[- ]signed certificate|unable to (verify|get) |certificate has expired|CERT_|unknown ca/i.test(
      details,
    )
  ) {
    return refused(
      `the certificate of the runtime at ${address} is not trusted: ${details.replace(/^.*Last error: (Error: )?/, '').replace(/\. Resolution note:.*$/, '')}`,
      "pass --tls-ca FILE, the CA that signed it (or set tls.ca in the project's evented.yaml)",
    );
  }
  if (/wrong version number|packet length too long|http request/i.test(details)) {
    return refused(
      `the runtime at ${address} does not speak TLS`,
      'leave out --tls and the --tls-* options (or tls in evented.yaml) for it',
    );
  }
  return undefined;
};

export const cliErrorOf = (err: unknown, location: RuntimeLocation): unknown => {
  if (!isServiceError(err)) return err;
  // The runtime's own refusals carry their evented error code: UNAVAILABLE then means something behind it (a
  // projector that is down), not the runtime.
  const answered = err.metadata?.get('evented-error-code').length > 0;
  if (!answered && (err.code === Status.UNAVAILABLE || err.code === Status.DEADLINE_EXCEEDED)) {
    return (
      tlsFailureOf(err.details, location.admin, Status[err.code]) ??
      new CliError(
        `no evented runtime answers at ${location.admin} (from ${location.source})`,
        'start one with `evented up`, or pass --address HOST:PORT of a running runtime’s admin service (one that speaks TLS also needs --tls-ca)',
        Status[err.code],
      )
    );
  }
  if (err.code === Status.UNAUTHENTICATED) {
    // The runtime's own hint (in parentheses) is for any gRPC client; the CLI says it in its own words.
    return new CliError(
      err.details.replace(/ \(.*\)$/s, ''),
      "pass the runtime's token: --token-file FILE, or the token itself in EVENTED_TOKEN",
      Status[err.code],
    );
  }
  return new CliError(err.details || Status[err.code], undefined, Status[err.code]);
};

async function* streamOf<T>(
  stream: ClientReadableStream<T>,
  signal: AbortSignal,
  location: RuntimeLocation,
): AsyncGenerator<T> {
  const cancel = (): void => stream.cancel();
  signal.addEventListener('abort', cancel, { once: true });
  try {
    for await (const item of stream as AsyncIterable<T>) yield item;
  } catch (err) {
    if (signal.aborted && isServiceError(err) && err.code === Status.CANCELLED) return;
    throw cliErrorOf(err, location);
  } finally {
    signal.removeEventListener('abort', cancel);
    stream.cancel();
  }
}

/**
 * Connects to the runtime's admin service. `caller` (user@host and pid) goes with every call, so that the
 * runtime's log says who asked for a replay or a dead-letter decision.
 */
export const connectAdmin = (
  location: RuntimeLocation,
  caller?: string,
  security: ConnectionSecurity = { tls: undefined, token: undefined },
): AdminConnection => {
  const secure = channelCredentials(security.tls, location.admin);
  const client = new AdminClient(location.admin, secure.credentials, secure.options);
  const metadata = (): Metadata => {
    const m = withToken(security.token);
    if (caller) m.set(CALLER_METADATA, caller);
    return m;
  };
  const call = <Req, Res>(
    method: Unary<Req, Res>,
    request: Req,
    options: { timeoutMs?: number; signal?: AbortSignal },
  ): Promise<Res> =>
    new Promise((resolve, reject) => {
      const deadline = options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs;
      const running = method.call(
        client,
        request,
        metadata(),
        deadline ? { deadline } : {},
        (err, response) => {
          options.signal?.removeEventListener('abort', cancel);
          if (err && options.signal?.aborted && err.code === Status.CANCELLED) reject(new InterruptedError());
          else if (err) reject(cliErrorOf(err, location));
          else resolve(response);
        },
      );
      const cancel = (): void => running.cancel();
      options.signal?.addEventListener('abort', cancel, { once: true });
    });
  return {
    location,
    security,
    status: () => call(client.status, {}, { timeoutMs: STATUS_TIMEOUT_MS }),
    tail: (request, signal) => streamOf(client.tail(request, metadata()), signal, location),
    replay: (request, signal) => streamOf(client.replay(request, metadata()), signal, location),
    listDeadLetters: (query) => call(client.listDeadLetters, query, { timeoutMs: STATUS_TIMEOUT_MS * 2 }),
    getDeadLetter: (id) => call(client.getDeadLetter, { id }, { timeoutMs: STATUS_TIMEOUT_MS * 2 }),
    retryDeadLetters: (request, signal) => call(client.retryDeadLetters, request, { signal }),
    skipDeadLetters: (request, signal) => call(client.skipDeadLetters, request, { signal }),
    trace: (request) => call(client.trace, request, { timeoutMs: STATUS_TIMEOUT_MS * 2 }),
    listCommands: (request, signal) => streamOf(client.listCommands(request, metadata()), signal, location),
    countCommands: (request) => call(client.countCommands, request, { timeoutMs: STATUS_TIMEOUT_MS * 2 }),
    close: () => client.close(),
  };
};
