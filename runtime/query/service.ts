import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { toGrpcStatus, toServiceError } from '../errors/to-grpc-status.js';
import {
  EventQueryService,
  type EventBook,
  type EventQueryServer,
  type Query,
} from '../protocol/gen/evented/evented.js';
import type { HostedService } from '../grpc/server.js';
import { serverStream, writeAll } from '../grpc/handlers.js';
import type { EventStore } from '../store/port.js';
import { aggregateRoots, booksForQuery } from './reader.js';

/** evented.EventQuery over gRPC. */
export const eventQueryService = (store: EventStore, bookBytes: number, logger: Logger): HostedService => {
  const synchronize = (call: ServerDuplexStream<Query, EventBook>): void => {
    const run = async (): Promise<void> => {
      let index = 0;
      // destroyOnReturn: false, or the end of the client's queries would destroy the call before its status.
      for await (const query of call.iterator({ destroyOnReturn: false }) as AsyncIterable<Query>) {
        try {
          await writeAll(call, booksForQuery(store, query, bookBytes));
        } catch (err) {
          throw Object.assign(new Error(`query ${index}: ${toGrpcStatus(err).details}`), {
            ...toServiceError(err),
            details: `query ${index}: ${toGrpcStatus(err).details}`,
          });
        }
        index += 1;
      }
    };
    run().then(
      () => call.end(),
      (err: unknown) => {
        logger.debug({ reason: (err as Error).message }, 'Synchronize refused');
        call.emit('error', err);
      },
    );
  };

  const implementation: EventQueryServer = {
    getEvents: serverStream(logger, 'GetEvents', (query: Query) => booksForQuery(store, query, bookBytes)),
    synchronize,
    getAggregateRoots: serverStream(logger, 'GetAggregateRoots', () => aggregateRoots(store)),
  };
  return { name: 'evented.EventQuery', definition: EventQueryService, implementation };
};
