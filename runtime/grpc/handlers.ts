import type { ServerUnaryCall, sendUnaryData, ServerWritableStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { toGrpcStatus, toServiceError } from '../errors/to-grpc-status.js';

/**
 * Adapters from async use-case functions to grpc-js handlers. The error mapping happens here and only here
 * (through toGrpcStatus); unexpected errors are logged with their stack and answered with INTERNAL.
 */

const report = (logger: Logger, method: string, err: unknown): void => {
  const { unexpected } = toGrpcStatus(err);
  if (unexpected) logger.error({ err, method }, 'unexpected error');
  else logger.debug({ method, reason: (err as Error).message }, 'request refused');
};

export const unary =
  <Req, Res>(
    logger: Logger,
    method: string,
    run: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>,
  ) =>
  (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    // Through a promise, so that an error `run` throws before its first await is mapped like any other.
    Promise.resolve()
      .then(() => run(call.request, call))
      .then(
        (response) => callback(null, response),
        (err: unknown) => {
          report(logger, method, err);
          callback(toServiceError(err));
        },
      );
  };

/** Writes an async iterable to a server stream, respecting back-pressure and client cancellation. */
export interface WritableCall<Res> {
  readonly cancelled: boolean;
  write(item: Res): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

export const writeAll = async <Res>(call: WritableCall<Res>, items: AsyncIterable<Res>): Promise<void> => {
  for await (const item of items) {
    if (call.cancelled) return;
    if (!call.write(item)) await new Promise<void>((resolve) => call.once('drain', resolve));
  }
};

export const serverStream =
  <Req, Res>(
    logger: Logger,
    method: string,
    run: (request: Req, call: ServerWritableStream<Req, Res>) => AsyncIterable<Res>,
  ) =>
  (call: ServerWritableStream<Req, Res>): void => {
    writeAll(call, run(call.request, call)).then(
      () => call.end(),
      (err: unknown) => {
        report(logger, method, err);
        // emit('error'), not destroy(): grpc-js answers an 'error' with the status; a destroyed call never ends.
        call.emit('error', Object.assign(new Error(toGrpcStatus(err).details), toServiceError(err)));
      },
    );
  };
