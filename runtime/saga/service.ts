import type { ServerUnaryCall } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { NotFoundError, ValidationError } from '../errors/index.js';
import {
  SagaCoordinatorService,
  type EventBook,
  type SagaCoordinatorServer,
  type SynchronousProcessingResponse,
} from '../protocol/gen/evented/evented.js';
import type { HostedService } from '../grpc/server.js';
import { unary } from '../grpc/handlers.js';
import type { EventStore } from '../store/port.js';
import { storedBookOf, type NoticeLimits } from '../subscriber/notice.js';
import type { SagaCoordinator } from './coordinator.js';

/**
 * evented.SagaCoordinator over gRPC (default port 1748). Like the projector coordinator's service: the metadata
 * `evented-saga: NAME` names a saga; without it, the sagas following the book's domain are used. A book that
 * arrives here is a notice of stored events: a saga reacts only to what the store holds (notice.ts).
 */
export const sagaCoordinatorService = (
  coordinators: ReadonlyMap<string, { coordinator: SagaCoordinator; domains: readonly string[] }>,
  store: EventStore,
  limits: NoticeLimits,
  logger: Logger,
): HostedService => {
  const select = (book: EventBook, call: ServerUnaryCall<EventBook, unknown>): SagaCoordinator[] => {
    const named = call.metadata.get('evented-saga')[0]?.toString();
    if (named !== undefined) {
      const entry = coordinators.get(named);
      if (!entry)
        throw new NotFoundError(
          `no saga "${named}"; this runtime has ${[...coordinators.keys()].join(', ') || 'none'}`,
        );
      return [entry.coordinator];
    }
    const domain = book.cover?.domain ?? '';
    const chosen = [...coordinators.values()]
      .filter((e) => e.domains.includes(domain))
      .map((e) => e.coordinator);
    if (chosen.length === 0) throw new ValidationError(`no saga follows domain "${domain}"`);
    return chosen;
  };

  const implementation: SagaCoordinatorServer = {
    handleSync: unary(logger, 'HandleSync', async (book, call) => {
      const response: SynchronousProcessingResponse = { books: [], projections: [], commands: [] };
      const chosen = select(book, call);
      const stored = await storedBookOf(store, book, limits);
      for (const coordinator of chosen) {
        const produced = await coordinator.handleSync(stored);
        response.books.push(...produced.books);
        response.projections.push(...produced.projections);
      }
      return response;
    }),
    handle: unary(logger, 'Handle', async (book, call) => {
      const chosen = select(book, call);
      const stored = await storedBookOf(store, book, limits);
      for (const coordinator of chosen) {
        await coordinator.handleBatch({ books: [stored], firstPosition: 0, lastPosition: 0 });
      }
      return {};
    }),
  };
  return { name: 'evented.SagaCoordinator', definition: SagaCoordinatorService, implementation };
};
