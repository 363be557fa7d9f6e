import type { Logger } from 'pino';
import {
  BusinessCoordinatorService,
  type BusinessCoordinatorServer,
} from '../protocol/gen/evented/evented.js';
import type { HostedService } from '../grpc/server.js';
import { unary } from '../grpc/handlers.js';
import type { CommandHandler } from './handler.js';

/** evented.BusinessCoordinator over gRPC: thin, the work is in handler.ts. */
export const businessCoordinatorService = (handler: CommandHandler, logger: Logger): HostedService => {
  const implementation: BusinessCoordinatorServer = {
    handle: unary(logger, 'Handle', (command) => handler.handle(command)),
    record: unary(logger, 'Record', (book) => handler.record(book)),
  };
  return { name: 'evented.BusinessCoordinator', definition: BusinessCoordinatorService, implementation };
};
