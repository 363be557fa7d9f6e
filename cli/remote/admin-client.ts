import { credentials, Metadata, status as Status, type ClientReadableStream } from '@grpc/grpc-js';
import {
  AdminClient,
  type LoggedEvent,
  type ReplayProgress,
  type ReplayRequest,
  type RuntimeStatus,
  type TailRequest,
} from '../../runtime/protocol/gen/evented/evented.js';
import { isServiceError } from '../../runtime/grpc/unary.js';
import { CliError } from '../errors.js';
import type { RuntimeLocation } from './locate.js';

/**
 * The CLI's view of a running runtime: its admin service (evented.Admin) over gRPC. Errors come back as one
 * clear line: "nothing answers" says where it looked and how to point elsewhere; a refusal says what the runtime
 * said.
 */
export interface AdminConnection {
  readonly location: RuntimeLocation;
  status(): Promise<RuntimeStatus>;
  tail(request: TailRequest, signal: AbortSignal): AsyncIterable<LoggedEvent>;
  replay(request: ReplayRequest, signal: AbortSignal): AsyncIterable<ReplayProgress>;
  close(): void;
}

const STATUS_TIMEOUT_MS = 5000;

export const cliErrorOf = (err: unknown, location: RuntimeLocation): unknown => {
  if (!isServiceError(err)) return err;
  if (err.code === Status.UNAVAILABLE || err.code === Status.DEADLINE_EXCEEDED) {
    return new CliError(
      `no evented runtime answers at ${location.admin} (from ${location.source})`,
      'start one with `evented up`, or pass --address HOST:PORT of a running runtime’s admin service',
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

export const connectAdmin = (location: RuntimeLocation): AdminConnection => {
  const client = new AdminClient(location.admin, credentials.createInsecure());
  return {
    location,
    status: () =>
      new Promise((resolve, reject) =>
        client.status({}, new Metadata(), { deadline: Date.now() + STATUS_TIMEOUT_MS }, (err, response) =>
          err ? reject(cliErrorOf(err, location)) : resolve(response),
        ),
      ),
    tail: (request, signal) => streamOf(client.tail(request), signal, location),
    replay: (request, signal) => streamOf(client.replay(request), signal, location),
    close: () => client.close(),
  };
};
