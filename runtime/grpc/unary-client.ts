import http2 from 'node:http2';
import { Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { tlsConnectOptions, type ClientTls } from './client-credentials.js';

/**
 * A lean gRPC client for unary calls, on node:http2, for the call every command makes (business logic's
 * Handle). grpc-js's client spends about twice the CPU per call and several times the allocations (resolver,
 * load balancer, retry buffering, interceptors, call credentials, per-call promises and timers): on a busy
 * command handler that is a good share of its event loop. This speaks gRPC over HTTP/2, without TLS (h2c, what
 * insecure grpc-js channels speak) or with it (`tls`, verified as grpc-js would: client-credentials.ts), so any
 * gRPC server answers it. It does what that call needs: one
 * request message, one response message, no compression, a deadline, and failures as grpc-js reports them
 * (a ServiceError with the same status codes), so callers handle both alike.
 */
export interface UnaryClient {
  /**
   * Calls `path` ("/package.Service/Method") with an encoded request; resolves with the encoded response.
   * `metadata`: custom headers sent with it (lower-case ASCII names and values, e.g. `traceparent`).
   */
  call(
    path: string,
    request: Uint8Array,
    timeoutMs: number,
    metadata?: Readonly<Record<string, string>>,
  ): Promise<Buffer>;
  close(): void;
}

const {
  HTTP2_HEADER_STATUS,
  HTTP2_HEADER_CONTENT_TYPE,
  NGHTTP2_NO_ERROR,
  NGHTTP2_CANCEL,
  NGHTTP2_REFUSED_STREAM,
  NGHTTP2_ENHANCE_YOUR_CALM,
  NGHTTP2_INADEQUATE_SECURITY,
} = http2.constants;

/** Answers this client refused for their size (as opposed to a RESOURCE_EXHAUSTED sent by the server). */
const tooLarge = new WeakSet<object>();

/** True when the call failed because its answer was over `maxReceiveMessageBytes`. */
export const isAnswerTooLarge = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && tooLarge.has(err);

const serviceError = (code: Status, details: string): ServiceError =>
  Object.assign(new Error(`${code} ${Status[code]}: ${details}`), {
    code,
    details,
    metadata: new Metadata(),
  });

/** The status of a response without a gRPC status, from its HTTP status (as grpc-js and the gRPC spec map it). */
const fromHttpStatus = (httpStatus: number): ServiceError => {
  const details = `Received HTTP status code ${httpStatus}`;
  switch (httpStatus) {
    case 400:
      return serviceError(Status.INTERNAL, details);
    case 401:
      return serviceError(Status.UNAUTHENTICATED, details);
    case 403:
      return serviceError(Status.PERMISSION_DENIED, details);
    case 404:
      return serviceError(Status.UNIMPLEMENTED, details);
    case 429:
    case 502:
    case 503:
    case 504:
      return serviceError(Status.UNAVAILABLE, details);
    default:
      return serviceError(Status.UNKNOWN, details);
  }
};

/** The status of a stream that closed without a gRPC status, from its RST_STREAM code. */
const fromResetCode = (rstCode: number): ServiceError => {
  switch (rstCode) {
    case NGHTTP2_REFUSED_STREAM:
      return serviceError(Status.UNAVAILABLE, 'Stream refused by server');
    case NGHTTP2_CANCEL:
      return serviceError(Status.CANCELLED, 'Call cancelled');
    case NGHTTP2_ENHANCE_YOUR_CALM:
      return serviceError(Status.RESOURCE_EXHAUSTED, 'Bandwidth exhausted or memory limit exceeded');
    case NGHTTP2_INADEQUATE_SECURITY:
      return serviceError(Status.PERMISSION_DENIED, 'Protocol not secure enough');
    case NGHTTP2_NO_ERROR:
      return serviceError(
        Status.INTERNAL,
        `Received RST_STREAM with code ${rstCode} (Call ended without gRPC status)`,
      );
    default:
      return serviceError(Status.INTERNAL, `Received RST_STREAM with code ${rstCode}`);
  }
};

const decodeMessage = (text: string): string => {
  try {
    return decodeURI(text);
  } catch {
    return text;
  }
};

/** A grpc-timeout header value: at most 8 digits, in the finest unit that fits (milliseconds, seconds, …). */
const grpcTimeout = (timeoutMs: number): string => {
  let value = Math.max(1, Math.ceil(timeoutMs));
  for (const [unit, next] of [
    ['m', 1000],
    ['S', 60],
    ['M', 60],
  ] as const) {
    if (value < 100_000_000) return `${value}${unit}`;
    value = Math.ceil(value / next);
  }
  return `${Math.min(value, 99_999_999)}H`;
};

/** The 5-byte gRPC message prefix (not compressed, length) and the message. */
const frame = (message: Uint8Array): Buffer => {
  const framed = Buffer.allocUnsafe(5 + message.length);
  framed[0] = 0;
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return framed;
};

export const createUnaryClient = (
  address: string,
  options: { maxReceiveMessageBytes: number; userAgent: string; tls?: ClientTls | undefined },
): UnaryClient => {
  const { tls } = options;
  const authority = `${tls === undefined ? 'http' : 'https'}://${address}`;
  const connectOptions =
    tls === undefined ? {} : tlsConnectOptions(tls, new URL(authority).hostname.replace(/^\[(.*)\]$/, '$1'));
  let session: http2.ClientHttp2Session | undefined;
  let closed = false;

  /** The connection, made on first use and again after it is lost. */
  const connection = (): http2.ClientHttp2Session => {
    if (session !== undefined && !session.closed && !session.destroyed) return session;
    const opened = http2.connect(authority, connectOptions);
    const forget = (): void => {
      if (session === opened) session = undefined;
    };
    // Connection errors reach every open stream as well, which is where calls report them.
    opened.on('error', forget);
    opened.once('goaway', forget);
    opened.once('close', forget);
    // In-flight calls hold the process through their deadline timers, not through the connection.
    opened.unref();
    session = opened;
    return opened;
  };

  return {
    call(path, request, timeoutMs, metadata) {
      return new Promise<Buffer>((resolve, reject) => {
        if (closed) {
          reject(serviceError(Status.UNAVAILABLE, 'the client is closed'));
          return;
        }
        let settled = false;
        let stream: http2.ClientHttp2Stream | undefined;
        const settle = (error: ServiceError | undefined, response?: Buffer): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          if (error !== undefined) reject(error);
          else resolve(response!);
        };
        const timer = setTimeout(() => {
          stream?.close(NGHTTP2_CANCEL);
          settle(serviceError(Status.DEADLINE_EXCEEDED, 'Deadline exceeded'));
        }, timeoutMs);

        try {
          stream = connection().request({
            ':method': 'POST',
            ':path': path,
            [HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
            te: 'trailers',
            'grpc-timeout': grpcTimeout(timeoutMs),
            'user-agent': options.userAgent,
            ...metadata,
          });
        } catch (err) {
          // The connection is closing or gone (GOAWAY, an error): nothing was sent.
          session = undefined;
          settle(serviceError(Status.UNAVAILABLE, (err as Error).message));
          return;
        }

        let httpStatus: number | undefined;
        let grpcStatus: ServiceError | 'ok' | undefined;
        let streamError: Error | undefined;
        const chunks: Buffer[] = [];
        let received = 0;
        const readStatus = (headers: http2.IncomingHttpHeaders): void => {
          const code = headers['grpc-status'];
          if (code === undefined) return;
          const message = headers['grpc-message'];
          grpcStatus =
            Number(code) === Status.OK
              ? 'ok'
              : serviceError(Number(code), typeof message === 'string' ? decodeMessage(message) : '');
        };

        stream.on('response', (headers) => {
          httpStatus = Number(headers[HTTP2_HEADER_STATUS]);
          readStatus(headers);
        });
        stream.on('trailers', readStatus);
        stream.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > options.maxReceiveMessageBytes + 5) {
            stream!.close(NGHTTP2_CANCEL);
            const error = serviceError(
              Status.RESOURCE_EXHAUSTED,
              `Received message larger than max (${received - 5} vs ${options.maxReceiveMessageBytes})`,
            );
            tooLarge.add(error);
            settle(error);
          } else chunks.push(chunk);
        });
        stream.on('error', (err: Error) => {
          streamError = err;
        });
        stream.on('close', () => {
          if (settled) return;
          if (grpcStatus === 'ok') {
            const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
            const length = body.length >= 5 ? body.readUInt32BE(1) : -1;
            if (body.length >= 5 && body[0] !== 0) {
              settle(serviceError(Status.INTERNAL, 'Received a compressed message, which was not asked for'));
            } else if (length !== body.length - 5) {
              settle(serviceError(Status.UNIMPLEMENTED, 'Expected exactly one response message'));
            } else settle(undefined, body.subarray(5));
          } else if (grpcStatus !== undefined) settle(grpcStatus);
          else if (httpStatus !== undefined && httpStatus !== 200) settle(fromHttpStatus(httpStatus));
          else if (
            streamError !== undefined &&
            (streamError as { code?: string }).code !== 'ERR_HTTP2_STREAM_ERROR'
          ) {
            // Not a RST_STREAM from the server: the connection failed or dropped.
            settle(serviceError(Status.UNAVAILABLE, streamError.message));
          } else settle(fromResetCode(stream!.rstCode ?? NGHTTP2_NO_ERROR));
        });
        stream.end(frame(request));
      });
    },

    close() {
      closed = true;
      session?.close();
      session = undefined;
    },
  };
};
