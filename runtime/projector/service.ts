import type { ServerUnaryCall } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { NotFoundError, ValidationError } from '../errors/index.js';
import {
  ProjectorCoordinatorService,
  type EventBook,
  type ProjectorCoordinatorServer,
} from '../protocol/gen/evented/evented.js';
import type { HostedService } from '../grpc/server.js';
import { unary } from '../grpc/handlers.js';
import type { EventStore } from '../store/port.js';
import { storedBookOf, type NoticeLimits } from '../subscriber/notice.js';
import type { ProjectorCoordinator } from './coordinator.js';

/**
 * evented.ProjectorCoordinator over gRPC (default port 1315), for command handlers in other processes. One runtime
 * may coordinate several projectors: a call names one with the metadata `evented-projector: NAME`; without it,
 * HandleSync needs exactly one projector following the book's domain, and Handle goes to every such projector.
 * A book that arrives here is a notice of stored events: what is delivered is what the store holds (notice.ts).
 */
export const projectorCoordinatorService = (
  coordinators: ReadonlyMap<string, { coordinator: ProjectorCoordinator; domains: readonly string[] }>,
  store: EventStore,
  limits: NoticeLimits,
  logger: Logger,
): HostedService => {
  const select = (book: EventBook, call: ServerUnaryCall<EventBook, unknown>): ProjectorCoordinator[] => {
    const named = call.metadata.get('evented-projector')[0]?.toString();
    if (named !== undefined) {
      const entry = coordinators.get(named);
      if (!entry) {
        throw new NotFoundError(
          `no projector "${named}"; this runtime has ${[...coordinators.keys()].join(', ') || 'none'}`,
        );
      }
      return [entry.coordinator];
    }
    const domain = book.cover?.domain ?? '';
    return [...coordinators.values()].filter((e) => e.domains.includes(domain)).map((e) => e.coordinator);
  };

  const implementation: ProjectorCoordinatorServer = {
    handleSync: unary(logger, 'HandleSync', async (book, call) => {
      const chosen = select(book, call);
      if (chosen.length !== 1) {
        throw new ValidationError(
          `${chosen.length} projectors follow domain "${book.cover?.domain ?? ''}"; name one with the metadata evented-projector`,
        );
      }
      return chosen[0]!.handleSync(await storedBookOf(store, book, limits));
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
  return { name: 'evented.ProjectorCoordinator', definition: ProjectorCoordinatorService, implementation };
};
