import type { handleUnaryCall, Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  BusinessCoordinatorService,
  CommandBook,
  type BusinessCoordinatorServer,
  type SynchronousProcessingResponse,
} from '../protocol/gen/evented/evented.js';
import type { HostedService } from '../grpc/server.js';
import { unary } from '../grpc/handlers.js';
import { encodingOf } from './encoded.js';
import type { CallOptions, CommandHandler } from './handler.js';
import { originFromMetadata } from './origin.js';
import { asCalledBy } from '../tracing/spans.js';

/** A Handle request as received: the decoded CommandBook and the bytes it came in. */
interface ReceivedCommand {
  book: CommandBook;
  bytes: Buffer;
}

/**
 * The generated definition, except that Handle keeps the request's bytes beside the decoded book (the command
 * goes on to business logic inside a ContextualCommand, as it came, without being encoded again), and sends a
 * response the handler has already encoded (see encoded.ts) as it is.
 */
const definition = {
  ...BusinessCoordinatorService,
  handle: {
    ...BusinessCoordinatorService.handle,
    requestDeserialize: (bytes: Buffer): ReceivedCommand => ({ book: CommandBook.decode(bytes), bytes }),
    responseSerialize: (response: SynchronousProcessingResponse): Buffer =>
      encodingOf(response) ?? BusinessCoordinatorService.handle.responseSerialize(response),
  },
};

/** Metadata `evented-idempotency-key`: a caller (another runtime's saga) may ask for at-most-once. */
const idempotencyKeyOf = (call: { metadata: Metadata }): string | undefined => {
  const value = call.metadata.get('evented-idempotency-key')[0];
  return value === undefined ? undefined : String(value);
};

/**
 * What a call asks for through its metadata: an idempotency key, and its origin (origin.ts; a bad value is
 * INVALID_ARGUMENT). A caller learns the correlation id from the stored pages of the answer (Origin); it is not
 * sent back as response metadata, which cost an early HEADERS frame per call and told nothing about a refused
 * command (nothing is stored under it).
 */
const callOptionsOf = (call: ServerUnaryCall<unknown, unknown>): CallOptions => {
  const origin = originFromMetadata(call.metadata);
  return { idempotencyKey: idempotencyKeyOf(call), origin };
};

/** evented.BusinessCoordinator over gRPC: thin, the work is in handler.ts. */
export const businessCoordinatorService = (handler: CommandHandler, logger: Logger): HostedService => {
  const implementation: Omit<BusinessCoordinatorServer, 'handle'> & {
    handle: handleUnaryCall<ReceivedCommand, SynchronousProcessingResponse>;
  } = {
    handle: unary(logger, 'Handle', (received: ReceivedCommand, call) =>
      asCalledBy(call.metadata, () =>
        handler.handle(received.book, { ...callOptionsOf(call), encoded: received.bytes }),
      ),
    ),
    record: unary(logger, 'Record', (book, call) =>
      asCalledBy(call.metadata, () => handler.record(book, callOptionsOf(call))),
    ),
  };
  return { name: 'evented.BusinessCoordinator', definition, implementation };
};
