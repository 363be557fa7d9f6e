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
import type { ProjectorCoordinator } from './coordinator.js';

/**
 * evented.ProjectorCoordinator over gRPC (default port 1315), for command handlers in other processes. One runtime
 * may coordinate several projectors: a call names one with the metadata `evented-projector: NAME`; without it,
 * HandleSync needs exactly one projector following the book's domain, and Handle goes to every such projector.
 */
export const projectorCoordinatorService = (
  coordinators: ReadonlyMap<string, { coordinator: ProjectorCoordinator; domains: readonly string[] }>,
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
      return chosen[0]!.handleSync(book);
    }),
    handle: unary(logger, 'Handle', async (book, call) => {
      for (const coordinator of select(book, call)) {
        await coordinator.handleBatch({ books: [book], firstPosition: 0, lastPosition: 0 });
      }
      return {};
    }),
  };
  return { name: 'evented.ProjectorCoordinator', definition: ProjectorCoordinatorService, implementation };
};
